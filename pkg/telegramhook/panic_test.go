package telegramhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// secretPanicStore panics with value on every gateway read.
type secretPanicStore struct {
	Store
	value any
}

func (s secretPanicStore) Gateway(context.Context, string) (*inbox.Gateway, error) { panic(s.value) }

// TestPanicHidesItsText: a panic answers 500 problem+json with the request
// id and nothing of the panic; the log line has the panic's type and stack,
// never its text, which may quote a secret.
func TestPanicHidesItsText(t *testing.T) {
	scan := secretscan.New()
	scan.Register("webhook secret", secret)
	scan.Register("other webhook secret", otherSecret)
	var outOfRange any
	func() {
		defer func() { outOfRange = recover() }()
		var s []int
		_ = s[len(s)+2]
	}()
	for _, tc := range []struct {
		name   string
		value  any
		logged string
	}{
		{"string with a secret and a stack", "secret " + secret + " refused\ngoroutine 9 [running]:\n\t/src/x/main.go:12", "of type string"},
		{"error with a secret", fmt.Errorf("hash of %s: %w", otherSecret, errors.ErrUnsupported), "of type *fmt.wrapError"},
		{"runtime error", outOfRange, "index out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := New(secretPanicStore{value: tc.value}, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			resp := post(t, h, gw1, secret, updateBody(1))
			wantStatus(t, "panic", resp, http.StatusInternalServerError)
			var p edge.Problem
			_ = json.Unmarshal([]byte(resp.Body), &p)
			if p.Instance != "req-test" || !strings.Contains(p.Detail, "req-test") {
				t.Errorf("problem %+v does not carry the request id", p)
			}
			for _, bad := range []string{"goroutine", ".go:", "panic", "refused", "hash of", "index out of range"} {
				if strings.Contains(resp.Body, bad) {
					t.Errorf("the body shows %q: %s", bad, scan.Redact(resp.Body))
				}
			}
			if leaked := scan.Find(resp.Body); len(leaked) > 0 {
				t.Errorf("the body shows secrets %v", leaked)
			}
			line := strings.TrimSpace(logs.String())
			if strings.Count(line, "\n") != 0 || !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, `"requestId":"req-test"`) {
				t.Fatalf("want one error line with the request id: %s", scan.Redact(line))
			}
			if !strings.Contains(line, tc.logged) || !strings.Contains(line, "panic_test.go") {
				t.Errorf("the log line lacks %q or the stack: %s", tc.logged, scan.Redact(line))
			}
			if leaked := scan.Find(line); len(leaked) > 0 {
				t.Errorf("the log line quotes the panic's text, with secrets %v", leaked)
			}
			if strings.Contains(line, "refused") || strings.Contains(line, "/src/x/main.go") || strings.Contains(line, "hash of") {
				t.Errorf("the log line quotes the panic's text: %s", scan.Redact(line))
			}
		})
	}
}
