package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// TestStatusRouteLimit: connects and disconnects count per user per
// gateway under the abuse limiter (issue 16, item 2); beyond the limit the
// status route is 429 with Retry-After and Telegram is not called, while
// the user's other gateway and the next minute are unaffected.
func TestStatusRouteLimit(t *testing.T) {
	h := newHarness(t)
	clock := h.withLimits(httpapi.Limits{StatusChangesPerMinute: 3})
	alice := user("alice")
	g := h.create(alice, telegramBody("bot"))
	other := h.create(alice, aiBody("other"))
	for i, st := range []string{"CONNECTED", "DISCONNECTED", "CONNECTED"} {
		if r := h.setStatus(alice, g.ID, st); r.status != http.StatusOK {
			t.Fatalf("change %d (%s): %d %s", i+1, st, r.status, r.body)
		}
	}
	calls := len(h.tg.Calls(""))
	wantLimited(t, h.setStatus(alice, g.ID, "DISCONNECTED"), "40")
	wantLimited(t, h.setStatus(alice, g.ID, "CONNECTED"), "40")
	if got := len(h.tg.Calls("")); got != calls {
		t.Errorf("refused status changes made %d Bot API calls", got-calls)
	}
	if r := h.setStatus(alice, other.ID, "DISCONNECTED"); r.status != http.StatusOK {
		t.Errorf("the same user's other gateway: %d %s", r.status, r.body)
	}
	clock.Advance(40 * time.Second)
	if r := h.setStatus(alice, g.ID, "DISCONNECTED"); r.status != http.StatusOK {
		t.Errorf("the next minute: %d %s", r.status, r.body)
	}
}

// snapshot is every item of the table, each marshalled to JSON, sorted:
// two equal snapshots mean nothing was written in between.
func (h *harness) snapshot() [][]byte {
	h.t.Helper()
	var out [][]byte
	for _, it := range h.scan() {
		b, err := json.Marshal(it) // map keys sorted; each value's member type shows in its shape
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}

// TestNoOpStatusWritesNothing: asking for the status a gateway already has
// (CONNECTED when connected, DISCONNECTED when disconnected) answers 200
// with the gateway as it is and writes nothing — no version, no audit
// event — and calls no provider (issue 16, item 2).
func TestNoOpStatusWritesNothing(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	tg := h.create(alice, telegramBody("bot"))
	idle := h.create(alice, telegramBody("idle"))
	if r := h.setStatus(alice, tg.ID, "CONNECTED"); r.status != http.StatusOK {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	tests := []struct {
		name   string
		id     string
		status string
	}{
		{name: "connected bot, CONNECTED again", id: tg.ID, status: "CONNECTED"},
		{name: "disconnected bot, DISCONNECTED again", id: idle.ID, status: "DISCONNECTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.snapshot()
			calls := len(h.tg.Calls(""))
			cur := h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: tt.id})
			var want httpapi.GatewayJSON
			cur.decode(t, &want)
			r := h.setStatus(alice, tt.id, tt.status)
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var got httpapi.GatewayJSON
			r.decode(t, &got)
			if got.Version != want.Version || string(got.Status) != tt.status || !got.UpdatedAt.Equal(want.UpdatedAt) {
				t.Errorf("answered version %d %s (updated %v), want version %d %s (updated %v)", got.Version, got.Status, got.UpdatedAt, want.Version, tt.status, want.UpdatedAt)
			}
			if r.headers["ETag"] != cur.headers["ETag"] {
				t.Errorf("ETag %q, want %q", r.headers["ETag"], cur.headers["ETag"])
			}
			after := h.snapshot()
			if len(after) != len(before) {
				t.Fatalf("the table went from %d to %d items", len(before), len(after))
			}
			for i := range after {
				if !bytes.Equal(after[i], before[i]) {
					t.Errorf("item changed:\n before %s\n after  %s", before[i], after[i])
				}
			}
			if got := len(h.tg.Calls("")); got != calls {
				t.Errorf("%d Bot API calls", got-calls)
			}
		})
	}
}
