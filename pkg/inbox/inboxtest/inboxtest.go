// Package inboxtest gives tests the real Telegram updates in
// pkg/inbox/testdata (one of every update type) and the bodies that probe
// the update parser's edge cases, so the parser's tests and the webhook's
// share one corpus.
package inboxtest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Dir is the folder of the fixtures: pkg/inbox/testdata.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Fixtures returns every fixture by update type (the file's base name),
// failing tb when there are none.
func Fixtures(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(Dir(), "*.json"))
	if len(files) == 0 {
		tb.Fatalf("no fixtures in %s", Dir())
	}
	out := make(map[string][]byte, len(files))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(name), ".json")] = b
	}
	return out
}

// ParseSeeds are refusals and edge cases of the update parser: broken
// JSON, update_ids of every wrong kind, types newer than the code,
// mistyped and repeated fields, keys that match only case-insensitively
// or only once unescaped.
var ParseSeeds = []string{
	`{"update_id":1,`, `{"update_id":1} x`, `[{"update_id":1}]`, `null`, `"update"`, `1`, ``,
	`{"message":{}}`, `{"update_id":"1"}`, `{"update_id":1.5}`, `{"update_id":1e3}`, `{"update_id":-4}`,
	`{"update_id":null}`, `{"update_id":9223372036854775808}`, "{\"update_id\":1,\"message\":{\"text\":\"\xff\xfe\"}}",
	`{"update_id":{}}`, `{"update_id":7}`, `{"update_id":0,"poll":{"id":"1"}}`,
	`{"update_id":8,"zz_future":{"chat":{"id":5}},"aa_future":{"chat":{"id":3}}}`,
	`{"update_id":9,"aa_future":{},"message":{"chat":{"id":4}}}`,
	`{"update_id":10,"message":{"chat":{"id":"x"},"date":"y","from":{"id":6}}}`,
	`{"update_id":11,"message":5}`, `{"update_id":12,"message":null,"callback_query":{"message":{"chat":{"id":1},"date":-5}}}`,
	`{"update_id":13,"UPDATE_ID":14,"Message":{"chat":{"id":1}}}`,
	`{"update_\u0069d":15,"message":{"chat":{"id":2}}}`,
	`{"update_id":16,"message":{"Chat":{"ID":3},"from":{"id":4},"from":{"id":5}}}`,
	`{"update_id":17,"message":{"chat":{"id":6},"chat":null,"date":null}}`,
	`{"update_id":18,"message":{"ſender_chat":{"id":7},"date":1e3}}`,
	`{"update_id":19,"message":{"chat":{"id":8}},"message":{"chat":{"id":9}}}`,
	` {"update_id" : 20 , "poll_answer" : {"user" : {"id" : -10} , "voter_chat" : {"id":11}} } `,
}

// CheckID fails t unless got and want are both nil or point to equal ids.
func CheckID(t testing.TB, what string, got, want *int64) {
	t.Helper()
	show := func(p *int64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	if (got == nil) != (want == nil) || got != nil && *got != *want {
		t.Errorf("%s = %v, want %v", what, show(got), show(want))
	}
}
