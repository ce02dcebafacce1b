package provider

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// formProvider declares credential fields and no rules of its own, so the
// defaults apply.
type formProvider struct{ fakeProvider }

func (f formProvider) Info() Info {
	return Info{Type: f.typ, Name: f.name, Credentials: []CredentialField{
		{Name: "url", Required: true},
		{Name: "apiKey", Required: true, Secret: true},
		{Name: "model"},
	}}
}

func TestCredentialDefaults(t *testing.T) {
	p := formProvider{fakeProvider{gateway.TypeWebhook, "form"}}
	got := CheckCredentials(p, gateway.Credentials{Model: "m"})
	want := []gateway.FieldError{{Field: "credentials.url", Message: "is required"}, {Field: "credentials.apiKey", Message: "is required"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckCredentials = %v, want %v", got, want)
	}
	if got := CheckCredentials(p, gateway.Credentials{URL: "u", APIKey: "k"}); len(got) != 0 {
		t.Errorf("CheckCredentials of complete credentials = %v", got)
	}
	// Only fields not marked secret are shown.
	info := CredentialInfo(p, gateway.Credentials{URL: "https://x.example", APIKey: "sk-secret-value"})
	if want := map[string]any{"url": "https://x.example"}; !reflect.DeepEqual(info, want) {
		t.Errorf("CredentialInfo = %v, want %v", info, want)
	}
}

func TestRegistryCredentialRules(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(formProvider{fakeProvider{gateway.TypeWebhook, "form"}}, false); err != nil {
		t.Fatal(err)
	}
	if got := r.CredentialFields(gateway.TypeWebhook); !reflect.DeepEqual(got, []string{"url", "apiKey", "model"}) {
		t.Errorf("CredentialFields = %v", got)
	}
	if got := r.CheckCredentials(gateway.TypeWebhook, gateway.Credentials{}); len(got) != 2 {
		t.Errorf("CheckCredentials = %v, want two missing fields", got)
	}
	// A type without a provider: no fields (so every one sent is unknown),
	// no rules, an empty summary.
	if got := r.CredentialFields(gateway.TypeAI); got != nil {
		t.Errorf("CredentialFields(no provider) = %v", got)
	}
	if got := r.CheckCredentials(gateway.TypeAI, gateway.Credentials{}); got != nil {
		t.Errorf("CheckCredentials(no provider) = %v", got)
	}
	if got := r.CredentialInfo(gateway.TypeAI, gateway.Credentials{APIKey: "k"}); got == nil || len(got) != 0 {
		t.Errorf("CredentialInfo(no provider) = %v, want empty", got)
	}
}

func TestFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		check func(*FieldErrors)
		want  []string // messages on field "f"
	}{
		{name: "required, empty", check: func(e *FieldErrors) { e.Required("f", "") }, want: []string{"is required"}},
		{name: "required, set", check: func(e *FieldErrors) { e.Required("f", "x") }},
		{name: "secret ok", check: func(e *FieldErrors) { e.Secret("f", "abc~!", 1) }},
		{name: "secret short", check: func(e *FieldErrors) { e.Secret("f", "abc", 24) }, want: []string{"must be at least 24 characters"}},
		{name: "secret long", check: func(e *FieldErrors) { e.Secret("f", strings.Repeat("a", 513), 1) }, want: []string{"must be at most 512 characters"}},
		{name: "secret DEL", check: func(e *FieldErrors) { e.Secret("f", "ab\x7fc", 1) }, want: []string{"must contain only printable ASCII characters without spaces"}},
		{name: "secret non-ASCII", check: func(e *FieldErrors) { e.Secret("f", "abcé", 1) }, want: []string{"must contain only printable ASCII characters without spaces"}},
		{name: "url ok", check: func(e *FieldErrors) { e.URL("f", "https://example.com/a?b=c", "https") }},
		{name: "url long", check: func(e *FieldErrors) { e.URL("f", "https://x/"+strings.Repeat("a", 2048), "https") }, want: []string{"must be at most 2048 characters"}},
		{name: "url no host", check: func(e *FieldErrors) { e.URL("f", "https:///path", "https") }, want: []string{"must be an absolute URL"}},
		{name: "url scheme", check: func(e *FieldErrors) { e.URL("f", "ftp://x", "http", "https") }, want: []string{"must use http or https"}},
		{name: "url userinfo and fragment", check: func(e *FieldErrors) { e.URL("f", "https://u@x/#y", "https") },
			want: []string{"must not contain user information", "must not contain a fragment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e FieldErrors
			tt.check(&e)
			var got []string
			for _, f := range e {
				if f.Field != "f" {
					t.Errorf("field %q, want f", f.Field)
				}
				got = append(got, f.Message)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("messages %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLast4(t *testing.T) {
	for s, want := range map[string]string{"": "****", "short": "****", "12345678901": "****", "123456789012": "9012", "ééééééééééé€1": "éé€1"} {
		if got := Last4(s); got != want {
			t.Errorf("Last4(%q) = %q, want %q", s, got, want)
		}
	}
}
