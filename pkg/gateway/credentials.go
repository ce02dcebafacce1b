package gateway

// Credentials are a gateway's secrets in plaintext, as decoded from a request
// or opened from the store. Which fields apply depends on the gateway's type:
//
//	TELEGRAM_BOT  BotToken
//	AI            Provider, APIKey (not for ollama), BaseURL, Model
//	WEBHOOK       URL, SigningSecret
//
// Credentials are never logged and never put in a response; String redacts.
type Credentials struct {
	BotToken      string `json:"botToken,omitempty"`
	Provider      string `json:"provider,omitempty"`
	APIKey        string `json:"apiKey,omitempty"`
	BaseURL       string `json:"baseUrl,omitempty"`
	Model         string `json:"model,omitempty"`
	URL           string `json:"url,omitempty"`
	SigningSecret string `json:"signingSecret,omitempty"`
}

// String redacts, so that a stray %v never prints a secret.
func (Credentials) String() string { return "gateway.Credentials{REDACTED}" }

// GoString redacts, so that %#v never prints a secret.
func (Credentials) GoString() string { return "gateway.Credentials{REDACTED}" }

// credentialFields lists, per type, the fields a request may send and
// whether each is secret (secret values are masked in CredentialInfo).
var credentialFields = map[Type][]string{
	TypeTelegramBot: {"botToken"},
	TypeAI:          {"provider", "apiKey", "baseUrl", "model"},
	TypeWebhook:     {"url", "signingSecret"},
}

// Info computes the non-secret summary stored beside sealed credentials:
// Telegram: the bot id (the token's part before the colon) and the token's
// last 4 characters; AI: provider, model, baseUrl and the key's last 4;
// webhook: the url and whether a signing secret is set.
func (c Credentials) Info(t Type) map[string]any {
	info := map[string]any{}
	switch t {
	case TypeTelegramBot:
		if i := indexByte(c.BotToken, ':'); i > 0 {
			info["botId"] = c.BotToken[:i]
		}
		info["tokenLast4"] = last4(c.BotToken)
	case TypeAI:
		info["provider"] = c.Provider
		if c.APIKey != "" {
			info["apiKeyLast4"] = last4(c.APIKey)
		}
		if c.BaseURL != "" {
			info["baseUrl"] = c.BaseURL
		}
		if c.Model != "" {
			info["model"] = c.Model
		}
	case TypeWebhook:
		info["url"] = c.URL
		info["hasSigningSecret"] = c.SigningSecret != ""
	}
	return info
}

// last4 returns the last four characters of a secret long enough that they
// say little about it; shorter secrets are masked entirely.
func last4(s string) string {
	r := []rune(s)
	if len(r) < 12 {
		return "****"
	}
	return string(r[len(r)-4:])
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}
