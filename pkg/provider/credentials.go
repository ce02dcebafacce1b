package provider

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// A gateway's credentials are checked twice. Their shape — which fields are
// present and what each looks like — is the provider's to know and needs no
// call: the domain asks for it through the Registry (gateway.CredentialRules)
// while it decodes a request, so a malformed token is a 400 naming its field
// before anything is called or stored. Whether the remote system accepts
// them is ValidateCredentials, one live call, made afterwards.

// CredentialChecker is implemented by providers whose credentials have rules
// beyond the required fields their Info declares.
type CredentialChecker interface {
	// CheckCredentials checks creds field by field without any call and
	// returns every problem, as errors on "credentials.<name>" in the order
	// of the fields; none when the shape is right. A message never holds a
	// value: the fields are secrets.
	CheckCredentials(creds gateway.Credentials) []gateway.FieldError
}

// CredentialSummarizer is implemented by providers that choose what of their
// credentials a gateway shows (its credentialInfo).
type CredentialSummarizer interface {
	// CredentialInfo returns the non-secret summary of creds stored beside
	// them: never a secret, at most the last four characters of one (Last4).
	CredentialInfo(creds gateway.Credentials) map[string]any
}

// CheckCredentials checks creds against p: its own rules when it is a
// CredentialChecker, else the fields its Info marks required ("is
// required"). It makes no call.
func CheckCredentials(p Provider, creds gateway.Credentials) []gateway.FieldError {
	if c, ok := p.(CredentialChecker); ok {
		return c.CheckCredentials(creds)
	}
	var fe FieldErrors
	for _, f := range p.Info().Credentials {
		if v := creds.Field(f.Name); f.Required && v != nil {
			fe.Required("credentials."+f.Name, *v)
		}
	}
	return fe
}

// CredentialInfo returns the summary of creds that p gives when it is a
// CredentialSummarizer, else the values of the fields its Info does not
// mark secret, by name, when they are set. Either way every URL in it is
// masked (gateway.MaskCredentialInfo), whatever the provider returned: a
// URL's path and query may be its secret. It never returns nil.
func CredentialInfo(p Provider, creds gateway.Credentials) map[string]any {
	if s, ok := p.(CredentialSummarizer); ok {
		info := s.CredentialInfo(creds)
		if info == nil {
			return map[string]any{}
		}
		info, _ = gateway.MaskCredentialInfo(info)
		return info
	}
	info := map[string]any{}
	for _, f := range p.Info().Credentials {
		if v := creds.Field(f.Name); !f.Secret && v != nil && *v != "" {
			info[f.Name] = *v
		}
	}
	info, _ = gateway.MaskCredentialInfo(info)
	return info
}

// Bounds of the credential values FieldErrors checks.
const (
	maxSecretLength = 512
	maxURLLength    = 2048
)

// FieldErrors collects the field errors of a check, in the order found. Its
// methods are the rules every provider applies to a credential of a kind
// (a secret, a URL), with the messages the dashboard mirrors
// (frontend/src/lib/validation.ts); none puts the value in a message.
type FieldErrors []gateway.FieldError

// Add records that field is wrong, as message says.
func (e *FieldErrors) Add(field, message string) {
	*e = append(*e, gateway.FieldError{Field: field, Message: message})
}

// Required records "is required" when value is empty, and reports whether
// it is set.
func (e *FieldErrors) Required(field, value string) bool {
	if value == "" {
		e.Add(field, "is required")
		return false
	}
	return true
}

// Secret checks a secret's length (minLen to 512 bytes) and characters
// (printable ASCII, no spaces: what keys and tokens are made of, and what
// fits a header), without ever echoing it.
func (e *FieldErrors) Secret(field, s string, minLen int) {
	switch {
	case len(s) < minLen:
		e.Add(field, fmt.Sprintf("must be at least %d characters", minLen))
	case len(s) > maxSecretLength:
		e.Add(field, fmt.Sprintf("must be at most %d characters", maxSecretLength))
	case strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r > '~' }) >= 0:
		e.Add(field, "must contain only printable ASCII characters without spaces")
	}
}

// URL checks that raw is an absolute URL of at most 2048 characters with
// one of schemes and a host, without user information (a credential in the
// wrong place) or a fragment (never sent). Whether its host may be dialled
// is the SSRF guard's question, not this one's.
func (e *FieldErrors) URL(field, raw string, schemes ...string) {
	if len(raw) > maxURLLength {
		e.Add(field, fmt.Sprintf("must be at most %d characters", maxURLLength))
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		e.Add(field, "must be an absolute URL")
		return
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		e.Add(field, "must use "+strings.Join(schemes, " or "))
		return
	}
	if u.User != nil {
		e.Add(field, "must not contain user information")
	}
	if u.Fragment != "" {
		e.Add(field, "must not contain a fragment")
	}
}

// Last4 returns the last four characters of a secret long enough that they
// say little about it (12 characters or more), for a summary that lets a
// user tell two keys apart; shorter secrets are masked entirely ("****").
func Last4(s string) string {
	r := []rune(s)
	if len(r) < 12 {
		return "****"
	}
	return string(r[len(r)-4:])
}
