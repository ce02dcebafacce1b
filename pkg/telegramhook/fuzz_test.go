package telegramhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/inbox/inboxtest"
)

// Webhook fuzz world: gateways of every kind the handler tells apart.
var (
	fuzzHookOK       = gateway.NewID() // TELEGRAM_BOT, CONNECTED, with a secret
	fuzzHookNoSecret = gateway.NewID() // TELEGRAM_BOT without a secret
	fuzzHookError    = gateway.NewID() // TELEGRAM_BOT in ERROR from webhook delivery
	fuzzHookAI       = gateway.NewID() // not a Telegram gateway
	fuzzHookMissing  = gateway.NewID() // no such gateway
	fuzzHookIDs      = []string{fuzzHookOK, fuzzHookNoSecret, fuzzHookError, fuzzHookAI, fuzzHookMissing}
)

func fuzzHookStore() *fakeStore {
	st := newFakeStore()
	st.add(fuzzHookOK, secret)
	st.add(fuzzHookNoSecret, "")
	g := st.add(fuzzHookError, secret)
	g.Status, g.LastError = gateway.StatusError, inbox.WebhookErrorPrefix+"Wrong response from the webhook: 502 Bad Gateway"
	st.set(g)
	st.set(&inbox.Gateway{ID: fuzzHookAI, Type: gateway.TypeAI, Status: gateway.StatusConnected, WebhookSecretHash: hashOf(secret)})
	return st
}

// gatewaysOf renders the store's gateways, to see whether any changed.
func gatewaysOf(st *fakeStore) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var b strings.Builder
	for _, id := range fuzzHookIDs {
		if g, ok := st.gateways[id]; ok {
			fmt.Fprintf(&b, "%+v|%v\n", *g, g.LastConnectedAt)
		}
	}
	return b.String()
}

// FuzzWebhook sends arbitrary requests to the telegram-webhook handler over
// the in-package fake store, which the input may tell to fail. The handler
// never panics and answers no 5xx but a 503 when the store failed; every
// refusal is problem+json with the HTTP status; a refused request stores
// no update and writes no gateway; a 200 POST stored exactly the body it
// was sent; the secret is in no answer and no log line.
func FuzzWebhook(f *testing.F) {
	post := func(sel byte, secretOK bool, body string) {
		f.Add(uint8(0), string([]byte{sel}), secretOK, "x-telegram-bot-api-secret-token", "", body, false, uint8(0))
	}
	for _, b := range inboxtest.Fixtures(f) {
		post(0, true, string(b))
	}
	for _, s := range inboxtest.ParseSeeds {
		post(0, true, s)
	}
	post(0, false, updateBody(1))
	post(1, true, updateBody(1))
	post(2, true, updateBody(1))
	post(3, true, updateBody(1))
	post(4, true, updateBody(1))
	f.Add(uint8(0), "\x00", true, "X-Telegram-Bot-Api-Secret-Token", "", base64.StdEncoding.EncodeToString([]byte(updateBody(2))), true, uint8(0))
	f.Add(uint8(0), "\x00", true, "x-telegram-bot-api-secret-token", "", "%%%", true, uint8(0))
	f.Add(uint8(0), "\x00", true, "x-telegram-bot-api-secret-token", "", updateBody(3), false, uint8(1))
	f.Add(uint8(0), "\x00", true, "x-telegram-bot-api-secret-token", "", updateBody(3), false, uint8(2))
	f.Add(uint8(1), "\x00", false, "", "", "", false, uint8(0))
	f.Add(uint8(2), "\x00", true, "x-telegram-bot-api-secret-token", "", updateBody(4), false, uint8(0))
	f.Add(uint8(0), "../../etc/passwd", false, "x-telegram-bot-api-secret-token", "guess", updateBody(5), false, uint8(0))

	f.Fuzz(func(t *testing.T, method uint8, id string, secretOK bool, headerName, secretValue, body string, b64 bool, fail uint8) {
		st := fuzzHookStore()
		switch fail % 3 {
		case 1:
			st.readErr = &gateway.Error{Code: gateway.CodeUnavailable, Message: "down"}
		case 2:
			st.putErr = &gateway.Error{Code: gateway.CodeUnavailable, Message: "down"}
		}
		var logs bytes.Buffer
		clk := newClock()
		h := New(st, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), WithClock(clk.Now))

		m := []string{http.MethodPost, http.MethodGet, http.MethodPut, ""}[int(method)%4]
		if len(id) == 1 {
			id = fuzzHookIDs[int(id[0])%len(fuzzHookIDs)]
		}
		if secretOK {
			secretValue = secret
		}
		ev := request(m, id, "", body)
		ev.IsBase64Encoded = b64
		if headerName != "" {
			ev.Headers[headerName] = secretValue
		}
		before := gatewaysOf(st)
		resp, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		code := resp.StatusCode
		switch {
		case code == http.StatusServiceUnavailable && fail%3 != 0:
		case code >= 500:
			t.Fatalf("status %d without a store failure: %s (logs %s)", code, resp.Body, logs.String())
		}
		if code != http.StatusOK {
			var p edge.Problem
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != code || !strings.HasPrefix(p.Type, edge.ProblemTypeBase) ||
				resp.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("status %d with %q (%v)", code, resp.Body, err)
			}
			if len(st.updates) > 0 || len(st.events) > 0 || gatewaysOf(st) != before {
				t.Fatalf("a refused request (%d) stored or wrote something", code)
			}
		}
		if code == http.StatusOK && m == http.MethodPost {
			raw := []byte(body)
			if b64 {
				raw, _ = base64.StdEncoding.DecodeString(body)
			}
			u, err := inbox.ParseUpdate(raw)
			if err != nil {
				t.Fatalf("200 for a body inbox.ParseUpdate refuses: %v", err)
			}
			got := st.stored(id)[u.UpdateID]
			if len(st.updates) != 1 || got == nil || !bytes.Equal(got.Raw, raw) || !got.ReceivedAt.Equal(clk.Now()) ||
				!got.ExpiresAt.Equal(clk.Now().Add(inbox.DefaultUpdateTTL)) {
				t.Fatalf("200 but the store holds %d updates (%+v)", len(st.updates), got)
			}
		}
		secrets := []string{string(hashOf(secret)), base64.StdEncoding.EncodeToString(hashOf(secret)), fmt.Sprintf("%x", hashOf(secret))}
		if !strings.Contains(id+headerName+body, secret) {
			secrets = append(secrets, secret)
		}
		for _, s := range secrets {
			if strings.Contains(resp.Body, s) || strings.Contains(logs.String(), s) {
				t.Fatal("the secret or its hash is in the answer or the logs")
			}
		}
	})
}
