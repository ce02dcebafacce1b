package provider

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// fakeProvider is the smallest Provider: it has a type, a name and one
// action, and does nothing.
type fakeProvider struct {
	typ  gateway.Type
	name string
}

var _ Provider = fakeProvider{}

func (f fakeProvider) Type() gateway.Type { return f.typ }
func (f fakeProvider) Info() Info {
	return Info{Type: f.typ, Name: f.name, Actions: f.Actions()}
}
func (f fakeProvider) Actions() []Action {
	return []Action{
		{Name: "ping"},
		{Name: "send", RequiresConnection: true},
	}
}
func (fakeProvider) ValidateCredentials(context.Context, gateway.Credentials) (Validation, error) {
	return Validation{}, nil
}
func (fakeProvider) Connect(context.Context, ConnectRequest) (ConnectResult, error) {
	return ConnectResult{}, nil
}
func (fakeProvider) Disconnect(context.Context, DisconnectRequest) error { return nil }
func (fakeProvider) Execute(context.Context, gateway.Credentials, json.RawMessage, string, json.RawMessage) (any, error) {
	return nil, nil
}
func (fakeProvider) CheckHealth(context.Context, gateway.Credentials, json.RawMessage) HealthResult {
	return HealthResult{Healthy: true, Outcome: OutcomeOK}
}

func registryCode(err error) string {
	var re *RegistryError
	if errors.As(err, &re) {
		return re.Code
	}
	if err != nil {
		return "untyped: " + err.Error()
	}
	return ""
}

func TestRegistryRegister(t *testing.T) {
	tests := []struct {
		name     string
		first    Provider
		second   Provider
		override bool
		wantCode string
		wantName string
	}{
		{"new type", nil, fakeProvider{gateway.TypeAI, "ai"}, false, "", "ai"},
		{"duplicate refused", fakeProvider{gateway.TypeAI, "one"}, fakeProvider{gateway.TypeAI, "two"}, false, RegistryDuplicate, "one"},
		{"duplicate with override", fakeProvider{gateway.TypeAI, "one"}, fakeProvider{gateway.TypeAI, "two"}, true, "", "two"},
		{"nil provider", nil, nil, false, RegistryInvalid, ""},
		{"unknown type", nil, fakeProvider{"SMTP", "smtp"}, false, RegistryInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry()
			if tt.first != nil {
				if err := r.Register(tt.first, false); err != nil {
					t.Fatal(err)
				}
			}
			err := r.Register(tt.second, tt.override)
			if got := registryCode(err); got != tt.wantCode {
				t.Fatalf("Register: code %q, want %q (%v)", got, tt.wantCode, err)
			}
			if tt.wantName == "" {
				return
			}
			p, err := r.Get(gateway.TypeAI)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Info().Name; got != tt.wantName {
				t.Errorf("Get: name %q, want %q", got, tt.wantName)
			}
			if got := len(r.Types()); got != 1 {
				t.Errorf("Types: %d entries, want 1", got)
			}
		})
	}
}

func TestRegistryLookups(t *testing.T) {
	r := NewRegistry()
	for _, p := range []Provider{
		fakeProvider{gateway.TypeWebhook, "webhook"},
		fakeProvider{gateway.TypeTelegramBot, "telegram"},
		fakeProvider{gateway.TypeAI, "ai"},
	} {
		if err := r.Register(p, false); err != nil {
			t.Fatal(err)
		}
	}

	if got, want := r.Types(), []gateway.Type{gateway.TypeWebhook, gateway.TypeTelegramBot, gateway.TypeAI}; !slices.Equal(got, want) {
		t.Errorf("Types = %v, want %v", got, want)
	}
	var names []string
	for _, info := range r.Info() {
		names = append(names, info.Name)
	}
	if want := []string{"webhook", "telegram", "ai"}; !slices.Equal(names, want) {
		t.Errorf("Info names = %v, want %v", names, want)
	}
	if got := len(r.All()); got != 3 {
		t.Errorf("All: %d, want 3", got)
	}
	if !r.Has(gateway.TypeAI) {
		t.Error("Has(AI) = false")
	}

	_, err := r.Get("SMTP")
	if got := registryCode(err); got != RegistryNotFound {
		t.Errorf("Get(unknown): code %q, want %q", got, RegistryNotFound)
	}

	if !r.Unregister(gateway.TypeTelegramBot) {
		t.Error("Unregister(telegram) = false, want true")
	}
	if r.Unregister(gateway.TypeTelegramBot) {
		t.Error("second Unregister(telegram) = true, want false")
	}
	if r.Has(gateway.TypeTelegramBot) {
		t.Error("Has(telegram) after Unregister")
	}
	if got, want := r.Types(), []gateway.Type{gateway.TypeWebhook, gateway.TypeAI}; !slices.Equal(got, want) {
		t.Errorf("Types after Unregister = %v, want %v", got, want)
	}

	r.Clear()
	if got := len(r.All()); got != 0 {
		t.Errorf("All after Clear: %d, want 0", got)
	}
	if err := r.Register(fakeProvider{gateway.TypeAI, "ai"}, false); err != nil {
		t.Errorf("Register after Clear: %v", err)
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := NewRegistry(), NewRegistry()
	if err := a.Register(fakeProvider{gateway.TypeAI, "ai"}, false); err != nil {
		t.Fatal(err)
	}
	if b.Has(gateway.TypeAI) {
		t.Error("a registration leaked into another registry")
	}
}

func TestCheckAction(t *testing.T) {
	p := fakeProvider{gateway.TypeWebhook, "webhook"}
	tests := []struct {
		action string
		status gateway.Status
		want   string // error type, "" for none
	}{
		{"ping", gateway.StatusDisconnected, ""},
		{"send", gateway.StatusConnected, ""},
		{"send", gateway.StatusDisconnected, "not connected"},
		{"send", gateway.StatusError, "not connected"},
		{"fly", gateway.StatusConnected, "unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.action+"/"+string(tt.status), func(t *testing.T) {
			_, err := CheckAction(p, tt.action, "gw1", tt.status)
			var nc *NotConnectedError
			var ua *UnsupportedActionError
			got := ""
			switch {
			case errors.As(err, &nc):
				got = "not connected"
			case errors.As(err, &ua):
				got = "unsupported"
			case err != nil:
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
