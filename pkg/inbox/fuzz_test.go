package inbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// addFixtures adds every real update of testdata/ as a seed.
func addFixtures(f *testing.F, add func(body []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	if len(files) == 0 {
		f.Fatal("no fixtures in testdata/")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// parseSeeds are TestParseUpdate's refusals and edge cases.
var parseSeeds = []string{
	`{"update_id":1,`, `{"update_id":1} x`, `[{"update_id":1}]`, `null`, `"update"`, `1`, ``,
	`{"message":{}}`, `{"update_id":"1"}`, `{"update_id":1.5}`, `{"update_id":1e3}`, `{"update_id":-4}`,
	`{"update_id":null}`, `{"update_id":9223372036854775808}`, "{\"update_id\":1,\"message\":{\"text\":\"\xff\xfe\"}}",
	`{"update_id":{}}`, `{"update_id":7}`, `{"update_id":0,"poll":{"id":"1"}}`,
	`{"update_id":8,"zz_future":{"chat":{"id":5}},"aa_future":{"chat":{"id":3}}}`,
	`{"update_id":9,"aa_future":{},"message":{"chat":{"id":4}}}`,
	`{"update_id":10,"message":{"chat":{"id":"x"},"date":"y","from":{"id":6}}}`,
	`{"update_id":11,"message":5}`, `{"update_id":12,"message":null,"callback_query":{"message":{"chat":{"id":1},"date":-5}}}`,
	`{"update_id":13,"UPDATE_ID":14,"Message":{"chat":{"id":1}}}`,
}

// FuzzParseUpdate feeds ParseUpdate arbitrary bodies. It never panics; it
// refuses with a CodeInvalid *Error, or returns the body itself as Raw, the
// update_id the body holds, a type that is "unknown" or one of the body's
// fields, and ids and a date only where the body has them.
func FuzzParseUpdate(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	addFixtures(f, func(b []byte) { f.Add(b) })

	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := ParseUpdate(body)
		if err != nil {
			var e *gateway.Error
			if !errors.As(err, &e) || e.Code != gateway.CodeInvalid || e.Message == "" || len(e.Fields) > 0 {
				t.Fatalf("error %#v is not a plain CodeInvalid *gateway.Error", err)
			}
			return
		}
		if !bytes.Equal(u.Raw, body) {
			t.Fatal("Raw is not the body")
		}
		if len(body) > MaxBodyBytes {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatalf("accepted a body that is not a JSON object: %v", err)
		}
		if id, err := strconv.ParseInt(string(top["update_id"]), 10, 64); err != nil || id != u.UpdateID || id < 0 {
			t.Fatalf("update_id %d, the body's is %s", u.UpdateID, top["update_id"])
		}
		if _, ok := top[u.Type]; (!ok || u.Type == "update_id") && u.Type != "unknown" {
			t.Fatalf("type %q is not a field of the update", u.Type)
		}
		if u.ChatID != nil && *u.ChatID == 0 || u.SenderID != nil && *u.SenderID == 0 {
			t.Fatal("a zero id was extracted")
		}
		if u.MessageDate != nil && u.MessageDate.Unix() <= 0 {
			t.Fatalf("date %v is not after the epoch", u.MessageDate)
		}
		if u.GatewayID != "" || !u.ReceivedAt.IsZero() || !u.ExpiresAt.IsZero() {
			t.Fatal("ParseUpdate set the caller's fields")
		}
	})
}

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
	g.Status, g.LastError = gateway.StatusError, WebhookErrorPrefix+"Wrong response from the webhook: 502 Bad Gateway"
	st.set(g)
	st.set(&Gateway{ID: fuzzHookAI, Type: gateway.TypeAI, Status: gateway.StatusConnected, WebhookSecretHash: hashOf(secret)})
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
	addFixtures(f, func(b []byte) { post(0, true, string(b)) })
	for _, s := range parseSeeds {
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
			var p httpapi.Problem
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != code || !strings.HasPrefix(p.Type, httpapi.ProblemTypeBase) ||
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
			u, err := ParseUpdate(raw)
			if err != nil {
				t.Fatalf("200 for a body ParseUpdate refuses: %v", err)
			}
			got := st.stored(id)[u.UpdateID]
			if len(st.updates) != 1 || got == nil || !bytes.Equal(got.Raw, raw) || !got.ReceivedAt.Equal(clk.Now()) ||
				!got.ExpiresAt.Equal(clk.Now().Add(DefaultUpdateTTL)) {
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
