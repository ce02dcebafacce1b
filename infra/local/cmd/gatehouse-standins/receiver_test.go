package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
)

// delivery is what a route's WEBHOOK delivery posts.
const delivery = `{"type":"telegram.update","gatewayId":"gw_bot","routeId":"rt_1","updateId":500001,"update":{"update_id":500001,"message":{"text":"hi"}}}`

// post sends body to the receiver, signed with secret ("" for no
// signature), as Gatehouse's webhook provider would sign it.
func post(t *testing.T, rc *receiver, target, secret, id string, at time.Time, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderID, id)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	if secret != "" {
		key, err := webhook.SigningKey(secret)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(key, id, at, []byte(body)))
	}
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, req)
	return w
}

func list(t *testing.T, rc *receiver) []received {
	t.Helper()
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/_standin/receiver/requests", nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /_standin/receiver/requests = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var out struct {
		Requests []received `json:"requests"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Requests
}

func mustReceiver(t *testing.T, secret string) (*receiver, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	rc, err := newReceiver(secret, &out)
	if err != nil {
		t.Fatal(err)
	}
	rc.now = func() time.Time { return time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC) }
	return rc, &out
}

// TestReceiverSignature: a request is signatureValid only when signed with
// the receiver's secret over its own id, timestamp and body; it is
// answered 200 either way (the receiver records, it does not judge).
func TestReceiverSignature(t *testing.T) {
	now := time.Now()
	raw := "a-plain-signing-secret-of-32-chars"
	tests := []struct {
		name    string
		secret  string // the receiver's
		signer  string // the sender's; "" sends no signature
		mangle  func(r *http.Request)
		want    bool
		wantOut string
	}{
		{name: "signed with the default whsec_ secret", secret: DefaultReceiverSecret, signer: DefaultReceiverSecret, want: true, wantOut: "signature=valid"},
		{name: "signed with a raw secret", secret: raw, signer: raw, want: true},
		{name: "signed with another secret", secret: DefaultReceiverSecret, signer: "whsec_" + base64.StdEncoding.EncodeToString([]byte("some-other-key-0123456789")), want: false, wantOut: "signature=invalid"},
		{name: "unsigned", secret: DefaultReceiverSecret, signer: "", want: false},
		{name: "another valid signature among several", secret: raw, signer: raw, mangle: func(r *http.Request) {
			r.Header.Set(webhook.HeaderSignature, "v1,bm90LXRoaXMtb25l "+r.Header.Get(webhook.HeaderSignature))
		}, want: true},
		{name: "timestamp changed after signing", secret: raw, signer: raw, mangle: func(r *http.Request) {
			r.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
		}, want: false},
		{name: "timestamp not Unix seconds", secret: raw, signer: raw, mangle: func(r *http.Request) {
			r.Header.Set(webhook.HeaderTimestamp, now.Format(time.RFC3339))
		}, want: false},
		{name: "id changed after signing", secret: raw, signer: raw, mangle: func(r *http.Request) {
			r.Header.Set(webhook.HeaderID, "msg_other")
		}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, out := mustReceiver(t, tt.secret)
			req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(delivery))
			req.Header.Set(webhook.HeaderID, "msg_1")
			req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
			if tt.signer != "" {
				key, err := webhook.SigningKey(tt.signer)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set(webhook.HeaderSignature, webhook.Sign(key, "msg_1", now, []byte(delivery)))
			}
			if tt.mangle != nil {
				tt.mangle(req)
			}
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			got := list(t, rc)
			if len(got) != 1 || got[0].SignatureValid != tt.want {
				t.Fatalf("requests %+v, want one with signatureValid %v", got, tt.want)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("printed %q, want it to contain %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestReceiverStatus: ?status= on the receiving URL sets the answer, so a
// developer can point a WEBHOOK gateway at a failing consumer.
func TestReceiverStatus(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   int
		kept   bool
	}{
		{name: "default", target: "/hook", want: http.StatusOK, kept: true},
		{name: "a failing consumer", target: "/hook?status=503", want: http.StatusServiceUnavailable, kept: true},
		{name: "a refused signature", target: "/hook?status=401", want: http.StatusUnauthorized, kept: true},
		{name: "another success", target: "/hook?status=204", want: http.StatusNoContent, kept: true},
		{name: "not a number", target: "/hook?status=boom", want: http.StatusBadRequest},
		{name: "not a final status", target: "/hook?status=100", want: http.StatusBadRequest},
		{name: "out of range", target: "/hook?status=600", want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, _ := mustReceiver(t, DefaultReceiverSecret)
			w := post(t, rc, tt.target, DefaultReceiverSecret, "msg_1", time.Now(), delivery)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
			got := list(t, rc)
			if tt.kept != (len(got) == 1) {
				t.Fatalf("kept %d requests, want kept %v", len(got), tt.kept)
			}
			if tt.kept && (got[0].Status != tt.want || got[0].Path != "/hook") {
				t.Errorf("recorded status %d path %q, want %d /hook", got[0].Status, got[0].Path, tt.want)
			}
		})
	}
}

// TestReceiverListing: the newest receiverKept requests, oldest first, with
// the Standard Webhooks headers, the path and the body parsed as JSON; one
// line printed per request.
func TestReceiverListing(t *testing.T) {
	rc, out := mustReceiver(t, DefaultReceiverSecret)
	if got := list(t, rc); len(got) != 0 {
		t.Fatalf("a new receiver lists %v", got)
	}
	at := time.Unix(1772361000, 0)
	for i := range receiverKept + 5 {
		body := fmt.Sprintf(`{"type":"telegram.update","gatewayId":"gw_bot","routeId":"rt_1","updateId":%d,"update":{"update_id":%d}}`, i, i)
		if w := post(t, rc, fmt.Sprintf("/hooks/%d", i), DefaultReceiverSecret, fmt.Sprintf("msg_%d", i), at, body); w.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, w.Code)
		}
	}
	post(t, rc, "/plain", "", "", at, "not json")

	got := list(t, rc)
	if len(got) != receiverKept {
		t.Fatalf("lists %d requests, want %d", len(got), receiverKept)
	}
	first := got[0]
	if first.WebhookID != "msg_6" || first.Path != "/hooks/6" || first.Timestamp != "1772361000" || !first.SignatureValid || first.Status != 200 ||
		!first.ReceivedAt.Equal(time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("oldest kept = %+v", first)
	}
	var body struct {
		Type     string         `json:"type"`
		UpdateID int            `json:"updateId"`
		Update   map[string]int `json:"update"`
	}
	if err := json.Unmarshal(first.Body, &body); err != nil || body.Type != "telegram.update" || body.UpdateID != 6 || body.Update["update_id"] != 6 {
		t.Errorf("oldest kept body %s (%v), want the delivery of update 6 as JSON", first.Body, err)
	}
	last := got[len(got)-1]
	if last.Path != "/plain" || last.WebhookID != "" || last.SignatureValid || string(last.Body) != `"not json"` {
		t.Errorf("newest = %+v, want the unsigned plain-text request with its body as a string", last)
	}

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != receiverKept+6 {
		t.Fatalf("printed %d lines, want %d", len(lines), receiverKept+6)
	}
	if want := "receiver: 10:30:00 /hooks/0 webhook-id=msg_0 type=telegram.update updateId=0 signature=valid → 200"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := "receiver: 10:30:00 /plain webhook-id=- type=- signature=invalid → 200"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
}

// TestReceiverReplayLine: a replayed delivery says so in its line.
func TestReceiverReplayLine(t *testing.T) {
	rc, out := mustReceiver(t, DefaultReceiverSecret)
	post(t, rc, "/hook?status=503", DefaultReceiverSecret, "msg_r", time.Now(), `{"type":"telegram.update","updateId":7,"replay":true,"update":{}}`)
	if !strings.Contains(out.String(), "webhook-id=msg_r type=telegram.update updateId=7 replay signature=valid → 503") {
		t.Errorf("printed %q", out.String())
	}
}

// TestReceiverMethods: POST anywhere, GET only the listing.
func TestReceiverMethods(t *testing.T) {
	rc, _ := mustReceiver(t, DefaultReceiverSecret)
	for _, tt := range []struct{ method, target string }{
		{http.MethodGet, "/hook"},
		{http.MethodPut, "/hook"},
		{http.MethodPost, "/_standin/receiver/requests"},
		{http.MethodDelete, "/_standin/receiver/requests"},
	} {
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, strings.NewReader("{}")))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
			t.Errorf("%s %s = %d (Allow %q), want 405 with Allow", tt.method, tt.target, w.Code, w.Header().Get("Allow"))
		}
	}
	if got := list(t, rc); len(got) != 0 {
		t.Errorf("refused requests were recorded: %v", got)
	}
}

// TestReceiverSecretMustDecode: a "whsec_" secret that is not base64 stops
// the stand-in at start instead of marking every request invalid.
func TestReceiverSecretMustDecode(t *testing.T) {
	if _, err := newReceiver("whsec_not base64!", &bytes.Buffer{}); err == nil {
		t.Fatal("newReceiver with a malformed whsec_ secret: want an error")
	}
}
