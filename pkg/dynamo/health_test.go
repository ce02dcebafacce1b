package dynamo

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
)

func newTestHealth(t *testing.T) (*Health, *Store) {
	t.Helper()
	st, client := newTestStore(t)
	return NewHealth(client, st.table), st
}

func connectedGateway(id string) *gateway.Gateway {
	g := minimalGateway(id, alice, t0)
	g.Type = gateway.TypeTelegramBot
	g.Status = gateway.StatusConnected
	g.LastConnectedAt = ptr(t0)
	g.WebhookSecretHash = []byte("0123456789abcdef0123456789abcdef")
	return g
}

func TestRecordCheckBookkeepingKeepsVersion(t *testing.T) {
	h, st := newTestHealth(t)
	g := connectedGateway("gw_1")
	mustCreate(t, st, g)
	at := t0.Add(5 * time.Minute)
	ok, err := h.RecordCheck(t.Context(), health.CheckWrite{
		GatewayID: g.ID, Version: 1, CheckedAt: at, LatencyMs: 42, ConsecutiveFailures: 1, LastConnectedAt: &at,
	})
	if err != nil || !ok {
		t.Fatalf("RecordCheck = %v, %v", ok, err)
	}
	got := mustGet(t, st, g.ID)
	want := *g
	want.LastCheckedAt, want.LastLatencyMs, want.ConsecutiveFailures, want.LastConnectedAt = &at, ptr(int64(42)), 1, &at
	wantEqual(t, "gateway after bookkeeping", got, &want)
	if evs := allAudit(t, st, g.ID); len(evs) != 1 {
		t.Errorf("bookkeeping wrote audit events: %+v", evs)
	}
}

// TestRecordCheckClearsLastError: a healthy check removes lastError and
// lastErrorAt in its one write, with or without a status change (issue 15,
// item 2).
func TestRecordCheckClearsLastError(t *testing.T) {
	tests := []struct {
		name   string
		status gateway.Status // the status the check changes to; empty: none
	}{
		{name: "bookkeeping"},
		{name: "recovery", status: gateway.StatusConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, st := newTestHealth(t)
			g := connectedGateway("gw_1")
			g.LastError, g.LastErrorAt = "Credentials could not be verified: timeout", ptr(t0)
			if tt.status != "" {
				g.Status = gateway.StatusError
			}
			mustCreate(t, st, g)
			at := t0.Add(5 * time.Minute)
			w := health.CheckWrite{GatewayID: g.ID, Version: 1, CheckedAt: at, LatencyMs: 3, ClearLastError: true}
			if tt.status != "" {
				w.Status, w.Event = tt.status, &gateway.AuditEvent{ID: "ev-recovered", GatewayID: g.ID, Action: gateway.AuditStatusChanged,
					Actor: gateway.Actor{System: health.Actor}, At: at, Changes: []string{"status"}}
			}
			if ok, err := h.RecordCheck(t.Context(), w); err != nil || !ok {
				t.Fatalf("RecordCheck = %v, %v", ok, err)
			}
			got := mustGet(t, st, g.ID)
			if got.LastError != "" || got.LastErrorAt != nil {
				t.Errorf("lastError %q at %v after a healthy check", got.LastError, got.LastErrorAt)
			}
			if tt.status != "" && (got.Status != tt.status || got.Version != 2) {
				t.Errorf("status %s version %d, want %s 2", got.Status, got.Version, tt.status)
			}
		})
	}
	t.Run("both set and cleared is refused", func(t *testing.T) {
		h, _ := newTestHealth(t)
		msg := "x"
		_, err := h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: "gw_1", Version: 1, CheckedAt: t0, ClearLastError: true, LastError: &msg})
		wantCode(t, "RecordCheck", err, gateway.CodeInternal)
	})
}

func TestRecordCheckStatusChange(t *testing.T) {
	h, st := newTestHealth(t)
	g := connectedGateway("gw_1")
	mustCreate(t, st, g)
	at := t0.Add(10 * time.Minute)
	msg := "invalid credentials: Telegram rejected the bot token"
	ev := gateway.AuditEvent{ID: "ev-health", GatewayID: g.ID, Action: gateway.AuditStatusChanged, Actor: gateway.Actor{System: health.Actor},
		At: at, Changes: []string{"status"}, Details: map[string]string{"from": "CONNECTED", "to": "ERROR"}}
	ok, err := h.RecordCheck(t.Context(), health.CheckWrite{
		GatewayID: g.ID, Version: 1, CheckedAt: at, LatencyMs: 7, ConsecutiveFailures: 1,
		Status: gateway.StatusError, LastError: &msg, LastErrorAt: &at, Event: &ev,
	})
	if err != nil || !ok {
		t.Fatalf("RecordCheck = %v, %v", ok, err)
	}
	got := mustGet(t, st, g.ID)
	if got.Status != gateway.StatusError || got.Version != 2 || !got.UpdatedAt.Equal(at) || got.LastError != msg || !got.LastErrorAt.Equal(at) {
		t.Errorf("after status change: %+v", got)
	}
	if string(got.WebhookSecretHash) != string(g.WebhookSecretHash) || got.Name != g.Name {
		t.Errorf("status change touched fields the check does not own: %+v", got)
	}
	evs := allAudit(t, st, g.ID)
	if len(evs) != 2 || evs[0].ID != "ev-health" || evs[0].Actor.System != health.Actor {
		t.Errorf("audit = %+v", evs)
	}

	t.Run("stale version writes nothing", func(t *testing.T) {
		ev2 := ev
		ev2.ID = "ev-stale"
		ok, err := h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: g.ID, Version: 1, CheckedAt: at.Add(time.Minute),
			Status: gateway.StatusConnected, Event: &ev2})
		if err != nil || ok {
			t.Fatalf("RecordCheck with a stale version = %v, %v", ok, err)
		}
		ok, err = h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: g.ID, Version: 1, CheckedAt: at.Add(time.Minute)})
		if err != nil || ok {
			t.Fatalf("bookkeeping with a stale version = %v, %v", ok, err)
		}
		wantEqual(t, "gateway", mustGet(t, st, g.ID), got)
		if n := len(allAudit(t, st, g.ID)); n != 2 {
			t.Errorf("%d audit events, want 2", n)
		}
	})
	t.Run("missing gateway", func(t *testing.T) {
		ok, err := h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: "gw_missing", Version: 1, CheckedAt: at})
		if err != nil || ok {
			t.Fatalf("RecordCheck of a missing gateway = %v, %v", ok, err)
		}
		if _, err := st.GetGateway(t.Context(), "gw_missing"); !gateway.IsCode(err, gateway.CodeNotFound) {
			t.Fatalf("RecordCheck created an item: %v", err)
		}
	})
	t.Run("status without event", func(t *testing.T) {
		_, err := h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: g.ID, Version: 2, CheckedAt: at, Status: gateway.StatusConnected})
		wantCode(t, "RecordCheck without event", err, gateway.CodeInternal)
	})
}

func TestSamples(t *testing.T) {
	h, _ := newTestHealth(t)
	now := time.Now().UTC()
	h.now = func() time.Time { return now }
	pending := int64(3)
	var want []health.Sample
	for i := range 5 {
		s := health.Sample{GatewayID: "gw_1", At: now.Add(time.Duration(i-5) * time.Minute), Outcome: health.OutcomeOK,
			LatencyMs: int64(10 + i), Status: gateway.StatusConnected, ExpiresAt: now.Add(time.Hour).Truncate(time.Second)}
		if i == 3 {
			s.Outcome, s.Error, s.PendingUpdateCount = health.OutcomeUnreachable, "could not reach api.telegram.org: timeout", &pending
		}
		if err := h.PutSample(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		want = append(want, s)
	}
	// An expired sample that TTL has not removed yet, and another gateway's.
	if err := h.PutSample(t.Context(), health.Sample{GatewayID: "gw_1", At: now.Add(-time.Hour), Outcome: health.OutcomeOK, ExpiresAt: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := h.PutSample(t.Context(), health.Sample{GatewayID: "gw_2", At: now, Outcome: health.OutcomeOK, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want)
	got, err := h.ListSamples(t.Context(), "gw_1", 100)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "samples newest first", got, want)
	got, err = h.ListSamples(t.Context(), "gw_1", 2)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "two newest", got, want[:2])
	_, err = h.ListSamples(t.Context(), "gw_1", 0)
	wantCode(t, "limit 0", err, gateway.CodeInvalid)
	err = h.PutSample(t.Context(), health.Sample{GatewayID: "gw_1"})
	wantCode(t, "sample without time", err, gateway.CodeInvalid)
}

// TestScanGatewaysSegments proves that the segments of a parallel scan of
// the owner index partition the gateways, leave out DISCONNECTED ones and
// everything that is not a gateway, and resume from any item's key.
func TestScanGatewaysSegments(t *testing.T) {
	h, st := newTestHealth(t)
	want := map[string]bool{}
	for i := range 30 {
		g := connectedGateway(fmt.Sprintf("gw_%02d", i))
		g.UserID = fmt.Sprintf("user%d", i%4)
		if i%5 == 0 {
			g.Status = gateway.StatusDisconnected
		} else {
			want[g.ID] = true
		}
		mustCreate(t, st, g)
		if err := h.PutSample(t.Context(), health.Sample{GatewayID: g.ID, At: t0, Outcome: health.OutcomeOK, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	const segments = 3
	seen := map[string]int{}
	for seg := range segments {
		var cursor health.Cursor
		for {
			page, err := h.ScanGateways(t.Context(), seg, segments, cursor, 4)
			if err != nil {
				t.Fatalf("ScanGateways(%d): %v", seg, err)
			}
			if len(page.Keys) != len(page.Gateways) {
				t.Fatalf("%d keys for %d gateways", len(page.Keys), len(page.Gateways))
			}
			for i, g := range page.Gateways {
				seen[g.ID]++
				if g.Status == gateway.StatusDisconnected || g.Version != 1 {
					t.Errorf("scanned %+v", g)
				}
				// Resuming from any item's key continues right after it.
				if i == 0 && len(page.Gateways) > 1 {
					rest, err := h.ScanGateways(t.Context(), seg, segments, page.Keys[0], 1)
					if err != nil {
						t.Fatal(err)
					}
					if len(rest.Gateways) == 1 && rest.Gateways[0].ID != page.Gateways[1].ID {
						t.Errorf("resume after %s gave %s, want %s", g.ID, rest.Gateways[0].ID, page.Gateways[1].ID)
					}
				}
			}
			if page.Next == nil {
				break
			}
			cursor = page.Next
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("gateway %s seen %d times", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("scanned %d gateways, want %d", len(seen), len(want))
	}
	_, err := h.ScanGateways(t.Context(), 3, 3, nil, 10)
	wantCode(t, "segment out of range", err, gateway.CodeInvalid)
	_, err = h.ScanGateways(t.Context(), 0, 3, health.Cursor{"pk": "IDEM#x"}, 10)
	wantCode(t, "foreign cursor", err, gateway.CodeInvalid)
}

func TestSegmentClaims(t *testing.T) {
	h, _ := newTestHealth(t)
	ctx := t.Context()
	lease := t0.Add(4 * time.Minute)
	claim := func(seg int, sweep, owner string, now time.Time) (health.SegmentState, bool) {
		t.Helper()
		s, ok, err := h.ClaimSegment(ctx, health.Claim{Segment: seg, Segments: 4, Sweep: sweep, Owner: owner, Now: now, LeaseUntil: lease})
		if err != nil {
			t.Fatalf("ClaimSegment: %v", err)
		}
		return s, ok
	}
	save := func(seg int, owner, state string, c health.Cursor) bool {
		t.Helper()
		ok, err := h.SaveSegment(ctx, health.SegmentSave{Segment: seg, Segments: 4, Owner: owner, State: state, Cursor: c, Now: t0})
		if err != nil {
			t.Fatalf("SaveSegment: %v", err)
		}
		return ok
	}
	const sweep1, sweep2 = "2025-03-04T05:05:00.000Z", "2025-03-04T05:10:00.000Z"

	s, ok := claim(1, sweep1, "a", t0)
	if !ok || s.State != health.StateRunning || s.Owner != "a" || s.Cursor != nil || s.Segment != 1 || s.Segments != 4 {
		t.Fatalf("first claim = %+v, %v", s, ok)
	}
	if _, ok := claim(1, sweep1, "b", t0); ok {
		t.Fatal("a running segment was claimed twice")
	}
	if save(1, "b", health.StateDone, nil) {
		t.Fatal("a worker saved a segment it does not hold")
	}
	cur := health.Cursor{"pk": "GW#gw_1", "sk": "GATEWAY", "gsi1pk": "USER#alice", "gsi1sk": "x#gw_1"}
	if !save(1, "a", health.StateRunning, cur) || !save(1, "a", health.StatePaused, cur) {
		t.Fatal("the owner could not save")
	}
	if _, ok := claim(1, sweep1, "b", t0); ok {
		t.Fatal("a segment paused in this sweep was claimed again in it")
	}
	s, ok = claim(1, sweep2, "b", t0)
	if !ok || s.Sweep != sweep2 {
		t.Fatalf("claim of a paused segment by the next sweep = %+v, %v", s, ok)
	}
	wantEqual(t, "resumed cursor", s.Cursor, cur)
	if !save(1, "b", health.StateDone, nil) {
		t.Fatal("save done")
	}
	if _, ok := claim(1, sweep2, "c", t0); ok {
		t.Fatal("a segment done in this sweep was claimed again in it")
	}

	// A worker that died: its lease runs out and another takes over.
	claim(2, sweep2, "dead", t0)
	if _, ok := claim(2, sweep2, "d", lease.Add(-time.Second)); ok {
		t.Fatal("claimed under a live lease")
	}
	if _, ok := claim(2, sweep2, "d", lease.Add(time.Second)); !ok {
		t.Fatal("an expired lease was not taken over")
	}

	states, err := h.ListSegments(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[0].Segment != 1 || states[0].State != health.StateDone || states[0].Cursor != nil ||
		states[1].Segment != 2 || states[1].Owner != "d" {
		t.Errorf("ListSegments = %+v", states)
	}
	if other, err := h.ListSegments(ctx, 5); err != nil || len(other) != 0 {
		t.Errorf("ListSegments of another split = %+v, %v", other, err)
	}
}

// TestRecordCheckReleasesClaim: when the sweep records that a gateway's
// webhook was taken over, the gateway lets its bot claim go in the same
// transaction, so another gateway may connect the bot (issue 15, item 3).
func TestRecordCheckReleasesClaim(t *testing.T) {
	h, st := newTestHealth(t)
	g := connectedGateway("gw_1")
	g.CredentialInfo = map[string]any{"botId": "4242"}
	mustCreate(t, st, g)
	g.Version, g.ClaimedBot = 2, "4242"
	if err := st.UpdateGateway(t.Context(), g, 1, gateway.AuditEvent{ID: "ev-claim", GatewayID: g.ID, Action: gateway.AuditStatusChanged, At: t0}); err != nil {
		t.Fatalf("claiming: %v", err)
	}
	other := connectedGateway("gw_2")
	other.Status, other.CredentialInfo = gateway.StatusDisconnected, map[string]any{"botId": "4242"}
	mustCreate(t, st, other)
	connect := func() error {
		next := *mustGet(t, st, other.ID)
		next.Status, next.Version = gateway.StatusConnecting, next.Version+1
		next.ClaimedBot = next.BotClaim()
		return st.UpdateGateway(t.Context(), &next, next.Version-1, gateway.AuditEvent{ID: fmt.Sprint("ev-", next.Version), GatewayID: other.ID, Action: gateway.AuditStatusChanged, At: t0})
	}
	wantCode(t, "connecting a claimed bot", connect(), gateway.CodeConflict)

	at := t0.Add(time.Minute)
	msg := health.MsgWebhookTakenOver
	ok, err := h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: g.ID, Version: 2, CheckedAt: at, ConsecutiveFailures: 1,
		Status: gateway.StatusError, LastError: &msg, LastErrorAt: &at, ReleaseClaim: "4242",
		Event: &gateway.AuditEvent{ID: "ev-lost", GatewayID: g.ID, Action: gateway.AuditStatusChanged, At: at, Changes: []string{"status"}}})
	if err != nil || !ok {
		t.Fatalf("RecordCheck = %v, %v", ok, err)
	}
	if got := mustGet(t, st, g.ID); got.ClaimedBot != "" || got.Status != gateway.StatusError {
		t.Errorf("after the take-over: status %s, claimedBot %q", got.Status, got.ClaimedBot)
	}
	if err := connect(); err != nil {
		t.Errorf("connecting the released bot: %v", err)
	}
}
