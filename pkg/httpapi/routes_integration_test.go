package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// The paths of the routes function, as the template declares them.
const (
	routesPath      = "/api/gateways/{id}/routes"
	routePath       = "/api/gateways/{id}/routes/{routeId}"
	deadLettersPath = "/api/gateways/{id}/routes/{routeId}/dead-letters"
	replayPath      = "/api/gateways/{id}/routes/{routeId}/replay"
)

// routeReq is a request to the routes function.
func routeReq(method, path, bot, routeID, body string) req {
	return req{fn: httpapi.FnRoutes, method: method, path: path, id: bot, routeID: routeID, body: body}
}

func webhookTarget(id string) string { return `{"type":"WEBHOOK","gatewayId":"` + id + `"}` }

const eventBridgeRoute = `{"target":{"type":"EVENTBRIDGE"}}`

// createRoute adds a route with body to bot and returns it.
func (h *harness) createRoute(c caller, bot, body string) httpapi.RouteJSON {
	h.t.Helper()
	r := h.do(c, routeReq(http.MethodPost, routesPath, bot, "", body))
	if r.status != http.StatusCreated {
		h.t.Fatalf("create route: %d %s", r.status, r.body)
	}
	var j httpapi.RouteJSON
	r.decode(h.t, &j)
	return j
}

// getRoute reads a route; it fails the test unless it is there.
func (h *harness) getRoute(c caller, bot, id string) httpapi.RouteJSON {
	h.t.Helper()
	r := h.do(c, routeReq(http.MethodGet, routePath, bot, id, ""))
	if r.status != http.StatusOK {
		h.t.Fatalf("get route %s: %d %s", id, r.status, r.body)
	}
	var j httpapi.RouteJSON
	r.decode(h.t, &j)
	return j
}

type routeList struct {
	Items      []httpapi.RouteJSON `json:"items"`
	NextCursor *string             `json:"nextCursor"`
}

func (h *harness) listRoutes(c caller, bot string) []string {
	h.t.Helper()
	r := h.do(c, routeReq(http.MethodGet, routesPath, bot, "", ""))
	if r.status != http.StatusOK {
		h.t.Fatalf("list routes: %d %s", r.status, r.body)
	}
	var l routeList
	r.decode(h.t, &l)
	if l.NextCursor != nil {
		h.t.Errorf("list routes: nextCursor %q, want null", *l.NextCursor)
	}
	ids := []string{}
	for _, it := range l.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// trail returns a gateway's audit events, newest first.
func (h *harness) trail(c caller, id string) []httpapi.AuditEventJSON {
	h.t.Helper()
	r := h.do(c, req{fn: httpapi.FnGatewayAudit, method: http.MethodGet, id: id, query: map[string]string{"limit": "100"}})
	if r.status != http.StatusOK {
		h.t.Fatalf("audit: %d %s", r.status, r.body)
	}
	var page struct{ Items []httpapi.AuditEventJSON }
	r.decode(h.t, &page)
	return page.Items
}

func actions(events []httpapi.AuditEventJSON) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Action)
	}
	return out
}

// fieldsOf returns the fields a problem names, sorted.
func fieldsOf(p edge.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// wantFields fails t unless r is a problem of status naming exactly
// fields (in any order; nil: any).
func wantFields(t *testing.T, r resp, status int, fields ...string) edge.Problem {
	t.Helper()
	p := problem(t, r, status)
	if fields != nil {
		want := slices.Clone(fields)
		slices.Sort(want)
		if got := fieldsOf(p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fields = %q, want %q (%s)", got, want, r.body)
		}
	}
	for _, f := range p.Errors {
		if f.Message == "" {
			t.Errorf("field %q has no message", f.Field)
		}
	}
	return p
}

// sameAnswer fails t unless a and b are the same answer once the request
// ids (the problems' instance) are left out.
func sameAnswer(t *testing.T, what string, a, b resp) {
	t.Helper()
	norm := func(r resp) string {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			return string(r.body)
		}
		delete(m, "instance")
		out, _ := json.Marshal(map[string]any{"status": r.status, "headers": r.headers, "body": m})
		return string(out)
	}
	if x, y := norm(a), norm(b); x != y {
		t.Errorf("%s: answers differ:\n %s\n %s", what, x, y)
	}
}

// items returns the table's items by "pk|sk".
func (h *harness) items() map[string]map[string]types.AttributeValue {
	h.t.Helper()
	out := map[string]map[string]types.AttributeValue{}
	for _, it := range h.scan() {
		out[attrS(it, "pk")+"|"+attrS(it, "sk")] = it
	}
	return out
}

// keysLike returns the "pk|sk" keys of the table that contain every one
// of parts, sorted.
func (h *harness) keysLike(parts ...string) []string {
	h.t.Helper()
	var out []string
	for k := range h.items() {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(k, p)
		}
		if all {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestRoutes: a bot's routes through the real handler — create, list, get,
// replace (with and without If-Match), pause and resume, delete — each
// change with its audit event in the bot's trail, and the WEBHOOK
// target's back-reference following the target.
func TestRoutes(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	hook := h.create(alice, webhookBody("Hook"))

	r := h.do(alice, routeReq(http.MethodPost, routesPath, bot.ID, "",
		`{"target":`+webhookTarget(hook.ID)+`,"filters":{"updateTypes":["message","message"],"chatIds":[42,-100],"commandPrefix":"/start"}}`))
	if r.status != http.StatusCreated || r.headers["ETag"] != `"1"` {
		t.Fatalf("create: %d %v %s", r.status, r.headers, r.body)
	}
	var a httpapi.RouteJSON
	r.decode(t, &a)
	if !route.ValidID(a.ID) || a.GatewayID != bot.ID || a.Target != (route.Target{Type: route.TargetWebhook, GatewayID: hook.ID}) ||
		a.Status != route.StatusActive || a.StatusReason != nil || a.Version != 1 || a.CreatedAt.IsZero() || !a.UpdatedAt.Equal(a.CreatedAt) ||
		a.Pending != 0 || a.Lag != 0 || a.DeadLetters != 0 || a.LastDeliveredUpdateID != nil || a.LastError != nil {
		t.Errorf("created %+v", a)
	}
	if fmt.Sprint(a.Filters.UpdateTypes, a.Filters.ChatIDs) != "[message] [42 -100]" || a.Filters.CommandPrefix == nil || *a.Filters.CommandPrefix != "/start" {
		t.Errorf("created filters %+v", a.Filters)
	}
	if got := h.keysLike("GW#"+hook.ID+"|ROUTEIN#", a.ID); len(got) != 1 {
		t.Errorf("the target's back-references: %v, want one", got)
	}

	// Unset filters show as empty lists and a null prefix; an EVENTBRIDGE
	// target has no gatewayId.
	r = h.do(alice, routeReq(http.MethodPost, routesPath, bot.ID, "", eventBridgeRoute))
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	if string(raw["filters"]) != `{"updateTypes":[],"chatIds":[],"commandPrefix":null}` || string(raw["target"]) != `{"type":"EVENTBRIDGE"}` {
		t.Errorf("EVENTBRIDGE route: %s", r.body)
	}
	var b httpapi.RouteJSON
	r.decode(t, &b)

	if got := h.listRoutes(alice, bot.ID); fmt.Sprint(got) != fmt.Sprint([]string{a.ID, b.ID}) {
		t.Errorf("list = %v, want oldest first %v", got, []string{a.ID, b.ID})
	}
	r = h.do(alice, routeReq(http.MethodGet, routePath, bot.ID, a.ID, ""))
	var got httpapi.RouteJSON
	r.decode(t, &got)
	if r.status != http.StatusOK || r.headers["ETag"] != `"1"` || !reflect.DeepEqual(got, a) {
		t.Errorf("get: %d %v\n got  %+v\n want %+v", r.status, r.headers, got, a)
	}

	// Replace with If-Match: the target moves to EventBridge, and its
	// back-reference goes.
	put := func(ifMatch, body string) resp {
		rq := routeReq(http.MethodPut, routePath, bot.ID, a.ID, body)
		if ifMatch != "" {
			rq.headers = map[string]string{"If-Match": ifMatch}
		}
		return h.do(alice, rq)
	}
	r = put(`"1"`, `{"target":{"type":"EVENTBRIDGE"},"filters":{"updateTypes":["callback_query"]}}`)
	r.decode(t, &got)
	if r.status != http.StatusOK || r.headers["ETag"] != `"2"` || got.Version != 2 || got.Target.Type != route.TargetEventBridge ||
		fmt.Sprint(got.Filters.UpdateTypes, got.Filters.ChatIDs) != "[callback_query] []" || got.Filters.CommandPrefix != nil ||
		got.Status != route.StatusActive || !got.CreatedAt.Equal(a.CreatedAt) || got.UpdatedAt.Before(a.UpdatedAt) {
		t.Errorf("put: %d %v %+v", r.status, r.headers, got)
	}
	if refs := h.keysLike("ROUTEIN#"); len(refs) != 0 {
		t.Errorf("back-references after the target moved to EventBridge: %v", refs)
	}
	// The same ETag again: 412, nothing written.
	problem(t, put(`"1"`, `{"target":{"type":"EVENTBRIDGE"}}`), http.StatusPreconditionFailed)
	if v := h.getRoute(alice, bot.ID, a.ID).Version; v != 2 {
		t.Errorf("after a 412, version %d, want 2", v)
	}
	r = put("", `{"target":`+webhookTarget(hook.ID)+`}`)
	if r.status != http.StatusOK || r.headers["ETag"] != `"3"` {
		t.Fatalf("put without If-Match: %d %v %s", r.status, r.headers, r.body)
	}
	if got := h.keysLike("GW#"+hook.ID+"|ROUTEIN#", a.ID); len(got) != 1 {
		t.Errorf("back-references after the target came back: %v, want one", got)
	}

	// Pause, pause again (nothing to change), a stale If-Match, resume.
	patch := func(ifMatch, st string) (resp, httpapi.RouteJSON) {
		rq := routeReq(http.MethodPatch, routePath, bot.ID, a.ID, `{"status":"`+st+`"}`)
		if ifMatch != "" {
			rq.headers = map[string]string{"If-Match": ifMatch}
		}
		r := h.do(alice, rq)
		var j httpapi.RouteJSON
		if r.status == http.StatusOK {
			r.decode(t, &j)
		}
		return r, j
	}
	r, got = patch(`"3"`, "PAUSED")
	if r.status != http.StatusOK || got.Status != route.StatusPaused || got.StatusReason == nil || *got.StatusReason != "Paused by a user." || got.Version != 4 {
		t.Errorf("pause: %d %+v", r.status, got)
	}
	if r, got = patch("", "PAUSED"); r.status != http.StatusOK || got.Version != 4 || r.headers["ETag"] != `"4"` {
		t.Errorf("pausing a paused route: %d, version %d", r.status, got.Version)
	}
	r, _ = patch(`"3"`, "ACTIVE")
	problem(t, r, http.StatusPreconditionFailed)
	if r, got = patch(`W/"4"`, "ACTIVE"); r.status != http.StatusOK || got.Status != route.StatusActive || got.StatusReason != nil || got.Version != 5 {
		t.Errorf("resume: %d %+v", r.status, got)
	}
	// Changes that change nothing write nothing: resuming an active route
	// (it retries what waits), replacing a route with itself.
	if r, got = patch("", "ACTIVE"); r.status != http.StatusOK || got.Version != 5 {
		t.Errorf("resuming an active route: %d, version %d", r.status, got.Version)
	}
	r = put(`"5"`, `{"target":`+webhookTarget(hook.ID)+`,"filters":{"updateTypes":[],"commandPrefix":null}}`)
	if r.decode(t, &got); r.status != http.StatusOK || got.Version != 5 || r.headers["ETag"] != `"5"` {
		t.Errorf("replacing a route with itself: %d, version %d", r.status, got.Version)
	}

	// Delete: 204, then gone everywhere, back-reference included.
	r = h.do(alice, routeReq(http.MethodDelete, routePath, bot.ID, b.ID, ""))
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	problem(t, h.do(alice, routeReq(http.MethodGet, routePath, bot.ID, b.ID, "")), http.StatusNotFound)
	problem(t, h.do(alice, routeReq(http.MethodDelete, routePath, bot.ID, b.ID, "")), http.StatusNotFound)
	if got := h.listRoutes(alice, bot.ID); fmt.Sprint(got) != fmt.Sprint([]string{a.ID}) {
		t.Errorf("list after delete = %v", got)
	}
	if r := h.do(alice, routeReq(http.MethodDelete, routePath, bot.ID, a.ID, "")); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if left := append(h.keysLike(a.ID), h.keysLike(b.ID)...); len(left) != 0 {
		t.Errorf("deleted routes left items: %v", left)
	}

	// Every change is in the bot's trail, and only there.
	trail := h.trail(alice, bot.ID)
	want := []string{route.AuditDeleted, route.AuditDeleted, route.AuditStatusChanged, route.AuditStatusChanged, route.AuditUpdated, route.AuditUpdated,
		route.AuditCreated, route.AuditCreated, gateway.AuditCreated}
	if fmt.Sprint(actions(trail)) != fmt.Sprint(want) {
		t.Fatalf("bot's trail = %v, want %v", actions(trail), want)
	}
	for i, wantID := range []string{a.ID, b.ID, a.ID, a.ID, a.ID, a.ID, b.ID, a.ID} {
		if e := trail[i]; e.Details["routeId"] != wantID || e.Actor.UserID != "alice" || e.Actor.SourceIP != "203.0.113.7" || e.Actor.RequestID == "" {
			t.Errorf("event %d (%s): details %v actor %+v, want route %s by alice", i, e.Action, e.Details, e.Actor, wantID)
		}
	}
	if d := trail[2].Details; d["oldStatus"] != "PAUSED" || d["newStatus"] != "ACTIVE" {
		t.Errorf("resume details %v", d)
	}
	if d := trail[5].Details; fmt.Sprint(trail[5].Changes) != "[target filters]" || d["target"] != "EVENTBRIDGE" || d["targetGatewayId"] != "" {
		t.Errorf("first update: changes %v details %v", trail[5].Changes, d)
	}
	if d := trail[7].Details; d["target"] != "WEBHOOK" || d["targetGatewayId"] != hook.ID {
		t.Errorf("create details %v", d)
	}
	if got := actions(h.trail(alice, hook.ID)); fmt.Sprint(got) != fmt.Sprint([]string{gateway.AuditCreated}) {
		t.Errorf("the target's trail = %v", got)
	}
	if leaked := secretscan.Find(fmt.Sprint(h.scan())); len(leaked) > 0 {
		t.Errorf("the table holds secrets %v", leaked)
	}
}

// TestRoutesRefusals: every malformed request is refused with a 4xx
// problem naming each bad field, and nothing is stored; a route id that
// is malformed, unknown or another bot's is 404.
func TestRoutesRefusals(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	other := h.create(alice, telegramBody("Other bot"))
	hook := h.create(alice, webhookBody("Hook"))
	rt := h.createRoute(alice, bot.ID, `{"target":`+webhookTarget(hook.ID)+`}`)
	otherRoute := h.createRoute(alice, other.ID, eventBridgeRoute)
	before := h.items()

	withFilters := func(f string) string { return `{"target":{"type":"EVENTBRIDGE"},"filters":` + f + `}` }
	post := func(body string) req { return routeReq(http.MethodPost, routesPath, bot.ID, "", body) }
	put := func(body string) req { return routeReq(http.MethodPut, routePath, bot.ID, rt.ID, body) }
	patch := func(body string) req { return routeReq(http.MethodPatch, routePath, bot.ID, rt.ID, body) }
	replay := func(body string) req { return routeReq(http.MethodPost, replayPath, bot.ID, rt.ID, body) }
	deadLetters := func(q map[string]string) req {
		r := routeReq(http.MethodGet, deadLettersPath, bot.ID, rt.ID, "")
		r.query = q
		return r
	}
	with := func(r req, headers map[string]string) req { r.headers = headers; return r }
	chats101 := "[" + strings.TrimSuffix(strings.Repeat("1,", 101), ",") + "]"
	cases := []struct {
		name   string
		r      req
		status int
		fields []string // nil: the problem names none
	}{
		{name: "missing target", r: post(`{}`), status: 400, fields: []string{"target"}},
		{name: "filters without a target", r: post(`{"filters":{"chatIds":[1]}}`), status: 400, fields: []string{"target"}},
		{name: "null target", r: post(`{"target":null}`), status: 400, fields: []string{"target"}},
		{name: "target not an object", r: post(`{"target":"EVENTBRIDGE"}`), status: 400, fields: []string{"target"}},
		{name: "unknown target.type", r: post(`{"target":{"type":"SQS"}}`), status: 400, fields: []string{"target.type"}},
		{name: "no target.type", r: post(`{"target":{"gatewayId":"` + hook.ID + `"}}`), status: 400, fields: []string{"target.type"}},
		{name: "unknown top-level keys", r: post(`{"target":{"type":"EVENTBRIDGE"},"owner":"bob","status":"ACTIVE"}`), status: 400, fields: []string{"owner", "status"}},
		{name: "unknown key in target", r: post(`{"target":{"type":"EVENTBRIDGE","url":"https://example.com"}}`), status: 400, fields: []string{"target.url"}},
		{name: "unknown key in filters", r: post(withFilters(`{"chatId":1}`)), status: 400, fields: []string{"filters.chatId"}},
		{name: "filters not an object", r: post(withFilters(`["message"]`)), status: 400, fields: []string{"filters"}},
		{name: "chatIds not a list", r: post(withFilters(`{"chatIds":5}`)), status: 400, fields: []string{"filters.chatIds"}},
		{name: "bad chatIds", r: post(withFilters(`{"chatIds":[5,0,"7",1.5]}`)), status: 400, fields: []string{"filters.chatIds[1]", "filters.chatIds[2]", "filters.chatIds[3]"}},
		{name: "too many chatIds", r: post(withFilters(`{"chatIds":` + chats101 + `}`)), status: 400, fields: []string{"filters.chatIds"}},
		{name: "bad updateTypes entries", r: post(withFilters(`{"updateTypes":["message","Message","",7]}`)), status: 400, fields: []string{"filters.updateTypes"}},
		{name: "bad updateTypes strings", r: post(withFilters(`{"updateTypes":["message","Message","","edited-message"]}`)), status: 400,
			fields: []string{"filters.updateTypes[1]", "filters.updateTypes[2]", "filters.updateTypes[3]"}},
		{name: "commandPrefix too long", r: post(withFilters(`{"commandPrefix":"/` + strings.Repeat("s", route.MaxCommandPrefixLen) + `"}`)), status: 400, fields: []string{"filters.commandPrefix"}},
		{name: "commandPrefix empty", r: post(withFilters(`{"commandPrefix":""}`)), status: 400, fields: []string{"filters.commandPrefix"}},
		{name: "EVENTBRIDGE with gatewayId", r: post(`{"target":{"type":"EVENTBRIDGE","gatewayId":"` + hook.ID + `"}}`), status: 400, fields: []string{"target.gatewayId"}},
		{name: "WEBHOOK without gatewayId", r: post(`{"target":{"type":"WEBHOOK"}}`), status: 400, fields: []string{"target.gatewayId"}},
		{name: "WEBHOOK with a malformed gatewayId", r: post(`{"target":{"type":"WEBHOOK","gatewayId":"gw_nope"}}`), status: 400, fields: []string{"target.gatewayId"}},
		{name: "several at once", r: post(`{"target":{"type":"EVENTBRIDGE","gatewayId":"x"},"filters":{"chatIds":[0],"commandPrefix":1},"name":"x"}`), status: 400,
			fields: []string{"name", "target.gatewayId", "filters.chatIds[0]", "filters.commandPrefix"}},
		{name: "a list body", r: post(`[` + eventBridgeRoute + `]`), status: 400},
		{name: "a string body", r: post(`"EVENTBRIDGE"`), status: 400},
		{name: "a null body", r: post(`null`), status: 400},
		{name: "malformed JSON", r: post(`{"target":`), status: 400},
		{name: "two objects", r: post(eventBridgeRoute + eventBridgeRoute), status: 400},
		{name: "text/plain", r: with(post(eventBridgeRoute), map[string]string{"Content-Type": "text/plain"}), status: 415},
		{name: "no body", r: post(""), status: 415},
		{name: "too large", r: post(`{"target":{"type":"EVENTBRIDGE"},"x":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`), status: 413},

		{name: "put: missing target", r: put(`{"filters":{}}`), status: 400, fields: []string{"target"}},
		{name: "put: unknown key", r: put(`{"target":{"type":"EVENTBRIDGE"},"status":"PAUSED"}`), status: 400, fields: []string{"status"}},
		{name: "put: malformed If-Match", r: with(put(eventBridgeRoute), map[string]string{"If-Match": "W/x"}), status: 400, fields: []string{"If-Match"}},
		{name: "put: stale If-Match", r: with(put(eventBridgeRoute), map[string]string{"If-Match": `"9"`}), status: 412},
		{name: "patch: ERROR is not settable", r: patch(`{"status":"ERROR"}`), status: 400, fields: []string{"status"}},
		{name: "patch: no status", r: patch(`{}`), status: 400, fields: []string{"status"}},
		{name: "patch: another key", r: patch(`{"state":"PAUSED"}`), status: 400, fields: []string{"state", "status"}},
		{name: "patch: stale If-Match", r: with(patch(`{"status":"PAUSED"}`), map[string]string{"If-Match": `"2"`}), status: 412},
		{name: "list: unknown parameter", r: func() req {
			r := routeReq(http.MethodGet, routesPath, bot.ID, "", "")
			r.query = map[string]string{"owner": "bob"}
			return r
		}(), status: 400, fields: []string{"owner"}},

		{name: "dead letters: limit 0", r: deadLetters(map[string]string{"limit": "0"}), status: 400, fields: []string{"limit"}},
		{name: "dead letters: limit 51", r: deadLetters(map[string]string{"limit": "51"}), status: 400, fields: []string{"limit"}},
		{name: "dead letters: limit text", r: deadLetters(map[string]string{"limit": "ten"}), status: 400, fields: []string{"limit"}},
		{name: "dead letters: cursor text", r: deadLetters(map[string]string{"cursor": "abc"}), status: 400, fields: []string{"cursor"}},
		{name: "dead letters: negative cursor", r: deadLetters(map[string]string{"cursor": "-1"}), status: 400, fields: []string{"cursor"}},
		{name: "dead letters: unknown parameter", r: deadLetters(map[string]string{"offset": "1", "limit": "0"}), status: 400, fields: []string{"limit", "offset"}},

		{name: "replay: none of the keys", r: replay(`{}`), status: 422, fields: []string{"fromUpdateId"}},
		{name: "replay: two of the keys", r: replay(`{"fromUpdateId":1,"from":"2026-12-05T10:00:00Z"}`), status: 422, fields: []string{"from", "fromUpdateId"}},
		{name: "replay: all three keys", r: replay(`{"fromUpdateId":1,"from":"2026-12-05T10:00:00Z","deadLetters":true}`), status: 422, fields: []string{"deadLetters", "from", "fromUpdateId"}},
		{name: "replay: negative update id", r: replay(`{"fromUpdateId":-1}`), status: 400, fields: []string{"fromUpdateId"}},
		{name: "replay: update id as a string", r: replay(`{"fromUpdateId":"5"}`), status: 400, fields: []string{"fromUpdateId"}},
		{name: "replay: not a time", r: replay(`{"from":"yesterday"}`), status: 400, fields: []string{"from"}},
		{name: "replay: deadLetters false", r: replay(`{"deadLetters":false}`), status: 400, fields: []string{"deadLetters"}},
		{name: "replay: unknown key", r: replay(`{"fromUpdateId":1,"until":2}`), status: 400, fields: []string{"until"}},
		{name: "replay: not an object", r: replay(`[]`), status: 400},
		{name: "replay: text/plain", r: with(replay(`{"deadLetters":true}`), map[string]string{"Content-Type": "text/plain"}), status: 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(alice, tc.r)
			if tc.fields == nil {
				if p := problem(t, r, tc.status); len(p.Errors) > 0 && tc.status != 400 {
					t.Errorf("errors %+v", p.Errors)
				}
				return
			}
			wantFields(t, r, tc.status, tc.fields...)
		})
	}

	// Route ids that are malformed, unknown or another bot's: 404 on every
	// path, alike.
	valid := map[string]string{http.MethodPut: eventBridgeRoute, http.MethodPatch: `{"status":"PAUSED"}`}
	paths := []struct{ method, path, body string }{
		{http.MethodGet, routePath, ""}, {http.MethodPut, routePath, valid[http.MethodPut]}, {http.MethodPatch, routePath, valid[http.MethodPatch]},
		{http.MethodDelete, routePath, ""}, {http.MethodGet, deadLettersPath, ""}, {http.MethodPost, replayPath, `{"deadLetters":true}`},
	}
	for _, id := range []string{"rt_nope", "../" + rt.ID, strings.ToUpper(rt.ID), rt.ID + "a", "", route.NewID(), otherRoute.ID} {
		for _, p := range paths {
			r := h.do(alice, routeReq(p.method, p.path, bot.ID, id, p.body))
			missing := h.do(alice, routeReq(p.method, p.path, bot.ID, route.NewID(), p.body))
			problem(t, r, http.StatusNotFound)
			sameAnswer(t, fmt.Sprintf("%s %s of route %q", p.method, p.path, id), r, missing)
		}
	}

	if after := h.items(); !reflect.DeepEqual(before, after) {
		for k := range after {
			if !reflect.DeepEqual(before[k], after[k]) {
				t.Errorf("a refused request wrote %s", k)
			}
		}
		for k := range before {
			if _, ok := after[k]; !ok {
				t.Errorf("a refused request deleted %s", k)
			}
		}
	}
}

// TestRoutesTargetsAndTenancy: a WEBHOOK target must be a WEBHOOK gateway
// of the bot's scope — anything else is one 422 naming target.gatewayId,
// the same for another tenant's gateway as for one that never existed;
// another tenant's bot is 404 on every path, like a missing one; other
// gateway types have no routes (409); a bot has at most 10 routes.
func TestRoutesTargetsAndTenancy(t *testing.T) {
	h := newHarness(t)
	alice, bob := user("alice", "acme"), user("bob", "acme")
	bot := h.create(alice, telegramBody("Bot"))
	hook := h.create(alice, webhookBody("Hook"))
	ai := h.create(alice, aiBody("AI"))
	bobHook := h.create(bob, webhookBody("Bob's hook"))
	acmeHook := h.create(alice.in("acme"), webhookBody("Acme hook"))
	gone := h.create(alice, webhookBody("Gone"))
	if r := h.do(alice, req{fn: httpapi.FnDeleteGateway, method: http.MethodDelete, id: gone.ID}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	rt := h.createRoute(alice, bot.ID, `{"target":`+webhookTarget(hook.ID)+`}`)
	before := h.items()

	missing := gateway.NewID()
	answers := map[string][2]resp{}
	for _, tc := range []struct{ name, id string }{
		{"missing", missing}, {"another tenant's", bobHook.ID}, {"of the bot's organisation, not its scope", acmeHook.ID},
		{"deleted", gone.ID}, {"an AI gateway", ai.ID}, {"the bot itself", bot.ID},
	} {
		body := `{"target":` + webhookTarget(tc.id) + `}`
		create := h.do(alice, routeReq(http.MethodPost, routesPath, bot.ID, "", body))
		replace := h.do(alice, routeReq(http.MethodPut, routePath, bot.ID, rt.ID, body))
		for _, r := range []resp{create, replace} {
			p := wantFields(t, r, http.StatusUnprocessableEntity, "target.gatewayId")
			if strings.Contains(string(r.body), tc.id) {
				t.Errorf("%s target: the answer names the id: %s", tc.name, r.body)
			}
			if p.Type != edge.ProblemTypeBase+gateway.CodeUnprocessable {
				t.Errorf("%s target: problem type %q", tc.name, p.Type)
			}
		}
		answers[tc.name] = [2]resp{create, replace}
	}
	for name, a := range answers {
		sameAnswer(t, name+" target (create)", a[0], answers["missing"][0])
		sameAnswer(t, name+" target (replace)", a[1], answers["missing"][1])
	}

	// Another tenant's bot, or the bot from another scope: 404 on every
	// path, as for a bot that does not exist.
	paths := []struct{ method, path, routeID, body string }{
		{http.MethodPost, routesPath, "", eventBridgeRoute}, {http.MethodGet, routesPath, "", ""},
		{http.MethodGet, routePath, rt.ID, ""}, {http.MethodPut, routePath, rt.ID, eventBridgeRoute},
		{http.MethodPatch, routePath, rt.ID, `{"status":"PAUSED"}`}, {http.MethodDelete, routePath, rt.ID, ""},
		{http.MethodGet, deadLettersPath, rt.ID, ""}, {http.MethodPost, replayPath, rt.ID, `{"deadLetters":true}`},
	}
	for _, c := range []caller{bob, bob.in("acme"), alice.in("acme"), user("mallory")} {
		for _, p := range paths {
			r := h.do(c, routeReq(p.method, p.path, bot.ID, p.routeID, p.body))
			problem(t, r, http.StatusNotFound)
			sameAnswer(t, fmt.Sprintf("%s %s by %s", p.method, p.path, c.sub+"@"+c.org),
				r, h.do(c, routeReq(p.method, p.path, gateway.NewID(), p.routeID, p.body)))
		}
	}
	// Malformed bot ids, and a non-member's organisation.
	for _, id := range []string{"gw_nope", "../" + bot.ID, strings.Repeat("g", 300)} {
		problem(t, h.do(alice, routeReq(http.MethodGet, routesPath, id, "", "")), http.StatusNotFound)
	}
	problem(t, h.do(user("carol").in("acme"), routeReq(http.MethodGet, routesPath, bot.ID, "", "")), http.StatusForbidden)

	// Gateways of other types have no routes: 409 on every path.
	for _, id := range []string{hook.ID, ai.ID} {
		for _, p := range paths {
			routeID := p.routeID
			if routeID != "" {
				routeID = route.NewID()
			}
			problem(t, h.do(alice, routeReq(p.method, p.path, id, routeID, p.body)), http.StatusConflict)
		}
	}
	if after := h.items(); !reflect.DeepEqual(before, after) {
		t.Errorf("refused requests changed the table")
	}

	// The organisation's bot: every member manages its routes, with the
	// organisation's WEBHOOK gateways as targets.
	acmeBot := h.create(alice.in("acme"), telegramBody("Acme bot"))
	acmeRoute := h.createRoute(bob.in("acme"), acmeBot.ID, `{"target":`+webhookTarget(acmeHook.ID)+`}`)
	if got := h.listRoutes(alice.in("acme"), acmeBot.ID); fmt.Sprint(got) != fmt.Sprint([]string{acmeRoute.ID}) {
		t.Errorf("alice@acme lists %v", got)
	}
	wantFields(t, h.do(bob.in("acme"), routeReq(http.MethodPost, routesPath, acmeBot.ID, "", `{"target":`+webhookTarget(hook.ID)+`}`)),
		http.StatusUnprocessableEntity, "target.gatewayId")

	// A target deleted under its routes: the delivery engine's clean-up
	// (GatewayRemoved, from the table's stream) pauses them; they cannot
	// be resumed or kept on it, only pointed elsewhere.
	hook2 := h.create(alice, webhookBody("Hook 2"))
	r2 := h.createRoute(alice, bot.ID, `{"target":`+webhookTarget(hook2.ID)+`}`)
	if r := h.do(alice, req{fn: httpapi.FnDeleteGateway, method: http.MethodDelete, id: hook2.ID}); r.status != http.StatusNoContent {
		t.Fatalf("delete hook 2: %d %s", r.status, r.body)
	}
	if err := dynamo.NewRoutes(h.ddb, h.table).GatewayRemoved(t.Context(), hook2.ID); err != nil {
		t.Fatal(err)
	}
	paused := h.getRoute(alice, bot.ID, r2.ID)
	if paused.Status != route.StatusPaused || paused.StatusReason == nil || !strings.Contains(*paused.StatusReason, "deleted") || paused.Version != 2 {
		t.Errorf("a route whose target was deleted: %+v", paused)
	}
	patch := func(st string) resp {
		return h.do(alice, routeReq(http.MethodPatch, routePath, bot.ID, r2.ID, `{"status":"`+st+`"}`))
	}
	wantFields(t, patch("ACTIVE"), http.StatusUnprocessableEntity, "target.gatewayId")
	wantFields(t, h.do(alice, routeReq(http.MethodPut, routePath, bot.ID, r2.ID, `{"target":`+webhookTarget(hook2.ID)+`}`)),
		http.StatusUnprocessableEntity, "target.gatewayId")
	if got := h.getRoute(alice, bot.ID, r2.ID); got.Status != route.StatusPaused || got.Version != 2 {
		t.Errorf("after refused resumes: %+v", got)
	}
	if r := patch("PAUSED"); r.status != http.StatusOK {
		t.Errorf("pausing it again: %d %s", r.status, r.body)
	}
	if r := h.do(alice, routeReq(http.MethodPut, routePath, bot.ID, r2.ID, `{"target":`+webhookTarget(hook.ID)+`}`)); r.status != http.StatusOK {
		t.Fatalf("pointing it elsewhere: %d %s", r.status, r.body)
	}
	if r := patch("ACTIVE"); r.status != http.StatusOK {
		t.Errorf("resuming it then: %d %s", r.status, r.body)
	}

	// At most 10 routes a bot: the 11th is 409 and stores nothing.
	full := h.create(alice, telegramBody("Full"))
	var ids []string
	for i := 0; i < route.MaxRoutesPerBot; i++ {
		ids = append(ids, h.createRoute(alice, full.ID, eventBridgeRoute).ID)
	}
	n := len(h.scan())
	problem(t, h.do(alice, routeReq(http.MethodPost, routesPath, full.ID, "", eventBridgeRoute)), http.StatusConflict)
	if got := len(h.scan()); got != n {
		t.Errorf("the 11th route wrote %d items", got-n)
	}
	if got := h.listRoutes(alice, full.ID); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("the full bot lists %v, want %v", got, ids)
	}
	if r := h.do(alice, routeReq(http.MethodDelete, routePath, full.ID, ids[3], "")); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.status)
	}
	h.createRoute(alice, full.ID, eventBridgeRoute)
}

// updateJSON is a raw update of bot chat chat (none when 0): a message
// with text (or, with caption, a photo with it), or of another type.
func updateJSON(id int64, typ string, chat int64, text string) string {
	chatJSON := fmt.Sprintf(`,"chat":{"id":%d,"type":"private"}`, chat)
	if chat == 0 {
		chatJSON = ""
	}
	switch typ {
	case "message", "edited_message", "channel_post":
		field := `"text":` + fmt.Sprintf("%q", text)
		if strings.HasPrefix(text, "caption:") {
			field = `"photo":[],"caption":` + fmt.Sprintf("%q", strings.TrimPrefix(text, "caption:"))
		}
		return fmt.Sprintf(`{"update_id":%d,%q:{"message_id":%d,"date":1735732800,"from":{"id":7}%s,%s}}`, id, typ, id, chatJSON, field)
	case "callback_query":
		return fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"q%d","from":{"id":7},"message":{"message_id":1,"date":1735732800%s,"text":%q},"data":"x"}}`, id, id, chatJSON, text)
	default:
		return fmt.Sprintf(`{"update_id":%d,"poll":{"id":"p%d","question":%q,"options":[]}}`, id, id, text)
	}
}

// storeUpdate stores raw as bot's update, received at at, as the webhook
// would.
func (h *harness) storeUpdate(in *dynamo.Inbox, bot, raw string, at time.Time) inbox.Update {
	h.t.Helper()
	u, err := inbox.ParseUpdate([]byte(raw))
	if err != nil {
		h.t.Fatalf("ParseUpdate(%s): %v", raw, err)
	}
	u.GatewayID, u.ReceivedAt, u.ExpiresAt = bot, at.UTC(), at.Add(time.Hour)
	if err := in.PutUpdate(context.Background(), u); err != nil {
		h.t.Errorf("PutUpdate %d: %v", u.UpdateID, err)
	}
	return *u
}

// replayAnswer is the body of a 202 replay.
type replayAnswer struct {
	Queued           int    `json:"queued"`
	NextFromUpdateID *int64 `json:"nextFromUpdateId"`
	More             bool   `json:"more"`
}

func (h *harness) replay(c caller, bot, rt, body string) replayAnswer {
	h.t.Helper()
	r := h.do(c, routeReq(http.MethodPost, replayPath, bot, rt, body))
	if r.status != http.StatusAccepted {
		h.t.Fatalf("replay %s: %d %s", body, r.status, r.body)
	}
	var a replayAnswer
	r.decode(h.t, &a)
	return a
}

// queued returns the update ids queued on route rt, sorted, and whether
// each is marked as a replay.
func (h *harness) queued(bot, rt string) ([]int64, bool) {
	h.t.Helper()
	var ids []int64
	allReplays := true
	for k, it := range h.items() {
		if !strings.HasPrefix(k, "GW#"+bot+"|DLV#"+rt+"#") {
			continue
		}
		ids = append(ids, attrN(it, dynamo.AttrUpdateID))
		b, ok := it["replay"].(*types.AttributeValueMemberBOOL)
		allReplays = allReplays && ok && b.Value
	}
	slices.Sort(ids)
	return ids, allReplays
}

type deadLetterPage struct {
	Items      []httpapi.DeadLetterJSON `json:"items"`
	NextCursor *string                  `json:"nextCursor"`
}

// TestRoutesReplay: a replay from an update id or a time queues the
// inbox's updates that pass the route's filters (and only its bot's), as
// replays, and answers 202 with their count; dead letters page with a
// cursor, and a dead-letter replay puts them back on the queue; each
// replay is in the bot's trail.
func TestRoutesReplay(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	in := dynamo.NewInbox(h.ddb, h.table)
	bot := h.create(alice, telegramBody("Bot"))
	other := h.create(alice, telegramBody("Other"))
	hook := h.create(alice, webhookBody("Hook"))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	seeded := map[int64]inbox.Update{}
	for _, u := range []struct {
		id, chat  int64
		typ, text string
		after     time.Duration
	}{
		{1, 100, "message", "/start a", 0},
		{2, 200, "message", "/start b", 0},
		{3, 100, "callback_query", "/start", 0},
		{4, 100, "message", "hello /start", time.Minute},
		{5, 100, "edited_message", "/start edited", time.Minute},
		{6, 100, "message", "/start d", 2 * time.Minute},
		{7, 0, "poll", "/start?", 2 * time.Minute},
		{8, 100, "message", "caption:/start photo", 3 * time.Minute},
	} {
		seeded[u.id] = h.storeUpdate(in, bot.ID, updateJSON(u.id, u.typ, u.chat, u.text), t0.Add(u.after))
	}
	h.storeUpdate(in, other.ID, updateJSON(9, "message", 100, "/start other bot"), t0)

	// Messages of chat 100 that start with /start, in text or caption.
	narrow := h.createRoute(alice, bot.ID, `{"target":`+webhookTarget(hook.ID)+`,"filters":{"updateTypes":["message"],"chatIds":[100],"commandPrefix":"/start"}}`)
	if a := h.replay(alice, bot.ID, narrow.ID, `{"fromUpdateId":0}`); a.Queued != 3 || a.NextFromUpdateID != nil || a.More {
		t.Errorf("narrow replay from 0: %+v, want 3 queued", a)
	}
	if ids, replays := h.queued(bot.ID, narrow.ID); fmt.Sprint(ids) != "[1 6 8]" || !replays {
		t.Errorf("narrow route's queue: %v (all replays: %v), want [1 6 8]", ids, replays)
	}
	if got := h.getRoute(alice, bot.ID, narrow.ID); got.Pending != 3 || got.Lag < 3000 {
		t.Errorf("narrow route after the replay: pending %d lag %v, want 3 and the oldest's age", got.Pending, got.Lag)
	}
	// The same again from update 6: two of them, queued once.
	if a := h.replay(alice, bot.ID, narrow.ID, `{"fromUpdateId":6}`); a.Queued != 2 {
		t.Errorf("narrow replay from 6: %+v, want 2 queued", a)
	}
	if got := h.getRoute(alice, bot.ID, narrow.ID); got.Pending != 3 {
		t.Errorf("after replaying queued updates again, pending %d, want 3", got.Pending)
	}

	// No filters: everything of the bot, from an update id or a time.
	all := h.createRoute(alice, bot.ID, eventBridgeRoute)
	if a := h.replay(alice, bot.ID, all.ID, `{"from":"`+t0.Add(2*time.Minute).Format(time.RFC3339)+`"}`); a.Queued != 3 {
		t.Errorf("replay from t0+2m: %+v, want 3 queued", a)
	}
	if a := h.replay(alice, bot.ID, all.ID, `{"fromUpdateId":4}`); a.Queued != 5 {
		t.Errorf("replay from update 4: %+v, want 5 queued", a)
	}
	if a := h.replay(alice, bot.ID, all.ID, `{"fromUpdateId":1000}`); a.Queued != 0 {
		t.Errorf("replay from update 1000: %+v, want none", a)
	}
	if a := h.replay(alice, bot.ID, all.ID, `{"from":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`); a.Queued != 0 {
		t.Errorf("replay from the future: %+v, want none", a)
	}
	if ids, _ := h.queued(bot.ID, all.ID); fmt.Sprint(ids) != "[4 5 6 7 8]" {
		t.Errorf("the all route's queue: %v, want [4 5 6 7 8]", ids)
	}

	// Dead letters, as the delivery engine makes them: five of the queued
	// updates give up.
	store := dynamo.NewRoutes(h.ddb, h.table)
	failedAt := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range []int64{4, 5, 6, 7, 8} {
		u := seeded[id]
		lane := delivery.Lane{BotID: bot.ID, RouteID: all.ID, Chat: route.ChatKey(u.ChatID, u.SenderID)}
		if err := store.DeadLetter(t.Context(), lane, delivery.Pending{Queued: route.Queued{Update: u}, Attempts: 11}, failedAt, "the target answered 500"); err != nil {
			t.Fatalf("DeadLetter %d: %v", id, err)
		}
	}
	if got := h.getRoute(alice, bot.ID, all.ID); got.DeadLetters != 5 || got.Pending != 0 {
		t.Errorf("after five dead letters: deadLetters %d pending %d", got.DeadLetters, got.Pending)
	}
	page := func(q map[string]string) deadLetterPage {
		r := h.do(alice, func() req { r := routeReq(http.MethodGet, deadLettersPath, bot.ID, all.ID, ""); r.query = q; return r }())
		if r.status != http.StatusOK {
			t.Fatalf("dead letters %v: %d %s", q, r.status, r.body)
		}
		var p deadLetterPage
		r.decode(t, &p)
		return p
	}
	walk := func(limit string) string {
		var pages []string
		q := map[string]string{"limit": limit}
		for i := 0; i < 10; i++ {
			p := page(q)
			var ids []int64
			for _, d := range p.Items {
				ids = append(ids, d.UpdateID)
			}
			pages = append(pages, fmt.Sprint(ids))
			if p.NextCursor == nil {
				return strings.Join(pages, " ")
			}
			q["cursor"] = *p.NextCursor
		}
		return "endless"
	}
	for _, tc := range []struct{ limit, want string }{
		{"2", "[4 5] [6 7] [8]"}, {"4", "[4 5 6 7] [8]"}, {"5", "[4 5 6 7 8]"}, {"50", "[4 5 6 7 8]"},
	} {
		if got := walk(tc.limit); got != tc.want {
			t.Errorf("dead letters by %s: %s, want %s", tc.limit, got, tc.want)
		}
	}
	if p := page(nil); len(p.Items) != 5 || p.NextCursor != nil {
		t.Errorf("dead letters, default limit: %d, next %v", len(p.Items), p.NextCursor)
	} else {
		d, u := p.Items[1], seeded[5]
		if d.Type != "edited_message" || d.ChatID == nil || *d.ChatID != 100 || !d.ReceivedAt.Equal(u.ReceivedAt) || !d.FailedAt.Equal(failedAt) ||
			d.Attempts != 12 || d.LastError != "the target answered 500" || string(d.Update) != string(u.Raw) {
			t.Errorf("dead letter %+v (update %s)", d, d.Update)
		}
	}
	if p := page(map[string]string{"cursor": "8"}); len(p.Items) != 0 || p.NextCursor != nil {
		t.Errorf("after the last: %+v", p)
	}

	// Back onto the queue, and gone from the dead letters.
	if a := h.replay(alice, bot.ID, all.ID, `{"deadLetters":true}`); a.Queued != 5 || a.More {
		t.Errorf("dead-letter replay: %+v", a)
	}
	if p := page(nil); len(p.Items) != 0 {
		t.Errorf("dead letters after their replay: %d", len(p.Items))
	}
	if got := h.getRoute(alice, bot.ID, all.ID); got.DeadLetters != 0 || got.Pending != 5 {
		t.Errorf("after the dead-letter replay: deadLetters %d pending %d, want 0 and 5", got.DeadLetters, got.Pending)
	}
	if a := h.replay(alice, bot.ID, all.ID, `{"deadLetters":true}`); a.Queued != 0 {
		t.Errorf("a second dead-letter replay: %+v", a)
	}

	// A paused route replays too (its deliveries wait for its resume).
	if r := h.do(alice, routeReq(http.MethodPatch, routePath, bot.ID, narrow.ID, `{"status":"PAUSED"}`)); r.status != http.StatusOK {
		t.Fatalf("pause: %d", r.status)
	}
	if a := h.replay(alice, bot.ID, narrow.ID, `{"fromUpdateId":1}`); a.Queued != 3 {
		t.Errorf("a paused route's replay: %+v", a)
	}

	var replayed []map[string]string
	for _, e := range h.trail(alice, bot.ID) {
		if e.Action == route.AuditReplayed {
			replayed = append(replayed, e.Details)
		}
	}
	if len(replayed) != 9 {
		t.Fatalf("%d replays in the trail, want 9", len(replayed))
	}
	if d := replayed[0]; d["routeId"] != narrow.ID || d["fromUpdateId"] != "1" || d["queued"] != "3" {
		t.Errorf("last replay's details %v", d)
	}
	if d := replayed[1]; d["routeId"] != all.ID || d["deadLetters"] != "true" || d["queued"] != "0" {
		t.Errorf("the dead-letter replay's details %v", d)
	}
	if d := replayed[len(replayed)-1]; d["routeId"] != narrow.ID || d["fromUpdateId"] != "0" || d["queued"] != "3" {
		t.Errorf("first replay's details %v", d)
	}
}

// TestRoutesReplayStopsAtMaxReplay: a replay queues at most
// route.MaxReplay updates and says where to go on from; the route shows a
// backlog counted up to route.MaxBacklogCount.
func TestRoutesReplayStopsAtMaxReplay(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	in := dynamo.NewInbox(h.ddb, h.table)
	bot := h.create(alice, telegramBody("Bot"))
	const n = route.MaxReplay + 5
	at := time.Now().Add(-time.Minute)
	ids := make(chan int64, n)
	for id := int64(0); id < n; id++ {
		ids <- id
	}
	close(ids)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				h.storeUpdate(in, bot.ID, updateJSON(id, "message", 100+id%4, "hi"), at)
			}
		}()
	}
	wg.Wait()
	rt := h.createRoute(alice, bot.ID, eventBridgeRoute)
	a := h.replay(alice, bot.ID, rt.ID, `{"fromUpdateId":0}`)
	if a.Queued != route.MaxReplay || a.NextFromUpdateID == nil || *a.NextFromUpdateID != route.MaxReplay {
		t.Fatalf("replay of %d updates: %+v, want %d queued and the next from %d", n, a, route.MaxReplay, route.MaxReplay)
	}
	got := h.getRoute(alice, bot.ID, rt.ID)
	if got.Pending != route.MaxBacklogCount || !got.PendingCapped {
		t.Errorf("backlog: pending %d capped %v", got.Pending, got.PendingCapped)
	}
	if a := h.replay(alice, bot.ID, rt.ID, fmt.Sprintf(`{"fromUpdateId":%d}`, *a.NextFromUpdateID)); a.Queued != 5 || a.NextFromUpdateID != nil {
		t.Errorf("the rest: %+v", a)
	}
	// Counted with a query of the route's queue: a scan of the table, with
	// its thousands of updates, takes seconds.
	queued := 0
	p := dynamodb.NewQueryPaginator(h.ddb, &dynamodb.QueryInput{
		TableName: aws.String(h.table), Select: types.SelectCount, ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "GW#" + bot.ID}, ":p": &types.AttributeValueMemberS{Value: "DLV#" + rt.ID + "#"}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		queued += int(page.Count)
	}
	if queued != n {
		t.Errorf("%d updates queued, want %d", queued, n)
	}
}
