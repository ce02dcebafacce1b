package webhook

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

func TestCheckCredentials(t *testing.T) {
	tests := []struct {
		name  string
		creds gateway.Credentials
		want  []gateway.FieldError
	}{
		{name: "valid", creds: gateway.Credentials{URL: "https://example.com/hook", SigningSecret: "0123456789abcdef01234567"}},
		{name: "unsigned", creds: gateway.Credentials{URL: "https://example.com/hook"}},
		{name: "missing url", creds: gateway.Credentials{}, want: []gateway.FieldError{{Field: "credentials.url", Message: "is required"}}},
		{name: "http", creds: gateway.Credentials{URL: "http://example.com"}, want: []gateway.FieldError{{Field: "credentials.url", Message: "must use https"}}},
		{name: "relative", creds: gateway.Credentials{URL: "example.com/hook"}, want: []gateway.FieldError{{Field: "credentials.url", Message: "must be an absolute URL"}}},
		{name: "userinfo and fragment", creds: gateway.Credentials{URL: "https://u:p@example.com/#x"}, want: []gateway.FieldError{
			{Field: "credentials.url", Message: "must not contain user information"}, {Field: "credentials.url", Message: "must not contain a fragment"}}},
		{name: "short secret", creds: gateway.Credentials{URL: "https://example.com", SigningSecret: "short"},
			want: []gateway.FieldError{{Field: "credentials.signingSecret", Message: "must be at least 24 characters"}}},
		{name: "secret with space", creds: gateway.Credentials{URL: "https://example.com", SigningSecret: "0123456789abcdef 01234567"},
			want: []gateway.FieldError{{Field: "credentials.signingSecret", Message: "must contain only printable ASCII characters without spaces"}}},
	}
	p := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.CheckCredentials(tt.creds)
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("CheckCredentials = %v, want %v", got, tt.want)
			}
		})
	}
	// Where the operator lets Gatehouse reach private networks (make run),
	// a receiver on the laptop may speak plain http; nothing else may.
	local := New(Options{Guard: ssrf.Guard{AllowPrivate: true}})
	if got := local.CheckCredentials(gateway.Credentials{URL: "http://127.0.0.1:8083/hook"}); len(got) != 0 {
		t.Errorf("http with private networks allowed: %v", got)
	}
	if got := local.CheckCredentials(gateway.Credentials{URL: "ftp://127.0.0.1/hook"}); len(got) != 1 || got[0].Message != "must use https or http" {
		t.Errorf("ftp with private networks allowed: %v", got)
	}
}

func TestCredentialInfoHoldsNoSecret(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantURL string
		secrets []string // none may appear in the info
	}{
		{name: "plain", url: "https://x.example/h", wantURL: "https://x.example/…", secrets: []string{"/h"}},
		{name: "slack", url: "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/abcdefghijklmnopqrstuvwx",
			wantURL: "https://hooks.slack.com/…", secrets: []string{"abcdefghijklmnopqrstuvwx", "T0ABCDEF1", "B0ABCDEF2"}},
		{name: "discord", url: "https://discord.com/api/webhooks/123456789012345678/Zy-SeCrEtToKeN_0123456789",
			wantURL: "https://discord.com/…", secrets: []string{"Zy-SeCrEtToKeN", "123456789012345678"}},
		{name: "query and port", url: "https://hooks.example.com:8443/in?token=qs-secret-token#frag",
			wantURL: "https://hooks.example.com:8443/…", secrets: []string{"qs-secret-token", "frag", "/in"}},
		{name: "default port dropped", url: "https://hooks.example.com:443", wantURL: "https://hooks.example.com"},
		{name: "root path", url: "http://127.0.0.1:8083/", wantURL: "http://127.0.0.1:8083/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := gateway.Credentials{URL: tt.url, SigningSecret: "0123456789abcdef01234567"}
			got := New(Options{}).CredentialInfo(c)
			if want := map[string]any{"url": tt.wantURL, "hasSigningSecret": true}; !reflect.DeepEqual(got, want) {
				t.Errorf("CredentialInfo = %v, want %v", got, want)
			}
			b, _ := json.Marshal(got)
			for _, s := range append(tt.secrets, "0123456789abcdef") {
				if strings.Contains(string(b), s) {
					t.Errorf("info %s contains the secret %q", b, s)
				}
			}
		})
	}
}
