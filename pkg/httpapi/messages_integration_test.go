package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
)

// The paths of the messages function, as the template declares them.
const (
	messagesPath = "/api/gateways/{id}/messages"
	jobPath      = "/api/gateways/{id}/messages/{jobId}"
)

func submitReq(bot, body string, headers map[string]string) req {
	return req{fn: httpapi.FnMessages, method: http.MethodPost, path: messagesPath, id: bot, body: body, headers: headers}
}

func jobReq(bot, job string, query map[string]string) req {
	return req{fn: httpapi.FnMessages, method: http.MethodGet, path: jobPath, id: bot, routeID: job, query: query}
}

// botGateways opens bots as the sender's assembly does.
type botGateways struct {
	*dynamo.Store
	*gateway.Service
}

// TestMessages: a batch and a broadcast through the real handler over
// DynamoDB Local — accepted with 202 and a Location, replayed by their
// Idempotency-Key, refused whole when one message is bad — and sent by
// the engine to the Telegram stand-in, the job then DONE with each
// message's id.
func TestMessages(t *testing.T) {
	h := newHarness(t)
	alice, bob := user("alice"), user("bob")
	bot := h.create(alice, telegramBody("Bot"))
	if r := h.do(alice, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: bot.ID, body: `{"status":"CONNECTED"}`}); r.status != http.StatusOK {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	batch := `{"messages":[{"chat_id":42,"text":"one","reply_markup":{"inline_keyboard":[[{"text":"Open","url":"https://example.com"}]]}},` +
		`{"chat_id":42,"text":"**two**","format":"markdown"},{"chat_id":-1001234567890,"text":"three"}]}`
	key := map[string]string{"Idempotency-Key": "batch-1"}
	r := h.do(alice, submitReq(bot.ID, batch, key))
	if r.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var acc struct {
		JobID  string `json:"jobId"`
		Status string `json:"status"`
		Total  int    `json:"total"`
	}
	r.decode(t, &acc)
	if acc.Status != "QUEUED" || acc.Total != 3 || r.headers["Location"] != "/api/gateways/"+bot.ID+"/messages/"+acc.JobID {
		t.Fatalf("accepted %+v, Location %q", acc, r.headers["Location"])
	}
	// The same key and body: the first job, nothing queued again.
	again := h.do(alice, submitReq(bot.ID, batch, key))
	var acc2 struct{ JobID string }
	again.decode(t, &acc2)
	if again.status != http.StatusAccepted || acc2.JobID != acc.JobID || again.headers["Idempotent-Replayed"] != "true" {
		t.Errorf("replay: %d %s %v", again.status, again.body, again.headers)
	}
	// The key with another body is refused.
	problem(t, h.do(alice, submitReq(bot.ID, `{"messages":[{"chat_id":42,"text":"other"}]}`, key)), http.StatusUnprocessableEntity)

	var job httpapi.JobJSON
	r = h.do(alice, jobReq(bot.ID, acc.JobID, map[string]string{"limit": "2"}))
	r.decode(t, &job)
	if r.status != http.StatusOK || job.Status != send.JobQueued || job.Queued != 3 || len(job.Items) != 2 || job.NextCursor == nil || job.Items[0].Status != send.ItemQueued {
		t.Fatalf("job before sending: %d %+v", r.status, job)
	}
	// Another tenant sees neither the job nor the bot.
	problem(t, h.do(bob, jobReq(bot.ID, acc.JobID, nil)), http.StatusNotFound)
	problem(t, h.do(bob, submitReq(bot.ID, batch, nil)), http.StatusNotFound)

	engine := send.NewEngine(dynamo.NewSendJobs(h.ddb, h.table), sendtelegram.NewBots(botGateways{h.store, h.svc}, h.tgURL, nil),
		sendtelegram.Formatter{}, send.EngineOptions{Log: h.log, Poll: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := engine.Run(ctx, bot.ID); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var items []httpapi.JobItemJSON
	for cursor := ""; ; {
		q := map[string]string{"limit": "2"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		r = h.do(alice, jobReq(bot.ID, acc.JobID, q))
		r.decode(t, &job)
		items = append(items, job.Items...)
		if job.NextCursor == nil {
			break
		}
		cursor = *job.NextCursor
	}
	if job.Status != send.JobDone || job.Sent != 3 || len(items) != 3 {
		t.Fatalf("job after sending: %+v items %+v", job, items)
	}
	for _, it := range items {
		if it.Status != send.ItemSent || it.MessageID == nil || it.Error != nil {
			t.Errorf("item %+v", it)
		}
	}
	var texts []string
	for _, m := range h.tg.Messages(botToken) {
		texts = append(texts, m.Text)
	}
	if !slices.Equal(texts, []string{"one", "two", "three"}) && !slices.Equal(texts, []string{"one", "three", "two"}) && !slices.Equal(texts, []string{"three", "one", "two"}) {
		t.Errorf("Telegram received %q", texts)
	}
}

// TestMessagesRefusals: every bad request is a 4xx naming its fields, and
// stores no job.
func TestMessagesRefusals(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	hook := h.create(alice, webhookBody("Hook"))
	// Not connected yet.
	problem(t, h.do(alice, submitReq(bot.ID, `{"messages":[{"chat_id":1,"text":"x"}]}`, nil)), http.StatusConflict)
	h.do(alice, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: bot.ID, body: `{"status":"CONNECTED"}`})
	many := `{"broadcast":{"chatIds":[` + strings.Repeat("1,", 10000) + `1],"message":{"text":"x"}}}`
	tests := []struct {
		name   string
		id     string
		body   string
		status int
		fields []string
	}{
		{name: "a webhook gateway", id: hook.ID, body: `{"messages":[{"chat_id":1,"text":"x"}]}`, status: http.StatusNotFound},
		{name: "neither", id: bot.ID, body: `{}`, status: 400, fields: []string{"messages"}},
		{name: "both", id: bot.ID, body: `{"messages":[],"broadcast":{}}`, status: 400, fields: []string{"messages"}},
		{name: "bad messages", id: bot.ID, body: `{"messages":[{"chat_id":1,"text":"ok"},{"chat_id":true,"text":""},{"chat_id":2,"text":"x","format":"html","colour":1}]}`,
			status: 400, fields: []string{"messages[1].chat_id", "messages[1].text", "messages[2].colour", "messages[2].format"}},
		{name: "a bad keyboard", id: bot.ID, body: `{"messages":[{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"` + strings.Repeat("x", 65) + `"}]]}}]}`,
			status: 400, fields: []string{"messages[0].reply_markup.inline_keyboard[0][0].callback_data"}},
		{name: "a text too long", id: bot.ID, body: `{"messages":[{"chat_id":1,"text":"` + strings.Repeat("a", 4097) + `"}]}`, status: 400, fields: []string{"messages[0].text"}},
		{name: "a broadcast naming chat_id", id: bot.ID, body: `{"broadcast":{"chatIds":[1,"news"],"message":{"chat_id":1,"text":"x"}}}`,
			status: 400, fields: []string{"broadcast.chatIds[1]", "broadcast.message.chat_id"}},
		{name: "too many chats", id: bot.ID, body: many, status: 400, fields: []string{"broadcast.chatIds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.keysLike("JOB#")
			p := problem(t, h.do(alice, submitReq(tt.id, tt.body, nil)), tt.status)
			if tt.fields != nil {
				if got := fieldsOf(p); !slices.Equal(got, tt.fields) {
					t.Errorf("fields %v, want %v", got, tt.fields)
				}
			}
			if after := h.keysLike("JOB#"); !slices.Equal(before, after) {
				t.Errorf("a refused request stored %v", after)
			}
		})
	}
	if n := len(h.tg.Messages(botToken)); n != 0 {
		t.Errorf("%d messages reached Telegram", n)
	}
}

// TestActionSendMessageIsPaced: with the paced sender (as gateway-action
// is wired), the action route's sendMessage is queued as an interactive
// job, sent under the bot's lease and answered with Telegram's message;
// a bad parameter is still a 400 naming params.… with nothing queued.
func TestActionSendMessageIsPaced(t *testing.T) {
	h, alice, bot := pacedBot(t)
	action := func(body string) resp { return h.action(alice, bot.ID, "sendMessage", body) }
	r := action(`{"chat_id":42,"text":"paced"}`)
	var out struct {
		Action string `json:"action"`
		Result struct {
			MessageID int64  `json:"message_id"`
			Text      string `json:"text"`
		} `json:"result"`
	}
	r.decode(t, &out)
	if r.status != http.StatusOK || out.Action != "sendMessage" || out.Result.MessageID == 0 || out.Result.Text != "paced" {
		t.Fatalf("sendMessage: %d %s", r.status, r.body)
	}
	if got := h.keysLike("JOB#", "|ITEM#"); len(got) != 1 {
		t.Errorf("job items %v, want the one message", got)
	}
	before := h.keysLike("JOB#")
	p := problem(t, action(`{"chat_id":42,"text":""}`), http.StatusBadRequest)
	if got := fieldsOf(p); !slices.Equal(got, []string{"params.text"}) {
		t.Errorf("fields %v", got)
	}
	// Telegram's refusal is the provider's refusal, as before.
	problem(t, action(`{"chat_id":0,"text":"to nobody"}`), http.StatusUnprocessableEntity)
	if after := h.keysLike("JOB#"); len(after) != len(before)+2 {
		t.Errorf("jobs before %d, after %d: the refused request must queue nothing, the sent one one job", len(before), len(after))
	}
}

// pacedBot is a harness whose action route is wired as gateway-action's
// (pacedActions), and alice's connected bot.
func pacedBot(t *testing.T) (*harness, caller, httpapi.GatewayJSON) {
	h := newHarness(t)
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	h.setStatus(alice, bot.ID, "CONNECTED")
	pacedActions(h)
	return h, alice, bot
}

// pacedActions wires the action route as gateway-action is: its paced
// calls go through the bot's queue (send.Direct), with private networks
// allowed as the harness's providers have them.
func pacedActions(h *harness) {
	jobs := dynamo.NewSendJobs(h.ddb, h.table)
	engine := send.NewEngine(jobs, sendtelegram.NewBots(botGateways{h.store, h.svc}, h.tgURL, nil), sendtelegram.Formatter{}, send.EngineOptions{Log: h.log})
	direct := send.NewDirect(send.NewService(jobs, h.svc, sendtelegram.Check), engine, jobs, sendtelegram.Calls{AllowPrivate: true}, 10*time.Second)
	h.handlers[httpapi.FnGatewayAction] = httpapi.New(h.life, httpapi.WithLogger(h.log), httpapi.WithPacedSend(direct)).Handlers()[httpapi.FnGatewayAction]
}

// TestActionCallsShareThePace: a bot's code that answers a user with a
// message, a photo, an edit of the message and a document, one straight
// after the other, as fast as it can, against a Telegram that enforces its
// limits, gets every call answered and no 429: the photo, the document
// and the edit are queued with the message in the chat's lane and wait
// for the chat's interval. The calls Telegram's limits do not count
// (deleteMessage, sendChatAction, an inline message's edit) queue nothing.
// Bad input is refused before anything is queued or sent.
func TestActionCallsShareThePace(t *testing.T) {
	h, alice, bot := pacedBot(t)
	// Telegram's limits, with a chat's interval a quarter shorter than
	// the one the engine paces to: the engine's clock is when a request
	// leaves, the stand-in's when it arrives, and under -race on a loaded
	// machine the two differ by more than the pacer's 40 ms margin. Calls
	// made at once, without the queue, come milliseconds apart and are
	// refused all the same.
	limits := telegramtest.TelegramLimits()
	limits.ChatInterval = 750 * time.Millisecond
	h.tg.SetLimits(limits)

	jobsBefore := len(h.keysLike("JOB#", "|ITEM#"))
	ok := func(name, body string) json.RawMessage {
		t.Helper()
		r := h.action(alice, bot.ID, name, body)
		var out struct {
			Action string          `json:"action"`
			Result json.RawMessage `json:"result"`
		}
		r.decode(t, &out)
		if r.status != http.StatusOK || out.Action != name {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		return out.Result
	}
	var sent struct {
		MessageID int64 `json:"message_id"`
	}
	if err := json.Unmarshal(ok("sendMessage", `{"chat_id":42,"text":"thinking…"}`), &sent); err != nil || sent.MessageID == 0 {
		t.Fatalf("sendMessage result: %v", err)
	}
	var photo struct {
		MessageID int64            `json:"message_id"`
		Photo     []map[string]any `json:"photo"`
	}
	if err := json.Unmarshal(ok("sendPhoto", `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBcat","caption":"a cat"}`), &photo); err != nil || photo.MessageID == 0 || len(photo.Photo) == 0 {
		t.Errorf("sendPhoto result: %v %+v", err, photo)
	}
	var edited struct {
		MessageID int64  `json:"message_id"`
		Text      string `json:"text"`
	}
	// Markdown, converted by Gatehouse as a message's is.
	if err := json.Unmarshal(ok("editMessageText", fmt.Sprintf(`{"chat_id":42,"message_id":%d,"text":"**done**","format":"markdown"}`, sent.MessageID)), &edited); err != nil ||
		edited.MessageID != sent.MessageID || edited.Text != "done" {
		t.Errorf("editMessageText result: %v %+v", err, edited)
	}
	ok("sendDocument", `{"chat_id":42,"document":"BQACAgIAAxkBAAIBreport"}`)
	paced := len(h.keysLike("JOB#", "|ITEM#")) - jobsBefore
	if paced != 4 {
		t.Errorf("%d calls went through the queue, want 4", paced)
	}

	// Not counted by Telegram's limits: made at once, nothing queued.
	ok("sendChatAction", `{"chat_id":42,"action":"typing"}`)
	ok("deleteMessage", fmt.Sprintf(`{"chat_id":42,"message_id":%d}`, photo.MessageID))
	ok("editMessageText", `{"inline_message_id":"AAAAAgAAAXY","text":"inline"}`)
	if n := len(h.keysLike("JOB#", "|ITEM#")) - jobsBefore; n != paced {
		t.Errorf("the unpaced calls queued %d jobs", n-paced)
	}

	// The chat's interval held between the four counted calls: none was
	// answered 429 and none went twice.
	st := h.tg.LimitStats()
	if st.Limited != 0 || st.Calls != 4 {
		t.Errorf("Telegram answered %d of %d counted calls 429 (%v), want 0 of 4", st.Limited, st.Calls, st.ByKind)
	}

	// Refused before the queue: a bad field, a photo URL the SSRF guard
	// refuses, an edit with neither a chat nor an inline message.
	calls := len(h.tg.Calls(""))
	for _, tt := range []struct {
		name, action, body string
		fields             []string
	}{
		{name: "a caption too long", action: "sendPhoto", body: `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBcat","caption":"` + strings.Repeat("a", 1025) + `"}`, fields: []string{"params.caption"}},
		{name: "a photo URL the SSRF guard refuses", action: "sendPhoto", body: `{"chat_id":42,"photo":"https://1.2.3.256/cat.jpg"}`, fields: []string{"params.photo"}},
		{name: "a document of the wrong type", action: "sendDocument", body: `{"chat_id":42,"document":7}`, fields: []string{"params.document"}},
		{name: "an edit of no message", action: "editMessageText", body: `{"text":"x"}`, fields: []string{"params.chat_id", "params.message_id"}},
		{name: "an edit with an unknown field", action: "editMessageText", body: `{"chat_id":42,"message_id":1,"text":"x","colour":"red"}`, fields: []string{"params.colour"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := problem(t, h.action(alice, bot.ID, tt.action, tt.body), http.StatusBadRequest)
			if got := fieldsOf(p); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v, want %v", got, tt.fields)
			}
		})
	}
	if n := len(h.keysLike("JOB#", "|ITEM#")) - jobsBefore; n != paced {
		t.Errorf("refused calls queued %d jobs", n-paced)
	}
	if n := len(h.tg.Calls("")) - calls; n != 0 {
		t.Errorf("refused calls made %d Telegram calls", n)
	}
	// Another tenant's bot is not found, and nothing is queued for it.
	problem(t, h.action(user("mallory"), bot.ID, "sendPhoto", `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBcat"}`), http.StatusNotFound)
	if n := len(h.keysLike("JOB#", "|ITEM#")) - jobsBefore; n != paced {
		t.Errorf("another tenant's call queued %d jobs", n-paced)
	}
}

// TestPacedRefusalsAreTheProvidersRefusals: a paced call Telegram refuses
// is answered as the calls made at once are: a blocked bot or a missing
// chat is 422 upstream_refused and leaves the gateway as it is; a refused
// token is 422 upstream_rejected and moves the gateway to ERROR with the
// refusal as its last error.
func TestPacedRefusalsAreTheProvidersRefusals(t *testing.T) {
	h, alice, bot := pacedBot(t)
	status := func() *gateway.Gateway {
		g, err := h.svc.Get(context.Background(), gateway.Actor{UserID: "alice"}, bot.ID)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	h.tg.Fail(telegramtest.Failure{Method: "sendPhoto", ErrorCode: 403, Description: "Forbidden: bot was blocked by the user"})
	p := problem(t, h.action(alice, bot.ID, "sendPhoto", `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBcat"}`), http.StatusUnprocessableEntity)
	if !strings.HasSuffix(p.Type, "/upstream_refused") || !strings.Contains(p.Detail, "bot was blocked by the user") {
		t.Errorf("blocked: %+v", p)
	}
	if g := status(); g.Status != gateway.StatusConnected {
		t.Errorf("after a blocked send the gateway is %s", g.Status)
	}

	h.tg.Fail(telegramtest.Failure{Method: "editMessageText", ErrorCode: 401})
	p = problem(t, h.action(alice, bot.ID, "editMessageText", `{"chat_id":42,"message_id":1,"text":"x"}`), http.StatusUnprocessableEntity)
	if !strings.HasSuffix(p.Type, "/upstream_rejected") {
		t.Errorf("revoked: %+v", p)
	}
	if g := status(); g.Status != gateway.StatusError || !strings.Contains(g.LastError, "401") || g.LastErrorAt == nil {
		t.Errorf("after a refused token the gateway is %s (%q)", g.Status, g.LastError)
	}
	events := h.do(alice, req{fn: httpapi.FnGatewayAudit, method: "GET", id: bot.ID})
	if !strings.Contains(string(events.body), `"to":"ERROR"`) || !strings.Contains(string(events.body), `"action":"editMessageText"`) {
		t.Errorf("the move to ERROR is not audited: %s", events.body)
	}
}
