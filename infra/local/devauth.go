package local

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Development tokens carry this issuer and audience. They differ from any
// real OIDC issuer, so a local token is never mistaken for a deployed one.
const (
	DevIssuer   = "gatehouse-local"
	DevAudience = "gatehouse"
)

// KeySize is the size of the development signing key: RFC 7518 requires an
// HS256 key of at least the hash size.
const KeySize = 32

// DefaultKeyFile is where the runner and `make token` keep the development
// signing key, relative to the repository root: inside the git-ignored
// local state, so it survives restarts and is never committed.
const DefaultKeyFile = ".gatehouse/dev-signing.key"

// leeway absorbs clock skew between the process that minted a token and the
// one that checks it, as real authorizers do; small, so expiry still means
// something in tests.
const leeway = 30 * time.Second

// Claims are the verified claims of a development token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	Orgs      []string
	IssuedAt  time.Time
	ExpiresAt time.Time

	// raw keeps every claim as decoded (numbers as json.Number), so that
	// APIGatewayClaims passes on what the token says rather than what this
	// struct knows about.
	raw map[string]any
}

// LoadOrCreateKey returns the development signing key stored at path,
// creating it with KeySize random bytes (mode 0600, parent folders 0700) when
// the file does not exist. Concurrent first calls agree on one key: the file
// appears complete or not at all.
//
// It returns an error when the file exists but does not hold exactly KeySize
// bytes, or when it cannot be read or written.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".devkey-*")
	if err != nil {
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	// Link, unlike rename, fails when path exists: a process that lost the
	// race uses the winner's key instead of replacing it under its tokens.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path)
		}
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("local.LoadOrCreateKey: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("local.LoadOrCreateKey: %s holds %d bytes, want %d; delete it to make a new key", path, len(key), KeySize)
	}
	return key, nil
}

// Mint returns an HS256 development token for sub, member of orgs, valid for
// ttl from now, with iss DevIssuer and aud DevAudience. orgs is always a
// JSON array, empty when nil, so the claim's shape does not depend on
// membership.
//
// It returns an error for a key shorter than KeySize, a sub or an org that
// is not a principal id (gateway.ValidPrincipalID: the API refuses a token
// carrying one, so minting it would only hand out a token that fails
// later) or a non-positive ttl.
func Mint(key []byte, sub string, orgs []string, ttl time.Duration) (string, error) {
	tok, _, err := mint(key, sub, orgs, time.Now(), ttl)
	return tok, err
}

// mint is Mint at a given time; it also returns the expiry as written into
// the token, so callers can report it without recomputing it.
func mint(key []byte, sub string, orgs []string, now time.Time, ttl time.Duration) (string, time.Time, error) {
	switch {
	case len(key) < KeySize:
		return "", time.Time{}, fmt.Errorf("local.Mint: key has %d bytes, want at least %d", len(key), KeySize)
	case sub == "":
		return "", time.Time{}, errors.New("local.Mint: empty sub")
	case !gateway.ValidPrincipalID(sub):
		return "", time.Time{}, errors.New("local.Mint: sub is not a valid user id (" + gateway.PrincipalIDPattern + ")")
	case ttl <= 0:
		return "", time.Time{}, fmt.Errorf("local.Mint: ttl %v is not positive", ttl)
	}
	for i, o := range orgs {
		if !gateway.ValidPrincipalID(o) {
			return "", time.Time{}, fmt.Errorf("local.Mint: orgs[%d] is not a valid organization id (%s)", i, gateway.PrincipalIDPattern)
		}
	}
	if orgs == nil {
		orgs = []string{}
	}
	iat := now.Truncate(time.Second)
	exp := now.Add(ttl).Truncate(time.Second)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":  DevIssuer,
		"aud":  DevAudience,
		"sub":  sub,
		"orgs": orgs,
		"iat":  iat.Unix(),
		"exp":  exp.Unix(),
	}).SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("local.Mint: %w", err)
	}
	return tok, exp, nil
}

// Verify checks token the way the HTTP API's JWT authorizer would check a
// real one: the algorithm must be HS256 (never "none", never another family,
// whatever the header claims), the signature must match key, exp must be
// present and not past, nbf and iat not in the future (each with a small
// leeway), iss must be DevIssuer and aud must contain DevAudience. sub must
// be a non-empty string, and orgs, when present, an array of strings.
//
// Any failure is returned as an error; its text is for the log, not for the
// caller of the API.
func Verify(key []byte, token string) (Claims, error) {
	if len(key) < KeySize {
		return Claims{}, fmt.Errorf("local.Verify: key has %d bytes, want at least %d", len(key), KeySize)
	}
	mc := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, mc,
		func(t *jwt.Token) (any, error) {
			// Redundant with WithValidMethods by design: the key is handed
			// out only for the one method it is meant for.
			if t.Method != jwt.SigningMethodHS256 {
				return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
			}
			return key, nil
		},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(DevIssuer),
		jwt.WithAudience(DevAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithJSONNumber(),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("local.Verify: %w", err)
	}
	c := Claims{raw: map[string]any(mc)}
	c.Issuer, _ = mc.GetIssuer()
	c.Subject, _ = mc["sub"].(string)
	if c.Subject == "" {
		return Claims{}, errors.New("local.Verify: sub missing or not a string")
	}
	aud, _ := mc.GetAudience()
	c.Audience = []string(aud)
	if v, ok := mc["orgs"]; ok {
		list, ok := v.([]any)
		if !ok {
			return Claims{}, errors.New("local.Verify: orgs is not an array")
		}
		c.Orgs = make([]string, 0, len(list))
		for _, o := range list {
			s, ok := o.(string)
			if !ok {
				return Claims{}, errors.New("local.Verify: orgs holds a non-string")
			}
			c.Orgs = append(c.Orgs, s)
		}
	}
	if d, _ := mc.GetIssuedAt(); d != nil {
		c.IssuedAt = d.Time
	}
	if d, _ := mc.GetExpirationTime(); d != nil {
		c.ExpiresAt = d.Time
	}
	return c, nil
}

// APIGatewayClaims returns the claims as the HTTP API's JWT authorizer puts
// them into requestContext.authorizer.jwt.claims: every value becomes a
// string; strings stay as they are, numbers become their decimal text,
// booleans "true" or "false", and arrays are flattened to "[a b]" with their
// elements flattened the same way. Handlers must therefore parse the orgs
// claim from "[acme beta]", exactly as in AWS.
func (c Claims) APIGatewayClaims() map[string]string {
	raw := c.raw
	if raw == nil {
		raw = c.synthesize()
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = flattenClaim(v)
	}
	return out
}

// synthesize rebuilds the claim set of a Claims made by hand rather than by
// Verify, with values typed as JSON decoding would type them.
func (c Claims) synthesize() map[string]any {
	m := map[string]any{}
	if c.Issuer != "" {
		m["iss"] = c.Issuer
	}
	if c.Subject != "" {
		m["sub"] = c.Subject
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = toAny(c.Audience)
	}
	if c.Orgs != nil {
		m["orgs"] = toAny(c.Orgs)
	}
	if !c.IssuedAt.IsZero() {
		m["iat"] = json.Number(strconv.FormatInt(c.IssuedAt.Unix(), 10))
	}
	if !c.ExpiresAt.IsZero() {
		m["exp"] = json.Number(strconv.FormatInt(c.ExpiresAt.Unix(), 10))
	}
	return m
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// flattenClaim renders one decoded claim value. Objects are rendered as JSON:
// development tokens never carry them, and AWS documents no form for them.
func flattenClaim(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = flattenClaim(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []string:
		return "[" + strings.Join(v, " ") + "]"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}
