package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// updatesPage is the answer of GET …/updates.
type updatesPage struct {
	Items      []httpapi.UpdateJSON `json:"items"`
	NextCursor string               `json:"nextCursor"`
}

func (p updatesPage) ids() []int64 {
	var out []int64
	for _, it := range p.Items {
		out = append(out, it.UpdateID)
	}
	return out
}

// withUpdates gives the harness the updates route over its table, with
// long polls that read every 20 ms.
func (h *harness) withUpdates() *dynamo.Inbox {
	in := dynamo.NewInbox(h.ddb, h.table)
	h.handlers = httpapi.New(h.life, httpapi.WithLogger(h.log), httpapi.WithUpdates(in),
		httpapi.WithUpdatePolling(20*time.Millisecond), httpapi.WithRoutes(h.routeService())).Handlers()
	return in
}

// receive stores update id of gateway gw as the webhook would: in chat
// chat, of type typ.
func (h *harness) receive(in *dynamo.Inbox, gw string, id, chat int64, typ string) {
	h.t.Helper()
	var raw string
	switch typ {
	case "callback_query":
		raw = fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"q%d","from":{"id":7},"message":{"message_id":1,"date":1735732800,"chat":{"id":%d,"type":"private"}},"data":"yes"}}`, id, id, chat)
	default:
		raw = fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1735732800,"from":{"id":7},"chat":{"id":%d,"type":"private"},"text":"hi %d"}}`, id, id, chat, id)
	}
	u, err := inbox.ParseUpdate([]byte(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	now := time.Now().UTC()
	u.GatewayID, u.ReceivedAt, u.ExpiresAt = gw, now, now.Add(time.Hour)
	if err := in.PutUpdate(h.t.Context(), u); err != nil {
		h.t.Fatalf("PutUpdate %d: %v", id, err)
	}
}

func (h *harness) updates(c caller, id string, q map[string]string) (resp, updatesPage) {
	h.t.Helper()
	r := h.do(c, req{fn: httpapi.FnListUpdates, method: http.MethodGet, id: id, query: q})
	var p updatesPage
	if r.status == http.StatusOK {
		r.decode(h.t, &p)
	}
	return r, p
}

// TestUpdates: a bot's updates come oldest first, page by page with the
// cursor, each once; filters keep their type or chat and still move the
// cursor; the cursor is a position to poll from when nothing is newer;
// another tenant sees a plain 404 and other gateway types a 409.
func TestUpdates(t *testing.T) {
	h := newHarness(t)
	in := h.withUpdates()
	alice, bob := user("alice"), user("bob")
	bot := h.create(alice, telegramBody("Bot"))
	for id := int64(1); id <= 7; id++ {
		chat, typ := int64(100), "message"
		if id%2 == 0 {
			chat = -200
		}
		if id == 5 {
			typ = "callback_query"
		}
		h.receive(in, bot.ID, id*10, chat, typ)
	}

	// Everything, three at a time, oldest first, each once.
	var seen []int64
	cursor := ""
	for range 5 {
		q := map[string]string{"limit": "3"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		r, p := h.updates(alice, bot.ID, q)
		if r.status != http.StatusOK || p.NextCursor == "" {
			t.Fatalf("page: %d %s", r.status, r.body)
		}
		seen = append(seen, p.ids()...)
		cursor = p.NextCursor
	}
	if want := "[10 20 30 40 50 60 70]"; fmt.Sprint(seen) != want {
		t.Fatalf("paged through %v, want %s", seen, want)
	}
	// Nothing newer: the same position comes back, and it stays a place
	// to poll from.
	_, p := h.updates(alice, bot.ID, map[string]string{"cursor": cursor})
	if len(p.Items) != 0 || p.NextCursor != cursor {
		t.Fatalf("at the end: %v, cursor %q, want none and %q", p.ids(), p.NextCursor, cursor)
	}
	h.receive(in, bot.ID, 80, 100, "message")
	_, p = h.updates(alice, bot.ID, map[string]string{"cursor": cursor})
	if fmt.Sprint(p.ids()) != "[80]" {
		t.Fatalf("after a new update: %v, want [80]", p.ids())
	}

	// The fields read from each update, and the update as sent.
	_, p = h.updates(alice, bot.ID, map[string]string{"limit": "1"})
	it := p.Items[0]
	if it.Type != "message" || it.ChatID == nil || *it.ChatID != 100 || it.SenderID == nil || *it.SenderID != 7 ||
		it.MessageDate == nil || it.MessageDate.Unix() != 1735732800 || it.ReceivedAt.IsZero() ||
		!strings.Contains(string(it.Update), `"text":"hi 10"`) {
		t.Errorf("first update: %+v %s", it, it.Update)
	}

	// Filters.
	_, p = h.updates(alice, bot.ID, map[string]string{"chatId": "-200"})
	if fmt.Sprint(p.ids()) != "[20 40 60]" {
		t.Errorf("chatId -200: %v", p.ids())
	}
	_, p = h.updates(alice, bot.ID, map[string]string{"type": "callback_query"})
	if fmt.Sprint(p.ids()) != "[50]" || p.Items[0].ChatID == nil || *p.Items[0].ChatID != 100 {
		t.Errorf("callback_query: %v", p.ids())
	}
	// A filter that matches nothing newer still moves the cursor past
	// what it examined, so the next poll reads only what is new.
	r, p := h.updates(alice, bot.ID, map[string]string{"type": "poll"})
	if r.status != http.StatusOK || len(p.Items) != 0 {
		t.Fatalf("type poll: %d %s", r.status, r.body)
	}
	h.receive(in, bot.ID, 90, 100, "message")
	_, all := h.updates(alice, bot.ID, map[string]string{"cursor": p.NextCursor})
	if fmt.Sprint(all.ids()) != "[90]" {
		t.Errorf("after an empty filtered read, the cursor reads on from %v, want [90]", all.ids())
	}

	// The newest updates, oldest first, and a cursor to poll on from.
	_, p = h.updates(alice, bot.ID, map[string]string{"tail": "2"})
	if fmt.Sprint(p.ids()) != "[80 90]" {
		t.Errorf("tail 2: %v", p.ids())
	}
	h.receive(in, bot.ID, 95, -200, "message")
	_, after := h.updates(alice, bot.ID, map[string]string{"cursor": p.NextCursor})
	if fmt.Sprint(after.ids()) != "[95]" {
		t.Errorf("after tail: %v", after.ids())
	}
	_, p = h.updates(alice, bot.ID, map[string]string{"tail": "2", "chatId": "-200"})
	if fmt.Sprint(p.ids()) != "[60 95]" {
		t.Errorf("tail 2 of chat -200: %v", p.ids())
	}

	// Tenancy, other types and cursors of other gateways.
	if r, _ := h.updates(bob, bot.ID, nil); r.status != http.StatusNotFound {
		t.Errorf("bob reads alice's updates: %d", r.status)
	}
	hook := h.create(alice, webhookBody("Hook"))
	if r, _ := h.updates(alice, hook.ID, nil); r.status != http.StatusConflict {
		t.Errorf("a webhook gateway's updates: %d %s", r.status, r.body)
	}
	other := h.create(alice, telegramBody("Other"))
	if r, _ := h.updates(alice, other.ID, map[string]string{"cursor": cursor}); r.status != http.StatusBadRequest {
		t.Errorf("another gateway's cursor: %d", r.status)
	}
}

// TestUpdatesRefusals: every malformed parameter is named, and nothing is
// read.
func TestUpdatesRefusals(t *testing.T) {
	h := newHarness(t)
	h.withUpdates()
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	for _, tt := range []struct {
		name  string
		query map[string]string
		field string
	}{
		{name: "limit 0", query: map[string]string{"limit": "0"}, field: "limit"},
		{name: "limit 101", query: map[string]string{"limit": "101"}, field: "limit"},
		{name: "wait 21", query: map[string]string{"wait": "21"}, field: "wait"},
		{name: "wait fraction", query: map[string]string{"wait": "1.5"}, field: "wait"},
		{name: "wait negative", query: map[string]string{"wait": "-1"}, field: "wait"},
		{name: "chat 0", query: map[string]string{"chatId": "0"}, field: "chatId"},
		{name: "chat text", query: map[string]string{"chatId": "abc"}, field: "chatId"},
		{name: "type upper", query: map[string]string{"type": "Message"}, field: "type"},
		{name: "type long", query: map[string]string{"type": strings.Repeat("a", 65)}, field: "type"},
		{name: "cursor garbage", query: map[string]string{"cursor": "u1.%%%"}, field: "cursor"},
		{name: "cursor other version", query: map[string]string{"cursor": "v9.abc"}, field: "cursor"},
		{name: "unknown parameter", query: map[string]string{"offset": "3"}, field: "offset"},
		{name: "tail 0", query: map[string]string{"tail": "0"}, field: "tail"},
		{name: "tail and limit", query: map[string]string{"tail": "5", "limit": "5"}, field: "tail"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := h.updates(alice, bot.ID, tt.query)
			p := problem(t, r, http.StatusBadRequest)
			if len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
				t.Errorf("errors %+v, want one for %s", p.Errors, tt.field)
			}
		})
	}
}

// TestUpdatesLongPoll: a poll with wait answers as soon as an update
// arrives, and with nothing, and the position it was given, when the wait
// ends.
func TestUpdatesLongPoll(t *testing.T) {
	h := newHarness(t)
	in := h.withUpdates()
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	h.receive(in, bot.ID, 1, 100, "message")
	_, first := h.updates(alice, bot.ID, nil)

	start := time.Now()
	_, p := h.updates(alice, bot.ID, map[string]string{"cursor": first.NextCursor, "wait": "1"})
	if waited := time.Since(start); len(p.Items) != 0 || p.NextCursor != first.NextCursor || waited < 900*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("an idle poll: %v after %v, cursor %q", p.ids(), waited, p.NextCursor)
	}

	go func() {
		time.Sleep(300 * time.Millisecond)
		h.receive(in, bot.ID, 2, 100, "message")
	}()
	start = time.Now()
	_, p = h.updates(alice, bot.ID, map[string]string{"cursor": first.NextCursor, "wait": "10"})
	if waited := time.Since(start); fmt.Sprint(p.ids()) != "[2]" || waited > 5*time.Second {
		t.Fatalf("a poll that an update ends: %v after %v", p.ids(), waited)
	}
	// A poll for the newest updates of a bot that has none yet waits for
	// its first.
	fresh := h.create(alice, telegramBody("Fresh"))
	go func() {
		time.Sleep(300 * time.Millisecond)
		h.receive(in, fresh.ID, 7, 100, "message")
	}()
	if _, f := h.updates(alice, fresh.ID, map[string]string{"tail": "10", "wait": "10"}); fmt.Sprint(f.ids()) != "[7]" {
		t.Fatalf("tail poll of a new bot: %v", f.ids())
	}
	// A filtered poll is not ended by an update it does not match.
	go func() {
		time.Sleep(200 * time.Millisecond)
		h.receive(in, bot.ID, 3, 999, "message")
	}()
	_, p = h.updates(alice, bot.ID, map[string]string{"cursor": p.NextCursor, "wait": "1", "chatId": "100"})
	if len(p.Items) != 0 {
		t.Fatalf("a poll for chat 100 ended with %v", p.ids())
	}
	_, p = h.updates(alice, bot.ID, map[string]string{"cursor": p.NextCursor})
	if len(p.Items) != 0 {
		t.Errorf("after a filtered poll examined update 3, it is read again: %v", p.ids())
	}
}
