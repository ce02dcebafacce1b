package ai

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// maxModelLength bounds credentials.model; model ids are far shorter.
const maxModelLength = 200

var (
	_ provider.CredentialChecker    = (*Provider)(nil)
	_ provider.CredentialSummarizer = (*Provider)(nil)
)

// CheckCredentials checks the credentials' shape without any call: a
// provider among Vendors; an API key unless the vendor needs none, of
// printable ASCII; a base URL (http or https) when the vendor needs one or
// one is given; a model name without spaces. Whether the base URL may be
// dialled is the SSRF guard's question, asked by ValidateCredentials.
func (p *Provider) CheckCredentials(c gateway.Credentials) []gateway.FieldError {
	var fe provider.FieldErrors
	v, known := LookupVendor(c.Provider)
	switch {
	case c.Provider == "":
		fe.Add("credentials.provider", "is required")
	case !known:
		fe.Add("credentials.provider", "must be one of "+strings.Join(namesOfVendors(), ", "))
	}
	// An unknown vendor is treated as one that needs a key, so that the
	// answer names every field the user must fix at once.
	switch {
	case c.APIKey == "" && (!known || v.RequiresAPIKey):
		fe.Add("credentials.apiKey", "is required")
	case c.APIKey != "":
		fe.Secret("credentials.apiKey", c.APIKey, 1)
	}
	switch {
	case c.BaseURL == "" && v.requiresBaseURL:
		fe.Add("credentials.baseUrl", "is required for "+v.Name)
	case c.BaseURL != "":
		fe.URL("credentials.baseUrl", c.BaseURL, "http", "https")
	}
	if c.Model != "" {
		if utf8.RuneCountInString(c.Model) > maxModelLength || strings.IndexFunc(c.Model, func(r rune) bool {
			return unicode.IsControl(r) || unicode.IsSpace(r)
		}) >= 0 {
			fe.Add("credentials.model", fmt.Sprintf("must be a model name of at most %d characters without spaces", maxModelLength))
		}
	}
	return fe
}

// CredentialInfo returns the provider, the model and the base URL masked
// (gateway.MaskURL: an Azure-style base URL carries its key in the query)
// when set, and the API key's last four characters.
func (p *Provider) CredentialInfo(c gateway.Credentials) map[string]any {
	info := map[string]any{"provider": c.Provider}
	if c.APIKey != "" {
		info["apiKeyLast4"] = provider.Last4(c.APIKey)
	}
	if c.BaseURL != "" {
		info["baseUrl"] = gateway.MaskURL(c.BaseURL)
	}
	if c.Model != "" {
		info["model"] = c.Model
	}
	return info
}
