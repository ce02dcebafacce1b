package gateway_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
)

// realRules returns the credential rules users get: a registry of the real
// providers, as bootstrap.Registry builds it (their constructors do no
// I/O). The decoders are tested with them, so that the field names and
// messages these tests and the fuzz corpora pin, which the dashboard and the
// acceptance tests rely on, are the ones production answers with.
func realRules(tb testing.TB) *provider.Registry {
	tb.Helper()
	r := provider.NewRegistry()
	for _, p := range []provider.Provider{
		telegram.New(telegram.Options{}),
		ai.New(ai.Options{}),
		webhook.New(webhook.Options{}),
	} {
		if err := r.Register(p, false); err != nil {
			tb.Fatal(err)
		}
	}
	return r
}

// TestCredentialFieldsExist holds the providers' credential fields and the
// sealed payload together: every field a type declares is a field of
// Credentials under the same JSON name, or the decoder would drop it.
func TestCredentialFieldsExist(t *testing.T) {
	rules := realRules(t)
	for _, typ := range gateway.Types {
		names := rules.CredentialFields(typ)
		if len(names) == 0 {
			t.Errorf("%s: no credential fields", typ)
		}
		for _, name := range names {
			var c gateway.Credentials
			f := c.Field(name)
			if f == nil {
				t.Errorf("%s: credential field %q is not a field of Credentials", typ, name)
				continue
			}
			*f = "x"
			b, _ := json.Marshal(c)
			if want := `{"` + name + `":"x"}`; string(b) != want {
				t.Errorf("%s: Field(%q) sets %s, want %s", typ, name, b, want)
			}
		}
	}
	var c gateway.Credentials
	if c.Field("password") != nil {
		t.Error(`Field("password") is not nil`)
	}
}

// TestCredentialsRedact: a stray %v or %#v never prints a secret.
func TestCredentialsRedact(t *testing.T) {
	c := gateway.Credentials{BotToken: goodToken}
	for _, s := range []string{c.String(), c.GoString()} {
		if s != "gateway.Credentials{REDACTED}" {
			t.Errorf("String() leaks: %s", s)
		}
	}
}
