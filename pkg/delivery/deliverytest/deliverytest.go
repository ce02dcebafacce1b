// Package deliverytest is the delivery engine's test bed, shared by its
// integration tests, the load test and the bench: webhook receivers that
// record what arrives (and can fail on purpose), and checks of what a
// route's consumer saw — nothing lost, nothing out of order per chat, every
// duplicate a retry with the same webhook-id.
package deliverytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
)

// Arrival is one request a Receiver accepted (answered 2xx).
type Arrival struct {
	WebhookID string
	RouteID   string
	UpdateID  int64
	Chat      int64
	Replay    bool
	At        time.Time
}

// Receiver is a webhook consumer over HTTP. Behave decides each answer.
type Receiver struct {
	*httptest.Server
	Secret string

	mu       sync.Mutex
	behave   func(n int) (status int, retryAfter string, delay time.Duration)
	requests int
	accepted []Arrival
	bad      []string // signature or body problems
}

// NewReceiver starts a receiver that verifies signatures with secret and
// answers 200 until told otherwise.
func NewReceiver(tb testing.TB, secret string) *Receiver {
	r := &Receiver{Secret: secret}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.Close)
	return r
}

// Behave sets how the receiver answers request n (counted from 0).
func (r *Receiver) Behave(f func(n int) (status int, retryAfter string, delay time.Duration)) {
	r.mu.Lock()
	r.behave = f
	r.mu.Unlock()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := r.requests
	r.requests++
	behave := r.behave
	r.mu.Unlock()
	status, retryAfter, delay := http.StatusOK, "", time.Duration(0)
	if behave != nil {
		status, retryAfter, delay = behave(n)
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if status == 0 {
		// Drop the connection without an answer.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		status = http.StatusBadGateway
	}
	if status/100 != 2 {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		return
	}
	id := req.Header.Get(webhook.HeaderID)
	var msg struct {
		Type      string          `json:"type"`
		GatewayID string          `json:"gatewayId"`
		RouteID   string          `json:"routeId"`
		UpdateID  int64           `json:"updateId"`
		Replay    bool            `json:"replay"`
		Update    json.RawMessage `json:"update"`
	}
	problem := ""
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "telegram.update" || len(msg.Update) == 0 {
		problem = "body: " + string(body)
	}
	if r.Secret != "" {
		key, _ := webhook.SigningKey(r.Secret)
		ts, _ := strconv.ParseInt(req.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if want := webhook.Sign(key, id, time.Unix(ts, 0), body); req.Header.Get(webhook.HeaderSignature) != want {
			problem = "bad signature on " + id
		}
	}
	var u struct {
		Message struct {
			Chat struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"message"`
	}
	_ = json.Unmarshal(msg.Update, &u)
	r.mu.Lock()
	if problem != "" {
		r.bad = append(r.bad, problem)
	}
	r.accepted = append(r.accepted, Arrival{WebhookID: id, RouteID: msg.RouteID, UpdateID: msg.UpdateID, Chat: u.Message.Chat.ID, Replay: msg.Replay, At: time.Now()})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// Requests counts every request, answered 2xx or not.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Accepted returns what the receiver accepted, in arrival order.
func (r *Receiver) Accepted() []Arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted)
}

// Problems returns bad signatures and bodies.
func (r *Receiver) Problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bad)
}

// Report is what a consumer saw of one route.
type Report struct {
	Distinct   int // distinct updates
	Duplicates int // arrivals of an update already seen (same webhook-id)
	// OutOfOrder counts first arrivals of an update older than one
	// already seen in its chat.
	OutOfOrder int
	// IDMismatch counts duplicates that came with another webhook-id, and
	// distinct updates that share one.
	IDMismatch int
	Missing    []int64
}

// Check compares what arrived for routeID with want (update ids per
// chat, in order).
func Check(arrivals []Arrival, routeID string, want map[int64][]int64) Report {
	var rep Report
	idOf := map[int64]string{}
	updateOf := map[string]int64{}
	last := map[int64]int64{}
	seen := map[int64]bool{}
	for _, a := range arrivals {
		if a.RouteID != routeID {
			continue
		}
		if id, ok := idOf[a.UpdateID]; ok {
			rep.Duplicates++
			if id != a.WebhookID {
				rep.IDMismatch++
			}
			continue
		}
		if u, ok := updateOf[a.WebhookID]; ok && u != a.UpdateID {
			rep.IDMismatch++
		}
		idOf[a.UpdateID], updateOf[a.WebhookID] = a.WebhookID, a.UpdateID
		seen[a.UpdateID] = true
		rep.Distinct++
		if l, ok := last[a.Chat]; ok && a.UpdateID < l {
			rep.OutOfOrder++
		}
		last[a.Chat] = max(last[a.Chat], a.UpdateID)
	}
	for _, ids := range want {
		for _, id := range ids {
			if !seen[id] {
				rep.Missing = append(rep.Missing, id)
			}
		}
	}
	slices.Sort(rep.Missing)
	return rep
}

// String is the report in one line.
func (r Report) String() string {
	miss := ""
	if len(r.Missing) > 0 {
		miss = fmt.Sprintf(" (first missing %v)", r.Missing[:min(5, len(r.Missing))])
	}
	return fmt.Sprintf("%d distinct, %d duplicates, %d out of order, %d webhook-id mismatches, %d missing%s",
		r.Distinct, r.Duplicates, r.OutOfOrder, r.IDMismatch, len(r.Missing), miss)
}

// Message is a Telegram message update in chat from update id.
func Message(updateID, chat int64, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"update_id": updateID,
		"message": map[string]any{
			"message_id": updateID, "date": 1764921600,
			"chat": map[string]any{"id": chat, "type": "private"},
			"from": map[string]any{"id": chat, "is_bot": false, "first_name": "Ada"},
			"text": text,
		},
	})
	return b
}
