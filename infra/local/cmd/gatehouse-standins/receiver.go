package main

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
)

// DefaultReceiverSecret is the signing secret the receiver checks unless
// -receiver-secret names another: give it to the WEBHOOK gateway that points
// at the receiver. It is a fixed, public value, for local use only.
const DefaultReceiverSecret = "whsec_Z2F0ZWhvdXNlLWxvY2FsLXJlY2VpdmVyLWtleS0wMDAx"

// receiverKept is how many requests the receiver remembers, newest kept.
const receiverKept = 200

// receiverMaxBody bounds a request's body; Gatehouse's deliveries are far smaller.
const receiverMaxBody = 1 << 20

// received is one request as GET /_standin/receiver/requests lists it.
type received struct {
	WebhookID      string          `json:"webhook-id"`
	Timestamp      string          `json:"timestamp"`
	ReceivedAt     time.Time       `json:"receivedAt"`
	SignatureValid bool            `json:"signatureValid"`
	Path           string          `json:"path"`
	Status         int             `json:"status"`
	Body           json.RawMessage `json:"body"`
}

// receiver is the webhook receiver stand-in: the consumer a WEBHOOK
// gateway's deliveries reach. It accepts a POST on any path, checks its
// Standard Webhooks signature with key, answers 200 or the status the URL's
// ?status= asks for (so a developer can play a failing consumer), remembers
// the last receiverKept requests for GET /_standin/receiver/requests, and
// writes one line per request to out. It is safe for concurrent use.
type receiver struct {
	key []byte
	out io.Writer
	now func() time.Time

	mu   sync.Mutex
	reqs []received // oldest first
}

// newReceiver returns a receiver that checks signatures made with secret
// (a "whsec_" secret or raw bytes, as webhook.SigningKey reads it). Errors:
// webhook.SigningKey's, for a "whsec_" secret that is not base64.
func newReceiver(secret string, out io.Writer) (*receiver, error) {
	key, err := webhook.SigningKey(secret)
	if err != nil {
		return nil, fmt.Errorf("receiver secret: %w", err)
	}
	return &receiver{key: key, out: out, now: time.Now}, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_standin/receiver/requests" {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rc.mu.Lock()
		list := append([]received{}, rc.reqs...)
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"requests": list})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "the receiver takes POST on any path (and GET /_standin/receiver/requests)", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, receiverMaxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 200 || n > 599 {
			http.Error(w, "?status= must be an HTTP status from 200 to 599", http.StatusBadRequest)
			return
		}
		status = n
	}
	id, ts := r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp)
	req := received{
		WebhookID:      id,
		Timestamp:      ts,
		ReceivedAt:     rc.now().UTC(),
		SignatureValid: rc.valid(id, ts, r.Header.Get(webhook.HeaderSignature), body),
		Path:           r.URL.Path,
		Status:         status,
		Body:           asJSON(body),
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, req)
	if len(rc.reqs) > receiverKept {
		rc.reqs = append([]received(nil), rc.reqs[len(rc.reqs)-receiverKept:]...)
	}
	rc.mu.Unlock()
	rc.log(req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"received": status/100 == 2, "signatureValid": req.SignatureValid})
}

// valid reports whether one of the signature header's space-separated
// "v1,<base64>" entries is the HMAC of id.timestamp.body (Standard
// Webhooks allows several, for key rotation). A timestamp that is not
// Unix seconds, or a missing header, is never valid.
func (rc *receiver) valid(id, timestamp, header string, body []byte) bool {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if id == "" || err != nil || header == "" || rc.key == nil {
		return false
	}
	want := []byte(webhook.Sign(rc.key, id, time.Unix(secs, 0), body))
	for _, sig := range strings.Fields(header) {
		if hmac.Equal([]byte(sig), want) {
			return true
		}
	}
	return false
}

// log writes one line: id, event type, update id (for telegram.update
// deliveries), whether the signature is valid, and the answer.
func (rc *receiver) log(req received) {
	var env struct {
		Type     string          `json:"type"`
		UpdateID json.RawMessage `json:"updateId"`
		Replay   bool            `json:"replay"`
	}
	_ = json.Unmarshal(req.Body, &env)
	sig := "invalid"
	if req.SignatureValid {
		sig = "valid"
	}
	line := fmt.Sprintf("receiver: %s %s webhook-id=%s type=%s", req.ReceivedAt.Format(time.TimeOnly), req.Path, orDash(req.WebhookID), orDash(env.Type))
	if len(env.UpdateID) > 0 {
		line += " updateId=" + string(env.UpdateID)
	}
	if env.Replay {
		line += " replay"
	}
	fmt.Fprintf(rc.out, "%s signature=%s → %d\n", line, sig, req.Status)
}

// asJSON returns body as it is when it is JSON, else as a JSON string, so
// the listing stays JSON whatever was posted.
func asJSON(body []byte) json.RawMessage {
	if len(bytes.TrimSpace(body)) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(body) {
		return json.RawMessage(body)
	}
	s, _ := json.Marshal(string(body))
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
