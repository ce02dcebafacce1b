package httpapi

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/api/apitest"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
)

// fakeLimiter records every Allow and answers what it is told.
type fakeLimiter struct {
	mu    sync.Mutex
	calls []limiterCall
	ok    bool
	wait  time.Duration
	err   error
}

type limiterCall struct {
	scope, subject string
	limit          int
	window         time.Duration
}

func (f *fakeLimiter) Allow(_ context.Context, scope, subject string, limit int, window time.Duration) (bool, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, limiterCall{scope, subject, limit, window})
	return f.ok, f.wait, f.err
}

// fakeStore holds gateways in memory and reads them; any other store call
// panics (the embedded nil Store), which serve turns into a 500 the tests
// would notice: the refusals under test happen before any write.
type fakeStore struct {
	gateway.Store
	mu    sync.Mutex
	gws   map[string]gateway.Gateway
	reads int
}

func (s *fakeStore) GetGateway(_ context.Context, id string) (*gateway.Gateway, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	g, ok := s.gws[id]
	if !ok {
		return nil, gateway.NotFound()
	}
	return &g, nil
}

var (
	aliceGW = gateway.Gateway{ID: gateway.NewID(), UserID: "alice", Name: "mine", Type: gateway.TypeTelegramBot,
		Status: gateway.StatusDisconnected, Config: json.RawMessage(`{}`), Version: 1,
		CredentialInfo: map[string]any{"botId": "123456789", "tokenLast4": "saw0"},
		CreatedAt:      time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	bobGW = gateway.Gateway{ID: gateway.NewID(), UserID: "bob", Name: "theirs", Type: gateway.TypeTelegramBot,
		Status: gateway.StatusDisconnected, Config: json.RawMessage(`{}`), Version: 1}
)

// newLimitedAPI is an API over a fakeStore holding aliceGW and bobGW, the
// Telegram provider pointed at a port where nothing listens (no test here
// may reach a provider), and lim under DefaultLimits (lim nil: none).
func newLimitedAPI(lim Limiter) (*API, *fakeStore) {
	st := &fakeStore{gws: map[string]gateway.Gateway{aliceGW.ID: aliceGW, bobGW.ID: bobGW}}
	reg := provider.NewRegistry()
	if err := reg.Register(telegram.New(telegram.Options{BaseURL: "http://127.0.0.1:1"}), false); err != nil {
		panic(err)
	}
	life := lifecycle.New(gateway.NewService(st, nil), reg)
	var opts []Option
	if lim != nil {
		opts = append(opts, WithLimiter(lim, DefaultLimits))
	}
	return New(life, opts...), st
}

// event is a request by sub (no claims when sub is empty).
func event(sub, method string, path map[string]string, body string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", Headers: map[string]string{}, PathParameters: path, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method}},
	}
	if body != "" {
		ev.Headers["content-type"] = "application/json"
	}
	if sub != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub}}}
	}
	return ev
}

func decodeProblem(t *testing.T, r events.APIGatewayV2HTTPResponse) edge.Problem {
	t.Helper()
	var p edge.Problem
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	if ct := r.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("Content-Type %q: %s", ct, r.Body)
	}
	return p
}

// TestRequestBounds: headers and query strings beyond the bounds are refused
// before authentication, each with its status and the offending parameter
// named; requests exactly at a bound pass.
func TestRequestBounds(t *testing.T) {
	api, _ := newLimitedAPI(nil)
	filler := func(n int) map[string]string { // n headers of 10 bytes each
		h := map[string]string{}
		for i := range n {
			h[string(rune('a'+i/26))+string(rune('a'+i%26))+"-xxx"] = "vvvv"
		}
		return h
	}
	params := func(n int) map[string]string {
		q := map[string]string{}
		for i := range n {
			q["p"+string(rune('a'+i))] = "1"
		}
		return q
	}
	tests := []struct {
		name    string
		sub     string
		headers map[string]string
		cookies []string
		query   map[string]string
		status  int
		code    string
		fields  []string
	}{
		{name: "within every bound", sub: "alice", headers: filler(MaxHeaders), query: params(MaxQueryParams), status: 200},
		{name: "exactly the header bytes", sub: "alice", headers: map[string]string{"x-big": strings.Repeat("v", MaxHeaderBytes-len("x-big"))}, status: 200},
		{name: "exactly the parameter bytes", sub: "alice", query: map[string]string{strings.Repeat("k", MaxQueryParamBytes): strings.Repeat("v", MaxQueryParamBytes)}, status: 200},
		{name: "one header too many", sub: "alice", headers: filler(MaxHeaders + 1), status: 431, code: gateway.CodeHeadersTooLarge},
		{name: "one header byte too many", sub: "alice", headers: map[string]string{"x-big": strings.Repeat("v", MaxHeaderBytes-len("x-big")+1)}, status: 431, code: gateway.CodeHeadersTooLarge},
		{name: "cookies count as headers", sub: "alice", headers: map[string]string{"x-big": strings.Repeat("v", MaxHeaderBytes-100)}, cookies: []string{"session=" + strings.Repeat("c", 100)}, status: 431, code: gateway.CodeHeadersTooLarge},
		{name: "headers before authentication", headers: filler(MaxHeaders + 1), status: 431, code: gateway.CodeHeadersTooLarge},
		{name: "one query parameter too many", sub: "alice", query: params(MaxQueryParams + 1), status: 400, code: gateway.CodeInvalid},
		{name: "long value names its parameter", sub: "alice", query: map[string]string{"cursor": strings.Repeat("c", MaxQueryParamBytes+1), "limit": "5"}, status: 400, code: gateway.CodeInvalid, fields: []string{"cursor"}},
		{name: "long name is named, quoted and shortened", sub: "alice", query: map[string]string{strings.Repeat("k", MaxQueryParamBytes+1): "1"}, status: 400, code: gateway.CodeInvalid, fields: []string{`"` + strings.Repeat("k", maxEchoedFieldBytes-1) + "…"}},
		{name: "long value of a long name", sub: "alice", query: map[string]string{strings.Repeat("k", 200): strings.Repeat("v", MaxQueryParamBytes+1)}, status: 400, code: gateway.CodeInvalid, fields: []string{`"` + strings.Repeat("k", maxEchoedFieldBytes-1) + "…"}},
		{name: "long value of an unprintable name", sub: "alice", query: map[string]string{"a\x17": strings.Repeat("v", MaxQueryParamBytes+1)}, status: 400, code: gateway.CodeInvalid, fields: []string{`"a\x17"`}},
		{name: "every long parameter, sorted", sub: "alice", query: map[string]string{"b": strings.Repeat("v", MaxQueryParamBytes+1), "a": strings.Repeat("v", MaxQueryParamBytes+1)}, status: 400, code: gateway.CodeInvalid, fields: []string{"a", "b"}},
		{name: "query before authentication", query: params(MaxQueryParams + 1), status: 400, code: gateway.CodeInvalid},
		{name: "within bounds, unauthenticated", headers: filler(3), status: 401, code: gateway.CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(tt.sub, "GET", nil, "")
			ev.Headers, ev.Cookies, ev.QueryStringParameters = tt.headers, tt.cookies, tt.query
			out, err := api.Providers(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := apitest.Must(t).CheckEvent("GET", "/api/providers", out); err != nil {
				t.Errorf("openapi: %v", err)
			}
			if out.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", out.StatusCode, tt.status, out.Body)
			}
			if tt.code == "" {
				return
			}
			p := decodeProblem(t, out)
			if p.Type != edge.ProblemTypeBase+tt.code {
				t.Errorf("type = %q, want code %q", p.Type, tt.code)
			}
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %q, want %q", got, tt.fields)
			}
		})
	}
}

// TestPathBounds: an id that cannot be a gateway's is 404 without a read; an
// action name longer than any action is an unknown action.
func TestPathBounds(t *testing.T) {
	tests := []struct {
		name   string
		path   map[string]string
		code   string
		reads  int
		handle func(*API) Handler
	}{
		{"malformed id", map[string]string{"id": "gw_" + strings.Repeat("a", 5000)}, gateway.CodeNotFound, 0, func(a *API) Handler { return a.GetGateway }},
		{"unknown id", map[string]string{"id": gateway.NewID()}, gateway.CodeNotFound, 1, func(a *API) Handler { return a.GetGateway }},
		{"long action", map[string]string{"id": aliceGW.ID, "action": strings.Repeat("a", MaxActionNameBytes+1)}, gateway.CodeUnsupportedAction, 0, func(a *API) Handler { return a.GatewayAction }},
		{"action at the bound, unknown id", map[string]string{"id": gateway.NewID(), "action": strings.Repeat("a", MaxActionNameBytes)}, gateway.CodeNotFound, 1, func(a *API) Handler { return a.GatewayAction }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, st := newLimitedAPI(nil)
			out, _ := tt.handle(api)(t.Context(), event("alice", "POST", tt.path, ""))
			p := decodeProblem(t, out)
			if out.StatusCode != 404 || p.Type != edge.ProblemTypeBase+tt.code {
				t.Fatalf("%d %s, want 404 %s", out.StatusCode, p.Type, tt.code)
			}
			if st.reads != tt.reads {
				t.Errorf("%d store reads, want %d", st.reads, tt.reads)
			}
		})
	}
}

// TestLimitedRoutes: each limited route counts under its own scope, with
// its policy's number, for the caller (and gateway), only once the gateway
// is visible; a refusal is 429 rate_limited with Retry-After in whole
// seconds (at least 1); a limiter that cannot count refuses (503).
func TestLimitedRoutes(t *testing.T) {
	validCreate := `{"name":"n","type":"TELEGRAM_BOT","credentials":{"botToken":"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}}`
	newCreds := `{"credentials":{"botToken":"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}}`
	alice := "alice"
	aliceSubject := func(gw string) string { return "5:alice#" + gw }
	unavailable := &gateway.Error{Code: gateway.CodeUnavailable, Message: "The data store is unavailable; retry."}
	tests := []struct {
		name       string
		route      string // the OpenAPI operation, "METHOD /path"
		handle     func(*API) Handler
		sub        string
		path       map[string]string
		body       string
		wait       time.Duration // the limiter refuses every event with this wait
		limErr     error
		status     int
		retryAfter string
		detail     string
		calls      []limiterCall
	}{
		{name: "test refused", route: "POST /api/gateways/{id}/test", handle: func(a *API) Handler { return a.TestGateway }, sub: alice, path: map[string]string{"id": aliceGW.ID},
			wait: 41200 * time.Millisecond, status: 429, retryAfter: "42",
			detail: "Too many tests of this gateway: at most 10 a minute per user. Retry in 42 seconds.",
			calls:  []limiterCall{{"test", aliceSubject(aliceGW.ID), 10, time.Minute}}},
		{name: "action refused", route: "POST /api/gateways/{id}/actions/{action}", handle: func(a *API) Handler { return a.GatewayAction }, sub: alice, path: map[string]string{"id": aliceGW.ID, "action": "sendMessage"},
			body: `{"chat_id":1,"text":"hi"}`, wait: 300 * time.Millisecond, status: 429, retryAfter: "1",
			detail: "Too many actions on this gateway: at most 30 a minute per user. Retry in 1 second.",
			calls:  []limiterCall{{"action", aliceSubject(aliceGW.ID), 30, time.Minute}}},
		{name: "status change refused", route: "PATCH /api/gateways/{id}/status", handle: func(a *API) Handler { return a.UpdateStatus }, sub: alice, path: map[string]string{"id": aliceGW.ID},
			body: `{"status":"CONNECTED"}`, wait: 12 * time.Second, status: 429, retryAfter: "12",
			detail: "Too many connects and disconnects of this gateway: at most 10 a minute per user. Retry in 12 seconds.",
			calls:  []limiterCall{{"status", aliceSubject(aliceGW.ID), 10, time.Minute}}},
		{name: "another tenant's gateway, status", route: "PATCH /api/gateways/{id}/status", handle: func(a *API) Handler { return a.UpdateStatus }, sub: alice, path: map[string]string{"id": bobGW.ID},
			body: `{"status":"DISCONNECTED"}`, status: 404},
		{name: "create refused", route: "POST /api/gateways", handle: func(a *API) Handler { return a.CreateGateway }, sub: alice, body: validCreate,
			wait: 59 * time.Second, status: 429, retryAfter: "59",
			calls: []limiterCall{{"validate", aliceSubject(""), 10, time.Minute}}},
		{name: "update with credentials refused", route: "PUT /api/gateways/{id}", handle: func(a *API) Handler { return a.UpdateGateway }, sub: alice, path: map[string]string{"id": aliceGW.ID},
			body: newCreds, wait: time.Second, status: 429, retryAfter: "1",
			calls: []limiterCall{{"validate", aliceSubject(""), 10, time.Minute}}},
		{name: "update without credentials is not counted", route: "PUT /api/gateways/{id}", handle: func(a *API) Handler { return a.UpdateGateway }, sub: alice, path: map[string]string{"id": aliceGW.ID},
			body: `{"name":"mine"}`, status: 200},
		{name: "another tenant's gateway is 404, uncounted", route: "POST /api/gateways/{id}/test", handle: func(a *API) Handler { return a.TestGateway }, sub: alice, path: map[string]string{"id": bobGW.ID},
			status: 404},
		{name: "another tenant's gateway, action", route: "POST /api/gateways/{id}/actions/{action}", handle: func(a *API) Handler { return a.GatewayAction }, sub: alice, path: map[string]string{"id": bobGW.ID, "action": "sendMessage"},
			status: 404},
		{name: "unauthenticated is 401, uncounted", route: "POST /api/gateways/{id}/test", handle: func(a *API) Handler { return a.TestGateway }, path: map[string]string{"id": aliceGW.ID},
			status: 401},
		{name: "malformed create is 400, uncounted", route: "POST /api/gateways", handle: func(a *API) Handler { return a.CreateGateway }, sub: alice, body: `{"name":"n","type":"TELEGRAM_BOT","credentials":{"botToken":"nope"}}`,
			status: 400},
		{name: "limiter down: fail closed", route: "POST /api/gateways/{id}/test", handle: func(a *API) Handler { return a.TestGateway }, sub: alice, path: map[string]string{"id": aliceGW.ID},
			limErr: unavailable, status: 503,
			calls: []limiterCall{{"test", aliceSubject(aliceGW.ID), 10, time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := &fakeLimiter{wait: tt.wait, err: tt.limErr}
			api, _ := newLimitedAPI(lim)
			out, err := tt.handle(api)(t.Context(), event(tt.sub, "POST", tt.path, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", out.StatusCode, tt.status, out.Body)
			}
			method, path, _ := strings.Cut(tt.route, " ")
			if err := apitest.Must(t).CheckEvent(method, path, out); err != nil {
				t.Errorf("openapi: %v", err)
			}
			if got := out.Headers["Retry-After"]; got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if tt.status == 429 {
				p := decodeProblem(t, out)
				if p.Type != edge.ProblemTypeBase+gateway.CodeRateLimited || p.Title != "Too many requests" {
					t.Errorf("problem %+v", p)
				}
				if tt.detail != "" && p.Detail != tt.detail {
					t.Errorf("detail = %q, want %q", p.Detail, tt.detail)
				}
			}
			if len(lim.calls) != len(tt.calls) || (len(tt.calls) > 0 && lim.calls[0] != tt.calls[0]) {
				t.Errorf("limiter calls %+v, want %+v", lim.calls, tt.calls)
			}
		})
	}
}

// TestLimitsOff: a zero in the policy switches that limit off, and without
// a limiter nothing is counted at all.
func TestLimitsOff(t *testing.T) {
	lim := &fakeLimiter{}
	a := New(nil, WithLimiter(lim, Limits{TestsPerMinute: 0, ActionsPerMinute: 1}))
	actor := gateway.Actor{UserID: "alice"}
	if err := a.check(t.Context(), limitTest, actor, aliceGW.ID); err != nil || len(lim.calls) != 0 {
		t.Errorf("a limit of 0: err %v, %d calls", err, len(lim.calls))
	}
	if err := a.check(t.Context(), limitAction, actor, aliceGW.ID); !gateway.IsCode(err, gateway.CodeRateLimited) || len(lim.calls) != 1 {
		t.Errorf("a limit of 1 with a refusing limiter: err %v, %d calls", err, len(lim.calls))
	}
	if err := New(nil).check(t.Context(), limitAction, actor, aliceGW.ID); err != nil {
		t.Errorf("no limiter: %v", err)
	}
}

// TestLimitSubjectsDoNotCollide: user and gateway ids cannot be combined to
// spell another pair's counter.
func TestLimitSubjectsDoNotCollide(t *testing.T) {
	lim := &fakeLimiter{ok: true}
	a := New(nil, WithLimiter(lim, DefaultLimits))
	for _, p := range [][2]string{{"a#b", "c"}, {"a", "b#c"}, {"a#b#c", ""}} {
		if err := a.check(t.Context(), limitTest, gateway.Actor{UserID: p[0]}, p[1]); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, c := range lim.calls {
		if seen[c.subject] {
			t.Errorf("subject %q used by two (user, gateway) pairs", c.subject)
		}
		seen[c.subject] = true
	}
}

// TestParamField: a query parameter's name is quoted back as sent only when
// it is short and printable; otherwise it is Go-quoted and bounded, so a
// problem never carries an empty, unprintable or long field.
func TestParamField(t *testing.T) {
	long := strings.Repeat("k", 500)
	tests := []struct{ in, want string }{
		{"limit", "limit"},
		{"été", "été"},
		{"", `""`},
		{"a\x17b", `"a\x17b"`},
		{"a b", "a b"},
		{"\xff", `"\xff"`},
		{strings.Repeat("k", maxEchoedFieldBytes), strings.Repeat("k", maxEchoedFieldBytes)},
		{long, `"` + strings.Repeat("k", maxEchoedFieldBytes-1) + "…"},
		{strings.Repeat("\x01", 100), `"` + strings.Repeat(`\x01`, 15) + `\x0…`}, // 64 bytes, then …
	}
	for _, tt := range tests {
		if got := paramField(tt.in); got != tt.want {
			t.Errorf("paramField(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
