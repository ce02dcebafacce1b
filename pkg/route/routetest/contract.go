package routetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// World is what the contract runs against: the route.Store under test,
// the gateway store whose gateways are its bots and targets and whose
// trails hold its audit events, and the way the delivery engine makes a
// dead letter of a queued update there.
type World struct {
	Routes   route.Store
	Gateways gateway.Store
	// DeadLetter moves queued update u of route r to r's dead letters and
	// counts it on r, as the engine's last failed attempt does; attempts
	// is the number of attempts in all.
	DeadLetter func(ctx context.Context, r *route.Route, u inbox.Update, failedAt time.Time, attempts int64, lastError string) error
}

// TestStore checks that the worlds newWorld returns meet route.Store's
// contract as pkg/dynamo defines it: a route is written (with its audit
// event in its bot's trail) only while its bot and WEBHOOK target exist,
// spec and status only, never delivery state; updates are conditional on
// the version and check a changed WEBHOOK target; deletes take the
// route's queue and dead letters with it; the backlog counts each queued
// update once; dead letters page oldest first with a cursor that the last
// page lacks, and go back on the queue oldest first; a call whose context
// is done changes nothing. Each subtest gets a world of its own.
func TestStore(t *testing.T, newWorld func(t *testing.T) World) {
	tests := []struct {
		name string
		run  func(t *testing.T, w World)
	}{
		{name: "create and get", run: testCreateGet},
		{name: "create refused", run: testCreateRefused},
		{name: "callers hold copies", run: testCopies},
		{name: "list", run: testList},
		{name: "update", run: testUpdate},
		{name: "update refused", run: testUpdateRefused},
		{name: "delete", run: testDelete},
		{name: "backlog", run: testBacklog},
		{name: "dead letters", run: testDeadLetters},
		{name: "requeue dead letters", run: testRequeue},
		{name: "audit and kick", run: testAuditKick},
		{name: "a done context", run: testDoneContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newWorld(t)) })
	}
}

// t0 is the contract's clock origin, with a fraction of a second.
func t0() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 120000000, time.UTC) }

func ptr[T any](v T) *T { return &v }

// mustGateway creates a gateway of type typ owned by alice.
func mustGateway(t *testing.T, w World, typ gateway.Type) string {
	t.Helper()
	id := gateway.NewID()
	g := &gateway.Gateway{ID: id, UserID: "alice", Name: "gw " + id, Type: typ, Status: gateway.StatusDisconnected,
		Config: json.RawMessage(`{}`), CreatedAt: t0(), UpdatedAt: t0(), Version: 1}
	if err := w.Gateways.CreateGateway(t.Context(), g, event(id, gateway.AuditCreated, t0()), nil); err != nil {
		t.Fatalf("CreateGateway: %v", err)
	}
	return id
}

func deleteGateway(t *testing.T, w World, id string) {
	t.Helper()
	if err := w.Gateways.DeleteGateway(t.Context(), id, 1, event(id, gateway.AuditDeleted, t0())); err != nil {
		t.Fatalf("DeleteGateway: %v", err)
	}
}

// event returns a new audit event of gateway id. A trail is ordered by
// time, then by event id: a test that looks for the last event gives it
// the latest time.
func event(id, action string, at time.Time) gateway.AuditEvent {
	return gateway.AuditEvent{ID: "ev-" + gateway.NewToken(), GatewayID: id, Action: action, At: at,
		Actor: gateway.Actor{UserID: "alice", RequestID: "req"}, Details: map[string]string{"routeId": "rt"}}
}

// newRoute is a route of bot to target (a WEBHOOK gateway; "" for
// EventBridge), created at at, with every field of the spec set.
func newRoute(bot, target string, at time.Time) *route.Route {
	r := &route.Route{
		ID: route.NewID(), GatewayID: bot, Owner: "USER#alice",
		Target:  route.Target{Type: route.TargetEventBridge},
		Filters: route.Filters{UpdateTypes: []string{"message", "callback_query"}, ChatIDs: []int64{-1001, 42}, CommandPrefix: "/start"},
		Status:  route.StatusActive, CreatedAt: at, UpdatedAt: at, Version: 1,
	}
	if target != "" {
		r.Target = route.Target{Type: route.TargetWebhook, GatewayID: target}
	}
	return r
}

func mustCreate(t *testing.T, w World, r *route.Route) gateway.AuditEvent {
	t.Helper()
	ev := event(r.GatewayID, route.AuditCreated, r.CreatedAt)
	if err := w.Routes.CreateRoute(t.Context(), r, ev); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	return ev
}

func mustGet(t *testing.T, w World, r *route.Route) *route.Route {
	t.Helper()
	got, err := w.Routes.GetRoute(t.Context(), r.GatewayID, r.ID)
	if err != nil {
		t.Fatalf("GetRoute(%s): %v", r.ID, err)
	}
	return got
}

func wantNotFound(t *testing.T, w World, r *route.Route) {
	t.Helper()
	_, err := w.Routes.GetRoute(t.Context(), r.GatewayID, r.ID)
	wantCode(t, "GetRoute of "+r.ID, err, gateway.CodeNotFound)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gateway.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// wantField fails t unless err is CodeInvalid naming field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	wantCode(t, what, err, gateway.CodeInvalid)
	var e *gateway.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("%s: %v, want one field error on %q", what, err, field)
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// trail returns the ids of gateway id's audit events, oldest first.
func trail(t *testing.T, w World, id string) []string {
	t.Helper()
	p, err := w.Gateways.ListAudit(t.Context(), id, 100, "")
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	var ids []string
	for _, e := range p.Events {
		ids = append(ids, e.ID)
	}
	slices.Reverse(ids)
	return ids
}

// stored is r as a store gives back a new route: spec and status, no
// delivery state.
func stored(r *route.Route) *route.Route {
	return &route.Route{ID: r.ID, GatewayID: r.GatewayID, Owner: r.Owner, Target: r.Target, Filters: r.Filters,
		Status: r.Status, StatusReason: r.StatusReason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version}
}

// update returns update id of chat chat (none when 0) received at at.
func update(t *testing.T, bot string, id, chat int64, at time.Time) inbox.Update {
	t.Helper()
	raw := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":1,"date":1735732800,"from":{"id":7},"chat":{"id":%d,"type":"private"},"text":"hi"}}`, id, chat)
	if chat == 0 {
		raw = fmt.Sprintf(`{"update_id":%d,"inline_query":{"id":"q","from":{"id":7},"query":"x","offset":""}}`, id)
	}
	u, err := inbox.ParseUpdate([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	u.GatewayID, u.ReceivedAt, u.ExpiresAt = bot, at, at.Add(time.Hour)
	return *u
}

func enqueue(t *testing.T, w World, r *route.Route, replay bool, us ...inbox.Update) {
	t.Helper()
	items := make([]route.Queued, len(us))
	for i, u := range us {
		items[i] = route.Queued{Update: u, Replay: replay}
	}
	if err := w.Routes.Enqueue(t.Context(), r, items); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func backlog(t *testing.T, w World, r *route.Route) route.Backlog {
	t.Helper()
	b, err := w.Routes.Backlog(t.Context(), r)
	if err != nil {
		t.Fatalf("Backlog: %v", err)
	}
	return b
}

// deadIDs reads every dead letter of r with pages of limit and returns
// their update ids, page by page.
func deadIDs(t *testing.T, w World, r *route.Route, limit int) [][]int64 {
	t.Helper()
	var pages [][]int64
	cursor := ""
	for i := 0; i < 20; i++ {
		p, err := w.Routes.DeadLetters(t.Context(), r, limit, cursor)
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		var ids []int64
		for _, d := range p.Items {
			ids = append(ids, d.Update.UpdateID)
		}
		pages = append(pages, ids)
		if p.Next == "" {
			return pages
		}
		cursor = p.Next
	}
	t.Fatal("DeadLetters: more than 20 pages")
	return nil
}

func testCreateGet(t *testing.T, w World) {
	bot, hook := mustGateway(t, w, gateway.TypeTelegramBot), mustGateway(t, w, gateway.TypeWebhook)
	r := newRoute(bot, hook, t0().Add(time.Second).In(time.FixedZone("x", 3600)))
	r.Status, r.StatusReason = route.StatusPaused, "Paused by a user."
	// Delivery state is the engine's to write: a new route has none.
	r.LastDeliveredUpdateID, r.LastDeliveredAt, r.LastLagMs = ptr(int64(5)), ptr(t0()), ptr(int64(12))
	r.ConsecutiveFailures, r.LastError, r.LastErrorAt, r.DeadLetters = 3, "boom", ptr(t0()), 2
	ev := mustCreate(t, w, r)
	wantEqual(t, "the route read back", mustGet(t, w, r), stored(r))
	wantEqual(t, "the bot's trail", trail(t, w, bot)[1:], []string{ev.ID})

	// An EventBridge route needs no target; empty filters stay empty.
	eb := newRoute(bot, "", t0().Add(time.Second))
	eb.Filters = route.Filters{}
	mustCreate(t, w, eb)
	wantEqual(t, "the EventBridge route", mustGet(t, w, eb), stored(eb))
	other := newRoute(bot, "", t0())
	_, err := w.Routes.GetRoute(t.Context(), bot, other.ID)
	wantCode(t, "GetRoute of a route never made", err, gateway.CodeNotFound)
	_, err = w.Routes.GetRoute(t.Context(), hook, r.ID)
	wantCode(t, "GetRoute under another gateway", err, gateway.CodeNotFound)
}

func testCreateRefused(t *testing.T, w World) {
	bot, hook := mustGateway(t, w, gateway.TypeTelegramBot), mustGateway(t, w, gateway.TypeWebhook)
	before := trail(t, w, bot)

	noBot := newRoute(gateway.NewID(), hook, t0())
	wantCode(t, "CreateRoute for a missing bot", w.Routes.CreateRoute(t.Context(), noBot, event(noBot.GatewayID, route.AuditCreated, t0())), gateway.CodeNotFound)
	wantNotFound(t, w, noBot)
	wantEqual(t, "the missing bot's trail", trail(t, w, noBot.GatewayID), []string(nil))

	noTarget := newRoute(bot, gateway.NewID(), t0())
	if err := w.Routes.CreateRoute(t.Context(), noTarget, event(bot, route.AuditCreated, t0())); !errors.Is(err, route.ErrTargetGone) {
		t.Fatalf("CreateRoute to a missing target: %v, want ErrTargetGone", err)
	}
	deleteGateway(t, w, hook)
	gone := newRoute(bot, hook, t0())
	if err := w.Routes.CreateRoute(t.Context(), gone, event(bot, route.AuditCreated, t0())); !errors.Is(err, route.ErrTargetGone) {
		t.Fatalf("CreateRoute to a deleted target: %v, want ErrTargetGone", err)
	}
	wantNotFound(t, w, noTarget)
	wantNotFound(t, w, gone)
	wantEqual(t, "the bot's trail after refused creates", trail(t, w, bot), before)

	r := newRoute(bot, "", t0().Add(time.Second))
	ev := mustCreate(t, w, r)
	again := newRoute(bot, "", t0().Add(time.Hour))
	again.ID = r.ID
	wantCode(t, "CreateRoute with an id in use", w.Routes.CreateRoute(t.Context(), again, event(bot, route.AuditCreated, t0())), gateway.CodeInternal)
	wantCode(t, "CreateRoute with an event already recorded", w.Routes.CreateRoute(t.Context(), newRoute(bot, "", t0()), ev), gateway.CodeInternal)
	wantEqual(t, "the first route", mustGet(t, w, r), stored(r))
	wantEqual(t, "the bot's trail", trail(t, w, bot), append(slices.Clone(before), ev.ID))
	rs, err := w.Routes.ListRoutes(t.Context(), bot)
	if err != nil || len(rs) != 1 {
		t.Fatalf("ListRoutes: %d routes (%v), want 1", len(rs), err)
	}
}

func testCopies(t *testing.T, w World) {
	bot := mustGateway(t, w, gateway.TypeTelegramBot)
	r := newRoute(bot, "", t0())
	mustCreate(t, w, r)
	want := stored(r)
	want.Filters = route.Filters{UpdateTypes: slices.Clone(r.Filters.UpdateTypes), ChatIDs: slices.Clone(r.Filters.ChatIDs), CommandPrefix: r.Filters.CommandPrefix}
	r.Filters.UpdateTypes[0], r.Filters.ChatIDs[0] = "poll", 1
	got := mustGet(t, w, r)
	got.Filters.UpdateTypes[1], got.Filters.ChatIDs[1] = "poll", 2
	listed, _ := w.Routes.ListRoutes(t.Context(), bot)
	listed[0].Filters.ChatIDs[0] = 3
	wantEqual(t, "the route after its copies changed", mustGet(t, w, r), want)
}

func testList(t *testing.T, w World) {
	bot, other := mustGateway(t, w, gateway.TypeTelegramBot), mustGateway(t, w, gateway.TypeTelegramBot)
	var want []*route.Route
	for _, d := range []time.Duration{2 * time.Second, 0, time.Second} {
		r := newRoute(bot, "", t0().Add(d))
		mustCreate(t, w, r)
		want = append(want, stored(r))
	}
	mustCreate(t, w, newRoute(other, "", t0()))
	slices.SortFunc(want, func(a, b *route.Route) int { return a.CreatedAt.Compare(b.CreatedAt) })
	got, err := w.Routes.ListRoutes(t.Context(), bot)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "the bot's routes, oldest first", got, want)
	none, err := w.Routes.ListRoutes(t.Context(), gateway.NewID())
	if err != nil || len(none) != 0 {
		t.Fatalf("ListRoutes of a gateway without routes: %v %v", none, err)
	}
}

func testUpdate(t *testing.T, w World) {
	bot, hook, hook2 := mustGateway(t, w, gateway.TypeTelegramBot), mustGateway(t, w, gateway.TypeWebhook), mustGateway(t, w, gateway.TypeWebhook)
	r := newRoute(bot, hook, t0())
	mustCreate(t, w, r)
	// Delivery state, written by the engine, survives every update.
	u := update(t, bot, 7, 42, t0())
	enqueue(t, w, r, false, u)
	if err := w.DeadLetter(t.Context(), r, u, t0().Add(time.Hour), 3, "boom"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	cur := mustGet(t, w, r)
	if cur.DeadLetters != 1 {
		t.Fatalf("after a dead letter, DeadLetters %d", cur.DeadLetters)
	}

	next := *cur
	next.Target = route.Target{Type: route.TargetWebhook, GatewayID: hook2}
	next.Filters = route.Filters{UpdateTypes: []string{"poll"}}
	next.Status, next.StatusReason = route.StatusPaused, "Paused by a user."
	next.Version, next.UpdatedAt = 2, t0().Add(time.Minute)
	next.CreatedAt = t0().Add(time.Hour) // not the store's to change
	ev := event(bot, route.AuditUpdated, next.UpdatedAt)
	if err := w.Routes.UpdateRoute(t.Context(), &next, cur, ev); err != nil {
		t.Fatalf("UpdateRoute: %v", err)
	}
	want := *cur
	want.Target, want.Filters, want.Status, want.StatusReason, want.Version, want.UpdatedAt = next.Target, next.Filters, next.Status, next.StatusReason, 2, next.UpdatedAt
	got := mustGet(t, w, r)
	wantEqual(t, "the updated route", got, &want)
	if tr := trail(t, w, bot); tr[len(tr)-1] != ev.ID {
		t.Fatalf("the bot's trail %v does not end with the update %s", tr, ev.ID)
	}

	// A status reason goes when it is empty; the target may stay on a
	// gateway deleted since (only a changed target is checked).
	deleteGateway(t, w, hook2)
	third := *got
	third.Status, third.StatusReason, third.Version = route.StatusActive, "", 3
	if err := w.Routes.UpdateRoute(t.Context(), &third, got, event(bot, route.AuditStatusChanged, t0())); err != nil {
		t.Fatalf("UpdateRoute keeping its target: %v", err)
	}
	want.Status, want.StatusReason, want.Version = route.StatusActive, "", 3
	wantEqual(t, "the resumed route", mustGet(t, w, r), &want)

	// To EventBridge and back to a WEBHOOK target.
	fourth := want
	fourth.Target, fourth.Version = route.Target{Type: route.TargetEventBridge}, 4
	if err := w.Routes.UpdateRoute(t.Context(), &fourth, &want, event(bot, route.AuditUpdated, t0())); err != nil {
		t.Fatalf("UpdateRoute to EventBridge: %v", err)
	}
	fifth := fourth
	fifth.Target, fifth.Version = route.Target{Type: route.TargetWebhook, GatewayID: hook}, 5
	if err := w.Routes.UpdateRoute(t.Context(), &fifth, &fourth, event(bot, route.AuditUpdated, t0())); err != nil {
		t.Fatalf("UpdateRoute back to a WEBHOOK: %v", err)
	}
	wantEqual(t, "the route back on its first target", mustGet(t, w, r), &fifth)
}

func testUpdateRefused(t *testing.T, w World) {
	bot, hook := mustGateway(t, w, gateway.TypeTelegramBot), mustGateway(t, w, gateway.TypeWebhook)
	r := newRoute(bot, "", t0())
	mustCreate(t, w, r)
	cur := mustGet(t, w, r)
	before := trail(t, w, bot)
	next := *cur
	next.Status, next.Version = route.StatusPaused, 2

	stale := *cur
	stale.Version = 7
	wantCode(t, "UpdateRoute from another version", w.Routes.UpdateRoute(t.Context(), &next, &stale, event(bot, route.AuditUpdated, t0())), gateway.CodeVersionMismatch)
	missing := newRoute(bot, "", t0())
	wantCode(t, "UpdateRoute of a missing route", w.Routes.UpdateRoute(t.Context(), missing, missing, event(bot, route.AuditUpdated, t0())), gateway.CodeNotFound)
	wantNotFound(t, w, missing)

	toMissing := next
	toMissing.Target = route.Target{Type: route.TargetWebhook, GatewayID: gateway.NewID()}
	if err := w.Routes.UpdateRoute(t.Context(), &toMissing, cur, event(bot, route.AuditUpdated, t0())); !errors.Is(err, route.ErrTargetGone) {
		t.Fatalf("UpdateRoute to a missing target: %v, want ErrTargetGone", err)
	}
	deleteGateway(t, w, hook)
	toGone := next
	toGone.Target = route.Target{Type: route.TargetWebhook, GatewayID: hook}
	if err := w.Routes.UpdateRoute(t.Context(), &toGone, cur, event(bot, route.AuditUpdated, t0())); !errors.Is(err, route.ErrTargetGone) {
		t.Fatalf("UpdateRoute to a deleted target: %v, want ErrTargetGone", err)
	}
	wantEqual(t, "the route after refused updates", mustGet(t, w, r), cur)
	wantEqual(t, "the bot's trail after refused updates", trail(t, w, bot), before)
}

func testDelete(t *testing.T, w World) {
	bot, hook := mustGateway(t, w, gateway.TypeTelegramBot), mustGateway(t, w, gateway.TypeWebhook)
	r, keep := newRoute(bot, hook, t0()), newRoute(bot, hook, t0().Add(time.Second))
	mustCreate(t, w, r)
	mustCreate(t, w, keep)
	us := []inbox.Update{update(t, bot, 1, 42, t0()), update(t, bot, 2, 43, t0()), update(t, bot, 3, 0, t0())}
	enqueue(t, w, r, false, us...)
	enqueue(t, w, keep, false, us...)
	if err := w.DeadLetter(t.Context(), r, us[0], t0(), 1, "boom"); err != nil {
		t.Fatal(err)
	}
	ev := event(bot, route.AuditDeleted, t0().Add(time.Hour))
	if err := w.Routes.DeleteRoute(t.Context(), r, ev); err != nil {
		t.Fatalf("DeleteRoute: %v", err)
	}
	wantNotFound(t, w, r)
	if tr := trail(t, w, bot); tr[len(tr)-1] != ev.ID {
		t.Fatalf("the bot's trail %v does not end with the deletion %s", tr, ev.ID)
	}
	wantEqual(t, "the deleted route's backlog", backlog(t, w, r), route.Backlog{})
	wantEqual(t, "the deleted route's dead letters", deadIDs(t, w, r, 10), [][]int64{nil})
	wantEqual(t, "the other route's backlog", backlog(t, w, keep).Pending, 3)
	wantCode(t, "DeleteRoute again", w.Routes.DeleteRoute(t.Context(), r, event(bot, route.AuditDeleted, t0())), gateway.CodeNotFound)
	rs, err := w.Routes.ListRoutes(t.Context(), bot)
	if err != nil || len(rs) != 1 || rs[0].ID != keep.ID {
		t.Fatalf("ListRoutes after a delete: %v %v", rs, err)
	}
}

func testBacklog(t *testing.T, w World) {
	bot := mustGateway(t, w, gateway.TypeTelegramBot)
	r, other := newRoute(bot, "", t0()), newRoute(bot, "", t0())
	mustCreate(t, w, r)
	mustCreate(t, w, other)
	wantEqual(t, "an empty backlog", backlog(t, w, r), route.Backlog{})
	oldest := t0().Add(-time.Minute)
	enqueue(t, w, r, false, update(t, bot, 10, 42, t0()), update(t, bot, 11, -5, oldest), update(t, bot, 12, 0, t0().Add(time.Minute)))
	// Queued again (a replay of queued updates): each counts once.
	enqueue(t, w, r, true, update(t, bot, 10, 42, t0()), update(t, bot, 11, -5, oldest))
	wantEqual(t, "the backlog", backlog(t, w, r), route.Backlog{Pending: 3, Oldest: &oldest})
	wantEqual(t, "another route's backlog", backlog(t, w, other), route.Backlog{})

	var many []inbox.Update
	for id := int64(0); id <= route.MaxBacklogCount; id++ {
		many = append(many, update(t, bot, 1000+id, 1+id%3, t0()))
	}
	enqueue(t, w, other, false, many...)
	if b := backlog(t, w, other); b.Pending != route.MaxBacklogCount || !b.Capped {
		t.Fatalf("a backlog of %d: %+v", len(many), b)
	}
}

func testDeadLetters(t *testing.T, w World) {
	bot := mustGateway(t, w, gateway.TypeTelegramBot)
	r, other := newRoute(bot, "", t0()), newRoute(bot, "", t0())
	mustCreate(t, w, r)
	mustCreate(t, w, other)
	var us []inbox.Update
	for i, id := range []int64{30, 10, 20, 40, 50} {
		us = append(us, update(t, bot, id, int64(i%2), t0().Add(time.Duration(i)*time.Second)))
	}
	enqueue(t, w, r, false, us...)
	failedAt := t0().Add(24 * time.Hour).In(time.FixedZone("x", 7200))
	for _, u := range us[:3] {
		if err := w.DeadLetter(t.Context(), r, u, failedAt, 11, "the target answered 500"); err != nil {
			t.Fatalf("DeadLetter %d: %v", u.UpdateID, err)
		}
	}
	if got := mustGet(t, w, r).DeadLetters; got != 3 {
		t.Fatalf("DeadLetters = %d, want 3", got)
	}
	if b := backlog(t, w, r); b.Pending != 2 {
		t.Fatalf("backlog after three dead letters: %+v", b)
	}
	wantEqual(t, "pages of 2", deadIDs(t, w, r, 2), [][]int64{{10, 20}, {30}})
	wantEqual(t, "a page of exactly all", deadIDs(t, w, r, 3), [][]int64{{10, 20, 30}})
	wantEqual(t, "one page", deadIDs(t, w, r, MaxLimit), [][]int64{{10, 20, 30}})
	wantEqual(t, "another route's", deadIDs(t, w, other, 5), [][]int64{nil})

	p, err := w.Routes.DeadLetters(t.Context(), r, 1, "10")
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("DeadLetters after 10: %+v %v", p, err)
	}
	d := p.Items[0]
	want := us[2]
	if d.Update.UpdateID != want.UpdateID || d.Update.GatewayID != bot || d.Update.Type != want.Type || !reflect.DeepEqual(d.Update.ChatID, want.ChatID) ||
		!reflect.DeepEqual(d.Update.SenderID, want.SenderID) || !d.Update.ReceivedAt.Equal(want.ReceivedAt) || d.Update.ReceivedAt.Location() != time.UTC ||
		string(d.Update.Raw) != string(want.Raw) || !d.FailedAt.Equal(failedAt) || d.FailedAt.Location() != time.UTC || d.Attempts != 11 || d.LastError != "the target answered 500" {
		t.Fatalf("dead letter %+v, want update %+v failed at %v", d, want, failedAt)
	}
	for _, c := range []string{"x", "-1", "1.5"} {
		_, err := w.Routes.DeadLetters(t.Context(), r, 5, c)
		wantField(t, "DeadLetters with cursor "+c, err, "cursor")
	}
	for _, l := range []int{0, -1, MaxLimit + 1} {
		_, err := w.Routes.DeadLetters(t.Context(), r, l, "")
		wantField(t, fmt.Sprint("DeadLetters with limit ", l), err, "limit")
	}
}

func testRequeue(t *testing.T, w World) {
	bot := mustGateway(t, w, gateway.TypeTelegramBot)
	r := newRoute(bot, "", t0())
	mustCreate(t, w, r)
	var us []inbox.Update
	for _, id := range []int64{3, 1, 2} {
		us = append(us, update(t, bot, id, 42, t0()))
	}
	enqueue(t, w, r, false, us...)
	for _, u := range us {
		if err := w.DeadLetter(t.Context(), r, u, t0(), 2, "boom"); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		n        int
		more     bool
		dead     [][]int64
		count    int64
		queueLen int
	}{
		{n: 2, more: true, dead: [][]int64{{3}}, count: 1, queueLen: 2},
		{n: 1, more: false, dead: [][]int64{nil}, count: 0, queueLen: 3},
		{n: 0, more: false, dead: [][]int64{nil}, count: 0, queueLen: 3},
	} {
		n, more, err := w.Routes.RequeueDeadLetters(t.Context(), r, 2)
		if err != nil || n != step.n || more != step.more {
			t.Fatalf("RequeueDeadLetters: %d %v %v, want %d %v", n, more, err, step.n, step.more)
		}
		wantEqual(t, "dead letters left", deadIDs(t, w, r, 10), step.dead)
		wantEqual(t, "the route's count", mustGet(t, w, r).DeadLetters, step.count)
		wantEqual(t, "the backlog", backlog(t, w, r).Pending, step.queueLen)
	}
}

func testAuditKick(t *testing.T, w World) {
	bot := mustGateway(t, w, gateway.TypeTelegramBot)
	r := newRoute(bot, "", t0())
	mustCreate(t, w, r)
	ev := event(bot, route.AuditReplayed, t0().Add(time.Minute))
	if err := w.Routes.Audit(t.Context(), bot, ev); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if tr := trail(t, w, bot); tr[len(tr)-1] != ev.ID {
		t.Fatalf("the trail %v does not end with %s", tr, ev.ID)
	}
	wantCode(t, "Audit of an event already recorded", w.Routes.Audit(t.Context(), bot, ev), gateway.CodeInternal)
	if err := w.Routes.Kick(t.Context(), r); err != nil {
		t.Fatalf("Kick with nothing queued: %v", err)
	}
	enqueue(t, w, r, false, update(t, bot, 1, 42, t0()))
	if err := w.Routes.Kick(t.Context(), r); err != nil {
		t.Fatalf("Kick: %v", err)
	}
	if b := backlog(t, w, r); b.Pending != 1 {
		t.Fatalf("Kick changed the backlog: %+v", b)
	}
}

func testDoneContext(t *testing.T, w World) {
	bot := mustGateway(t, w, gateway.TypeTelegramBot)
	r := newRoute(bot, "", t0())
	mustCreate(t, w, r)
	cur := mustGet(t, w, r)
	before := trail(t, w, bot)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	next := *cur
	next.Status, next.Version = route.StatusPaused, 2
	u := update(t, bot, 1, 42, t0())
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "CreateRoute", call: func(ctx context.Context) error {
			return w.Routes.CreateRoute(ctx, newRoute(bot, "", t0()), event(bot, route.AuditCreated, t0()))
		}},
		{name: "GetRoute", call: func(ctx context.Context) error { _, err := w.Routes.GetRoute(ctx, bot, r.ID); return err }},
		{name: "ListRoutes", call: func(ctx context.Context) error { _, err := w.Routes.ListRoutes(ctx, bot); return err }},
		{name: "UpdateRoute", call: func(ctx context.Context) error {
			return w.Routes.UpdateRoute(ctx, &next, cur, event(bot, route.AuditUpdated, t0()))
		}},
		{name: "DeleteRoute", call: func(ctx context.Context) error {
			return w.Routes.DeleteRoute(ctx, r, event(bot, route.AuditDeleted, t0()))
		}},
		{name: "Backlog", call: func(ctx context.Context) error { _, err := w.Routes.Backlog(ctx, r); return err }},
		{name: "DeadLetters", call: func(ctx context.Context) error { _, err := w.Routes.DeadLetters(ctx, r, 5, ""); return err }},
		{name: "Enqueue", call: func(ctx context.Context) error { return w.Routes.Enqueue(ctx, r, []route.Queued{{Update: u}}) }},
		{name: "RequeueDeadLetters", call: func(ctx context.Context) error { _, _, err := w.Routes.RequeueDeadLetters(ctx, r, 5); return err }},
		{name: "Audit", call: func(ctx context.Context) error {
			return w.Routes.Audit(ctx, bot, event(bot, route.AuditReplayed, t0()))
		}},
		{name: "Kick", call: func(ctx context.Context) error { return w.Routes.Kick(ctx, r) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(cancelled); err == nil {
				t.Error("a call with a cancelled context succeeded")
			}
			wantCode(t, "a call past its deadline", c.call(expired), gateway.CodeUnavailable)
			wantEqual(t, "the route", mustGet(t, w, r), cur)
			wantEqual(t, "the trail", trail(t, w, bot), before)
			wantEqual(t, "the backlog", backlog(t, w, r), route.Backlog{})
			rs, _ := w.Routes.ListRoutes(t.Context(), bot)
			wantEqual(t, "the routes", len(rs), 1)
		})
	}
}
