package telegramhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/inbox/inboxtest"
)

const (
	secret      = "s3cr3t-token_0123456789abcdefghijklmnopqrstuv"
	otherSecret = "an0ther-token_0123456789abcdefghijklmnopqrstu"
)

var (
	gw1 = gateway.NewID()
	gw2 = gateway.NewID()
)

// The webhook secrets must never reach a log line or a response: TestMain
// scans every one the handlers here write.
var _ = secretscan.Register("webhook secret", secret) && secretscan.Register("other webhook secret", otherSecret)

func request(method, id, secretToken, body string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       method + " /api/webhooks/telegram/{gatewayId}",
		RawPath:        "/api/webhooks/telegram/" + id,
		Headers:        map[string]string{"content-type": "application/json"},
		PathParameters: map[string]string{"gatewayId": id},
		Body:           body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-test",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: "/api/webhooks/telegram/" + id},
		},
	}
	if secretToken != "" {
		ev.Headers["x-telegram-bot-api-secret-token"] = secretToken
	}
	return ev
}

func post(t testing.TB, h *Handler, id, secretToken, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := h.Handle(context.Background(), request(http.MethodPost, id, secretToken, body))
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	secretscan.Response("telegram-webhook POST "+id, resp.Body, resp.Headers)
	return resp
}

func updateBody(id int64) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":42,"type":"private","first_name":"A"},"date":1735732800,"text":"hi"}}`, id, id)
}

func wantStatus(t *testing.T, what string, resp events.APIGatewayV2HTTPResponse, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d (body %s)", what, resp.StatusCode, status, resp.Body)
	}
	if status >= 400 {
		if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
			t.Fatalf("%s: Content-Type %q, want problem+json", what, ct)
		}
		var p edge.Problem
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != status || !strings.HasPrefix(p.Type, edge.ProblemTypeBase) {
			t.Fatalf("%s: problem %s (%v)", what, resp.Body, err)
		}
	}
}

func newHandler(st Store, opts ...Option) *Handler {
	return New(st, append([]Option{WithLogger(secretscan.Logger("inbox handler"))}, opts...)...)
}

func ptr[T any](v T) *T { return &v }

// TestFixtures sends a real update of every type and checks what the inbox
// extracted from it.
func TestFixtures(t *testing.T) {
	type want struct {
		chat, sender *int64
		date         *int64
	}
	user, group, channel := int64(123456789), int64(-1001234567890), int64(-1009876543210)
	tests := map[string]want{
		"message":                   {chat: &user, sender: &user, date: ptr(int64(1735732800))},
		"edited_message":            {chat: &group, sender: &user, date: ptr(int64(1735732800))},
		"channel_post":              {chat: &channel, sender: &channel, date: ptr(int64(1735736400))},
		"edited_channel_post":       {chat: &channel, sender: &channel, date: ptr(int64(1735736400))},
		"business_connection":       {sender: ptr(int64(223344556)), date: ptr(int64(1735740000))},
		"business_message":          {chat: ptr(int64(334455667)), sender: ptr(int64(334455667)), date: ptr(int64(1735740060))},
		"edited_business_message":   {chat: ptr(int64(334455667)), sender: ptr(int64(334455667)), date: ptr(int64(1735740060))},
		"deleted_business_messages": {chat: ptr(int64(334455667))},
		"message_reaction":          {chat: &group, sender: ptr(int64(445566778)), date: ptr(int64(1735743600))},
		"message_reaction_count":    {chat: &channel, date: ptr(int64(1735743660))},
		"inline_query":              {sender: &user},
		"chosen_inline_result":      {sender: &user},
		"callback_query":            {chat: &user, sender: &user, date: ptr(int64(1735732810))},
		"shipping_query":            {sender: ptr(int64(556677889))},
		"pre_checkout_query":        {sender: ptr(int64(556677889))},
		"purchased_paid_media":      {sender: ptr(int64(556677889))},
		"poll":                      {},
		"poll_answer":               {sender: ptr(int64(445566778))},
		"my_chat_member":            {chat: &group, sender: &user, date: ptr(int64(1735747200))},
		"chat_member":               {chat: &group, sender: &user, date: ptr(int64(1735747260))},
		"chat_join_request":         {chat: &group, sender: ptr(int64(778899001)), date: ptr(int64(1735750800))},
		"chat_boost":                {chat: &channel},
		"removed_chat_boost":        {chat: &channel},
	}
	files, _ := filepath.Glob(filepath.Join(inboxtest.Dir(), "*.json"))
	if len(files) != len(tests) || len(files) != len(inbox.UpdateTypes()) {
		t.Fatalf("%d fixtures, %d expectations, %d update types", len(files), len(tests), len(inbox.UpdateTypes()))
	}
	st := newFakeStore()
	st.add(gw1, secret)
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now))
	for _, f := range files {
		typ := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(typ, func(t *testing.T) {
			w, ok := tests[typ]
			if !ok {
				t.Fatalf("no expectation for fixture %s", f)
			}
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var probe struct {
				UpdateID int64 `json:"update_id"`
			}
			if err := json.Unmarshal(body, &probe); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "POST", post(t, h, gw1, secret, string(body)), http.StatusOK)
			u := st.stored(gw1)[probe.UpdateID]
			if u == nil {
				t.Fatalf("update %d not stored", probe.UpdateID)
			}
			if u.Type != typ {
				t.Errorf("type %q, want %q", u.Type, typ)
			}
			if !bytes.Equal(u.Raw, body) {
				t.Errorf("raw update differs from the body")
			}
			inboxtest.CheckID(t, "chat", u.ChatID, w.chat)
			inboxtest.CheckID(t, "sender", u.SenderID, w.sender)
			var gotDate *int64
			if u.MessageDate != nil {
				gotDate = ptr(u.MessageDate.Unix())
			}
			inboxtest.CheckID(t, "date", gotDate, w.date)
			if !u.ReceivedAt.Equal(clk.Now()) || !u.ExpiresAt.Equal(clk.Now().Add(inbox.DefaultUpdateTTL)) {
				t.Errorf("receivedAt %v, expiresAt %v", u.ReceivedAt, u.ExpiresAt)
			}
		})
	}
}

// TestRefusals checks that refused requests store nothing, write nothing
// to the gateway, and say nothing about why a secret failed.
func TestRefusals(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	noSecret := gateway.NewID()
	st.add(noSecret, "")
	aiGateway := gateway.NewID()
	st.set(&inbox.Gateway{ID: aiGateway, Type: gateway.TypeAI, Status: gateway.StatusConnected, WebhookSecretHash: hashOf(secret)})
	h := newHandler(st)

	tests := []struct {
		name, id, secret, body string
		status                 int
	}{
		{"unknown gateway", gateway.NewID(), secret, updateBody(1), 401},
		{"not a gateway id", "gw_../../etc", secret, updateBody(1), 401},
		{"not a Telegram gateway", aiGateway, secret, updateBody(1), 401},
		{"missing secret", gw1, "", updateBody(1), 401},
		{"wrong secret", gw1, otherSecret, updateBody(1), 401},
		{"secret one character short", gw1, secret[:len(secret)-1], updateBody(1), 401},
		{"gateway without secret", noSecret, secret, updateBody(1), 401},
		{"gateway without secret, no header", noSecret, "", updateBody(1), 401},
		{"bad body", gw1, secret, `{"update_id":"x"}`, 400},
		{"over 1 MiB", gw1, secret, `{"update_id":1,"m":"` + strings.Repeat("a", inbox.MaxBodyBytes) + `"}`, 400},
	}
	details := map[int]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, h, tt.id, tt.secret, tt.body)
			wantStatus(t, tt.name, resp, tt.status)
			var p edge.Problem
			_ = json.Unmarshal([]byte(resp.Body), &p)
			if tt.status != 400 {
				if d, ok := details[tt.status]; ok && d != p.Detail {
					t.Errorf("detail %q differs from another %d's %q", p.Detail, tt.status, d)
				}
				details[tt.status] = p.Detail
			}
			if strings.Contains(resp.Body, secret) || strings.Contains(resp.Body, "update_id\":\"x") {
				t.Errorf("response echoes the request: %s", resp.Body)
			}
		})
	}
	if _, puts, touches, recovers := st.counts(); puts != 0 || touches != 0 || recovers != 0 {
		t.Errorf("refused requests made %d puts, %d touches, %d recoveries; want none", puts, touches, recovers)
	}
}

func TestInvalidIDCostsNoRead(t *testing.T) {
	st := newFakeStore()
	h := newHandler(st)
	for _, id := range []string{"", "x", strings.Repeat("a", 5000), "GW_AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		wantStatus(t, id, post(t, h, id, secret, updateBody(1)), 401)
	}
	if reads, _, _, _ := st.counts(); reads != 0 {
		t.Errorf("%d reads for ids that cannot exist", reads)
	}
}

func TestDuplicates(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	st.add(gw2, secret)
	h := newHandler(st)
	for range 3 {
		wantStatus(t, "POST", post(t, h, gw1, secret, updateBody(5)), 200)
	}
	// The same update_id of another gateway is another update.
	wantStatus(t, "POST other gateway", post(t, h, gw2, secret, updateBody(5)), 200)
	if n1, n2 := len(st.stored(gw1)), len(st.stored(gw2)); n1 != 1 || n2 != 1 {
		t.Errorf("stored %d and %d updates, want 1 each", n1, n2)
	}
}

func TestStoreFailures(t *testing.T) {
	unavailable := &gateway.Error{Code: gateway.CodeUnavailable, Message: "The data store is unavailable; retry.", Err: errors.New("dial tcp: connection refused")}
	tests := []struct {
		name             string
		readErr, putErr  error
		status           int
		wantPutAttempted bool
	}{
		{"put unavailable", nil, unavailable, 503, true},
		{"put internal", nil, gateway.Internal("op", errors.New("boom")), 503, true},
		{"put too large", nil, &gateway.Error{Code: gateway.CodeTooLarge, Message: "too large"}, 413, true},
		{"read unavailable", unavailable, nil, 503, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			st.add(gw1, secret)
			st.readErr, st.putErr = tt.readErr, tt.putErr
			var logs bytes.Buffer
			h := New(st, WithLogger(slog.New(secretscan.Tee(slog.NewJSONHandler(&logs, nil), secretscan.Handler("inbox handler")))))
			resp := post(t, h, gw1, secret, updateBody(1))
			wantStatus(t, tt.name, resp, tt.status)
			if strings.Contains(resp.Body, "connection refused") || strings.Contains(resp.Body, "boom") {
				t.Errorf("response leaks the cause: %s", resp.Body)
			}
			if _, puts, touches, _ := st.counts(); (puts == 1) != tt.wantPutAttempted || touches != 0 {
				t.Errorf("puts %d touches %d", puts, touches)
			}
			if tt.status >= 500 && !strings.Contains(logs.String(), `"level":"ERROR"`) {
				t.Errorf("5xx not logged as an error: %s", logs.String())
			}
		})
	}
}

func TestBase64Body(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	h := newHandler(st)
	ev := request(http.MethodPost, gw1, secret, base64.StdEncoding.EncodeToString([]byte(updateBody(77))))
	ev.IsBase64Encoded = true
	resp, _ := h.Handle(context.Background(), ev)
	wantStatus(t, "base64", resp, 200)
	if u := st.stored(gw1)[77]; u == nil || string(u.Raw) != updateBody(77) {
		t.Fatalf("stored %+v", u)
	}
	ev.Body = "%%%"
	resp, _ = h.Handle(context.Background(), ev)
	wantStatus(t, "bad base64", resp, 400)
}

func TestStatusRoute(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	ai := gateway.NewID()
	st.set(&inbox.Gateway{ID: ai, Type: gateway.TypeAI, Status: gateway.StatusConnected})
	h := newHandler(st)
	get := func(id string) events.APIGatewayV2HTTPResponse {
		resp, _ := h.Handle(context.Background(), request(http.MethodGet, id, secret, ""))
		return resp
	}
	resp := get(gw1)
	wantStatus(t, "GET", resp, 200)
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": gw1, "type": "TELEGRAM_BOT", "status": "CONNECTED"}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("GET body %v, want %v", body, want)
	}
	wantStatus(t, "GET unknown", get(gateway.NewID()), 404)
	wantStatus(t, "GET AI gateway", get(ai), 404)

	resp, _ = h.Handle(context.Background(), request(http.MethodDelete, gw1, secret, ""))
	wantStatus(t, "DELETE", resp, 405)
}

// TestTouchOncePerMinute checks that lastConnectedAt is written at most once
// a minute per gateway, only for CONNECTED gateways, and never for refused
// updates; also when many updates of one gateway arrive at once.
func TestTouchOncePerMinute(t *testing.T) {
	for _, ttl := range []time.Duration{0, DefaultCacheTTL} {
		t.Run(fmt.Sprintf("cache %s", ttl), func(t *testing.T) {
			st := newFakeStore()
			st.add(gw1, secret)
			disconnected := gateway.NewID()
			st.set(&inbox.Gateway{ID: disconnected, Type: gateway.TypeTelegramBot, Status: gateway.StatusDisconnected, WebhookSecretHash: hashOf(secret)})
			clk := newClock()
			h := newHandler(st, WithClock(clk.Now), WithCacheTTL(ttl))

			var wg sync.WaitGroup
			for i := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					wantStatus(t, "POST", post(t, h, gw1, secret, updateBody(int64(i))), 200)
				}()
			}
			wg.Wait()
			for i := range 20 {
				clk.Advance(2 * time.Second)
				post(t, h, gw1, secret, updateBody(int64(100+i)))
				post(t, h, disconnected, secret, updateBody(int64(100+i)))
			}
			if _, _, touches, _ := st.counts(); touches != 1 {
				t.Fatalf("%d touches in 40 s, want 1", touches)
			}
			if got := st.get(gw1).LastConnectedAt; got == nil {
				t.Fatal("lastConnectedAt not set")
			}
			clk.Advance(21 * time.Second) // 61 s after the first
			post(t, h, gw1, secret, updateBody(200))
			post(t, h, gw1, secret, updateBody(201))
			if _, _, touches, _ := st.counts(); touches != 2 {
				t.Fatalf("%d touches after 61 s, want 2", touches)
			}
			if got := st.get(disconnected).LastConnectedAt; got != nil {
				t.Fatal("a DISCONNECTED gateway was marked connected")
			}
		})
	}
}

func TestRecovery(t *testing.T) {
	st := newFakeStore()
	hook := &inbox.Gateway{ID: gw1, Type: gateway.TypeTelegramBot, Status: gateway.StatusError, WebhookSecretHash: hashOf(secret), LastError: inbox.WebhookErrorPrefix + "Wrong response from the webhook: 503 Service Unavailable"}
	st.set(hook)
	other := &inbox.Gateway{ID: gw2, Type: gateway.TypeTelegramBot, Status: gateway.StatusError, WebhookSecretHash: hashOf(secret), LastError: "getMe: 401 Unauthorized"}
	st.set(other)
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now))

	wantStatus(t, "POST", post(t, h, gw1, secret, updateBody(1)), 200)
	if g := st.get(gw1); g.Status != gateway.StatusConnected || g.LastConnectedAt == nil || !g.LastConnectedAt.Equal(clk.Now()) {
		t.Fatalf("after an update: %+v, want CONNECTED now", g)
	}
	if st.versions[gw1] != 1 || len(st.events) != 1 {
		t.Fatalf("recovery: %d version bumps, %d events; want 1 and 1", st.versions[gw1], len(st.events))
	}
	ev := st.events[0]
	if ev.Action != gateway.AuditStatusChanged || ev.Actor.System != FnTelegramWebhook || ev.Details["from"] != "ERROR" || ev.Details["to"] != "CONNECTED" || ev.ID == "" {
		t.Errorf("audit event %+v", ev)
	}
	// Cached as CONNECTED now: the next updates write nothing.
	for i := range 5 {
		post(t, h, gw1, secret, updateBody(int64(10+i)))
	}
	if _, _, touches, recovers := st.counts(); touches != 0 || recovers != 1 {
		t.Errorf("after recovery: %d touches, %d recoveries", touches, recovers)
	}

	wantStatus(t, "POST other error", post(t, h, gw2, secret, updateBody(1)), 200)
	if g := st.get(gw2); g.Status != gateway.StatusError {
		t.Errorf("an error not from webhook delivery was cleared: %+v", g)
	}
}

// TestSecretRotation: with the cache on, a rotated secret works at once and
// the old one is refused once the cached read ages out, well within 60 s.
func TestSecretRotation(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now))

	wantStatus(t, "old secret", post(t, h, gw1, secret, updateBody(1)), 200)
	st.add(gw1, otherSecret) // reconnect: a new secret
	clk.Advance(5 * time.Second)
	wantStatus(t, "old secret from the cache", post(t, h, gw1, secret, updateBody(2)), 200)
	wantStatus(t, "new secret at once", post(t, h, gw1, otherSecret, updateBody(3)), 200)
	wantStatus(t, "old secret after the new one was seen", post(t, h, gw1, secret, updateBody(4)), 401)

	// Without the new secret showing up, the cache ages out.
	st2 := newFakeStore()
	st2.add(gw1, secret)
	h2 := newHandler(st2, WithClock(clk.Now))
	wantStatus(t, "old secret", post(t, h2, gw1, secret, updateBody(1)), 200)
	st2.add(gw1, otherSecret)
	rotated := clk.Now()
	for {
		clk.Advance(time.Second)
		if post(t, h2, gw1, secret, updateBody(2)).StatusCode == 401 {
			break
		}
		if clk.Now().Sub(rotated) > MaxCacheTTL {
			t.Fatalf("old secret still accepted %s after rotation", clk.Now().Sub(rotated))
		}
	}
	if d := clk.Now().Sub(rotated); d > DefaultCacheTTL+time.Second {
		t.Errorf("old secret refused only after %s", d)
	}
}

func TestCacheTTLOption(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{{-time.Second, 0}, {0, 0}, {10 * time.Second, 10 * time.Second}, {time.Hour, MaxCacheTTL}} {
		if got := New(nil, WithCacheTTL(tt.in)).cache.ttl; got != tt.want {
			t.Errorf("WithCacheTTL(%s): ttl %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestLogLine checks the one line per update: its fields, and that neither
// the secret nor any text of the update appears.
func TestLogLine(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	var logs bytes.Buffer
	h := New(st, WithLogger(slog.New(secretscan.Tee(slog.NewJSONHandler(&logs, nil), secretscan.Handler("inbox handler")))))
	body, err := os.ReadFile(filepath.Join(inboxtest.Dir(), "message.json"))
	if err != nil {
		t.Fatal(err)
	}
	post(t, h, gw1, secret, string(body))
	post(t, h, gw1, secret, string(body))
	post(t, h, gw1, otherSecret, string(body))

	dec := json.NewDecoder(&logs)
	var lines []map[string]any
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("%d log lines for 3 requests", len(lines))
	}
	for i, outcome := range []string{OutcomeStored, OutcomeDuplicate, OutcomeUnauthorized} {
		l := lines[i]
		if l["gatewayId"] != gw1 || l["outcome"] != outcome {
			t.Errorf("line %d: %v", i, l)
		}
		if i < 2 && (l["updateId"] != float64(804532101) || l["type"] != "message") {
			t.Errorf("line %d lacks update id or type: %v", i, l)
		}
	}
	all := fmt.Sprint(lines)
	for _, secretText := range []string{secret, otherSecret, "analytical engine", "Lovelace", "ada_l"} {
		if strings.Contains(all, secretText) {
			t.Errorf("log contains %q: %s", secretText, all)
		}
	}
}

func TestPanicIsProblem(t *testing.T) {
	h := newHandler(panicStore{})
	resp := post(t, h, gw1, secret, updateBody(1))
	wantStatus(t, "panic", resp, 500)
}

type panicStore struct{ Store }

func (panicStore) Gateway(context.Context, string) (*inbox.Gateway, error) { panic("boom") }
