package gateway_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// The fuzz targets of this file check what the decoders promise whatever
// the body: no panic; either a CodeInvalid *Error whose field errors are
// named with short printable paths and carry a message, or a value that
// passes its own validation and decodes again to itself. Seed corpora live
// in testdata/fuzz/<Target>/; `make fuzz` runs them for longer.

// secretFields are the credentials whose values must never reach an error.
var secretFields = []string{"botToken", "apiKey", "signingSecret"}

// fuzzSeeds are bodies every decoder target starts from: valid requests of
// each type, and the near misses of TestMalformedRequests.
var fuzzSeeds = []string{
	`{"name":"Support bot","type":"TELEGRAM_BOT","credentials":{"botToken":"` + goodToken + `"}}`,
	`{"name":"GPT","type":"AI","credentials":{"provider":"openai","apiKey":"sk-abcdefghijklmnop","model":"gpt-4o-mini"},"config":{"temperature":0.2}}`,
	`{"name":"Local","type":"AI","credentials":{"provider":"ollama","baseUrl":"http://localhost:11434"}}`,
	`{"name":"Hook","type":"WEBHOOK","credentials":{"url":"https://example.com/hook","signingSecret":"0123456789abcdef01234567"},"config":null}`,
	`{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk THIS-IS-SECRET"}}`,
	`{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"12:short","apiKey":"x"}}`,
	`{"name":" \t ","type":"telegram_bot","credentials":"` + goodToken + `","config":[]}`,
	`{"name":"","type":"AI","credentials":{"provider":"x"},"config":1}`,
	`{"":1,"\u0000":2,"name":"a"}`,
	`{"name":"a"}{"name":"b"}`,
	`{"name":`,
	`[1,2]`,
	`null`,
	`{}`,
	`{"status":"CONNECTED"}`,
	`{"credentials":null}`,
	`{"config":{"allowedUpdates":["message"]},"name":"Renamed"}`,
}

// checkInvalid fails unless err is a CodeInvalid *Error whose fields are
// named and explained.
func checkInvalid(t *testing.T, err error) {
	t.Helper()
	e, ok := err.(*gateway.Error)
	if !ok {
		t.Fatalf("error %T is not *Error: %v", err, err)
	}
	if e.Code != gateway.CodeInvalid {
		t.Fatalf("code = %q, want %q", e.Code, gateway.CodeInvalid)
	}
	if e.Message == "" {
		t.Fatal("error has no message")
	}
	for _, f := range e.Fields {
		if !printablePath(f.Field) {
			t.Errorf("field name %q is not a short printable path", f.Field)
		}
		if f.Message == "" {
			t.Errorf("field %q has no message", f.Field)
		}
	}
}

// printablePath reports whether a field path is something a client can
// show: non-empty, bounded, UTF-8, and made of printable characters.
func printablePath(p string) bool {
	if p == "" || len(p) > len("credentials.")+64 || !utf8.ValidString(p) {
		return false
	}
	return strings.IndexFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// errorText is everything of err a client sees.
func errorText(err error) string {
	e, ok := err.(*gateway.Error)
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString(e.Code + "|" + e.Message)
	for _, f := range e.Fields {
		b.WriteString("|" + f.Field + "=" + f.Message)
	}
	return b.String()
}

// rotate changes every letter and digit of s to the next one of its class.
// Validation looks only at lengths and character classes of secrets, so a
// rotated secret is exactly as (in)valid as the original: an error that
// differs between the two depends on the secret's value, i.e. echoes it.
func rotate(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r < '9', r >= 'a' && r < 'z', r >= 'A' && r < 'Z':
			return r + 1
		case r == '9':
			return '0'
		case r == 'z':
			return 'a'
		case r == 'Z':
			return 'A'
		}
		return r
	}, s)
}

// withRotatedSecrets returns body re-encoded, and re-encoded with its secret
// credential values rotated; ok is false when body holds no secret to
// rotate.
func withRotatedSecrets(body []byte) (plain, rotated []byte, ok bool) {
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil {
		return nil, nil, false
	}
	creds, _ := obj["credentials"].(map[string]any)
	if creds == nil {
		return nil, nil, false
	}
	plain, _ = json.Marshal(obj)
	for _, k := range secretFields {
		if s, isStr := creds[k].(string); isStr && rotate(s) != s {
			creds[k] = rotate(s)
			ok = true
		}
	}
	rotated, _ = json.Marshal(obj)
	return plain, rotated, ok
}

// checkNoEcho fails if decode's errors depend on the values of secrets.
func checkNoEcho(t *testing.T, body []byte, decode func([]byte) error) {
	t.Helper()
	plain, rotated, ok := withRotatedSecrets(body)
	if !ok {
		return
	}
	got, want := errorText(decode(rotated)), errorText(decode(plain))
	if got != want {
		t.Fatalf("errors depend on a secret's value:\n%s\n%s", want, got)
	}
}

// checkName fails unless n is a name validation accepts.
func checkName(t *testing.T, n string) {
	t.Helper()
	if l := utf8.RuneCountInString(n); l == 0 || l > gateway.MaxNameLength || n != strings.TrimSpace(n) || strings.IndexFunc(n, unicode.IsControl) >= 0 {
		t.Fatalf("accepted name %q", n)
	}
}

// checkConfig fails unless c is a compact JSON object within the limit.
func checkConfig(t *testing.T, c json.RawMessage) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(c, &obj); err != nil || obj == nil {
		t.Fatalf("accepted config %q is not a JSON object", c)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, c); err != nil || !bytes.Equal(buf.Bytes(), c) || len(c) > gateway.MaxConfigBytes {
		t.Fatalf("accepted config %q is not compact or too large", c)
	}
}

// marshal encodes v without HTML escaping, which would rewrite "<" in a
// config to "\u003c" and make an equal request look different.
func marshal(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzDecodeCreate decodes arbitrary bodies of POST /api/gateways: a
// refusal names its fields and never depends on a secret's value; an
// accepted request is valid by every rule and, encoded again, decodes to
// itself.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	rules := realRules(f)
	decode := func(b []byte) error { _, err := gateway.DecodeCreate(b, rules); return err }
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := gateway.DecodeCreate(body, rules)
		checkNoEcho(t, body, decode)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		checkName(t, req.Name)
		if !req.Type.Valid() {
			t.Fatalf("accepted type %q", req.Type)
		}
		if fe := rules.CheckCredentials(req.Type, req.Credentials); len(fe) > 0 {
			t.Fatalf("accepted credentials fail their own validation: %v", fe)
		}
		checkConfig(t, req.Config)
		// What was accepted, sent again, is accepted as the same request.
		again := marshal(t, map[string]any{"name": req.Name, "type": req.Type, "credentials": req.Credentials, "config": req.Config})
		req2, err := gateway.DecodeCreate(again, rules)
		if err != nil {
			t.Fatalf("re-encoded request %s refused: %v", again, err)
		}
		if !reflect.DeepEqual(req2, req) {
			t.Fatalf("re-encoded request decodes to %+v, want %+v", req2, req)
		}
	})
}

// FuzzDecodeUpdate decodes arbitrary bodies of PUT /api/gateways/{id} for
// each gateway type, with FuzzDecodeCreate's invariants; an accepted update
// changes at least one thing.
func FuzzDecodeUpdate(f *testing.F) {
	for _, s := range fuzzSeeds {
		for i := range gateway.Types {
			f.Add([]byte(s), uint8(i))
		}
	}
	rules := realRules(f)
	f.Fuzz(func(t *testing.T, body []byte, typ uint8) {
		// Updates are decoded for a stored gateway, whose type is valid.
		gt := gateway.Types[int(typ)%len(gateway.Types)]
		req, err := gateway.DecodeUpdate(body, gt, rules)
		checkNoEcho(t, body, func(b []byte) error { _, err := gateway.DecodeUpdate(b, gt, rules); return err })
		if err != nil {
			checkInvalid(t, err)
			return
		}
		again := map[string]any{}
		if req.Name != nil {
			checkName(t, *req.Name)
			again["name"] = *req.Name
		}
		if req.Config != nil {
			checkConfig(t, req.Config)
			again["config"] = req.Config
		}
		if req.Credentials != nil {
			if fe := rules.CheckCredentials(gt, *req.Credentials); len(fe) > 0 {
				t.Fatalf("accepted credentials fail their own validation: %v", fe)
			}
			again["credentials"] = *req.Credentials
		}
		if len(again) == 0 {
			t.Fatalf("accepted an update that changes nothing: %q", body)
		}
		b := marshal(t, again)
		req2, err := gateway.DecodeUpdate(b, gt, rules)
		if err != nil {
			t.Fatalf("re-encoded update %s refused: %v", b, err)
		}
		if !reflect.DeepEqual(req2, req) {
			t.Fatalf("re-encoded update decodes to %+v, want %+v", req2, req)
		}
	})
}

// FuzzDecodeStatus decodes arbitrary bodies of PATCH
// /api/gateways/{id}/status against arbitrary allowed sets: a status is
// returned only if it is allowed.
func FuzzDecodeStatus(f *testing.F) {
	for _, s := range []string{`{"status":"CONNECTED"}`, `{"status":"DISCONNECTED"}`, `{"status":"ERROR"}`,
		`{"status":"connected"}`, `{"state":"CONNECTED"}`, `{"status":1}`, `{"status":null}`, `{`, `{"status":"CONNECTED","x":1}`} {
		f.Add([]byte(s), uint8(0b0011))
	}
	f.Add([]byte(`{"status":"ERROR"}`), uint8(0b1111))
	f.Add([]byte(`{"status":"CONNECTED"}`), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, mask uint8) {
		// mask picks the allowed statuses, bit i for Statuses[i].
		var allowed []gateway.Status
		for i, s := range gateway.Statuses {
			if mask&(1<<i) != 0 {
				allowed = append(allowed, s)
			}
		}
		st, err := gateway.DecodeStatus(body, allowed...)
		if err != nil {
			checkInvalid(t, err)
			return
		}
		ok := false
		for _, a := range allowed {
			ok = ok || st == a
		}
		if !ok {
			t.Fatalf("accepted status %q, allowed %v", st, allowed)
		}
	})
}
