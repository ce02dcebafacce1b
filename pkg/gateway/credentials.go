package gateway

// Credentials are a gateway's secrets in plaintext, as decoded from a request
// or opened from the store: the one JSON object that is sealed per gateway.
// Which fields a gateway uses, how they are checked and what of them may be
// shown depends on its type, and only the type's provider knows that; the
// domain asks it through CredentialRules. The struct lists every field any
// type uses because it is what is sealed and stored, under the field names
// of the API.
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

// Field returns the field of c whose JSON name is name, or nil when there is
// none. The decoder fills credentials by the names a type's rules list, so
// it needs no code of its own per type.
func (c *Credentials) Field(name string) *string {
	switch name {
	case "botToken":
		return &c.BotToken
	case "provider":
		return &c.Provider
	case "apiKey":
		return &c.APIKey
	case "baseUrl":
		return &c.BaseURL
	case "model":
		return &c.Model
	case "url":
		return &c.URL
	case "signingSecret":
		return &c.SigningSecret
	}
	return nil
}

// CredentialRules is what the domain asks about the credentials of a
// gateway type: which fields a request may send, whether their values have
// the right shape, and what of them a gateway may show. The type's provider
// knows; provider.Registry implements CredentialRules by asking it, so that
// adding a gateway type or an AI vendor changes nothing here.
type CredentialRules interface {
	// CredentialFields lists the JSON names of the Credentials fields that
	// gateways of type t use; none for a type the rules do not know.
	CredentialFields(t Type) []string
	// CheckCredentials checks c as credentials of type t, field by field
	// and without any call. It returns every problem as a FieldError on
	// "credentials.<name>" whose message never holds the value; none when
	// c is well-formed.
	CheckCredentials(t Type, c Credentials) []FieldError
	// CredentialInfo returns the non-secret summary of c stored beside the
	// sealed credentials (a gateway's credentialInfo). It never returns nil.
	CredentialInfo(t Type, c Credentials) map[string]any
}
