package apitest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/api"
)

// gatewayJSON is a valid TELEGRAM_BOT gateway, as GET /api/gateways/{id}
// answers it; edit modifies its decoded form.
func gatewayJSON(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	g := map[string]any{
		"id": "gw_4ytq6m3hd2k5wq7n2xj6a3bcde", "name": "Support bot", "type": "TELEGRAM_BOT", "status": "DISCONNECTED",
		"config": map[string]any{}, "credentialInfo": map[string]any{"botId": "123456789", "tokenLast4": "saw0", "botUsername": "support_bot"},
		"userId": "alice", "organizationId": nil, "lastConnectedAt": nil, "lastErrorAt": nil, "lastError": nil,
		"lastCheckedAt": nil, "lastLatencyMs": nil, "createdAt": "2025-05-01T10:00:00.123456789Z",
		"updatedAt": "2025-05-01T10:00:00.123456789Z", "version": 1,
	}
	if edit != nil {
		edit(g)
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonHeaders(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func problemHeaders() http.Header {
	return http.Header{"Content-Type": {"application/problem+json"}, "Cache-Control": {"no-store"}}
}

const notFound = `{"type":"https://gatehouse.dev/problems/not_found","title":"Not found","status":404,"detail":"Gateway not found.","instance":"req-1"}`

func TestCheck(t *testing.T) {
	c := Must(t)
	etag := []string{"ETag", `"1"`}
	cases := []struct {
		name    string
		method  string
		path    string
		status  int
		header  http.Header
		body    string
		wantErr string // empty: valid
	}{
		{"valid gateway", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, nil), ""},
		{"valid org gateway", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) {
			g["organizationId"], g["lastError"], g["lastLatencyMs"], g["lastCheckedAt"] = "acme", "Credentials could not be verified", 12, "2025-05-01T10:00:00Z"
		}), ""},
		{"valid problem", "GET", "/api/gateways/{id}", 404, problemHeaders(), notFound, ""},
		{"valid 204", "DELETE", "/api/gateways/{id}", 204, http.Header{"Cache-Control": {"no-store"}}, "", ""},
		{"valid empty list", "GET", "/api/gateways", 200, jsonHeaders(), `{"items":[],"nextCursor":null}`, ""},
		{"valid API Gateway refusal", "GET", "/api/gateways", 401, http.Header{"Content-Type": {"application/json"}}, `{"message":"Unauthorized"}`, ""},
		{"valid webhook 200", "POST", "/api/webhooks/telegram/{gatewayId}", 200, http.Header{}, "", ""},

		{"missing required field", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) { delete(g, "version") }), "version"},
		{"credential leaks into credentialInfo", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) {
			g["credentialInfo"].(map[string]any)["botToken"] = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
		}), "botToken"},
		{"credentials field on a gateway", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) {
			g["credentials"] = map[string]any{"botToken": "x"}
		}), "credentials"},
		{"credentialInfo of another type", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) {
			g["credentialInfo"] = map[string]any{"url": "https://hooks.example.com", "hasSigningSecret": true}
		}), "credentialInfo"},
		{"relative URL in credentialInfo", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) {
			g["type"], g["credentialInfo"] = "WEBHOOK", map[string]any{"url": "hooks.example.com/in", "hasSigningSecret": false}
		}), "url"},
		{"null where not nullable", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) { g["name"] = nil }), "name"},
		{"absent where nullable", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) { delete(g, "organizationId") }), "organizationId"},
		{"unknown status", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) { g["status"] = "ONLINE" }), "status"},
		{"bad timestamp", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) { g["createdAt"] = "yesterday" }), "createdAt"},
		{"bad id", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), gatewayJSON(t, func(g map[string]any) { g["id"] = "GW#1" }), "id"},
		{"missing ETag", "GET", "/api/gateways/{id}", 200, jsonHeaders(), gatewayJSON(t, nil), "ETag"},
		{"weak ETag", "GET", "/api/gateways/{id}", 200, jsonHeaders("ETag", `W/"1"`), gatewayJSON(t, nil), "ETag"},
		{"missing Location", "POST", "/api/gateways", 201, jsonHeaders(etag...), gatewayJSON(t, nil), "Location"},
		{"undeclared status", "GET", "/api/gateways/{id}", 418, problemHeaders(), strings.Replace(notFound, "404", "418", 1), "not declared"},
		{"undeclared 412 on a read", "GET", "/api/gateways/{id}", 412, problemHeaders(), strings.Replace(notFound, "404", "412", 1), "not declared"},
		{"problem as application/json", "GET", "/api/gateways/{id}", 404, jsonHeaders(), notFound, "Content-Type"},
		{"gateway as problem+json", "GET", "/api/gateways/{id}", 200, http.Header{"Content-Type": {"application/problem+json"}, "ETag": {`"1"`}}, gatewayJSON(t, nil), "Content-Type"},
		{"problem status disagrees", "GET", "/api/gateways/{id}", 404, problemHeaders(), strings.Replace(notFound, "404", "400", 1), "status"},
		{"problem without title", "GET", "/api/gateways/{id}", 404, problemHeaders(), `{"type":"https://gatehouse.dev/problems/not_found","status":404}`, "title"},
		{"problem with a stack", "GET", "/api/gateways/{id}", 404, problemHeaders(), strings.Replace(notFound, `"instance"`, `"stack":"main.go:1","instance"`, 1), "stack"},
		{"body on 204", "DELETE", "/api/gateways/{id}", 204, jsonHeaders(), `{}`, "no body"},
		{"no body on 200", "GET", "/api/gateways/{id}", 200, jsonHeaders(etag...), "", "got none"},
		{"not JSON", "GET", "/api/gateways", 200, jsonHeaders(), `{"items":[`, "decode"},
		{"list without nextCursor", "GET", "/api/gateways", 200, jsonHeaders(), `{"items":[]}`, "nextCursor"},
		{"test result success with error", "POST", "/api/gateways/{id}/test", 200, jsonHeaders(etag...),
			`{"success":true,"latencyMs":3,"result":"ok","error":"boom","details":{},"gateway":` + gatewayJSON(t, nil) + `}`, "error"},
		{"webhook 200 with a body", "POST", "/api/webhooks/telegram/{gatewayId}", 200, jsonHeaders(), `{"ok":true}`, "no body"},
		{"unknown operation", "PATCH", "/api/gateways", 200, jsonHeaders(), `{}`, "not in the OpenAPI document"},
		{"unknown path", "GET", "/api/users", 200, jsonHeaders(), `{}`, "not in the OpenAPI document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.method, tc.path, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("valid response refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("invalid response accepted; want an error about %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error does not mention %q: %v", tc.wantErr, err)
			}
		})
	}
}

func TestCheckEvent(t *testing.T) {
	c := Must(t)
	ok := events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{"Content-Type": "application/problem+json"}, Body: notFound}
	if err := c.CheckEvent("GET", "/api/gateways/{id}", ok); err != nil {
		t.Errorf("valid event response refused: %v", err)
	}
	bad := ok
	bad.Body = `{"message":"Not Found"}`
	if err := c.CheckEvent("GET", "/api/gateways/{id}", bad); err == nil {
		t.Errorf("a body that is not a problem was accepted")
	}
	if err := c.CheckEvent("GET", "/api/gateways/{id}", events.APIGatewayV2HTTPResponse{}); err == nil {
		t.Errorf("a response without statusCode was accepted")
	}
}

// TestDocument checks what the validator itself does not: the document is
// 3.1, every operation has an operationId, every authenticated operation
// declares 401, and every response that is not 2xx is a shared one.
func TestDocument(t *testing.T) {
	c := Must(t)
	var raw map[string]any
	if err := json.Unmarshal(api.Document, &raw); err != nil {
		t.Fatal(err)
	}
	if v, _ := raw["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	ids := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q is empty or repeated", key, op.OperationID)
			}
			ids[op.OperationID] = true
			public := op.Security != nil && len(*op.Security) == 0
			if !public && op.Responses.Status(401) == nil {
				t.Errorf("%s: an authenticated operation must declare 401", key)
			}
			if op.Responses.Default() != nil {
				t.Errorf("%s: a default response would let any status pass", key)
			}
			for code, r := range op.Responses.Map() {
				if !strings.HasPrefix(code, "2") && r.Ref == "" {
					t.Errorf("%s %s: error responses must use components/responses", key, code)
				}
			}
		}
	}
}
