package inbox

import (
	"math"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox/inboxtest"
)

func ptr[T any](v T) *T { return &v }

// TestParseUpdate: refusals, and what is read of odd but valid updates.
func TestParseUpdate(t *testing.T) {
	bad := map[string]string{
		"not JSON":              `{"update_id":1,`,
		"trailing garbage":      `{"update_id":1} x`,
		"array":                 `[{"update_id":1}]`,
		"null":                  `null`,
		"string":                `"update"`,
		"number":                `1`,
		"empty":                 ``,
		"no update_id":          `{"message":{}}`,
		"update_id string":      `{"update_id":"1"}`,
		"update_id float":       `{"update_id":1.5}`,
		"update_id exponent":    `{"update_id":1e3}`,
		"update_id negative":    `{"update_id":-4}`,
		"update_id null":        `{"update_id":null}`,
		"update_id too big":     `{"update_id":9223372036854775808}`,
		"invalid UTF-8":         "{\"update_id\":1,\"message\":{\"text\":\"\xff\xfe\"}}",
		"over 1 MiB":            `{"update_id":1,"message":{"text":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`,
		"update_id only object": `{"update_id":{}}`,
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseUpdate([]byte(body)); !gateway.IsCode(err, gateway.CodeInvalid) {
				t.Fatalf("ParseUpdate error = %v, want CodeInvalid", err)
			}
		})
	}

	good := []struct {
		name, body, typ string
		id              int64
		chat            *int64
	}{
		{"no type", `{"update_id":7}`, "unknown", 7, nil},
		{"zero id", `{"update_id":0,"poll":{"id":"1"}}`, "poll", 0, nil},
		{"a type newer than this code", `{"update_id":8,"zz_future":{"chat":{"id":5}},"aa_future":{"chat":{"id":3}}}`, "aa_future", 8, ptr(int64(3))},
		{"known type wins", `{"update_id":9,"aa_future":{},"message":{"chat":{"id":4}}}`, "message", 9, ptr(int64(4))},
		{"mistyped fields are left out", `{"update_id":10,"message":{"chat":{"id":"x"},"date":"y","from":{"id":6}}}`, "message", 10, nil},
		{"payload not an object", `{"update_id":11,"message":5}`, "message", 11, nil},
		{"exactly 1 MiB", `{"update_id":12,"message":{"text":"` + strings.Repeat("a", MaxBodyBytes-len(`{"update_id":12,"message":{"text":""}}`)) + `"}}`, "message", 12, nil},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseUpdate([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseUpdate: %v", err)
			}
			if u.UpdateID != tt.id || u.Type != tt.typ {
				t.Errorf("got id %d type %q, want %d %q", u.UpdateID, u.Type, tt.id, tt.typ)
			}
			inboxtest.CheckID(t, "chat", u.ChatID, tt.chat)
		})
	}
}

// TestSkimReadsFixtures: every real update, of every type, is read by the
// skim, not handed to encoding/json — the webhook's speed depends on it —
// and read as encoding/json reads it.
func TestSkimReadsFixtures(t *testing.T) {
	for typ, body := range inboxtest.Fixtures(t) {
		u, ok := skimUpdate(body)
		if !ok || u == nil {
			t.Errorf("%s: the skim gave up (ok %v)", typ, ok)
			continue
		}
		ref, err := parseDecoded(body)
		if err != nil || !sameUpdate(u, ref) {
			t.Errorf("%s: skim %s, encoding/json %s (%v)", typ, show(u), show(ref), err)
		}
		if u.Type != typ {
			t.Errorf("%s: type %q", typ, u.Type)
		}
	}
}

// TestSkimAllocations: the skim allocates the Update, its pointers and
// nothing else.
func TestSkimAllocations(t *testing.T) {
	body := inboxtest.Fixtures(t)["message"]
	// The fewest of many single runs: under the race detector sync.Pool
	// drops items at random, and json.Valid's scanner comes from one.
	n := math.Inf(1)
	for range 50 {
		n = min(n, testing.AllocsPerRun(1, func() { _, _ = ParseUpdate(body) }))
	}
	// The Update, ChatID, SenderID and MessageDate.
	if n > 4 {
		t.Errorf("ParseUpdate of a message allocates %.0f times, want at most 4", n)
	}
}
