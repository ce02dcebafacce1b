package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

func newTestInbox(t *testing.T) (*Inbox, *Store, *dynamodb.Client) {
	t.Helper()
	st, client := newTestStore(t)
	return NewInbox(client, st.table), st, client
}

func telegramGateway(id string, status gateway.Status) *gateway.Gateway {
	g := fullGateway(id)
	g.Status = status
	g.LastConnectedAt = nil
	return g
}

func TestInboxGateway(t *testing.T) {
	in, st, _ := newTestInbox(t)
	g := fullGateway("gw_1")
	mustCreate(t, st, g)
	got, err := in.Gateway(t.Context(), "gw_1")
	if err != nil {
		t.Fatalf("Gateway: %v", err)
	}
	wantEqual(t, "Gateway", got, &inbox.Gateway{
		ID: g.ID, Type: g.Type, Status: g.Status, WebhookSecretHash: g.WebhookSecretHash,
		LastConnectedAt: g.LastConnectedAt, LastError: g.LastError,
	})
	_, err = in.Gateway(t.Context(), "gw_missing")
	wantCode(t, "Gateway of a missing id", err, gateway.CodeNotFound)
}

// TestInboxGatewayReadsNoCredentials proves the projection: the webhook
// never receives the sealed credentials.
func TestInboxGatewayReadsNoCredentials(t *testing.T) {
	st, client := newTestStore(t)
	mustCreate(t, st, fullGateway("gw_1"))
	spy := &spyAPI{ItemAPI: client}
	if _, err := NewInbox(spy, st.table).Gateway(t.Context(), "gw_1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := spy.lastItem["credentials"]; ok || len(spy.lastItem) == 0 {
		t.Fatalf("GetItem returned %v", keys(spy.lastItem))
	}
}

type spyAPI struct {
	ItemAPI
	lastItem map[string]types.AttributeValue
}

func (s *spyAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := s.ItemAPI.GetItem(ctx, in, optFns...)
	if err == nil {
		s.lastItem = out.Item
	}
	return out, err
}

func keys(m map[string]types.AttributeValue) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPutUpdate(t *testing.T) {
	in, _, client := newTestInbox(t)
	ctx := t.Context()
	received := t0.Add(time.Hour)
	u := &inbox.Update{
		GatewayID: "gw_1", UpdateID: 804532101, Type: "message",
		ChatID: ptr(int64(-1001234567890)), SenderID: ptr(int64(42)), MessageDate: ptr(t0),
		ReceivedAt: received, ExpiresAt: received.Add(7 * 24 * time.Hour),
		Raw: []byte(`{"update_id":804532101,"message":{"text":"héllo"}}`),
	}
	if err := in.PutUpdate(ctx, u); err != nil {
		t.Fatalf("PutUpdate: %v", err)
	}
	again := *u
	again.Raw = []byte(`{"update_id":804532101,"message":{"text":"changed"}}`)
	if err := in.PutUpdate(ctx, &again); !errors.Is(err, inbox.ErrDuplicate) {
		t.Fatalf("second PutUpdate: %v, want ErrDuplicate", err)
	}
	minimal := &inbox.Update{GatewayID: "gw_1", UpdateID: 7, Type: "poll", ReceivedAt: received, ExpiresAt: received.Add(time.Hour), Raw: []byte(`{"update_id":7,"poll":{}}`)}
	if err := in.PutUpdate(ctx, minimal); err != nil {
		t.Fatal(err)
	}

	got, err := in.ListUpdates(ctx, "gw_1", -1, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []inbox.Update{*minimal, *u}
	want[0].ExpiresAt = want[0].ExpiresAt.Truncate(time.Second)
	want[1].ExpiresAt = want[1].ExpiresAt.Truncate(time.Second)
	wantEqual(t, "ListUpdates", got, want)

	// The item as consumers of the stream see it.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &in.table, Key: map[string]types.AttributeValue{
		AttrPK: sv("GW#gw_1"), AttrSK: sv("UPDATE#00000000000804532101"),
	}})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("GetItem: %v, %d attributes", err, len(out.Item))
	}
	r := itemReader{m: out.Item}
	if r.str("raw") != string(u.Raw) || r.str("type") != "message" || r.num("ttl") != u.ExpiresAt.Unix() ||
		r.num("chatId") != -1001234567890 || r.str("receivedAt") != formatTime(received) || r.err != nil {
		t.Errorf("item %v", out.Item)
	}

	for _, bad := range []*inbox.Update{nil, {UpdateID: 1, Raw: []byte("{}")}, {GatewayID: "gw_1", UpdateID: -1, Raw: []byte("{}")}} {
		wantCode(t, fmt.Sprintf("PutUpdate(%+v)", bad), in.PutUpdate(ctx, bad), gateway.CodeInvalid)
	}
}

// TestPutUpdateLarge: updates over what an item holds are stored
// compressed; what does not fit even then is CodeTooLarge.
func TestPutUpdateLarge(t *testing.T) {
	in, _, _ := newTestInbox(t)
	ctx := t.Context()
	text := strings.Repeat("All work and no play makes Jack a dull boy. ", 20000) // ~900 KB
	big := &inbox.Update{GatewayID: "gw_1", UpdateID: 1, Type: "message", ReceivedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Raw: []byte(`{"update_id":1,"message":{"text":"` + text + `"}}`)}
	if err := in.PutUpdate(ctx, big); err != nil {
		t.Fatalf("PutUpdate of %d bytes: %v", len(big.Raw), err)
	}
	got, err := in.ListUpdates(ctx, "gw_1", -1, 1)
	if err != nil || len(got) != 1 || string(got[0].Raw) != string(big.Raw) {
		t.Fatalf("ListUpdates: %v, %d updates", err, len(got))
	}

	noise := make([]byte, 600<<10)
	_, _ = rand.Read(noise)
	random := &inbox.Update{GatewayID: "gw_1", UpdateID: 2, Type: "message", ReceivedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Raw: []byte(`{"update_id":2,"message":{"text":"` + base64.StdEncoding.EncodeToString(noise) + `"}}`)}
	wantCode(t, "PutUpdate of incompressible 800 KB", in.PutUpdate(ctx, random), gateway.CodeTooLarge)
}

func TestListUpdatesPages(t *testing.T) {
	in, _, _ := newTestInbox(t)
	ctx := t.Context()
	var want []int64
	for _, id := range []int64{3, 1, 1000, 20, 999999999999} {
		u := &inbox.Update{GatewayID: "gw_1", UpdateID: id, Type: "message", ReceivedAt: t0, ExpiresAt: t0, Raw: []byte("{}")}
		if err := in.PutUpdate(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	want = []int64{1, 3, 20, 1000, 999999999999} // numeric order: the padding
	// Another gateway's updates and the gateway's own items stay out.
	other := &inbox.Update{GatewayID: "gw_2", UpdateID: 2, Type: "message", ReceivedAt: t0, ExpiresAt: t0, Raw: []byte("{}")}
	if err := in.PutUpdate(ctx, other); err != nil {
		t.Fatal(err)
	}
	var got []int64
	after := int64(-1)
	for {
		page, err := in.ListUpdates(ctx, "gw_1", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			got = append(got, u.UpdateID)
		}
		after = page[len(page)-1].UpdateID
	}
	wantEqual(t, "update ids", got, want)
	_, err := in.ListUpdates(ctx, "gw_1", -1, 0)
	wantCode(t, "ListUpdates limit 0", err, gateway.CodeInvalid)
}

// TestReadUpdates: filters keep their type and chat, budgets of bytes and
// of examined updates end a page early, and Last always reaches the last
// update examined, matching or not, so a filtered reader never examines an
// update twice.
func TestReadUpdates(t *testing.T) {
	in, _, _ := newTestInbox(t)
	ctx := t.Context()
	chat := func(n int64) *int64 { return &n }
	for id := int64(1); id <= 9; id++ {
		typ, c := "message", int64(100)
		if id%3 == 0 {
			typ = "callback_query"
		}
		if id%2 == 0 {
			c = -5
		}
		raw := fmt.Sprintf(`{"update_id":%d,"%s":{"x":"%s"}}`, id, typ, strings.Repeat("a", 100))
		u := &inbox.Update{GatewayID: "gw_r", UpdateID: id, Type: typ, ChatID: chat(c), ReceivedAt: t0, ExpiresAt: t0, Raw: []byte(raw)}
		if err := in.PutUpdate(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(p inbox.UpdatePage) string {
		var out []int64
		for _, u := range p.Updates {
			out = append(out, u.UpdateID)
		}
		return fmt.Sprintf("%v last %d", out, p.Last)
	}
	for _, tt := range []struct {
		name string
		q    inbox.UpdateQuery
		want string
	}{
		{name: "all", q: inbox.UpdateQuery{After: -1, Limit: 100}, want: "[1 2 3 4 5 6 7 8 9] last 9"},
		{name: "a page", q: inbox.UpdateQuery{After: 2, Limit: 3}, want: "[3 4 5] last 5"},
		{name: "nothing newer", q: inbox.UpdateQuery{After: 9, Limit: 3}, want: "[] last 9"},
		{name: "by type", q: inbox.UpdateQuery{After: -1, Limit: 100, Type: "callback_query"}, want: "[3 6 9] last 9"},
		{name: "by type, a page", q: inbox.UpdateQuery{After: -1, Limit: 2, Type: "callback_query"}, want: "[3 6] last 8"},
		{name: "by chat", q: inbox.UpdateQuery{After: -1, Limit: 100, ChatID: chat(-5)}, want: "[2 4 6 8] last 9"},
		{name: "by type and chat", q: inbox.UpdateQuery{After: -1, Limit: 100, Type: "callback_query", ChatID: chat(-5)}, want: "[6] last 9"},
		{name: "no match moves on", q: inbox.UpdateQuery{After: 3, Limit: 100, Type: "poll"}, want: "[] last 9"},
		{name: "bytes end a page", q: inbox.UpdateQuery{After: -1, Limit: 100, MaxBytes: 300}, want: "[1 2] last 2"},
		{name: "one update past the bytes", q: inbox.UpdateQuery{After: -1, Limit: 100, MaxBytes: 10}, want: "[1] last 1"},
		{name: "examined bound", q: inbox.UpdateQuery{After: -1, Limit: 100, Type: "poll", MaxRead: 4}, want: "[] last 4"},
		{name: "examined bound with matches", q: inbox.UpdateQuery{After: -1, Limit: 100, Type: "callback_query", MaxRead: 7}, want: "[3 6] last 7"},
		{name: "newest", q: inbox.UpdateQuery{Newest: true, After: 2, Limit: 3}, want: "[7 8 9] last 9"},
		{name: "newest of a type", q: inbox.UpdateQuery{Newest: true, Limit: 2, Type: "callback_query"}, want: "[6 9] last 9"},
		{name: "newest, more than there are", q: inbox.UpdateQuery{Newest: true, Limit: 100, ChatID: chat(-5)}, want: "[2 4 6 8] last 9"},
		{name: "newest within the bytes", q: inbox.UpdateQuery{Newest: true, Limit: 100, MaxBytes: 300}, want: "[8 9] last 9"},
		{name: "newest, examined bound", q: inbox.UpdateQuery{Newest: true, Limit: 100, Type: "poll", MaxRead: 3}, want: "[] last 9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := in.ReadUpdates(ctx, "gw_r", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTouchConnected(t *testing.T) {
	in, st, _ := newTestInbox(t)
	ctx := t.Context()
	mustCreate(t, st, telegramGateway("gw_c", gateway.StatusConnected))
	mustCreate(t, st, telegramGateway("gw_d", gateway.StatusDisconnected))
	now := t0.Add(time.Hour)

	touch := func(id string, at time.Time) bool {
		t.Helper()
		ok, err := in.TouchConnected(ctx, id, at, at.Add(-time.Minute))
		if err != nil {
			t.Fatalf("TouchConnected(%s): %v", id, err)
		}
		return ok
	}
	if !touch("gw_c", now) {
		t.Fatal("first touch of a gateway never connected: not written")
	}
	if touch("gw_c", now.Add(30*time.Second)) {
		t.Fatal("touch 30 s later: written")
	}
	if !touch("gw_c", now.Add(61*time.Second)) {
		t.Fatal("touch 61 s later: not written")
	}
	g := mustGet(t, st, "gw_c")
	created := telegramGateway("gw_c", gateway.StatusConnected)
	if g.LastConnectedAt == nil || !g.LastConnectedAt.Equal(now.Add(61*time.Second)) || g.Version != created.Version || !g.UpdatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("after touches: lastConnectedAt %v, version %d, updatedAt %v; want the last touch and version, updatedAt unchanged", g.LastConnectedAt, g.Version, g.UpdatedAt)
	}
	if touch("gw_d", now) || mustGet(t, st, "gw_d").LastConnectedAt != nil {
		t.Fatal("a DISCONNECTED gateway was touched")
	}
	if touch("gw_missing", now) {
		t.Fatal("a missing gateway was touched")
	}
	if _, err := st.GetGateway(ctx, "gw_missing"); !gateway.IsCode(err, gateway.CodeNotFound) {
		t.Fatal("touching a missing gateway created it")
	}

	// Many containers at once: one write wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	later := now.Add(10 * time.Minute)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := in.TouchConnected(ctx, "gw_c", later, later.Add(-time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent touches written, want 1", wins)
	}
}

func TestRecoverWebhookError(t *testing.T) {
	in, st, _ := newTestInbox(t)
	ctx := t.Context()
	hook := telegramGateway("gw_hook", gateway.StatusError)
	hook.LastError = inbox.WebhookErrorPrefix + "Wrong response from the webhook: 502 Bad Gateway"
	mustCreate(t, st, hook)
	token := telegramGateway("gw_token", gateway.StatusError)
	token.LastError = "getMe: 401 Unauthorized"
	mustCreate(t, st, token)
	now := t0.Add(time.Hour)
	ev := func(id, evID string) gateway.AuditEvent {
		return gateway.AuditEvent{ID: evID, GatewayID: id, Action: gateway.AuditStatusChanged, Actor: gateway.Actor{System: "telegram-webhook"},
			At: now, Changes: []string{"status"}, Details: map[string]string{"from": "ERROR", "to": "CONNECTED"}}
	}

	ok, err := in.RecoverWebhookError(ctx, "gw_hook", now, ev("gw_hook", "ev-r1"))
	if err != nil || !ok {
		t.Fatalf("RecoverWebhookError: %v, %v", ok, err)
	}
	g := mustGet(t, st, "gw_hook")
	want := *hook
	want.Status, want.Version, want.UpdatedAt, want.LastConnectedAt = gateway.StatusConnected, hook.Version+1, now, &now
	want.LastError, want.LastErrorAt = "", nil // the error is over; the trail keeps it
	wantEqual(t, "recovered gateway", g, &want)
	trail := allAudit(t, st, "gw_hook")
	if len(trail) != 2 || trail[0].ID != "ev-r1" {
		t.Fatalf("audit trail %+v", trail)
	}

	// Not again: it is CONNECTED now. Nothing is written, not even the event.
	if ok, err := in.RecoverWebhookError(ctx, "gw_hook", now, ev("gw_hook", "ev-r2")); ok || err != nil {
		t.Fatalf("second recovery: %v, %v", ok, err)
	}
	if n := len(allAudit(t, st, "gw_hook")); n != 2 {
		t.Fatalf("%d audit events after a refused recovery", n)
	}
	// Another kind of error stays.
	if ok, err := in.RecoverWebhookError(ctx, "gw_token", now, ev("gw_token", "ev-r3")); ok || err != nil {
		t.Fatalf("recovery of a token error: %v, %v", ok, err)
	}
	if g := mustGet(t, st, "gw_token"); g.Status != gateway.StatusError || g.Version != token.Version {
		t.Fatalf("token error gateway changed: %+v", g)
	}
	if ok, err := in.RecoverWebhookError(ctx, "gw_missing", now, ev("gw_missing", "ev-r4")); ok || err != nil {
		t.Fatalf("recovery of a missing gateway: %v, %v", ok, err)
	}

	// A user's edit based on the ERROR gateway no longer applies.
	stale := *hook
	stale.Name, stale.Version = "renamed", hook.Version+1
	err = st.UpdateGateway(ctx, &stale, hook.Version, event("gw_hook", "ev-edit", gateway.AuditUpdated, now))
	wantCode(t, "edit of the pre-recovery version", err, gateway.CodeVersionMismatch)
}

func TestInboxUnavailable(t *testing.T) {
	client := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{},
	})
	in := NewInbox(client, "t")
	ctx := t.Context()
	_, err := in.Gateway(ctx, "gw_1")
	wantCode(t, "Gateway", err, gateway.CodeUnavailable)
	err = in.PutUpdate(ctx, &inbox.Update{GatewayID: "gw_1", UpdateID: 1, Raw: []byte("{}")})
	wantCode(t, "PutUpdate", err, gateway.CodeUnavailable)
	_, err = in.TouchConnected(ctx, "gw_1", t0, t0)
	wantCode(t, "TouchConnected", err, gateway.CodeUnavailable)
	_, err = in.RecoverWebhookError(ctx, "gw_1", t0, event("gw_1", "e", gateway.AuditStatusChanged, t0))
	wantCode(t, "RecoverWebhookError", err, gateway.CodeUnavailable)
}
