package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

const unauthorizedBody = `{"type":"https://gatehouse.dev/problems/unauthenticated","title":"Unauthorized","status":401,"detail":"A valid bearer token is required."}`

// echoed is what echo handlers answer: the event they received and facts
// about their context.
type echoed struct {
	Function    string                         `json:"function"`
	Event       events.APIGatewayV2HTTPRequest `json:"event"`
	HasDeadline bool                           `json:"hasDeadline"`
	Deadline    time.Duration                  `json:"deadline"`
}

func echo(fn string) httpapi.Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		dl, ok := ctx.Deadline()
		body, err := json.Marshal(echoed{Function: fn, Event: req, HasDeadline: ok, Deadline: time.Until(dl)})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
	}
}

// testRoutes are the core routes plus routes that exercise the other
// parameter names, an unauthenticated route and specificity. They are fixed
// here, not read from template.yaml, so the router's tests do not change
// when the template gains routes.
func testRoutes(tb testing.TB) []template.Route {
	tb.Helper()
	routes := []template.Route{
		{Function: "list-gateways", Method: "GET", Path: "/api/gateways", Auth: true},
		{Function: "create-gateway", Method: "POST", Path: "/api/gateways", Auth: true},
		{Function: "get-gateway", Method: "GET", Path: "/api/gateways/{id}", Auth: true},
		{Function: "update-gateway", Method: "PUT", Path: "/api/gateways/{id}", Auth: true},
		{Function: "delete-gateway", Method: "DELETE", Path: "/api/gateways/{id}", Auth: true},
		{Function: "update-gateway-status", Method: "PATCH", Path: "/api/gateways/{id}/status", Auth: true},
		{Function: "gateway-audit", Method: "GET", Path: "/api/gateways/{id}/audit", Auth: true},
	}
	return append(routes,
		template.Route{Function: "execute-action", Method: "POST", Path: "/api/gateways/{id}/actions/{action}", Auth: true},
		template.Route{Function: "test-gateway", Method: "POST", Path: "/api/gateways/{id}/test", Auth: true},
		template.Route{Function: "any-sub", Method: "ANY", Path: "/api/gateways/{id}/{sub}", Auth: true},
		template.Route{Function: "telegram-webhook", Method: "POST", Path: "/api/webhooks/telegram/{gatewayId}", Auth: false},
		template.Route{Function: "panics", Method: "GET", Path: "/api/panic", Auth: false},
		template.Route{Function: "fails", Method: "GET", Path: "/api/fail", Auth: false},
		template.Route{Function: "slow", Method: "GET", Path: "/api/slow", Auth: false, Timeout: 50 * time.Millisecond},
		template.Route{Function: "unwired", Method: "GET", Path: "/api/unwired", Auth: false},
	)
}

type fixture struct {
	srv  *Server
	key  []byte
	logs *syncBuffer
}

// syncBuffer lets the handler goroutines and the test share the log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(tb testing.TB, opts ...Option) *fixture {
	tb.Helper()
	routes := testRoutes(tb)
	handlers := map[string]httpapi.Handler{}
	for _, r := range routes {
		handlers[r.Function] = echo(r.Function)
	}
	delete(handlers, "unwired")
	handlers["panics"] = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		panic("boom")
	}
	handlers["fails"] = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, errors.New("store exploded")
	}
	handlers["slow"] = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		time.Sleep(300 * time.Millisecond) // ignores its context on purpose
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	key := mustKey(tb)
	logs := &syncBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.MultiWriter(logs, secretscan.Writer("local router")), nil)))}, opts...)
	return &fixture{srv: NewServer(routes, handlers, key, opts...), key: key, logs: logs}
}

// do sends a request through the server, addressed to the runner's own
// loopback address; a non-empty token is sent as a bearer token.
func (f *fixture) do(tb testing.TB, method, target, token string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	return f.send(tb, "127.0.0.1:3000", method, target, token, body, header)
}

// doHost is do with the Host header host, and no token.
func (f *fixture) doHost(tb testing.TB, host, method, target string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	return f.send(tb, host, method, target, "", body, header)
}

func (f *fixture) send(tb testing.TB, host, method, target, token string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(method, target, body)
	r.Host = host
	for k, vs := range header {
		r.Header[k] = vs
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	// Refusals are scanned for secrets; successes are not, because the
	// echo handlers return the request (its Authorization header too) and
	// POST /dev/token returns a token by design.
	if w.Code >= 400 {
		headers := map[string]string{}
		for k := range w.Header() {
			headers[k] = w.Header().Get(k)
		}
		secretscan.Response(method+" "+target, w.Body.String(), headers)
	}
	return w
}

func decodeEcho(tb testing.TB, w *httptest.ResponseRecorder) echoed {
	tb.Helper()
	if w.Code != 200 {
		tb.Fatalf("status = %d, body %s", w.Code, w.Body)
	}
	var e echoed
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		tb.Fatalf("decode %s: %v", w.Body, err)
	}
	return e
}

func TestServerEvent(t *testing.T) {
	f := newFixture(t)
	tok := mustMint(t, f.key, "alice", "acme", "beta")
	w := f.do(t, "GET", "/api/gateways/gw-1?type=AI&type=WEBHOOK", tok, nil, http.Header{
		"X-Organization-Id": {"acme"},
		"X-Multi":           {"a", "b"},
	})
	e := decodeEcho(t, w)
	ev := e.Event
	if e.Function != httpapi.FnGetGateway {
		t.Errorf("function = %q", e.Function)
	}
	if ev.RouteKey != "GET /api/gateways/{id}" || ev.RequestContext.RouteKey != ev.RouteKey {
		t.Errorf("routeKey = %q / %q", ev.RouteKey, ev.RequestContext.RouteKey)
	}
	if !reflect.DeepEqual(ev.PathParameters, map[string]string{"id": "gw-1"}) {
		t.Errorf("pathParameters = %v", ev.PathParameters)
	}
	if ev.Headers["x-organization-id"] != "acme" || ev.Headers["x-multi"] != "a,b" {
		t.Errorf("headers = %v", ev.Headers)
	}
	if ev.QueryStringParameters["type"] != "AI,WEBHOOK" {
		t.Errorf("query = %v", ev.QueryStringParameters)
	}
	if ev.RequestContext.HTTP.SourceIP != "192.0.2.1" {
		t.Errorf("sourceIp = %q", ev.RequestContext.HTTP.SourceIP)
	}
	claims := ev.RequestContext.Authorizer.JWT.Claims
	if claims["sub"] != "alice" || claims["orgs"] != "[acme beta]" || claims["iss"] != DevIssuer {
		t.Errorf("claims = %v", claims)
	}
	if !e.HasDeadline || e.Deadline <= 0 || e.Deadline > DefaultTimeout {
		t.Errorf("deadline: has %v, in %v; want within %v", e.HasDeadline, e.Deadline, DefaultTimeout)
	}
	if got := w.Header().Get("Apigw-Requestid"); got == "" || got != ev.RequestContext.RequestID {
		t.Errorf("Apigw-Requestid = %q, event requestId %q", got, ev.RequestContext.RequestID)
	}
}

func TestServerRouting(t *testing.T) {
	f := newFixture(t)
	tok := mustMint(t, f.key, "alice")
	tests := []struct {
		method, path string
		function     string
		params       map[string]string
	}{
		{"GET", "/api/gateways", httpapi.FnListGateways, nil},
		{"POST", "/api/gateways", httpapi.FnCreateGateway, nil},
		{"GET", "/api/gateways/g1", httpapi.FnGetGateway, map[string]string{"id": "g1"}},
		{"PUT", "/api/gateways/g1", httpapi.FnUpdateGateway, map[string]string{"id": "g1"}},
		{"DELETE", "/api/gateways/g1", httpapi.FnDeleteGateway, map[string]string{"id": "g1"}},
		{"PATCH", "/api/gateways/g1/status", httpapi.FnUpdateStatus, map[string]string{"id": "g1"}},
		{"GET", "/api/gateways/g1/audit", httpapi.FnGatewayAudit, map[string]string{"id": "g1"}},
		{"POST", "/api/gateways/g1/actions/sendMessage", "execute-action", map[string]string{"id": "g1", "action": "sendMessage"}},
		// A literal segment beats a parameter, an exact method beats ANY.
		{"POST", "/api/gateways/g1/test", "test-gateway", map[string]string{"id": "g1"}},
		{"POST", "/api/gateways/g1/audit", "any-sub", map[string]string{"id": "g1", "sub": "audit"}},
		{"GET", "/api/gateways/g1/other", "any-sub", map[string]string{"id": "g1", "sub": "other"}},
		{"GET", "/api/gateways/a%2Fb", httpapi.FnGetGateway, map[string]string{"id": "a/b"}},
		{"GET", "/api/gateways/caf%C3%A9", httpapi.FnGetGateway, map[string]string{"id": "café"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e := decodeEcho(t, f.do(t, tt.method, tt.path, tok, nil, nil))
			if e.Function != tt.function {
				t.Errorf("function = %q, want %q", e.Function, tt.function)
			}
			if !reflect.DeepEqual(e.Event.PathParameters, tt.params) {
				t.Errorf("pathParameters = %v, want %v", e.Event.PathParameters, tt.params)
			}
		})
	}
}

func TestServerNotFoundAndMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	tok := mustMint(t, f.key, "alice")
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/nope", 404, ""},
		{"GET", "/api/gateways/", 404, ""},
		{"GET", "/api/gateways/g1/", 404, ""},
		{"GET", "/api/gateways//audit", 404, ""},
		{"GET", "/api/gateways/g1/audit/extra", 404, ""},
		{"GET", "/", 404, ""},
		{"DELETE", "/api/gateways", 405, "GET, POST"},
		{"POST", "/api/gateways/g1", 405, "DELETE, GET, PUT"},
		{"GET", "/api/gateways/g1/actions/x", 405, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := f.do(t, tt.method, tt.path, tok, nil, nil)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			var p edge.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tt.status || !strings.HasPrefix(p.Type, edge.ProblemTypeBase) {
				t.Errorf("problem = %+v (%v)", p, err)
			}
		})
	}
}

func TestServerUnauthenticated(t *testing.T) {
	f := newFixture(t)
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims()
		mod(c)
		return c
	}
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"empty bearer", "Bearer "},
		{"basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))},
		{"token without scheme", mustMint(t, f.key, "alice")},
		{"bad signature", "Bearer " + mustMint(t, mustKey(t), "alice")},
		{"expired", "Bearer " + signClaims(t, jwt.SigningMethodHS256, f.key, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
		{"alg none", "Bearer " + noneTok},
		{"wrong audience", "Bearer " + signClaims(t, jwt.SigningMethodHS256, f.key, claims(func(c jwt.MapClaims) { c["aud"] = "other" }))},
		{"wrong issuer", "Bearer " + signClaims(t, jwt.SigningMethodHS256, f.key, claims(func(c jwt.MapClaims) { c["iss"] = "other" }))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Authorization", tt.header)
			}
			w := f.do(t, "GET", "/api/gateways", "", nil, h)
			if w.Code != 401 {
				t.Fatalf("status = %d, want 401; body %s", w.Code, w.Body)
			}
			if got := w.Body.String(); got != unauthorizedBody {
				t.Errorf("body = %s\nwant %s", got, unauthorizedBody)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
	// The log says why, without the token.
	if logs := f.logs.String(); strings.Contains(logs, "Bearer") || strings.Contains(logs, "alice:pw") {
		t.Errorf("log leaks credentials:\n%s", logs)
	}
}

func TestServerBearerSchemeCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	w := f.do(t, "GET", "/api/gateways", "", nil, http.Header{"Authorization": {"bearer " + mustMint(t, f.key, "alice")}})
	decodeEcho(t, w)
}

func TestServerRouteWithoutAuthorizer(t *testing.T) {
	f := newFixture(t)
	body := `{"update_id":1}`
	w := f.do(t, "POST", "/api/webhooks/telegram/g9", "", strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	e := decodeEcho(t, w)
	if e.Event.RequestContext.Authorizer != nil {
		t.Errorf("authorizer = %+v, want none", e.Event.RequestContext.Authorizer)
	}
	if e.Event.PathParameters["gatewayId"] != "g9" || e.Event.Body != body || e.Event.IsBase64Encoded {
		t.Errorf("event = %+v", e.Event)
	}
	// A token on such a route is not looked at, as in API Gateway.
	w = f.do(t, "POST", "/api/webhooks/telegram/g9", "garbage", nil, nil)
	if e := decodeEcho(t, w); e.Event.RequestContext.Authorizer != nil {
		t.Error("claims passed on a route without authorizer")
	}
}

func TestServerBinaryBody(t *testing.T) {
	f := newFixture(t)
	tok := mustMint(t, f.key, "alice")
	raw := []byte{0x89, 'P', 'N', 'G', 0}
	e := decodeEcho(t, f.do(t, "POST", "/api/gateways", tok, bytes.NewReader(raw), http.Header{"Content-Type": {"image/png"}}))
	if !e.Event.IsBase64Encoded || e.Event.Body != base64.StdEncoding.EncodeToString(raw) {
		t.Errorf("body = %q base64 %v", e.Event.Body, e.Event.IsBase64Encoded)
	}
}

func TestServerBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	tok := mustMint(t, f.key, "alice")
	w := f.do(t, "POST", "/api/gateways", tok, unsizedReader{bytes.NewReader(make([]byte, MaxBodyBytes+1))}, http.Header{"Content-Type": {"application/json"}})
	if w.Code != 413 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("status = %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestServerHandlerFailures(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		path   string
		status int
		log    string
	}{
		{"/api/panic", 502, "handler panicked"},
		{"/api/fail", 502, "store exploded"},
		{"/api/unwired", 502, "no handler for function unwired"},
		{"/api/slow", 504, "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			start := time.Now()
			w := f.do(t, "GET", tt.path, "", nil, nil)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d", w.Code, tt.status)
			}
			if w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("Content-Type = %q", w.Header().Get("Content-Type"))
			}
			if strings.Contains(w.Body.String(), "boom") || strings.Contains(w.Body.String(), "exploded") {
				t.Errorf("internal detail leaked to the client: %s", w.Body)
			}
			if !strings.Contains(f.logs.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, f.logs)
			}
			if tt.status == 504 && time.Since(start) > 250*time.Millisecond {
				t.Errorf("504 came after %v, not at the 50ms deadline", time.Since(start))
			}
		})
	}
	if !strings.Contains(f.logs.String(), "router_test.go") {
		t.Error("panic logged without its stack")
	}
	if got, want := f.srv.Unhandled(), []string{"unwired"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Unhandled() = %v, want %v", got, want)
	}
}

func TestServerPassesResponseThrough(t *testing.T) {
	routes := []template.Route{{Function: "f", Method: "GET", Path: "/api/x"}}
	h := map[string]httpapi.Handler{"f": func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 412, Headers: map[string]string{"ETag": `"7"`}, Cookies: []string{"s=1"}, Body: "nope"}, nil
	}}
	srv := NewServer(routes, h, mustKey(t), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/api/x", nil))
	if w.Code != 412 || w.Header().Get("ETag") != `"7"` || w.Header().Get("Set-Cookie") != "s=1" || w.Body.String() != "nope" {
		t.Errorf("got %d %v %q", w.Code, w.Header(), w.Body)
	}
}

// TestServerLogLine: one line per request (issue 15, item 22). A request a
// function answered is logged by the function (httpapi and telegramhook
// each write one line, as in AWS), so the router writes none; a request
// the router answers itself gets the router's line, in milliseconds like
// the functions'. Neither ever holds a header, a query or a body.
func TestServerLogLine(t *testing.T) {
	f := newFixture(t)
	tok := mustMint(t, f.key, "alice")
	f.do(t, "POST", "/api/gateways?secret=q", tok, strings.NewReader(`{"botToken":"123:SECRET"}`), http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {"hdr-secret"}})
	if logs := f.logs.String(); logs != "" {
		t.Errorf("the router logged a request its function answered (the function logs it):\n%s", logs)
	}
	f.do(t, "POST", "/api/gateways?secret=q", "", strings.NewReader(`{"botToken":"123:SECRET"}`), http.Header{"X-Api-Key": {"hdr-secret"}})
	logs := f.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d:\n%s", len(lines), logs)
	}
	for _, want := range []string{"method=POST", `route="POST /api/gateways"`, "status=401", "ms="} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}
	for _, leak := range []string{"SECRET", "hdr-secret", tok, "secret=q"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log leaks %q: %s", leak, logs)
		}
	}
}

func TestServerStatic(t *testing.T) {
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "dashboard "+r.URL.Path)
	})
	f := newFixture(t, WithStatic(static))
	for _, path := range []string{"/", "/index.html", "/assets/app.js", "/dev/other"} {
		w := f.do(t, "GET", path, "", nil, nil)
		if w.Code != http.StatusTeapot || w.Body.String() != "dashboard "+path {
			t.Errorf("GET %s: %d %q, want the static handler", path, w.Code, w.Body)
		}
	}
	for _, path := range []string{"/api", "/api/", "/api/unknown"} {
		if w := f.do(t, "GET", path, "", nil, nil); w.Code != 404 || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: %d %q, want a 404 problem", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if !strings.Contains(f.logs.String(), "route=static") {
		t.Errorf("static requests not logged:\n%s", f.logs)
	}
}

func TestServerDevToken(t *testing.T) {
	f := newFixture(t, WithTokenTTL(2*time.Hour))
	w := f.do(t, "POST", DevTokenPath, "", strings.NewReader(`{"sub":"alice","orgs":["acme","beta"]}`), http.Header{"Content-Type": {"application/json"}})
	if w.Code != 200 {
		t.Fatalf("status = %d, body %s", w.Code, w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", w.Header())
	}
	var resp tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	registerToken(resp.Token)
	c, err := Verify(f.key, resp.Token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || !reflect.DeepEqual(c.Orgs, []string{"acme", "beta"}) {
		t.Errorf("claims = %+v", c)
	}
	exp, err := time.Parse(time.RFC3339, resp.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(c.ExpiresAt) {
		t.Errorf("expiresAt %v, token exp %v", exp, c.ExpiresAt)
	}
	if d := time.Until(exp); d < 2*time.Hour-time.Minute || d > 2*time.Hour {
		t.Errorf("token lives %v, want 2h", d)
	}
	// The token opens the API.
	decodeEcho(t, f.do(t, "GET", "/api/gateways", resp.Token, nil, nil))

	// No orgs is a personal-only user.
	w = f.do(t, "POST", DevTokenPath, "", strings.NewReader(`{"sub":"bob"}`), nil)
	if w.Code != 200 {
		t.Errorf("sub only: status %d, body %s", w.Code, w.Body)
	}
}

func TestServerDevTokenInvalid(t *testing.T) {
	f := newFixture(t)
	orgs21 := `["o0","o1","o2","o3","o4","o5","o6","o7","o8","o9","o10","o11","o12","o13","o14","o15","o16","o17","o18","o19","o20"]`
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"empty sub", `{"sub":"","orgs":[]}`, "sub"},
		{"blank sub", `{"sub":"   "}`, "sub"},
		{"missing sub", `{"orgs":["acme"]}`, "sub"},
		{"sub too long", `{"sub":"` + strings.Repeat("a", 129) + `"}`, "sub"},
		{"sub not a user id", `{"sub":"` + strings.Repeat("é", 4) + `"}`, "sub"},
		{"sub with the key separator", `{"sub":"alice#1"}`, "sub"},
		{"too many orgs", `{"sub":"alice","orgs":` + orgs21 + `}`, "orgs"},
		{"org with space", `{"sub":"alice","orgs":["acme","bad org"]}`, "orgs[1]"},
		{"empty org", `{"sub":"alice","orgs":[""]}`, "orgs[0]"},
		{"org too long", `{"sub":"alice","orgs":["` + strings.Repeat("x", 65) + `"]}`, "orgs[0]"},
		{"not JSON", `sub=alice`, ""},
		{"unknown field", `{"sub":"alice","org":"acme"}`, ""},
		{"orgs not a list", `{"sub":"alice","orgs":"acme"}`, ""},
		{"two objects", `{"sub":"alice"}{"sub":"bob"}`, ""},
		{"empty body", ``, ""},
		{"huge body", `{"sub":"` + strings.Repeat("a", 10000) + `"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(t, "POST", DevTokenPath, "", strings.NewReader(tt.body), http.Header{"Content-Type": {"application/json"}})
			if w.Code != 400 || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status = %d, Content-Type %q, body %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			var p edge.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != edge.ProblemTypeBase+"invalid" || p.Status != 400 {
				t.Errorf("problem = %+v", p)
			}
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[len(p.Errors)-1].Field != tt.field) {
				t.Errorf("errors = %+v, want one for %s", p.Errors, tt.field)
			}
		})
	}
	if w := f.do(t, "POST", DevTokenPath, "", strings.NewReader(`{"sub":"auth0|`+strings.Repeat("a", 122)+`"}`), nil); w.Code != 200 {
		t.Errorf("128 characters: status %d, want 200", w.Code)
	}
	w := f.do(t, "GET", DevTokenPath, "", nil, nil)
	if w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET %s: %d Allow %q", DevTokenPath, w.Code, w.Header().Get("Allow"))
	}
}

// TestServerOverHTTP runs the server behind a real listener, where the
// source address and protocol come from the connection.
func TestServerOverHTTP(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv)
	defer ts.Close()

	res, err := http.Post(ts.URL+DevTokenPath, "application/json", strings.NewReader(`{"sub":"alice","orgs":["acme"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenResponse
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest("GET", ts.URL+"/api/gateways/g1/audit?limit=2", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e echoed
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	ev := e.Event
	if ev.RequestContext.HTTP.SourceIP != "127.0.0.1" || ev.RequestContext.HTTP.Protocol != "HTTP/1.1" {
		t.Errorf("http = %+v", ev.RequestContext.HTTP)
	}
	if ev.Headers["authorization"] != "Bearer "+tok.Token {
		t.Error("authorization header not passed on, as API Gateway does")
	}
	if !reflect.DeepEqual(ev.Cookies, []string{"theme=dark"}) || ev.QueryStringParameters["limit"] != "2" {
		t.Errorf("cookies %v query %v", ev.Cookies, ev.QueryStringParameters)
	}
	if ev.RequestContext.Authorizer.JWT.Claims["orgs"] != "[acme]" {
		t.Errorf("claims = %v", ev.RequestContext.Authorizer.JWT.Claims)
	}
}
