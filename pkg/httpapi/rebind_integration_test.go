package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// withWebhook adds the telegram-webhook function over h's table, with
// its default cache, on a settable clock.
func (h *harness) withWebhook() *fakeclock.Clock {
	clock := fakeclock.New(time.Now())
	hook := telegramhook.New(dynamo.NewInbox(h.ddb, h.table), telegramhook.WithLogger(h.log), telegramhook.WithClock(clock.Now))
	h.handlers[telegramhook.FnTelegramWebhook] = hook.Handle
	return clock
}

// deliver posts update id to gateway gw's webhook with secret, as
// Telegram would, and returns the status.
func (h *harness) deliver(gw, secret string, id int) int {
	h.t.Helper()
	body := `{"update_id":` + strconv.Itoa(id) + `,"message":{"message_id":1,"date":1735732800,"chat":{"id":7,"type":"private"},"text":"hi"}}`
	r := h.doWith(caller{}, req{fn: telegramhook.FnTelegramWebhook, method: "POST", body: body,
		headers: map[string]string{telegramhook.SecretHeader: secret}}, func(e *eventT) {
		e.PathParameters = map[string]string{"gatewayId": gw}
	})
	return r.status
}

// claimHolder is the gateway holding bot's claim, "" when none.
func (h *harness) claimHolder(bot string) string {
	h.t.Helper()
	out, err := h.ddb.GetItem(h.t.Context(), &dynamodb.GetItemInput{TableName: aws.String(h.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "BOT#" + bot}, "sk": &types.AttributeValueMemberS{Value: "CLAIM"}}})
	if err != nil {
		h.t.Fatal(err)
	}
	if v, ok := out.Item["gatewayId"].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// TestReplacingBotTokenRebinds: replacing a connected gateway's bot token
// (issue 16, item 6) deletes the old bot's webhook, registers the new
// bot's with a new secret, and moves the bot claim; the old secret is
// refused at the webhook route, the new one accepted. If the new bot's
// registration fails, the gateway is ERROR with lastError and holds no
// secret and no claim.
func TestReplacingBotTokenRebinds(t *testing.T) {
	h := newHarness(t)
	clock := h.withWebhook()
	alice := user("alice")
	g := h.create(alice, telegramBody("bot"))
	if r := h.setStatus(alice, g.ID, "CONNECTED"); r.status != http.StatusOK {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	oldHook, _ := h.tg.Webhook(botToken)
	if !strings.HasSuffix(oldHook.URL, "/"+g.ID) || oldHook.SecretToken == "" {
		t.Fatalf("the old bot's webhook after connecting: %+v", oldHook)
	}
	if st := h.deliver(g.ID, oldHook.SecretToken, 1); st != http.StatusOK {
		t.Fatalf("an update with the secret before the change: %d", st)
	}

	r := h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"credentials":{"botToken":"` + botToken2 + `"}}`})
	if r.status != http.StatusOK {
		t.Fatalf("replace the token: %d %s", r.status, r.body)
	}
	var got httpapi.GatewayJSON
	r.decode(t, &got)
	if got.Status != gateway.StatusConnected || got.CredentialInfo["botId"] != "987654321" {
		t.Errorf("after the change: %s, botId %v", got.Status, got.CredentialInfo["botId"])
	}
	if wh, _ := h.tg.Webhook(botToken); wh.URL != "" {
		t.Errorf("the old bot's webhook is still %q", wh.URL)
	}
	deleted := 0
	for _, c := range h.tg.Calls("deleteWebhook") {
		if c.Token == botToken {
			deleted++
		}
	}
	if deleted != 1 {
		t.Errorf("deleteWebhook called %d times for the old bot, want 1", deleted)
	}
	newHook, _ := h.tg.Webhook(botToken2)
	if !strings.HasSuffix(newHook.URL, "/"+g.ID) || newHook.SecretToken == "" || newHook.SecretToken == oldHook.SecretToken {
		t.Errorf("the new bot's webhook: %q, a new secret %v", newHook.URL, newHook.SecretToken != oldHook.SecretToken)
	}
	if a, b := h.claimHolder("123456789"), h.claimHolder("987654321"); a != "" || b != g.ID {
		t.Errorf("claims: old bot held by %q, new bot by %q; want none and %s", a, b, g.ID)
	}
	trail := h.trail(alice, g.ID)
	if len(trail) < 2 || trail[0].Details["to"] != "CONNECTED" || trail[0].Details["oldWebhook"] != "removed" ||
		trail[1].Action != gateway.AuditUpdated || trail[1].Details["to"] != "CONNECTING" {
		t.Errorf("trail %+v", trail[:min(2, len(trail))])
	}

	// A warm webhook container trusts what it read for its cache's TTL
	// (telegramhook.DefaultCacheTTL, bounded by MaxCacheTTL); past it the
	// old secret is refused everywhere. The new one works at once.
	if st := h.deliver(g.ID, newHook.SecretToken, 2); st != http.StatusOK {
		t.Errorf("an update with the new secret: %d", st)
	}
	clock.Advance(telegramhook.DefaultCacheTTL + time.Second)
	if st := h.deliver(g.ID, oldHook.SecretToken, 3); st != http.StatusUnauthorized {
		t.Errorf("an update with the old secret: %d, want 401", st)
	}
	if st := h.deliver(g.ID, newHook.SecretToken, 4); st != http.StatusOK {
		t.Errorf("an update with the new secret: %d", st)
	}

	// Registering the next bot fails: ERROR with lastError, no secret, no
	// claim; the update itself stands.
	const botToken3 = "555555555:QQHdqTcvCH1vGWJxfSeofSAs0K5PALDqqq3"
	h.tg.AddBot(telegramtest.Bot{Token: botToken3})
	h.tg.Fail(telegramtest.Failure{Method: "setWebhook", ErrorCode: http.StatusBadRequest, Description: "Bad Request: bad webhook"})
	r = h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"credentials":{"botToken":"` + botToken3 + `"}}`})
	if r.status != http.StatusOK {
		t.Fatalf("replace the token again: %d %s", r.status, r.body)
	}
	r.decode(t, &got)
	if got.Status != gateway.StatusError || got.LastError == nil || got.CredentialInfo["botId"] != "555555555" {
		t.Errorf("after a failed registration: %s, lastError %v, botId %v", got.Status, got.LastError, got.CredentialInfo["botId"])
	}
	if wh, _ := h.tg.Webhook(botToken2); wh.URL != "" {
		t.Errorf("the second bot's webhook is still %q", wh.URL)
	}
	stored, err := h.store.GetGateway(t.Context(), g.ID)
	if err != nil || stored.WebhookSecretHash != nil || stored.ClaimedBot != "" {
		t.Errorf("stored after a failed registration: %v, secret %v, claim %q", err, stored.WebhookSecretHash != nil, stored.ClaimedBot)
	}
	for _, bot := range []string{"123456789", "987654321", "555555555"} {
		if holder := h.claimHolder(bot); holder != "" {
			t.Errorf("bot %s is claimed by %s", bot, holder)
		}
	}
	clock.Advance(telegramhook.DefaultCacheTTL + time.Second)
	if st := h.deliver(g.ID, newHook.SecretToken, 5); st != http.StatusUnauthorized {
		t.Errorf("an update with the second bot's secret: %d, want 401", st)
	}
}
