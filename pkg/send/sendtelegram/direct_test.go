package sendtelegram_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
	"github.com/gatehouse/gatehouse/pkg/send/sendtest"
)

// TestDirectSendsAtOnceWhenIdle: the action route's sendMessage, with no
// sender running, is sent by the caller under the bot's lease and
// answers Telegram's message.
func TestDirectSendsAtOnceWhenIdle(t *testing.T) {
	store := sendtest.NewStore()
	b := newBed(t, store, 5, nil)
	d := send.NewDirect(b.svc, b.engine, store, sendtelegram.Calls{}, 5*time.Second)
	start := time.Now()
	raw, err := d.SendNow(context.Background(), b.actor, b.gws.g.ID, "sendMessage", json.RawMessage(`{"chat_id":42,"text":"now"}`))
	if err != nil {
		t.Fatalf("SendNow: %v", err)
	}
	var m struct {
		MessageID int64              `json:"message_id"`
		Chat      struct{ ID int64 } `json:"chat"`
		Text      string             `json:"text"`
	}
	if json.Unmarshal(raw, &m) != nil || m.MessageID == 0 || m.Chat.ID != 42 || m.Text != "now" {
		t.Errorf("result %s", raw)
	}
	t.Logf("sent through the queue in %v", time.Since(start))
	// Bad parameters are named as the action's body has them; nothing is
	// queued or sent.
	_, err = d.SendNow(context.Background(), b.actor, b.gws.g.ID, "sendMessage", json.RawMessage(`{"chat_id":true}`))
	var ge *gateway.Error
	if !errorAs(err, &ge) || ge.Code != gateway.CodeInvalid || fmt.Sprint(fieldNames(ge.Fields)) != "[params.chat_id params.text]" {
		t.Errorf("bad params: %v %+v", err, ge.Fields)
	}
	if n := len(b.tg.Messages(token)); n != 1 {
		t.Errorf("%d messages sent", n)
	}
}

func fieldNames(fs []gateway.FieldError) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// TestDirectWaitsForTheRunningSender: while another sender holds the
// bot's lease, the message waits for it (it goes before that sender's
// bulk jobs); when the wait ends first, the answer names the job, which
// is still sent.
func TestDirectWaitsForTheRunningSender(t *testing.T) {
	store := sendtest.NewStore()
	b := newBed(t, store, 5, nil)
	ctx := context.Background()
	now := time.Now()
	if _, ok, err := store.Acquire(ctx, b.gws.g.ID, "busy", now.Add(time.Hour), now); err != nil || !ok {
		t.Fatalf("Acquire: %v %v", ok, err)
	}
	d := send.NewDirect(b.svc, b.engine, store, sendtelegram.Calls{}, 300*time.Millisecond)
	_, err := d.SendNow(ctx, b.actor, b.gws.g.ID, "sendMessage", json.RawMessage(`{"chat_id":7,"text":"later"}`))
	var ge *gateway.Error
	if !errorAs(err, &ge) || ge.Code != gateway.CodeUnavailable {
		t.Fatalf("with the lease held: %v", err)
	}
	if n := len(b.tg.Messages(token)); n != 0 {
		t.Errorf("%d messages sent around the running sender", n)
	}
	// The running sender goes away; the next one sends the queued message.
	if err := store.Release(ctx, b.gws.g.ID, "busy", send.PacerState{}); err != nil {
		t.Fatal(err)
	}
	b.run(10 * time.Second)
	if msgs := b.tg.Messages(token); len(msgs) != 1 || msgs[0].Text != "later" {
		t.Errorf("sent %+v", msgs)
	}
}

// sealedGateways is gateways whose credentials cannot be opened while
// down is set: KMS unreachable.
type sealedGateways struct {
	gateways
	down *atomic.Bool
}

func (s sealedGateways) Credentials(ctx context.Context, g *gateway.Gateway) (gateway.Credentials, error) {
	if s.down.Load() {
		return gateway.Credentials{}, &gateway.Error{Code: gateway.CodeUnavailable, Message: "KMS could not be reached."}
	}
	return s.gateways.Credentials(ctx, g)
}

// TestDirectAnswersAStoredJobAsQueued: when the bot cannot be opened
// (KMS down) after the message's job is stored, the call answers 503
// naming the job — it is queued, and a sender sends it once KMS is back —
// rather than an error that would invite the client to send it again.
func TestDirectAnswersAStoredJobAsQueued(t *testing.T) {
	store := sendtest.NewStore()
	b := newBed(t, store, 5, nil)
	down := &atomic.Bool{}
	down.Store(true)
	sealed := sealedGateways{gateways: b.gws, down: down}
	engine := send.NewEngine(store, sendtelegram.NewBots(sealed, b.tgURL, nil), sendtelegram.Formatter{}, send.EngineOptions{Poll: 500 * time.Millisecond})
	d := send.NewDirect(b.svc, engine, store, sendtelegram.Calls{}, 5*time.Second)
	_, err := d.SendNow(context.Background(), b.actor, b.gws.g.ID, "sendPhoto", json.RawMessage(`{"chat_id":42,"photo":"AgACAgIAAxkBAAIBcat"}`))
	var ge *gateway.Error
	if !errorAs(err, &ge) || ge.Code != gateway.CodeUnavailable || !strings.Contains(ge.Message, "/messages/job_") || ge.RetryAfter == 0 {
		t.Fatalf("with KMS down: %v", err)
	}
	if n := len(b.tg.Calls("sendPhoto")); n != 0 {
		t.Fatalf("%d photos sent with KMS down", n)
	}
	down.Store(false)
	b.run(10 * time.Second)
	if n := len(b.tg.Calls("sendPhoto")); n != 1 {
		t.Errorf("%d photos sent once KMS was back, want 1", n)
	}
}
