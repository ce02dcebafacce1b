package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// TestOneBotOneConnectedGateway: one bot token in two tenants' gateways
// (issue 15, item 3). Both may exist; of two concurrent connects exactly
// one wins and holds the bot's webhook, the other is a 409 problem that
// names neither the gateway nor its owner; once the winner is deleted the
// other connects. The deleted gateway's trail stays readable by its owner
// and by nobody else (item 4).
func TestOneBotOneConnectedGateway(t *testing.T) {
	h := newHarness(t)
	alice, bob := user("alice"), user("bob", "acme").in("acme")
	a, b := h.create(alice, telegramBody("alice's bot")), h.create(bob, telegramBody("acme's bot"))

	var wg sync.WaitGroup
	out := map[string]resp{}
	var mu sync.Mutex
	for _, g := range []struct {
		c  caller
		id string
	}{{alice, a.ID}, {bob, b.ID}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do(g.c, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.id, body: `{"status":"CONNECTED"}`})
			mu.Lock()
			out[g.id] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	winner, loser, loserCaller := a.ID, b.ID, bob
	if out[a.ID].status != http.StatusOK {
		winner, loser, loserCaller = b.ID, a.ID, alice
	}
	if out[winner].status != http.StatusOK {
		t.Fatalf("no connect won: %d %s / %d %s", out[a.ID].status, out[a.ID].body, out[b.ID].status, out[b.ID].body)
	}
	p := problem(t, out[loser], http.StatusConflict)
	if p.Detail != gateway.MsgBotInUse {
		t.Errorf("detail %q, want %q", p.Detail, gateway.MsgBotInUse)
	}
	for _, leak := range []string{winner, "alice", "acme", "bob"} {
		if strings.Contains(string(out[loser].body), leak) {
			t.Errorf("the 409 names %q: %s", leak, out[loser].body)
		}
	}
	if wh, _ := h.tg.Webhook(botToken); !strings.HasSuffix(wh.URL, "/"+winner) {
		t.Errorf("the bot's webhook is %q, want the winner's", wh.URL)
	}
	if g, err := h.store.GetGateway(t.Context(), loser); err != nil || g.Status != gateway.StatusDisconnected {
		t.Errorf("the loser is %v (%v), want DISCONNECTED", g, err)
	}

	winnerCaller := alice
	if winner == b.ID {
		winnerCaller = bob
	}
	if r := h.do(winnerCaller, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: winner}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.do(loserCaller, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: loser, body: `{"status":"CONNECTED"}`}); r.status != http.StatusOK {
		t.Errorf("connect after the holder was deleted: %d %s", r.status, r.body)
	}

	r := h.do(winnerCaller, req{fn: httpapi.FnGatewayAudit, method: "GET", id: winner})
	var page struct {
		Items []httpapi.AuditEventJSON `json:"items"`
	}
	if r.status != http.StatusOK {
		t.Fatalf("the owner's audit after delete: %d %s", r.status, r.body)
	}
	r.decode(t, &page)
	if len(page.Items) == 0 || page.Items[0].Action != gateway.AuditDeleted {
		t.Errorf("trail after delete: %+v", page.Items)
	}
	problem(t, h.do(loserCaller, req{fn: httpapi.FnGatewayAudit, method: "GET", id: winner}), http.StatusNotFound)
}
