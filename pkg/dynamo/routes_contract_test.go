package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/route/routetest"
)

// TestRoutesContract runs route.Store's contract against Routes, the same
// one pkg/route/routetest's in-memory Store passes, so the fake the fast
// tests (FuzzRoutes among them) rely on cannot drift from the real thing.
func TestRoutesContract(t *testing.T) {
	if got, want := routetest.MaxLimit, MaxLimit; got != want {
		t.Fatalf("routetest.MaxLimit = %d, want dynamo.MaxLimit %d", got, want)
	}
	routetest.TestStore(t, func(t *testing.T) routetest.World {
		st, client := newTestStore(t)
		routes := NewRoutes(client, st.table)
		return routetest.World{Routes: routes, Gateways: st,
			DeadLetter: func(ctx context.Context, r *route.Route, u inbox.Update, failedAt time.Time, attempts int64, lastError string) error {
				lane := delivery.Lane{BotID: r.GatewayID, RouteID: r.ID, Chat: route.ChatKey(u.ChatID, u.SenderID)}
				return routes.DeadLetter(ctx, lane, delivery.Pending{Queued: route.Queued{Update: u}, Attempts: attempts - 1}, failedAt, lastError)
			}}
	})
}
