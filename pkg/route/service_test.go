package route_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/route/routetest"
)

// memInbox holds updates 1 to n of every bot, in chats 100 and 101 by
// parity, received a second apart from t0; it reads them as
// dynamo.Inbox.ReadUpdates does (after a position, up to a limit).
type memInbox struct {
	n  int64
	t0 time.Time
}

func (m *memInbox) ReadUpdates(_ context.Context, gatewayID string, q inbox.UpdateQuery) (inbox.UpdatePage, error) {
	page := inbox.UpdatePage{Last: q.After}
	for id := max(q.After+1, 1); id <= m.n && len(page.Updates) < q.Limit; id++ {
		chat := 100 + id%2
		page.Updates = append(page.Updates, inbox.Update{GatewayID: gatewayID, UpdateID: id, Type: "message", ChatID: &chat,
			ReceivedAt: m.t0.Add(time.Duration(id) * time.Second),
			Raw:        []byte(fmt.Sprintf(`{"update_id":%d,"message":{"chat":{"id":%d},"text":"/start %d"}}`, id, chat, id))})
		page.Last = id
	}
	return page, nil
}

// serviceWorld is the routes service over in-memory stores, with alice's
// bot and one of its routes (filters as given).
func serviceWorld(t *testing.T, updates route.UpdateReader, f route.Filters) (*route.Service, *routetest.Store, gateway.Actor, string, string) {
	t.Helper()
	gws := gatewaytest.NewStore()
	bot := &gateway.Gateway{ID: gateway.NewID(), UserID: "alice", Name: "bot", Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected,
		Config: json.RawMessage(`{}`), CreatedAt: time.Now(), UpdatedAt: time.Now(), Version: 1}
	gws.MustPut(t, bot)
	routes := routetest.NewStore(gws)
	svc := route.NewService(gateway.NewService(gws, gatewaytest.NewSealer()), routes, updates)
	alice := gateway.Actor{UserID: "alice"}
	v, err := svc.Create(t.Context(), alice, bot.ID, route.Spec{Target: route.Target{Type: route.TargetEventBridge}, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return svc, routes, alice, bot.ID, v.ID
}

// TestReplayPages: a replay reads the inbox page by page, queues what
// passes the filters, stops at route.MaxReplay wherever a page ends, and
// says where to go on from.
func TestReplayPages(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	even := route.Filters{ChatIDs: []int64{100}}
	tests := []struct {
		name    string
		n       int64
		filters route.Filters
		req     route.Replay
		queued  int
		next    int64 // 0: none
	}{
		{name: "nothing to replay", n: 0, req: route.Replay{FromUpdateID: ptr(int64(0))}},
		{name: "a few", n: 7, req: route.Replay{FromUpdateID: ptr(int64(3))}, queued: 5},
		{name: "from update 0 is from the oldest", n: 7, req: route.Replay{FromUpdateID: ptr(int64(0))}, queued: 7},
		{name: "from past the newest", n: 7, req: route.Replay{FromUpdateID: ptr(int64(8))}},
		{name: "one short of the most", n: route.MaxReplay - 1, req: route.Replay{FromUpdateID: ptr(int64(0))}, queued: route.MaxReplay - 1},
		{name: "exactly the most", n: route.MaxReplay, req: route.Replay{FromUpdateID: ptr(int64(0))}, queued: route.MaxReplay},
		{name: "one more than the most", n: route.MaxReplay + 1, req: route.Replay{FromUpdateID: ptr(int64(0))}, queued: route.MaxReplay, next: route.MaxReplay + 1},
		{name: "more, from the middle", n: 3 * route.MaxReplay, req: route.Replay{FromUpdateID: ptr(int64(150))}, queued: route.MaxReplay, next: 150 + route.MaxReplay},
		{name: "filtered: every other", n: 3 * route.MaxReplay, filters: even, req: route.Replay{FromUpdateID: ptr(int64(1))}, queued: route.MaxReplay, next: 2*route.MaxReplay + 2},
		{name: "filtered, fewer than the most", n: 101, filters: even, req: route.Replay{FromUpdateID: ptr(int64(0))}, queued: 50},
		{name: "from a time", n: 10, req: route.Replay{From: ptr(t0.Add(4 * time.Second))}, queued: 7},
		{name: "from a time between two", n: 10, req: route.Replay{From: ptr(t0.Add(4*time.Second + time.Millisecond))}, queued: 6},
		{name: "from a time, filtered", n: 10, filters: even, req: route.Replay{From: ptr(t0.Add(4 * time.Second))}, queued: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &memInbox{n: tt.n, t0: t0}
			svc, routes, alice, bot, rt := serviceWorld(t, in, tt.filters)
			res, err := svc.Replay(t.Context(), alice, bot, rt, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var next int64
			if res.NextFromUpdateID != nil {
				next = *res.NextFromUpdateID
			}
			if res.Queued != tt.queued || next != tt.next || res.More {
				t.Errorf("replay: queued %d next %d more %v, want %d and %d", res.Queued, next, res.More, tt.queued, tt.next)
			}
			q := routes.Queue(bot, rt)
			if len(q) != tt.queued {
				t.Fatalf("%d queued, want %d", len(q), tt.queued)
			}
			for _, it := range q {
				if !it.Replay || !tt.filters.Match(route.Candidate{Type: it.Update.Type, ChatID: it.Update.ChatID, Raw: it.Update.Raw}) {
					t.Fatalf("queued %+v", it)
				}
			}
			if tt.next != 0 && q[len(q)-1].Update.UpdateID >= tt.next {
				t.Errorf("the last queued update %d is not before the next %d", q[len(q)-1].Update.UpdateID, tt.next)
			}
		})
	}
}

// TestReplayWithoutInbox: with no inbox, a replay from an update id or a
// time is 503; a dead-letter replay needs none.
func TestReplayWithoutInbox(t *testing.T) {
	svc, _, alice, bot, rt := serviceWorld(t, nil, route.Filters{})
	for _, req := range []route.Replay{{FromUpdateID: ptr(int64(0))}, {From: ptr(time.Now())}} {
		if _, err := svc.Replay(t.Context(), alice, bot, rt, req); !gateway.IsCode(err, gateway.CodeUnavailable) {
			t.Errorf("replay %+v without an inbox: %v, want CodeUnavailable", req, err)
		}
	}
	if res, err := svc.Replay(t.Context(), alice, bot, rt, route.Replay{DeadLetters: true}); err != nil || res.Queued != 0 {
		t.Errorf("dead-letter replay without an inbox: %+v %v", res, err)
	}
}
