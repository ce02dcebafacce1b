package gateway_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

const goodToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		return nil
	}
	e, ok := err.(*gateway.Error)
	if !ok {
		t.Fatalf("error %T is not *Error: %v", err, err)
	}
	if e.Code != gateway.CodeInvalid {
		t.Fatalf("code = %q, want %q", e.Code, gateway.CodeInvalid)
	}
	m := map[string]string{}
	for _, f := range e.Fields {
		m[f.Field] = f.Message
	}
	return m
}

func TestDecodeCreateValid(t *testing.T) {
	tests := []struct {
		name string
		body string
		want gateway.CreateRequest
	}{
		{"telegram", `{"name":"  My bot ","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"}}`,
			gateway.CreateRequest{Name: "My bot", Type: gateway.TypeTelegramBot, Credentials: gateway.Credentials{BotToken: goodToken}, Config: json.RawMessage("{}"),
				CredentialInfo: map[string]any{"botId": "123456789", "tokenLast4": "saw0"}}},
		{"ai openai with config", `{"name":"GPT","type":"AI","credentials":{"provider":"openai","apiKey":"sk-abcdefghijklmnop","model":"gpt-4o-mini"},"config":{ "temperature" : 0.2 }}`,
			gateway.CreateRequest{Name: "GPT", Type: gateway.TypeAI, Credentials: gateway.Credentials{Provider: "openai", APIKey: "sk-abcdefghijklmnop", Model: "gpt-4o-mini"}, Config: json.RawMessage(`{"temperature":0.2}`),
				CredentialInfo: map[string]any{"provider": "openai", "apiKeyLast4": "mnop", "model": "gpt-4o-mini"}}},
		{"ollama without key", `{"name":"Local","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://localhost:11434"}}`,
			gateway.CreateRequest{Name: "Local", Type: gateway.TypeAI, Credentials: gateway.Credentials{Provider: "ollama", BaseURL: "http://localhost:11434"}, Config: json.RawMessage("{}"),
				CredentialInfo: map[string]any{"provider": "ollama", "baseUrl": "http://localhost:11434"}}},
		{"webhook", `{"name":"Hook","type":"WEBHOOK","credentials":{"url":"https://example.com/hook","signingSecret":"0123456789abcdef01234567"},"config":null}`,
			gateway.CreateRequest{Name: "Hook", Type: gateway.TypeWebhook, Credentials: gateway.Credentials{URL: "https://example.com/hook", SigningSecret: "0123456789abcdef01234567"}, Config: json.RawMessage("{}"),
				CredentialInfo: map[string]any{"url": "https://example.com/…", "hasSigningSecret": true}}},
	}
	rules := realRules(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gateway.DecodeCreate([]byte(tt.body), rules)
			if err != nil {
				t.Fatalf("DecodeCreate: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeCreateInvalid(t *testing.T) {
	long := strings.Repeat("x", 101)
	tests := []struct {
		name string
		body string
		want []string // fields named in the errors
	}{
		{"everything missing", `{}`, []string{"name", "type", "credentials"}},
		{"all at once", `{"name":"","type":"SMS","credentials":5,"extra":1}`, []string{"name", "type", "credentials", "extra"}},
		{"name too long", `{"name":"` + long + `","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"}}`, []string{"name"}},
		{"name blank", `{"name":"   ","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"}}`, []string{"name"}},
		{"name not string", `{"name":7,"type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"}}`, []string{"name"}},
		{"bad token", `{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"nope"}}`, []string{"credentials.botToken"}},
		{"token missing", `{"name":"a","type":"TELEGRAM_BOT","credentials":{}}`, []string{"credentials.botToken"}},
		{"unknown credential field", `{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `","apiKey":"x"}}`, []string{"credentials.apiKey"}},
		{"ai provider unknown", `{"name":"a","type":"AI","credentials":{"provider":"skynet","apiKey":"k-1234567890"}}`, []string{"credentials.provider"}},
		{"ai key missing", `{"name":"a","type":"AI","credentials":{"provider":"anthropic"}}`, []string{"credentials.apiKey"}},
		{"ai key with space", `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk abc"}}`, []string{"credentials.apiKey"}},
		{"ai baseUrl ftp", `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk-abc","baseUrl":"ftp://x"}}`, []string{"credentials.baseUrl"}},
		{"ollama needs baseUrl", `{"name":"a","type":"AI","credentials":{"provider":"ollama"}}`, []string{"credentials.baseUrl"}},
		{"ai model with space", `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk-abc","model":"gpt 4"}}`, []string{"credentials.model"}},
		{"ai field wrong type", `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":42}}`, []string{"credentials.apiKey"}},
		{"webhook http", `{"name":"a","type":"WEBHOOK","credentials":{"url":"http://example.com"}}`, []string{"credentials.url"}},
		{"webhook short secret", `{"name":"a","type":"WEBHOOK","credentials":{"url":"https://example.com","signingSecret":"short"}}`, []string{"credentials.signingSecret"}},
		{"webhook userinfo", `{"name":"a","type":"WEBHOOK","credentials":{"url":"https://u:p@example.com"}}`, []string{"credentials.url"}},
		{"config array", `{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"},"config":[1]}`, []string{"config"}},
		{"config too big", `{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"},"config":{"x":"` + strings.Repeat("y", gateway.MaxConfigBytes) + `"}}`, []string{"config"}},
	}
	rules := realRules(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.DecodeCreate([]byte(tt.body), rules)
			got := fieldsOf(t, err)
			if len(got) != len(tt.want) {
				t.Errorf("fields = %v, want exactly %v", got, tt.want)
			}
			for _, f := range tt.want {
				if _, ok := got[f]; !ok {
					t.Errorf("no error for %q; got %v", f, got)
				}
			}
		})
	}
}

func TestDecodeCreateMalformed(t *testing.T) {
	for _, body := range []string{``, `nul`, `[]`, `"x"`, `null`, `{"name":"a"} {}`, `{"name":`, `12`} {
		t.Run(body, func(t *testing.T) {
			_, err := gateway.DecodeCreate([]byte(body), realRules(t))
			if got := gateway.ErrorCode(err); got != gateway.CodeInvalid {
				t.Fatalf("code = %q, want %q (err %v)", got, gateway.CodeInvalid, err)
			}
		})
	}
}

func TestErrorsNeverEchoSecrets(t *testing.T) {
	secret := "sk-THIS-IS-SECRET with space"
	_, err := gateway.DecodeCreate([]byte(`{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"`+secret+`"}}`), realRules(t))
	if err == nil || strings.Contains(err.Error(), "THIS-IS-SECRET") {
		t.Fatalf("error %v echoes the secret", err)
	}
	for _, f := range err.(*gateway.Error).Fields {
		if strings.Contains(f.Message, "SECRET") {
			t.Fatalf("field message %q echoes the secret", f.Message)
		}
	}
}

func TestDecodeUpdate(t *testing.T) {
	rules := realRules(t)
	req, err := gateway.DecodeUpdate([]byte(`{"name":" New ","config":{"a":1}}`), gateway.TypeTelegramBot, rules)
	if err != nil {
		t.Fatal(err)
	}
	if *req.Name != "New" || string(req.Config) != `{"a":1}` || req.Credentials != nil {
		t.Errorf("got %+v", req)
	}
	if _, err := gateway.DecodeUpdate([]byte(`{}`), gateway.TypeAI, rules); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Errorf("empty update: err = %v", err)
	}
	got := fieldsOf(t, func() error {
		_, err := gateway.DecodeUpdate([]byte(`{"credentials":{"botToken":"bad"},"type":"AI"}`), gateway.TypeTelegramBot, rules)
		return err
	}())
	if _, ok := got["credentials.botToken"]; !ok {
		t.Errorf("fields = %v, want credentials.botToken", got)
	}
	if _, ok := got["type"]; !ok {
		t.Errorf("fields = %v, want type (not updatable)", got)
	}
}

func TestDecodeStatus(t *testing.T) {
	st, err := gateway.DecodeStatus([]byte(`{"status":"CONNECTED"}`), gateway.StatusConnected, gateway.StatusDisconnected)
	if err != nil || st != gateway.StatusConnected {
		t.Fatalf("got %q, %v", st, err)
	}
	for _, body := range []string{`{"status":"ERROR"}`, `{"status":"connected"}`, `{}`, `{"status":1}`, `{"status":"CONNECTED","x":1}`} {
		if _, err := gateway.DecodeStatus([]byte(body), gateway.StatusConnected, gateway.StatusDisconnected); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Errorf("%s: err = %v, want invalid", body, err)
		}
	}
}

// TestValidID: ValidID accepts exactly what the pattern of NewID's ids
// does, on every id NewID makes and on near misses of every kind.
func TestValidID(t *testing.T) {
	pattern := regexp.MustCompile(`^gw_[a-z2-7]{26}$`)
	ids := []string{"", "gw_", "gw_abcdefghijklmnopqrstuvwxyz", "gw_abcdefghijklmnopqrstuvwxy", "gw_abcdefghijklmnopqrstuvwxyz2",
		"GW_abcdefghijklmnopqrstuvwxyz", "gw-abcdefghijklmnopqrstuvwxyz", "gw_abcdefghijklmnopqrstuvwxy1", "gw_abcdefghijklmnopqrstuvwxy8",
		"gw_abcdefghijklmnopqrstuvwxyZ", "gw_abcdefghijklmnopqrstuvwx\u00e9", "gw_2222222222222222222222222{", "xgw_abcdefghijklmnopqrstuvwxy"}
	for range 100 {
		ids = append(ids, gateway.NewID())
	}
	for _, id := range ids {
		if got, want := gateway.ValidID(id), pattern.MatchString(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}
