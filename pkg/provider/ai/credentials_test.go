package ai

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

func TestCheckCredentials(t *testing.T) {
	fe := func(field, msg string) gateway.FieldError { return gateway.FieldError{Field: field, Message: msg} }
	tests := []struct {
		name  string
		creds gateway.Credentials
		want  []gateway.FieldError
	}{
		{name: "openai", creds: gateway.Credentials{Provider: "openai", APIKey: "sk-abcdefghijklmnop", Model: "gpt-4o-mini"}},
		{name: "ollama without key", creds: gateway.Credentials{Provider: "ollama", BaseURL: "http://localhost:11434"}},
		{name: "nothing", creds: gateway.Credentials{}, want: []gateway.FieldError{
			fe("credentials.provider", "is required"), fe("credentials.apiKey", "is required")}},
		{name: "unknown provider", creds: gateway.Credentials{Provider: "skynet", APIKey: "k-1234567890"}, want: []gateway.FieldError{
			fe("credentials.provider", "must be one of openai, anthropic, deepseek, grok, gemini, mistral, groq, ollama")}},
		{name: "key missing", creds: gateway.Credentials{Provider: "anthropic"}, want: []gateway.FieldError{fe("credentials.apiKey", "is required")}},
		{name: "key with space", creds: gateway.Credentials{Provider: "openai", APIKey: "sk abc"}, want: []gateway.FieldError{
			fe("credentials.apiKey", "must contain only printable ASCII characters without spaces")}},
		{name: "key too long", creds: gateway.Credentials{Provider: "openai", APIKey: strings.Repeat("k", 513)}, want: []gateway.FieldError{
			fe("credentials.apiKey", "must be at most 512 characters")}},
		{name: "ftp base URL", creds: gateway.Credentials{Provider: "openai", APIKey: "sk-abc", BaseURL: "ftp://x"}, want: []gateway.FieldError{
			fe("credentials.baseUrl", "must use http or https")}},
		{name: "ollama needs a base URL", creds: gateway.Credentials{Provider: "ollama"}, want: []gateway.FieldError{
			fe("credentials.baseUrl", "is required for ollama")}},
		{name: "model with space", creds: gateway.Credentials{Provider: "openai", APIKey: "sk-abc", Model: "gpt 4"}, want: []gateway.FieldError{
			fe("credentials.model", "must be a model name of at most 200 characters without spaces")}},
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
}

func TestCredentialInfoHoldsNoSecret(t *testing.T) {
	tests := []struct {
		c      gateway.Credentials
		secret string
		want   map[string]any
	}{
		{gateway.Credentials{Provider: "openai", APIKey: "sk-proj-abcdefghijklmnop1234", Model: "gpt-4o"}, "abcdefghijklmnop",
			map[string]any{"provider": "openai", "apiKeyLast4": "1234", "model": "gpt-4o"}},
		{gateway.Credentials{Provider: "openai", APIKey: "short"}, "short", map[string]any{"provider": "openai", "apiKeyLast4": "****"}},
		// An Azure-style base URL carries a key in its query, and a proxy's
		// may carry one in its path or user information.
		{gateway.Credentials{Provider: "openai", APIKey: "sk-proj-abcdefghijklmnop1234", BaseURL: "https://my-res.openai.azure.com/openai/deployments/gpt?api-key=azure-key-0123456789"},
			"azure-key-0123456789", map[string]any{"provider": "openai", "apiKeyLast4": "1234", "baseUrl": "https://my-res.openai.azure.com/…"}},
		{gateway.Credentials{Provider: "ollama", BaseURL: "http://user:pa55word@10.0.0.5:11434/proxy-secret-path/v1"},
			"pa55word", map[string]any{"provider": "ollama", "baseUrl": "http://10.0.0.5:11434/…"}},
		{gateway.Credentials{Provider: "ollama", BaseURL: "http://localhost:11434"},
			"no secret", map[string]any{"provider": "ollama", "baseUrl": "http://localhost:11434"}},
	}
	p := New(Options{})
	for _, tt := range tests {
		got := p.CredentialInfo(tt.c)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CredentialInfo = %v, want %v", got, tt.want)
		}
		b, _ := json.Marshal(got)
		if strings.Contains(string(b), tt.secret) {
			t.Errorf("info %s contains the secret", b)
		}
	}
}
