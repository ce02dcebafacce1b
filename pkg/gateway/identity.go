package gateway

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// Principal ids: the user (the token's sub) and the organisations it lists.
//
// Both follow one pattern, PrincipalIDPattern: 1 to 255 characters, the
// first a letter or digit, the rest letters, digits and . _ @ : | + = -.
// It fits what real identity providers put in sub — Cognito's UUIDs,
// Auth0's "auth0|abc123" and "google-oauth2|123", Azure AD's base64url,
// Apple's "001234.abcd.0123", e-mail-like ids — and organisation ids such as
// Cognito group names ("acme", "us-east-1_AbC_Google"). It leaves out
// whitespace, brackets, quotes, commas and "#": whitespace and brackets are
// what API Gateway uses to flatten an array claim ("[a b]") and a comma is a
// list separator, so no valid id can be read as two; "#" is the separator
// of every composite key the table builds from an owner ("USER#<sub>",
// "IDEM#ORG#<id>#<key>"), so a key built from valid ids reads back as
// exactly one tuple. Key builders refuse an owner whose ids do not match
// (Owner.CheckedKey).
const PrincipalIDPattern = `^[A-Za-z0-9][A-Za-z0-9._@:|+=-]{0,254}$`

// MaxPrincipalIDLength is the longest valid principal id, in bytes.
const MaxPrincipalIDLength = 255

// ValidPrincipalID reports whether id matches PrincipalIDPattern. (A loop,
// not a regular expression: this runs on every request, and a counted
// repetition this long compiles to a large program at every cold start.)
func ValidPrincipalID(id string) bool {
	if len(id) == 0 || len(id) > MaxPrincipalIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && strings.IndexByte("._@:|+=-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ErrInvalidOwner is the cause of CheckedKey's error.
var ErrInvalidOwner = errors.New("owner id does not match the principal id pattern")

// CheckedKey is Key for an owner whose ids are valid principal ids (the
// organisation's when set, else the user's). Every key the table builds
// from an owner comes from it, so an id holding the separator can never
// make two owners' keys meet.
//
// Errors: CodeInternal wrapping ErrInvalidOwner; the edge refuses such ids
// before they get here, so one reaching a key is a bug.
func (o Owner) CheckedKey() (string, error) {
	id := o.UserID
	if o.OrganizationID != "" {
		id = o.OrganizationID
	}
	if !ValidPrincipalID(id) {
		return "", Internal("gateway.Owner.CheckedKey", ErrInvalidOwner)
	}
	return o.Key(), nil
}

// MaskURL returns what of a URL a gateway may show: its scheme, host and
// port when not the scheme's default, and "/…" for any path beyond "/".
// Never the user information, the path's text, the query or the fragment:
// a Slack or Discord webhook URL carries its secret in the path, and an
// Azure-style AI base URL its key in the query. The host is what a person
// recognises a target by; the full URL stays only inside the sealed
// credentials. MaskURL of a masked URL is itself, so a stored value can be
// checked for being masked by masking it again. A string that does not
// parse as an absolute URL is "…".
func MaskURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" || u.Hostname() == "" {
		return "…"
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "https" && p == "443") && !(scheme == "http" && p == "80") {
		host = net.JoinHostPort(strings.Trim(host, "[]"), p)
	}
	out := scheme + "://" + host
	switch u.EscapedPath() {
	case "":
	case "/":
		out += "/"
	default:
		out += "/…"
	}
	return out
}

// MaskCredentialInfo returns info with every string value that looks like
// a URL (holds "://") passed through MaskURL, and whether any value
// changed. It is how credentialInfo is read back, so that a gateway stored
// before URLs were masked answers masked too; info itself is not modified.
func MaskCredentialInfo(info map[string]any) (map[string]any, bool) {
	var out map[string]any
	for k, v := range info {
		s, ok := v.(string)
		if !ok || !strings.Contains(s, "://") {
			continue
		}
		if m := MaskURL(s); m != s {
			if out == nil {
				out = make(map[string]any, len(info))
				for k2, v2 := range info {
					out[k2] = v2
				}
			}
			out[k] = m
		}
	}
	if out == nil {
		return info, false
	}
	return out, true
}
