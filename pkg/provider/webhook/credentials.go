package webhook

import (
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// MinSigningSecretLength is the shortest signing secret accepted, in bytes,
// so that a receiver's signature check cannot be beaten by guessing the
// secret. The dashboard mirrors it.
const MinSigningSecretLength = 24

var (
	_ provider.CredentialChecker    = (*Provider)(nil)
	_ provider.CredentialSummarizer = (*Provider)(nil)
)

// CheckCredentials checks the credentials' shape without any call: an
// absolute https URL (or http, where the operator lets Gatehouse reach
// private networks: a laptop's receiver on 127.0.0.1), and a signing
// secret, when there is one, of at least MinSigningSecretLength printable
// ASCII characters. Whether the URL may be dialled is the SSRF guard's
// question, asked by ValidateCredentials.
func (p *Provider) CheckCredentials(c gateway.Credentials) []gateway.FieldError {
	var fe provider.FieldErrors
	if fe.Required("credentials.url", c.URL) {
		schemes := []string{"https"}
		if p.guard.AllowPrivate {
			schemes = append(schemes, "http")
		}
		fe.URL("credentials.url", c.URL, schemes...)
	}
	if c.SigningSecret != "" {
		fe.Secret("credentials.signingSecret", c.SigningSecret, MinSigningSecretLength)
	}
	return fe
}

// CredentialInfo returns the URL masked (gateway.MaskURL: scheme, host and
// port, never the path's text or the query, where a Slack or Discord
// webhook URL keeps its secret) and whether events are signed.
func (p *Provider) CredentialInfo(c gateway.Credentials) map[string]any {
	return map[string]any{"url": gateway.MaskURL(c.URL), "hasSigningSecret": c.SigningSecret != ""}
}
