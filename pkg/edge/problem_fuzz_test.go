package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// problemOf builds the error FuzzProblem maps: mode picks a bare *Error, one
// wrapped by an operation, a foreign error, or gateway.Internal.
func problemOf(mode uint8, code, message, fields, cause string) error {
	var fe []gateway.FieldError
	for _, line := range strings.Split(fields, "\n") {
		if line == "" {
			continue
		}
		name, msg, _ := strings.Cut(line, "=")
		fe = append(fe, gateway.FieldError{Field: name, Message: msg})
	}
	e := &gateway.Error{Code: code, Message: message, Fields: fe, Op: "fuzz", Err: errors.New(cause)}
	switch mode % 4 {
	case 1:
		return fmt.Errorf("edge.fuzz: %w", e)
	case 2:
		return errors.New(cause)
	case 3:
		return gateway.Internal("fuzz", errors.New(cause))
	}
	return e
}

// problemAnswer maps err as a handler does.
func problemAnswer(err error, requestID string, retryAfter uint16) events.APIGatewayV2HTTPResponse {
	var extra map[string]string
	if retryAfter > 0 {
		extra = map[string]string{"Retry-After": strconv.Itoa(int(retryAfter))}
	}
	return ErrorResponse(err, requestID, extra)
}

// FuzzProblem maps arbitrary errors to problem+json: the body is JSON with
// the status of Status, a type under ProblemTypeBase, a title, and the
// headers of a problem; a 500 says nothing of the message or the cause (the
// same answer as with both empty); other statuses show the message.
func FuzzProblem(f *testing.F) {
	codes := []string{gateway.CodeInvalid, gateway.CodeNotFound, gateway.CodeVersionMismatch, gateway.CodeUpstreamRateLimited,
		gateway.CodeUnavailable, gateway.CodeInternal, "", "teapot", "invalid\x00", "<script>"}
	for i, c := range codes {
		f.Add(uint8(i), c, "The request is invalid.", "name=must not be empty\ncredentials.botToken=is required",
			"dial tcp 10.0.0.1:443: sk-live-SECRET", "req-"+strconv.Itoa(i), uint16(i))
	}
	f.Add(uint8(0), "upstream_error", "\xff\xfe bad utf-8 \u2028", "\xff=\x00", "cause", "", uint16(0))
	f.Add(uint8(2), gateway.CodeInvalid, "shown", "", "secret cause 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", "r\"}", uint16(65535))

	f.Fuzz(func(t *testing.T, mode uint8, code, message, fields, cause, requestID string, retryAfter uint16) {
		err := problemOf(mode, code, message, fields, cause)
		resp := problemAnswer(err, requestID, retryAfter)

		wantStatus, _ := Status(gateway.ErrorCode(err))
		if resp.StatusCode != wantStatus || resp.StatusCode < 400 || resp.StatusCode > 599 {
			t.Fatalf("status = %d, want %d", resp.StatusCode, wantStatus)
		}
		if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
			t.Fatalf("Content-Type = %q", ct)
		}
		if cc := resp.Headers["Cache-Control"]; cc != "no-store" {
			t.Fatalf("Cache-Control = %q", cc)
		}
		if retryAfter > 0 && resp.Headers["Retry-After"] != strconv.Itoa(int(retryAfter)) {
			t.Fatalf("Retry-After = %q, want %d", resp.Headers["Retry-After"], retryAfter)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("body %q is not JSON: %v", resp.Body, err)
		}
		if s, ok := body["status"].(float64); !ok || int(s) != resp.StatusCode {
			t.Fatalf("body status %v, HTTP status %d", body["status"], resp.StatusCode)
		}
		if typ, _ := body["type"].(string); !strings.HasPrefix(typ, ProblemTypeBase) || typ == ProblemTypeBase {
			t.Fatalf("type %q is not under %s", typ, ProblemTypeBase)
		}
		if title, _ := body["title"].(string); title == "" {
			t.Fatal("no title")
		}

		if resp.StatusCode == http.StatusInternalServerError {
			if body["type"] != ProblemTypeBase+gateway.CodeInternal {
				t.Fatalf("a 500 has type %v", body["type"])
			}
			// The answer must not depend on what the error says inside.
			blank := problemAnswer(problemOf(mode, code, "", fields, ""), requestID, retryAfter)
			if resp.Body != blank.Body {
				t.Fatalf("a 500 depends on the message or cause:\n%s\n%s", resp.Body, blank.Body)
			}
			return
		}
		if p := ProblemFor(err, requestID); p.Detail != message {
			t.Fatalf("detail = %q, want the error's message %q", p.Detail, message)
		}
	})
}
