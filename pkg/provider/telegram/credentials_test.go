package telegram

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

func TestCheckCredentials(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  []gateway.FieldError
	}{
		{name: "valid", token: token},
		{name: "missing", token: "", want: []gateway.FieldError{{Field: "credentials.botToken", Message: "is required"}}},
		{name: "no colon", token: "nope", want: []gateway.FieldError{{Field: "credentials.botToken", Message: "must look like a Bot API token: <bot id>:<secret> (from @BotFather)"}}},
		{name: "short secret", token: "12:short", want: []gateway.FieldError{{Field: "credentials.botToken", Message: "must look like a Bot API token: <bot id>:<secret> (from @BotFather)"}}},
		{name: "space", token: token + " ", want: []gateway.FieldError{{Field: "credentials.botToken", Message: "must look like a Bot API token: <bot id>:<secret> (from @BotFather)"}}},
	}
	p := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.CheckCredentials(gateway.Credentials{BotToken: tt.token})
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("CheckCredentials = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTokenPatternIsTheCheck: the pattern the dashboard is given is the one
// the server applies.
func TestTokenPatternIsTheCheck(t *testing.T) {
	info := New(Options{}).Info()
	if len(info.Credentials) != 1 || info.Credentials[0].Name != "botToken" || info.Credentials[0].Pattern != TokenPattern {
		t.Fatalf("Info().Credentials = %+v, want botToken with TokenPattern", info.Credentials)
	}
	if tokenShape().String() != TokenPattern {
		t.Errorf("tokenShape %q is not TokenPattern %q", tokenShape(), TokenPattern)
	}
}

func TestCredentialInfoHoldsNoSecret(t *testing.T) {
	const goodToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
	got := New(Options{}).CredentialInfo(gateway.Credentials{BotToken: goodToken})
	if want := map[string]any{"botId": "123456789", "tokenLast4": "saw0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CredentialInfo = %v, want %v", got, want)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), goodToken[:30]) {
		t.Errorf("info %s contains the secret", b)
	}
}
