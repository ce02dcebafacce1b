package routetest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/route/routetest"
)

// TestStoreContract runs route.Store's contract against the in-memory
// Store; pkg/dynamo runs the same contract against its Routes under the
// emulators.
func TestStoreContract(t *testing.T) {
	routetest.TestStore(t, func(*testing.T) routetest.World {
		gws := gatewaytest.NewStore()
		st := routetest.NewStore(gws)
		return routetest.World{Routes: st, Gateways: gws, DeadLetter: st.DeadLetter}
	})
}

// TestSnapshotRestore: a snapshot sees every kind of write, and Restore
// brings back the content of another store, deeply copied.
func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	seeded := routetest.NewStore(gatewaytest.NewStore())
	r := &route.Route{ID: route.NewID(), GatewayID: "gw_bot", Target: route.Target{Type: route.TargetEventBridge},
		Filters: route.Filters{ChatIDs: []int64{1}}, Status: route.StatusActive, CreatedAt: time.Unix(0, 0), Version: 1}
	seeded.MustPut(t, r)
	st := routetest.NewStore(gatewaytest.NewStore())
	st.Restore(seeded)
	if !bytes.Equal(st.Snapshot(t), seeded.Snapshot(t)) {
		t.Fatal("a restored store differs from its source")
	}
	before := st.Snapshot(t)
	u := inbox.Update{GatewayID: "gw_bot", UpdateID: 1, Type: "message", Raw: []byte(`{"update_id":1}`)}
	for _, step := range []struct {
		name  string
		write func() error
	}{
		{name: "Enqueue", write: func() error { return st.Enqueue(ctx, r, []route.Queued{{Update: u}}) }},
		{name: "DeadLetter", write: func() error { return st.DeadLetter(ctx, r, u, time.Unix(5, 0), 1, "x") }},
		{name: "RequeueDeadLetters", write: func() error { _, _, err := st.RequeueDeadLetters(ctx, r, 1); return err }},
	} {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		after := st.Snapshot(t)
		if bytes.Equal(before, after) {
			t.Errorf("the snapshot does not see %s", step.name)
		}
		before = after
	}
	got, _ := st.GetRoute(ctx, "gw_bot", r.ID)
	got.Filters.ChatIDs[0] = 9
	if again, _ := seeded.GetRoute(ctx, "gw_bot", r.ID); again.Filters.ChatIDs[0] != 1 {
		t.Error("Restore shares a route with its source")
	}
	if q := st.Queue("gw_bot", r.ID); len(q) != 1 || !q[0].Replay {
		t.Errorf("queue after a requeue: %+v", q)
	}
}
