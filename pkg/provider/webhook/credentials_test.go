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
	c := gateway.Credentials{URL: "https://x.example/h", SigningSecret: "0123456789abcdef01234567"}
	got := New(Options{}).CredentialInfo(c)
	if want := map[string]any{"url": "https://x.example/h", "hasSigningSecret": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("CredentialInfo = %v, want %v", got, want)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "0123456789abcdef") {
		t.Errorf("info %s contains the secret", b)
	}
}
