package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// limitT0 is 20 s into a minute: a window of one minute has 40 s left.
var limitT0 = time.Date(2025, 6, 7, 8, 9, 20, 0, time.UTC)

// withLimits rebuilds h's handlers with abuse limits counted in h's table by
// dynamo.RateLimiter on a settable clock, logging where h checks for secrets.
func (h *harness) withLimits(policy httpapi.Limits) *fakeclock.Clock {
	h.t.Helper()
	clock := fakeclock.New(limitT0)
	lim := dynamo.NewRateLimiter(h.ddb, h.table, dynamo.RateClock(clock.Now))
	h.handlers = httpapi.New(h.life, httpapi.WithLogger(slog.New(slog.NewJSONHandler(h.logs, nil))),
		httpapi.WithLimiter(lim, policy)).Handlers()
	return clock
}

func (h *harness) testStatus(c caller, id string) resp {
	h.t.Helper()
	return h.do(c, req{fn: httpapi.FnTestGateway, method: "POST", id: id})
}

// wantLimited checks a 429 rate_limited with the given Retry-After.
func wantLimited(t *testing.T, r resp, retryAfter string) {
	t.Helper()
	p := problem(t, r, http.StatusTooManyRequests)
	if p.Type != edge.ProblemTypeBase+gateway.CodeRateLimited || !strings.Contains(p.Detail, "Retry in") {
		t.Errorf("problem %+v", p)
	}
	if got := r.headers["Retry-After"]; got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

// TestTestRouteLimit: the 11th test of a gateway by one user in a minute is
// 429 with Retry-After and never reaches Telegram; the same user's other
// gateway, another member testing the same organisation gateway, and the
// next minute are unaffected; another tenant gets 404 as always.
func TestTestRouteLimit(t *testing.T) {
	h := newHarness(t)
	clock := h.withLimits(httpapi.DefaultLimits)
	alice, bob, carol := user("alice", "acme").in("acme"), user("bob", "acme").in("acme"), user("carol")
	shared := h.create(alice, telegramBody("shared"))
	other := h.create(alice, telegramBody("other"))

	for i := 1; i <= 10; i++ {
		if r := h.testStatus(alice, shared.ID); r.status != 200 {
			t.Fatalf("test %d: %d %s", i, r.status, r.body)
		}
	}
	calls := len(h.tg.Calls(""))
	wantLimited(t, h.testStatus(alice, shared.ID), "40")
	if got := len(h.tg.Calls("")); got != calls {
		t.Errorf("the refused test made %d Bot API calls", got-calls)
	}

	if r := h.testStatus(alice, other.ID); r.status != 200 {
		t.Errorf("the same user's other gateway: %d %s", r.status, r.body)
	}
	if r := h.testStatus(bob, shared.ID); r.status != 200 {
		t.Errorf("another member on the same gateway: %d %s", r.status, r.body)
	}
	// Another tenant learns nothing, neither from the limit nor from a count.
	for range 12 {
		problem(t, h.testStatus(carol, shared.ID), http.StatusNotFound)
	}

	clock.Advance(39 * time.Second)
	wantLimited(t, h.testStatus(alice, shared.ID), "1")
	clock.Advance(time.Second)
	if r := h.testStatus(alice, shared.ID); r.status != 200 {
		t.Errorf("the next minute: %d %s", r.status, r.body)
	}
}

// TestActionRouteLimit: actions count per user per gateway, all actions
// together, and a refused action calls no provider.
func TestActionRouteLimit(t *testing.T) {
	h := newHarness(t)
	h.withLimits(httpapi.Limits{ActionsPerMinute: 2})
	alice := user("alice")
	g := h.create(alice, telegramBody("bot"))
	if r := h.setStatus(alice, g.ID, "CONNECTED"); r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	for _, action := range []string{"getWebhookInfo", "sendMessage"} {
		body := ""
		if action == "sendMessage" {
			body = `{"chat_id":42,"text":"hi"}`
		}
		if r := h.action(alice, g.ID, action, body); r.status != 200 {
			t.Fatalf("%s: %d %s", action, r.status, r.body)
		}
	}
	calls := len(h.tg.Calls(""))
	wantLimited(t, h.action(alice, g.ID, "getWebhookInfo", ""), "40")
	if got := len(h.tg.Calls("")); got != calls {
		t.Errorf("the refused action made %d Bot API calls", got-calls)
	}
	// Tests have their own count (switched off here).
	if r := h.testStatus(alice, g.ID); r.status != 200 {
		t.Errorf("test after the action limit: %d %s", r.status, r.body)
	}
}

// TestValidationLimit: creates and credential-replacing updates share one
// count per user; beyond it they are refused before the provider is asked,
// while updates without credentials and other users go on.
func TestValidationLimit(t *testing.T) {
	h := newHarness(t)
	h.withLimits(httpapi.Limits{ValidationsPerMinute: 3})
	alice, bob := user("alice"), user("bob")
	g := h.create(alice, telegramBody("one"))
	h.create(alice, telegramBody("two"))
	if r := h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"credentials":{"botToken":"` + botToken2 + `"}}`}); r.status != 200 {
		t.Fatalf("update with credentials: %d %s", r.status, r.body)
	}
	calls := len(h.tg.Calls("getMe"))
	wantLimited(t, h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("three")}), "40")
	wantLimited(t, h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"credentials":{"botToken":"` + botToken + `"}}`}), "40")
	if got := len(h.tg.Calls("getMe")); got != calls {
		t.Errorf("refused validations made %d getMe calls", got-calls)
	}
	if r := h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"name":"renamed"}`}); r.status != 200 {
		t.Errorf("update without credentials: %d %s", r.status, r.body)
	}
	h.create(bob, telegramBody("bob's"))
}

// TestLimiterFailsClosed: with DynamoDB unreachable for the limiter, a
// limited route is 503 and Telegram is not called.
func TestLimiterFailsClosed(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	g := h.create(alice, telegramBody("bot"))
	dead := emutest.Start(t).DynamoDBClient(func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1") // nothing listens on port 1
		o.RetryMaxAttempts = 1
	})
	h.handlers = httpapi.New(h.life, httpapi.WithLogger(slog.New(slog.NewJSONHandler(h.logs, nil))),
		httpapi.WithLimiter(dynamo.NewRateLimiter(dead, h.table), httpapi.DefaultLimits)).Handlers()
	calls := len(h.tg.Calls(""))
	p := problem(t, h.testStatus(alice, g.ID), http.StatusServiceUnavailable)
	if p.Type != edge.ProblemTypeBase+gateway.CodeUnavailable {
		t.Errorf("problem %+v", p)
	}
	if got := len(h.tg.Calls("")); got != calls {
		t.Errorf("a test with the limiter down made %d Bot API calls", got-calls)
	}
}
