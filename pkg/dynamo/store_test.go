package dynamo

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

func TestCreate(t *testing.T) {
	st, _ := newTestStore(t)
	g := fullGateway("gw_1")
	ev := event("gw_1", "ev1", gateway.AuditCreated, t0)
	if err := st.CreateGateway(t.Context(), g, ev, nil); err != nil {
		t.Fatalf("CreateGateway: %v", err)
	}
	wantEqual(t, "GetGateway", mustGet(t, st, "gw_1"), fullGateway("gw_1"))
	wantEqual(t, "audit", allAudit(t, st, "gw_1"), []gateway.AuditEvent{ev})

	again := minimalGateway("gw_1", bob, t0.Add(time.Hour))
	err := st.CreateGateway(t.Context(), again, event("gw_1", "ev2", gateway.AuditCreated, t0.Add(time.Hour)), nil)
	wantCode(t, "second CreateGateway with the same id", err, gateway.CodeConflict)
	wantEqual(t, "gateway after failed create", mustGet(t, st, "gw_1"), fullGateway("gw_1"))
	wantEqual(t, "audit after failed create", allAudit(t, st, "gw_1"), []gateway.AuditEvent{ev})

	_, err = st.GetGateway(t.Context(), "gw_missing")
	wantCode(t, "GetGateway of a missing id", err, gateway.CodeNotFound)
}

func TestIdempotency(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := t.Context()
	expires := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	create := func(id string, owner gateway.Owner, key string, exp time.Time) error {
		g := minimalGateway(id, owner, t0)
		return st.CreateGateway(ctx, g, event(id, "ev-"+id, gateway.AuditCreated, t0), &gateway.Idempotency{Owner: owner, Key: key, RequestHash: "hash-" + id, ExpiresAt: exp})
	}

	t.Run("record written and read", func(t *testing.T) {
		if err := create("gw_a", alice, "k1", expires); err != nil {
			t.Fatalf("CreateGateway: %v", err)
		}
		got, err := st.GetIdempotency(ctx, alice, "k1")
		if err != nil {
			t.Fatalf("GetIdempotency: %v", err)
		}
		wantEqual(t, "record", got, &gateway.Idempotency{Owner: alice, Key: "k1", RequestHash: "hash-gw_a", GatewayID: "gw_a", ExpiresAt: expires})
	})

	t.Run("key reuse is a conflict and writes nothing", func(t *testing.T) {
		err := create("gw_b", alice, "k1", expires)
		wantCode(t, "CreateGateway with a used key", err, gateway.CodeIdempotencyConflict)
		_, err = st.GetGateway(ctx, "gw_b")
		wantCode(t, "GetGateway of the refused gateway", err, gateway.CodeNotFound)
		if evs := allAudit(t, st, "gw_b"); len(evs) != 0 {
			t.Fatalf("refused gateway has %d audit events", len(evs))
		}
		rec, err := st.GetIdempotency(ctx, alice, "k1")
		if err != nil || rec.GatewayID != "gw_a" {
			t.Fatalf("record after refused reuse = %+v, %v; want the first gateway's", rec, err)
		}
	})

	t.Run("same key of another owner is independent", func(t *testing.T) {
		for _, o := range []gateway.Owner{aliceAt, bob} {
			if err := create("gw_"+o.Key(), o, "k1", expires); err != nil {
				t.Fatalf("CreateGateway for %s: %v", o.Key(), err)
			}
		}
	})

	t.Run("missing record", func(t *testing.T) {
		_, err := st.GetIdempotency(ctx, alice, "never-used")
		wantCode(t, "GetIdempotency", err, gateway.CodeNotFound)
	})

	t.Run("expired record is not found and may be replaced", func(t *testing.T) {
		if err := create("gw_old", alice, "k2", time.Now().Add(-time.Minute)); err != nil {
			t.Fatalf("CreateGateway: %v", err)
		}
		_, err := st.GetIdempotency(ctx, alice, "k2")
		wantCode(t, "GetIdempotency of an expired record", err, gateway.CodeNotFound)

		if err := create("gw_new", alice, "k2", expires); err != nil {
			t.Fatalf("CreateGateway reusing an expired key: %v", err)
		}
		rec, err := st.GetIdempotency(ctx, alice, "k2")
		if err != nil || rec.GatewayID != "gw_new" {
			t.Fatalf("record = %+v, %v; want gw_new's", rec, err)
		}
	})
}

func TestUpdate(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := t.Context()
	mustCreate(t, st, minimalGateway("gw_1", alice, t0))

	changed := func(version int64, name string) *gateway.Gateway {
		g := minimalGateway("gw_1", alice, t0)
		g.Name, g.Version, g.UpdatedAt = name, version, t0.Add(time.Duration(version)*time.Minute)
		return g
	}
	tests := []struct {
		name       string
		g          *gateway.Gateway
		expected   int64
		wantCode   string
		wantStored *gateway.Gateway // after the call
		wantEvents int              // after the call
	}{
		{"right version", changed(2, "renamed"), 1, "", changed(2, "renamed"), 2},
		{"stale version", changed(2, "lost"), 1, gateway.CodeVersionMismatch, changed(2, "renamed"), 2},
		{"future version", changed(6, "lost"), 5, gateway.CodeVersionMismatch, changed(2, "renamed"), 2},
		{"version does not follow", changed(4, "lost"), 2, gateway.CodeInternal, changed(2, "renamed"), 2},
		{"next version", changed(3, "again"), 2, "", changed(3, "again"), 3},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := event("gw_1", fmt.Sprintf("ev-up-%d", i), gateway.AuditUpdated, t0.Add(time.Duration(i+1)*time.Minute))
			err := st.UpdateGateway(ctx, tc.g, tc.expected, ev)
			if tc.wantCode == "" && err != nil {
				t.Fatalf("UpdateGateway: %v", err)
			}
			if tc.wantCode != "" {
				wantCode(t, "UpdateGateway", err, tc.wantCode)
			}
			wantEqual(t, "stored", mustGet(t, st, "gw_1"), tc.wantStored)
			if got := len(allAudit(t, st, "gw_1")); got != tc.wantEvents {
				t.Fatalf("audit events = %d, want %d", got, tc.wantEvents)
			}
		})
	}

	t.Run("missing gateway", func(t *testing.T) {
		g := minimalGateway("gw_missing", alice, t0)
		g.Version = 2
		err := st.UpdateGateway(ctx, g, 1, event("gw_missing", "ev-x", gateway.AuditUpdated, t0))
		wantCode(t, "UpdateGateway", err, gateway.CodeNotFound)
		if evs := allAudit(t, st, "gw_missing"); len(evs) != 0 {
			t.Fatalf("missing gateway got %d audit events", len(evs))
		}
	})
}

func TestDelete(t *testing.T) {
	st, _ := newTestStore(t)
	ctx := t.Context()
	mustCreate(t, st, minimalGateway("gw_1", alice, t0))
	del := func(id string, version int64, evID string) error {
		return st.DeleteGateway(ctx, id, version, event(id, evID, gateway.AuditDeleted, t0.Add(time.Hour)))
	}

	wantCode(t, "DeleteGateway with a wrong version", del("gw_1", 2, "ev-d1"), gateway.CodeVersionMismatch)
	mustGet(t, st, "gw_1")
	if got := len(allAudit(t, st, "gw_1")); got != 1 {
		t.Fatalf("audit events after refused delete = %d, want 1", got)
	}

	if err := del("gw_1", 1, "ev-d2"); err != nil {
		t.Fatalf("DeleteGateway: %v", err)
	}
	_, err := st.GetGateway(ctx, "gw_1")
	wantCode(t, "GetGateway after delete", err, gateway.CodeNotFound)

	evs := allAudit(t, st, "gw_1")
	if len(evs) != 2 || evs[0].Action != gateway.AuditDeleted || evs[1].Action != gateway.AuditCreated {
		t.Fatalf("trail after delete = %+v, want deleted then created", evs)
	}

	wantCode(t, "DeleteGateway again", del("gw_1", 1, "ev-d3"), gateway.CodeNotFound)
	wantCode(t, "DeleteGateway of a never-created id", del("gw_none", 1, "ev-d4"), gateway.CodeNotFound)
}

func TestConcurrentUpdates(t *testing.T) {
	st, _ := newTestStore(t)
	mustCreate(t, st, minimalGateway("gw_1", alice, t0))

	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := minimalGateway("gw_1", alice, t0)
			g.Name, g.Version = fmt.Sprintf("writer %d", i), 2
			<-start
			errs[i] = st.UpdateGateway(t.Context(), g, 1, event("gw_1", fmt.Sprintf("ev-w%d", i), gateway.AuditUpdated, t0.Add(time.Minute)))
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch gateway.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		case gateway.CodeVersionMismatch:
		default:
			t.Fatalf("writer %d: %v, want success or version mismatch", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	got := mustGet(t, st, "gw_1")
	if want := fmt.Sprintf("writer %d", winner); got.Name != want || got.Version != 2 {
		t.Fatalf("stored name %q version %d, want %q version 2", got.Name, got.Version, want)
	}
	evs := allAudit(t, st, "gw_1")
	if len(evs) != 2 || evs[0].ID != fmt.Sprintf("ev-w%d", winner) {
		t.Fatalf("trail = %+v, want the winner's event and the creation", evs)
	}
}
