package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// panickingStore is a gateway store whose reads panic with value.
type panickingStore struct {
	gateway.Store
	value func() any
}

func (s panickingStore) GetGateway(context.Context, string) (*gateway.Gateway, error) {
	panic(s.value())
}

// fakeStack looks like what a careless panic message might carry.
const fakeStack = "goroutine 7 [running]:\nmain.handler()\n\t/src/gatehouse/main.go:42 +0x1d"

// panicValues are what handlers might panic with: text quoting a secret
// (and something that looks like a stack), an error wrapping one, a value
// holding one, and a runtime error, whose message the runtime writes.
var panicValues = []struct {
	name  string
	value func() any
	// logged is what the log line must say about the cause.
	logged string
}{
	{"string with a secret", func() any { return "token " + botToken + " was rejected\n" + fakeStack }, "of type string"},
	{"error with a secret", func() any { return fmt.Errorf("open %s: %w", apiKey, context.Canceled) }, "of type *fmt.wrapError"},
	{"struct holding a secret", func() any { return struct{ Secret string }{signing} }, "of type struct { Secret string }"},
	{"runtime error", func() any { return indexOutOfRange(nil) }, "index out of range"},
}

// indexOutOfRange returns the runtime error of indexing s out of range.
func indexOutOfRange(s []int) (err any) {
	defer func() { err = recover() }()
	_ = s[len(s)+1]
	return nil
}

// TestPanicIsContained: a handler that panics answers 500 problem+json
// with the request id and nothing of the panic, and logs the panic's type
// and stack but not its text, which may quote a secret.
func TestPanicIsContained(t *testing.T) {
	scan := secretscan.New()
	for name, v := range map[string]string{"botToken": botToken, "apiKey": apiKey, "signing": signing} {
		scan.Register(name, v)
	}
	for _, pv := range panicValues {
		t.Run(pv.name, func(t *testing.T) {
			var logs bytes.Buffer
			// Not the package's scanner: this test plants secrets on purpose
			// and judges its own log.
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			life := lifecycle.New(gateway.NewService(panickingStore{value: pv.value}, nil), provider.NewRegistry())
			handler := httpapi.New(life, httpapi.WithLogger(logger)).Handlers()[httpapi.FnGetGateway]
			const reqID = "req-7f3a"
			out, err := handler(context.Background(), events.APIGatewayV2HTTPRequest{
				Version:        "2.0",
				PathParameters: map[string]string{"id": gateway.NewID()},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RequestID:  reqID,
					HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"},
					Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}},
				},
			})
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			if out.StatusCode != 500 || out.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("answer %d %q, want a 500 problem", out.StatusCode, out.Headers["Content-Type"])
			}
			var p edge.Problem
			if err := json.Unmarshal([]byte(out.Body), &p); err != nil {
				t.Fatalf("body is not a problem: %v", err)
			}
			if p.Status != 500 || p.Type != edge.ProblemTypeBase+gateway.CodeInternal || p.Instance != reqID || !strings.Contains(p.Detail, reqID) {
				t.Errorf("problem %+v lacks the request id or the internal type", p)
			}
			for _, bad := range []string{"goroutine", ".go:", "panic", "rejected", "Secret", "index out of range", "open "} {
				if strings.Contains(out.Body, bad) {
					t.Errorf("the body shows %q of the panic: %s", bad, scan.Redact(out.Body))
				}
			}
			if leaked := scan.Find(out.Body + fmt.Sprint(out.Headers)); len(leaked) > 0 {
				t.Errorf("the body shows secrets %v", leaked)
			}

			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], `"level":"ERROR"`) || !strings.Contains(lines[0], `"requestId":"`+reqID+`"`) {
				t.Fatalf("want one error line with the request id, got %q", scan.Redact(logs.String()))
			}
			// The cause is there: where it happened, and what it was.
			if !strings.Contains(lines[0], "panic_test.go") || !strings.Contains(lines[0], pv.logged) {
				t.Errorf("the log line lacks the stack or %q: %s", pv.logged, scan.Redact(lines[0]))
			}
			if leaked := scan.Find(lines[0]); len(leaked) > 0 {
				t.Errorf("the log line quotes the panic's text, with secrets %v: serve must log the panic's type and stack, not its value", leaked)
			}
			if strings.Contains(lines[0], "was rejected") || strings.Contains(lines[0], "/src/gatehouse/main.go") {
				t.Errorf("the log line quotes the panic's text: %s", scan.Redact(lines[0]))
			}
		})
	}
}
