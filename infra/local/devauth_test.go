package local

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/internal/secretscan"
)

// mustKey returns a fresh development key.
func mustKey(tb testing.TB) []byte {
	tb.Helper()
	key, err := LoadOrCreateKey(filepath.Join(tb.TempDir(), ".gatehouse", "dev-signing.key"))
	if err != nil {
		tb.Fatal(err)
	}
	secretscan.Register("dev signing key", string(key))
	return key
}

// mustMint returns a token for sub and orgs valid for an hour.
func mustMint(tb testing.TB, key []byte, sub string, orgs ...string) string {
	tb.Helper()
	tok, err := Mint(key, sub, orgs, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	registerToken(tok)
	return tok
}

// registerToken makes a bearer token, and its signature alone, secrets
// for the scan TestMain runs: the header and claims are only base64 JSON,
// the signature is what a leak would give away.
func registerToken(tok string) {
	secretscan.Register("bearer token", tok)
	secretscan.Register("bearer token signature", tok[strings.LastIndexByte(tok, '.')+1:])
}

// signClaims signs arbitrary claims, for tokens Mint refuses to make.
func signClaims(tb testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	tb.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func validClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": DevIssuer, "aud": DevAudience, "sub": "alice", "orgs": []string{"acme"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".gatehouse")
	path := filepath.Join(dir, "dev-signing.key")
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize {
		t.Fatalf("len(key) = %d, want %d", len(key), KeySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %v, want 0600", got)
	}
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, again) {
		t.Error("second LoadOrCreateKey returned another key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the key", len(entries))
	}
	other := mustKey(t)
	if bytes.Equal(key, other) {
		t.Error("two new keys are equal")
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(keys[0], keys[i]) {
			t.Fatalf("concurrent callers got different keys")
		}
	}
}

func TestLoadOrCreateKeyCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "holds 5 bytes") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func TestMintVerify(t *testing.T) {
	key := mustKey(t)
	before := time.Now().Truncate(time.Second)
	tok := mustMint(t, key, "alice", "acme", "beta")
	c, err := Verify(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Issuer != DevIssuer || !reflect.DeepEqual(c.Audience, []string{DevAudience}) {
		t.Errorf("claims = %+v", c)
	}
	if !reflect.DeepEqual(c.Orgs, []string{"acme", "beta"}) {
		t.Errorf("Orgs = %q", c.Orgs)
	}
	if c.IssuedAt.Before(before) || c.ExpiresAt.Sub(c.IssuedAt) < time.Hour-time.Second {
		t.Errorf("iat %v exp %v", c.IssuedAt, c.ExpiresAt)
	}

	got := c.APIGatewayClaims()
	want := map[string]string{
		"iss":  DevIssuer,
		"aud":  DevAudience,
		"sub":  "alice",
		"orgs": "[acme beta]",
		"iat":  itoa(c.IssuedAt.Unix()),
		"exp":  itoa(c.ExpiresAt.Unix()),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("APIGatewayClaims:\n got %v\nwant %v", got, want)
	}
}

func TestMintHeaderAndEmptyOrgs(t *testing.T) {
	key := mustKey(t)
	tok := mustMint(t, key, "bob")
	header, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"alg":"HS256"`) {
		t.Errorf("header = %s", raw)
	}
	c, err := Verify(key, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Orgs == nil || len(c.Orgs) != 0 {
		t.Errorf("Orgs = %#v, want empty, not nil", c.Orgs)
	}
	if got := c.APIGatewayClaims()["orgs"]; got != "[]" {
		t.Errorf("flattened orgs = %q, want []", got)
	}
}

func TestMintErrors(t *testing.T) {
	key := mustKey(t)
	tests := []struct {
		name string
		key  []byte
		sub  string
		orgs []string
		ttl  time.Duration
	}{
		{"short key", key[:16], "alice", nil, time.Hour},
		{"empty sub", key, "", nil, time.Hour},
		{"zero ttl", key, "alice", nil, 0},
		{"negative ttl", key, "alice", nil, -time.Hour},
		// Ids the API refuses: a token carrying one would only fail later.
		{"sub with a space", key, "alice smith", nil, time.Hour},
		{"sub with the key separator", key, "alice#1", nil, time.Hour},
		{"org with a space", key, "alice", []string{"acme corp"}, time.Hour},
		{"org in brackets", key, "alice", []string{"acme", "[beta]"}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Mint(tt.key, tt.sub, tt.orgs, tt.ttl); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	key := mustKey(t)
	otherKey := mustKey(t)
	with := func(k string, v any) jwt.MapClaims {
		c := validClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good := mustMint(t, key, "alice", "acme")
	parts := strings.Split(good, ".")
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not.a.token"},
		{"other key", mustMint(t, otherKey, "alice")},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"gatehouse-local","aud":"gatehouse","sub":"mallory","exp":9999999999}`)) + "." + parts[2]},
		{"signature stripped", parts[0] + "." + parts[1] + "."},
		{"alg none", noneTok},
		{"HS512 with the same key", signClaims(t, jwt.SigningMethodHS512, key, validClaims())},
		{"HS384 with the same key", signClaims(t, jwt.SigningMethodHS384, key, validClaims())},
		{"expired", signClaims(t, jwt.SigningMethodHS256, key, with("exp", time.Now().Add(-time.Hour).Unix()))},
		{"no exp", signClaims(t, jwt.SigningMethodHS256, key, with("exp", nil))},
		{"not yet valid", signClaims(t, jwt.SigningMethodHS256, key, with("nbf", time.Now().Add(time.Hour).Unix()))},
		{"issued in the future", signClaims(t, jwt.SigningMethodHS256, key, with("iat", time.Now().Add(time.Hour).Unix()))},
		{"wrong audience", signClaims(t, jwt.SigningMethodHS256, key, with("aud", "someone-else"))},
		{"no audience", signClaims(t, jwt.SigningMethodHS256, key, with("aud", nil))},
		{"wrong issuer", signClaims(t, jwt.SigningMethodHS256, key, with("iss", "https://evil.example"))},
		{"no sub", signClaims(t, jwt.SigningMethodHS256, key, with("sub", nil))},
		{"sub not a string", signClaims(t, jwt.SigningMethodHS256, key, with("sub", 42))},
		{"orgs not an array", signClaims(t, jwt.SigningMethodHS256, key, with("orgs", "acme"))},
		{"orgs with a number", signClaims(t, jwt.SigningMethodHS256, key, with("orgs", []any{"acme", 1}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := Verify(key, tt.token); err == nil {
				t.Fatalf("Verify accepted the token: %+v", c)
			}
		})
	}
	if _, err := Verify(key[:8], good); err == nil {
		t.Error("Verify with a short key: want error")
	}
}

func TestVerifyLeeway(t *testing.T) {
	key := mustKey(t)
	c := validClaims()
	c["exp"] = time.Now().Add(-5 * time.Second).Unix()
	if _, err := Verify(key, signClaims(t, jwt.SigningMethodHS256, key, c)); err != nil {
		t.Errorf("token expired 5s ago, within the leeway: %v", err)
	}
	c["aud"] = []string{"other", DevAudience}
	if _, err := Verify(key, signClaims(t, jwt.SigningMethodHS256, key, c)); err != nil {
		t.Errorf("audience list containing %q: %v", DevAudience, err)
	}
}

func TestAPIGatewayClaimsFlattening(t *testing.T) {
	key := mustKey(t)
	c := validClaims()
	c["email_verified"] = true
	c["score"] = 1.5
	c["big"] = int64(1700000000123)
	c["nested"] = []any{"a", []any{"b", "c"}, 3}
	c["cognito:groups"] = []string{"admin"}
	v, err := Verify(key, signClaims(t, jwt.SigningMethodHS256, key, c))
	if err != nil {
		t.Fatal(err)
	}
	got := v.APIGatewayClaims()
	for k, want := range map[string]string{
		"email_verified": "true",
		"score":          "1.5",
		"big":            "1700000000123",
		"nested":         "[a [b c] 3]",
		"cognito:groups": "[admin]",
		"orgs":           "[acme]",
	} {
		if got[k] != want {
			t.Errorf("claim %s = %q, want %q", k, got[k], want)
		}
	}
}

func TestAPIGatewayClaimsHandMade(t *testing.T) {
	exp := time.Unix(1700003600, 0)
	c := Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, Orgs: []string{"acme", "beta"}, IssuedAt: time.Unix(1700000000, 0), ExpiresAt: exp}
	want := map[string]string{"iss": "i", "sub": "s", "aud": "a", "orgs": "[acme beta]", "iat": "1700000000", "exp": "1700003600"}
	if got := c.APIGatewayClaims(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	c.Audience = []string{"a", "b"}
	if got := c.APIGatewayClaims()["aud"]; got != "[a b]" {
		t.Errorf("aud = %q, want [a b]", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
