package delivery_test

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/delivery/deliverytest"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestDeliversInOrderPerChatAndRoute(t *testing.T) {
	b := newBed(t, fastRetries())
	rx := deliverytest.NewReceiver(t, secret)
	hook := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)}, route.Filters{})
	bus := b.route(route.Target{Type: route.TargetEventBridge}, route.Filters{ChatIDs: []int64{2}})

	want := map[int64][]int64{}
	var us []*inbox.Update
	for i := int64(1); i <= 30; i++ {
		chat := 1 + i%3
		us = append(us, b.update(i, chat, "hi"))
		want[chat] = append(want[chat], i)
	}
	if res := b.stream(us[:15]...); res.RetryFrom != "" {
		t.Fatalf("first batch: retry from %s", res.RetryFrom)
	}
	if res := b.stream(us[15:]...); res.RetryFrom != "" {
		t.Fatalf("second batch: retry from %s", res.RetryFrom)
	}
	rep := deliverytest.Check(rx.Accepted(), hook.ID, want)
	if rep.Distinct != 30 || rep.Duplicates != 0 || rep.OutOfOrder != 0 || rep.IDMismatch != 0 || len(rep.Missing) != 0 {
		t.Errorf("webhook route: %s", rep)
	}
	if p := rx.Problems(); len(p) > 0 {
		t.Errorf("receiver problems: %v", p)
	}
	if n := b.bus.count(); n != len(want[2]) {
		t.Errorf("bus got %d events, want %d (chat 2 only)", n, len(want[2]))
	}
	got := b.getRoute(hook.ID)
	if got.LastDeliveredUpdateID == nil || *got.LastDeliveredUpdateID != 30 || got.ConsecutiveFailures != 0 || got.Status != route.StatusActive {
		t.Errorf("route state: last %v, failures %d, status %s", got.LastDeliveredUpdateID, got.ConsecutiveFailures, got.Status)
	}
	// The stream retries a batch: nothing goes twice.
	b.stream(us[10:20]...)
	if n := len(rx.Accepted()); n != 30 {
		t.Errorf("after a replayed stream batch the receiver has %d deliveries, want 30", n)
	}
	if bl, _ := b.routes.Backlog(context.Background(), bus); bl.Pending != 0 {
		t.Errorf("bus route backlog %d", bl.Pending)
	}
	// Webhook ids: stable per (route, update), distinct across.
	if id := route.WebhookID(hook.ID, 1); id != route.WebhookID(hook.ID, 1+0) || id == route.WebhookID(bus.ID, 1) || id == route.WebhookID(hook.ID, 2) {
		t.Error("webhook ids are not stable per pair and distinct across pairs")
	}
}

func TestFailingTargetIsRetriedInOrderAndOthersGoOn(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"), goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	b := newBed(t, fastRetries())
	good := deliverytest.NewReceiver(t, secret)
	bad := deliverytest.NewReceiver(t, secret)
	// Down until told otherwise: 503s, 429s with Retry-After, resets and
	// hangs beyond the attempt timeout.
	var up atomic.Bool
	bad.Behave(func(n int) (int, string, time.Duration) {
		if up.Load() {
			return http.StatusOK, "", 0
		}
		switch n % 4 {
		case 0:
			return http.StatusServiceUnavailable, "", 0
		case 1:
			return http.StatusTooManyRequests, "0", 0
		case 2:
			return 0, "", 0 // the connection is dropped
		}
		return http.StatusOK, "", 3 * time.Second
	})
	rGood := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(good.URL, secret)}, route.Filters{})
	rBad := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(bad.URL, secret)}, route.Filters{})
	want := map[int64][]int64{}
	var us []*inbox.Update
	for i := int64(100); i < 140; i++ {
		chat := int64(10 + i%4)
		us = append(us, b.update(i, chat, "x"))
		want[chat] = append(want[chat], i)
	}
	for i := 0; i < len(us); i += 10 {
		if res := b.stream(us[i : i+10]...); res.RetryFrom != "" {
			t.Fatalf("batch %d: retry from %s", i, res.RetryFrom)
		}
	}
	if rep := deliverytest.Check(good.Accepted(), rGood.ID, want); rep.Distinct != 40 || rep.OutOfOrder != 0 {
		t.Errorf("healthy route while the other fails: %s", rep)
	}
	if r := b.getRoute(rBad.ID); r.Status != route.StatusError || r.LastError == "" {
		t.Errorf("failing route: status %s, lastError %q; want ERROR with an error", r.Status, r.LastError)
	}
	up.Store(true)
	ok := b.sweepUntil(30*time.Second, func() bool {
		return deliverytest.Check(bad.Accepted(), rBad.ID, want).Distinct == 40
	})
	rep := deliverytest.Check(bad.Accepted(), rBad.ID, want)
	if !ok || rep.OutOfOrder != 0 || rep.IDMismatch != 0 || len(rep.Missing) != 0 {
		t.Fatalf("failing route after retries: %s", rep)
	}
	r := b.getRoute(rBad.ID)
	if r.Status != route.StatusActive || r.ConsecutiveFailures != 0 {
		t.Errorf("recovered route: status %s, failures %d", r.Status, r.ConsecutiveFailures)
	}
	if bl, _ := b.routes.Backlog(context.Background(), rBad); bl.Pending != 0 {
		t.Errorf("backlog %d after recovery", bl.Pending)
	}
	// Every lane settles: no marker is left due.
	if lanes, _ := b.routes.Due(context.Background(), time.Now().Add(time.Hour), 100); len(lanes) != 0 {
		t.Errorf("%d lanes still marked due", len(lanes))
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	cfg := fastRetries()
	cfg.RetryCap = time.Hour
	b := newBed(t, cfg)
	rx := deliverytest.NewReceiver(t, secret)
	rx.Behave(func(int) (int, string, time.Duration) { return http.StatusTooManyRequests, "120", 0 })
	target := b.webhookTarget(rx.URL, secret)
	b.route(route.Target{Type: route.TargetWebhook, GatewayID: target}, route.Filters{})
	b.stream(b.update(1, 5, "x"))
	n := rx.Requests()
	b.engine.Sweep(context.Background())
	if rx.Requests() != n {
		t.Errorf("retried before Retry-After: %d requests, then %d", n, rx.Requests())
	}
	lanes, err := b.routes.Due(context.Background(), time.Now().Add(119*time.Second), 10)
	if err != nil || len(lanes) != 0 {
		t.Errorf("due before Retry-After: %v %v", lanes, err)
	}
	if lanes, _ := b.routes.Due(context.Background(), time.Now().Add(125*time.Second), 10); len(lanes) != 1 {
		t.Errorf("not due after Retry-After: %v", lanes)
	}
	// The target's health check passes: the route is retried at once.
	rx.Behave(nil)
	if res := b.engine.HandleStream(context.Background(), []delivery.Record{{Seq: "1", HealthyTarget: target}}); res.RetryFrom != "" {
		t.Fatal("retry")
	}
	if lanes, _ := b.routes.Due(context.Background(), time.Now(), 10); len(lanes) != 1 {
		t.Errorf("a healthy target's waiting lane is not due now: %v", lanes)
	}
	if !b.sweepUntil(5*time.Second, func() bool { return len(rx.Accepted()) == 1 }) {
		t.Error("a kicked lane was not retried")
	}
}

func TestDeadLettersAndReplay(t *testing.T) {
	cfg := fastRetries()
	cfg.RetryFor = 300 * time.Millisecond
	b := newBed(t, cfg)
	rx := deliverytest.NewReceiver(t, secret)
	rx.Behave(func(int) (int, string, time.Duration) { return http.StatusInternalServerError, "", 0 })
	r := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)}, route.Filters{})
	b.stream(b.update(1, 7, "a"), b.update(2, 7, "b"), b.update(3, 8, "c"))
	ctx := context.Background()
	if !b.sweepUntil(10*time.Second, func() bool { return b.getRoute(r.ID).DeadLetters == 3 }) {
		t.Fatalf("dead letters: %d, want 3", b.getRoute(r.ID).DeadLetters)
	}
	page, err := b.routes.DeadLetters(ctx, r, 10, "")
	if err != nil || len(page.Items) != 3 || page.Items[0].Update.UpdateID != 1 || page.Items[0].LastError == "" || page.Items[0].Attempts < 2 {
		t.Fatalf("DeadLetters: %+v, %v", page, err)
	}
	if bl, _ := b.routes.Backlog(ctx, r); bl.Pending != 0 {
		t.Errorf("backlog %d with everything dead-lettered", bl.Pending)
	}
	rx.Behave(nil)
	n, more, err := b.routes.RequeueDeadLetters(ctx, r, 100)
	if err != nil || n != 3 || more {
		t.Fatalf("RequeueDeadLetters = %d, %v, %v", n, more, err)
	}
	if !b.sweepUntil(5*time.Second, func() bool { return len(rx.Accepted()) == 3 }) {
		t.Fatalf("re-driven dead letters: %d delivered", len(rx.Accepted()))
	}
	for _, a := range rx.Accepted() {
		if !a.Replay || a.WebhookID != route.WebhookID(r.ID, a.UpdateID) {
			t.Errorf("re-driven delivery %+v: want replay with the update's webhook-id", a)
		}
	}
	if got := b.getRoute(r.ID); got.DeadLetters != 0 {
		t.Errorf("deadLetters %d after re-drive", got.DeadLetters)
	}
}

func TestPausedRouteHoldsUpdatesUntilResumed(t *testing.T) {
	b := newBed(t, fastRetries())
	rx := deliverytest.NewReceiver(t, secret)
	r := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)}, route.Filters{})
	paused := *r
	paused.Status, paused.Version = route.StatusPaused, 2
	ev := auditEvent(b.bot)
	if err := b.routes.UpdateRoute(context.Background(), &paused, r, ev); err != nil {
		t.Fatal(err)
	}
	b.stream(b.update(1, 1, "a"), b.update(2, 1, "b"))
	b.engine.Sweep(context.Background())
	if n := len(rx.Accepted()); n != 0 {
		t.Fatalf("a paused route delivered %d updates", n)
	}
	if bl, _ := b.routes.Backlog(context.Background(), r); bl.Pending != 2 || bl.Oldest == nil {
		t.Errorf("paused backlog %+v, want 2", bl)
	}
	active := paused
	active.Status, active.Version = route.StatusActive, 3
	if err := b.routes.UpdateRoute(context.Background(), &active, &paused, auditEvent(b.bot)); err != nil {
		t.Fatal(err)
	}
	if err := b.routes.Kick(context.Background(), &active); err != nil {
		t.Fatal(err)
	}
	if !b.sweepUntil(5*time.Second, func() bool { return len(rx.Accepted()) == 2 }) {
		t.Fatalf("resumed route delivered %d", len(rx.Accepted()))
	}
}

func TestFiltersChooseWhatARouteGets(t *testing.T) {
	b := newBed(t, fastRetries())
	rx := deliverytest.NewReceiver(t, secret)
	r := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)},
		route.Filters{UpdateTypes: []string{"message"}, ChatIDs: []int64{1, 2}, CommandPrefix: "/start"})
	cb := b.update(4, 1, "")
	cb.Type = "callback_query"
	b.stream(b.update(1, 1, "/start here"), b.update(2, 3, "/start"), b.update(3, 2, "hello"), cb, b.update(5, 2, "/start@bot"))
	var got []int64
	for _, a := range rx.Accepted() {
		got = append(got, a.UpdateID)
	}
	slices.Sort(got)
	if len(got) != 2 || got[0] != 1 || got[1] != 5 {
		t.Errorf("delivered %v, want [1 5]", got)
	}
	_ = r
}

func TestDeletedGatewaysPauseOrRemoveRoutes(t *testing.T) {
	b := newBed(t, fastRetries())
	rx := deliverytest.NewReceiver(t, secret)
	target := b.webhookTarget(rx.URL, secret)
	r := b.route(route.Target{Type: route.TargetWebhook, GatewayID: target}, route.Filters{})
	ctx := context.Background()
	if err := b.store.DeleteGateway(ctx, target, 1, auditEvent(target)); err != nil {
		t.Fatal(err)
	}
	res := b.engine.HandleStream(ctx, []delivery.Record{{Seq: "1", RemovedGateway: target}})
	if res.RetryFrom != "" {
		t.Fatal("retry")
	}
	got := b.getRoute(r.ID)
	if got.Status != route.StatusPaused || got.StatusReason == "" {
		t.Errorf("route of a deleted target: %s %q, want PAUSED with a reason", got.Status, got.StatusReason)
	}
	b.stream(b.update(1, 1, "a"))
	if bl, _ := b.routes.Backlog(ctx, r); bl.Pending != 1 {
		t.Errorf("backlog %d", bl.Pending)
	}
	// Deleting the bot removes its routes and what they had queued.
	if err := b.store.DeleteGateway(ctx, b.bot, 1, auditEvent(b.bot)); err != nil {
		t.Fatal(err)
	}
	b.engine.HandleStream(ctx, []delivery.Record{{Seq: "2", RemovedGateway: b.bot}})
	if rs, err := b.routes.ListRoutes(ctx, b.bot); err != nil || len(rs) != 0 {
		t.Errorf("routes of a deleted bot: %d, %v", len(rs), err)
	}
	if bl, _ := b.routes.Backlog(ctx, r); bl.Pending != 0 {
		t.Errorf("backlog of a deleted bot's route: %d", bl.Pending)
	}
}

func TestSweepForgetsLanesOfDeletedRoutes(t *testing.T) {
	b := newBed(t, fastRetries())
	rx := deliverytest.NewReceiver(t, secret)
	r := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)}, route.Filters{})
	ctx := context.Background()
	if err := b.routes.DeleteRoute(ctx, r, auditEvent(b.bot)); err != nil {
		t.Fatal(err)
	}
	// The engine queued an update for the route as it was being deleted.
	l := delivery.Lane{BotID: b.bot, RouteID: r.ID, Chat: route.ChatKey(ptr(int64(9)), nil)}
	if err := b.routes.Persist(ctx, l, []route.Queued{{Update: *b.update(1, 9, "late")}}, time.Now(), "", nil); err != nil {
		t.Fatal(err)
	}
	if lanes, _ := b.routes.Due(ctx, time.Now(), 10); len(lanes) != 1 {
		t.Fatalf("due lanes before the sweep: %v", lanes)
	}
	if _, err := b.engine.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if lanes, _ := b.routes.Due(ctx, time.Now().Add(time.Hour), 10); len(lanes) != 0 {
		t.Errorf("due lanes after the sweep: %v", lanes)
	}
	if bl, _ := b.routes.Backlog(ctx, r); bl.Pending != 0 {
		t.Errorf("queue of a deleted route: %d", bl.Pending)
	}
	if n := len(rx.Accepted()); n != 0 {
		t.Errorf("a deleted route delivered %d updates", n)
	}
}
