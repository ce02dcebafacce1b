package httpapi_test

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/api/apitest"
	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/template"
)

// The published contract (api/openapi.json) is checked twice here: its
// operations are exactly template.yaml's routes, and every response the
// integration harness receives (doWith) must be one the document allows.

var (
	routesOnce sync.Once
	routes     []template.Route
	routesErr  error
)

// templateRoutes returns template.yaml's HttpApi routes, read once.
func templateRoutes(t *testing.T) []template.Route {
	t.Helper()
	routesOnce.Do(func() {
		root, err := emulator.RootDir()
		if err != nil {
			routesErr = err
			return
		}
		tpl, err := template.Load(filepath.Join(root, "template.yaml"))
		if err != nil {
			routesErr = err
			return
		}
		routes, routesErr = tpl.Routes()
	})
	if routesErr != nil {
		t.Fatalf("template routes: %v", routesErr)
	}
	return routes
}

// checkContract fails the test when out is not a response the OpenAPI
// document allows for the route of r's function and method (and path,
// for a function that serves several paths with one method).
func (h *harness) checkContract(r req, out events.APIGatewayV2HTTPResponse) {
	h.t.Helper()
	var paths []string
	for _, rt := range templateRoutes(h.t) {
		if rt.Function == r.fn && rt.Method == r.method && (r.path == "" || rt.Path == r.path) {
			paths = append(paths, rt.Path)
		}
	}
	if len(paths) != 1 {
		h.t.Fatalf("openapi: template.yaml has %d %s routes %v for function %s (path %q); a request must name one", len(paths), r.method, paths, r.fn, r.path)
	}
	path := paths[0]
	if err := apitest.Must(h.t).CheckEvent(r.method, path, out); err != nil {
		h.t.Errorf("openapi: the response breaks api/openapi.json: %v", err)
	}
}

// TestOpenAPIMatchesTemplate: the document describes every route the
// template deploys, and nothing else.
func TestOpenAPIMatchesTemplate(t *testing.T) {
	var want []string
	for _, r := range templateRoutes(t) {
		want = append(want, r.Key())
	}
	slices.Sort(want)
	got := apitest.Must(t).Operations()
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("template.yaml route %q is not in api/openapi.json", k)
		}
	}
	for _, k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("api/openapi.json operation %q is not a route of template.yaml", k)
		}
	}
}

// TestOpenAPIRefusesWrongResponses proves the hook in doWith has teeth: a
// handler's real answer passes, and the same answer altered the ways a
// regression would alter it does not.
func TestOpenAPIRefusesWrongResponses(t *testing.T) {
	h := newHarness(t)
	g := h.create(user("alice"), telegramBody("contract"))
	c := apitest.Must(t)
	out, err := h.handlers["get-gateway"](t.Context(), events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		PathParameters: map[string]string{"id": g.ID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  "req-contract",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}},
		},
	})
	if err != nil || out.StatusCode != 200 {
		t.Fatalf("get: %d %v", out.StatusCode, err)
	}
	if err := c.CheckEvent("GET", "/api/gateways/{id}", out); err != nil {
		t.Fatalf("the real answer is refused: %v", err)
	}
	mutations := map[string]func(*events.APIGatewayV2HTTPResponse){
		"version missing": func(r *events.APIGatewayV2HTTPResponse) { r.Body = replaceOnce(t, r.Body, `,"version":1`, "") },
		"secret leaked": func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"tokenLast4"`, `"botToken":"`+botToken+`","tokenLast4"`)
		},
		"null name": func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"name":"contract"`, `"name":null`)
		},
		"status not in enum": func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"DISCONNECTED"`, `"OFFLINE"`)
		},
		"no ETag":            func(r *events.APIGatewayV2HTTPResponse) { delete(r.Headers, "ETag") },
		"undeclared status":  func(r *events.APIGatewayV2HTTPResponse) { r.StatusCode = 202 },
		"wrong content type": func(r *events.APIGatewayV2HTTPResponse) { r.Headers["Content-Type"] = "text/plain" },
		"problem instead of 200": func(r *events.APIGatewayV2HTTPResponse) {
			r.Headers["Content-Type"] = "application/problem+json"
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			bad := out
			bad.Headers = map[string]string{}
			for k, v := range out.Headers {
				bad.Headers[k] = v
			}
			mutate(&bad)
			if err := c.CheckEvent("GET", "/api/gateways/{id}", bad); err == nil {
				t.Errorf("a wrong response passed validation: %d %v %s", bad.StatusCode, bad.Headers, bad.Body)
			}
		})
	}
}

func replaceOnce(t *testing.T, s, old, repl string) string {
	t.Helper()
	i := strings.Index(s, old)
	if i < 0 {
		t.Fatalf("%q not in %s", old, s)
	}
	return s[:i] + repl + s[i+len(old):]
}

// TestOpenAPIRefusesWrongRouteResponses: the routes schemas have teeth
// too. A real route, route list and replay answer pass; altered as a
// regression would alter them, they do not.
func TestOpenAPIRefusesWrongRouteResponses(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	bot := h.create(alice, telegramBody("contract"))
	hook := h.create(alice, webhookBody("contract hook"))
	rt := h.createRoute(alice, bot.ID, `{"target":`+webhookTarget(hook.ID)+`,"filters":{"chatIds":[42]}}`)
	event := func(r resp) events.APIGatewayV2HTTPResponse {
		return events.APIGatewayV2HTTPResponse{StatusCode: r.status, Headers: r.headers, Body: string(r.body)}
	}
	get := event(h.do(alice, routeReq("GET", routePath, bot.ID, rt.ID, "")))
	list := event(h.do(alice, routeReq("GET", routesPath, bot.ID, "", "")))
	replay := event(h.do(alice, routeReq("POST", replayPath, bot.ID, rt.ID, `{"fromUpdateId":0}`)))
	c := apitest.Must(t)
	tests := []struct {
		name, method, path string
		out                events.APIGatewayV2HTTPResponse
		mutate             func(*events.APIGatewayV2HTTPResponse)
	}{
		{name: "version missing", method: "GET", path: routePath, out: get, mutate: func(r *events.APIGatewayV2HTTPResponse) { r.Body = replaceOnce(t, r.Body, `,"version":1`, "") }},
		{name: "status not in enum", method: "GET", path: routePath, out: get, mutate: func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"status":"ACTIVE"`, `"status":"RUNNING"`)
		}},
		{name: "a secret beside the target", method: "GET", path: routePath, out: get, mutate: func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"target":{`, `"target":{"signingSecret":"`+signing+`",`)
		}},
		{name: "a WEBHOOK target without its gateway", method: "GET", path: routePath, out: get, mutate: func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `,"gatewayId":"`+hook.ID+`"`, "")
		}},
		{name: "a chat id as a string", method: "GET", path: routePath, out: get, mutate: func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"chatIds":[42]`, `"chatIds":["42"]`)
		}},
		{name: "no ETag", method: "GET", path: routePath, out: get, mutate: func(r *events.APIGatewayV2HTTPResponse) { delete(r.Headers, "ETag") }},
		{name: "a list with a cursor", method: "GET", path: routesPath, out: list, mutate: func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"nextCursor":null`, `"nextCursor":"x"`)
		}},
		{name: "replay answered 200", method: "POST", path: replayPath, out: replay, mutate: func(r *events.APIGatewayV2HTTPResponse) { r.StatusCode = 200 }},
		{name: "a negative replay count", method: "POST", path: replayPath, out: replay, mutate: func(r *events.APIGatewayV2HTTPResponse) {
			r.Body = replaceOnce(t, r.Body, `"queued":0`, `"queued":-1`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.CheckEvent(tt.method, tt.path, tt.out); err != nil {
				t.Fatalf("the real answer is refused: %v", err)
			}
			bad := tt.out
			bad.Headers = map[string]string{}
			for k, v := range tt.out.Headers {
				bad.Headers[k] = v
			}
			tt.mutate(&bad)
			if err := c.CheckEvent(tt.method, tt.path, bad); err == nil {
				t.Errorf("a wrong response passed validation: %d %v %s", bad.StatusCode, bad.Headers, bad.Body)
			}
		})
	}
}
