package gateway

import (
	"reflect"
	"strings"
	"testing"
)

func TestValidPrincipalID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "cognito sub", id: "3f1c9a52-7d0e-4b8e-9c61-2f5a8e0d4b17", want: true},
		{name: "auth0 sub", id: "auth0|5fe435b5cbbc85006b071eba", want: true},
		{name: "social sub", id: "google-oauth2|104123456789012345678", want: true},
		{name: "saml sub", id: "samlp|corp|jane.doe+ops@example.com", want: true},
		{name: "azure sub", id: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", want: true},
		{name: "cognito group", id: "us-east-1_AbC123_Google", want: true},
		{name: "org", id: "acme", want: true},
		{name: "longest", id: strings.Repeat("a", 255), want: true},
		{name: "too long", id: strings.Repeat("a", 256), want: false},
		{name: "empty", id: "", want: false},
		{name: "space", id: "acme corp", want: false},
		{name: "flattened list", id: "[acme]", want: false},
		{name: "comma", id: "acme,corp", want: false},
		{name: "key separator", id: "acme#corp", want: false},
		{name: "leading dash", id: "-acme", want: false},
		{name: "quote", id: `acme"`, want: false},
		{name: "slash", id: "a/b", want: false},
		{name: "non-ASCII", id: "acmé", want: false},
		{name: "control", id: "acme\n", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidPrincipalID(tt.id); got != tt.want {
				t.Errorf("ValidPrincipalID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestCheckedKey(t *testing.T) {
	tests := []struct {
		name  string
		owner Owner
		want  string
		ok    bool
	}{
		{name: "user", owner: Owner{UserID: "auth0|abc"}, want: "USER#auth0|abc", ok: true},
		{name: "org", owner: Owner{UserID: "alice", OrganizationID: "acme"}, want: "ORG#acme", ok: true},
		{name: "user with separator", owner: Owner{UserID: "a#b"}},
		{name: "org with separator", owner: Owner{UserID: "alice", OrganizationID: "acme#x"}},
		{name: "no user", owner: Owner{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.owner.CheckedKey()
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("CheckedKey() = %q, %v; want %q, ok %v", got, err, tt.want, tt.ok)
			}
			if err != nil && !IsCode(err, CodeInternal) {
				t.Errorf("CheckedKey() error %v, want CodeInternal", err)
			}
		})
	}
}

func TestMaskURL(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{name: "slack", raw: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", want: "https://hooks.slack.com/…"},
		{name: "query", raw: "https://x.openai.azure.com/openai?api-key=k", want: "https://x.openai.azure.com/…"},
		{name: "query without path", raw: "https://x.example?api-key=k", want: "https://x.example"},
		{name: "user info", raw: "https://u:p@x.example/", want: "https://x.example/"},
		{name: "fragment", raw: "https://x.example/#secret", want: "https://x.example/"},
		{name: "port kept", raw: "http://localhost:11434", want: "http://localhost:11434"},
		{name: "default ports dropped", raw: "HTTP://X.Example:80/a", want: "http://x.example/…"},
		{name: "ipv6", raw: "http://[::1]:8080/hook", want: "http://[::1]:8080/…"},
		{name: "ipv6 default port", raw: "https://[2001:db8::1]:443", want: "https://[2001:db8::1]"},
		{name: "not a URL", raw: "hooks.slack.com/services/x", want: "…"},
		{name: "garbage", raw: "http://a b/%zz", want: "…"},
		{name: "masked stays masked", raw: "https://hooks.slack.com/…", want: "https://hooks.slack.com/…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MaskURL(tt.raw)
			if got != tt.want {
				t.Errorf("MaskURL(%q) = %q, want %q", tt.raw, got, tt.want)
			}
			if again := MaskURL(got); got != "…" && again != got {
				t.Errorf("MaskURL(MaskURL(%q)) = %q, want %q (idempotent)", tt.raw, again, got)
			}
		})
	}
}

func TestMaskCredentialInfo(t *testing.T) {
	in := map[string]any{"url": "https://discord.com/api/webhooks/1/tok", "hasSigningSecret": true, "botName": "plain"}
	got, changed := MaskCredentialInfo(in)
	want := map[string]any{"url": "https://discord.com/…", "hasSigningSecret": true, "botName": "plain"}
	if !changed || !reflect.DeepEqual(got, want) {
		t.Errorf("MaskCredentialInfo = %v, %v; want %v, true", got, changed, want)
	}
	if in["url"] != "https://discord.com/api/webhooks/1/tok" {
		t.Errorf("MaskCredentialInfo modified its argument: %v", in)
	}
	if again, changed := MaskCredentialInfo(got); changed || !reflect.DeepEqual(again, want) {
		t.Errorf("MaskCredentialInfo(masked) = %v, %v; want unchanged", again, changed)
	}
}
