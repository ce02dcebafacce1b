package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
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
	h := newHarness(t)
	alice := user("alice")
	bot := h.create(alice, telegramBody("Bot"))
	h.do(alice, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: bot.ID, body: `{"status":"CONNECTED"}`})
	jobs := dynamo.NewSendJobs(h.ddb, h.table)
	engine := send.NewEngine(jobs, sendtelegram.NewBots(botGateways{h.store, h.svc}, h.tgURL, nil), sendtelegram.Formatter{}, send.EngineOptions{Log: h.log})
	direct := send.NewDirect(send.NewService(jobs, h.svc, sendtelegram.Check), engine, jobs, 10*time.Second)
	h.handlers[httpapi.FnGatewayAction] = httpapi.New(h.life, httpapi.WithLogger(h.log), httpapi.WithPacedSend(direct)).Handlers()[httpapi.FnGatewayAction]

	action := func(body string) resp {
		return h.doWith(alice, req{fn: httpapi.FnGatewayAction, method: http.MethodPost, id: bot.ID, body: body}, func(ev *events.APIGatewayV2HTTPRequest) {
			ev.PathParameters["action"] = "sendMessage"
		})
	}
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
