package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// Limits of GET /api/gateways/{id}/updates. A long poll waits at most
// MaxUpdateWait, well inside API Gateway's 30 s and the function's 29 s.
// A page carries at most MaxUpdatePageBytes of raw updates, so an answer
// stays inside Lambda's 6 MB response limit however large the updates;
// and a filtered read examines at most maxUpdatesRead updates per poll, so
// a filter that matches nothing costs a bounded read (the cursor still
// moves past what was examined).
const (
	DefaultUpdateLimit = 50
	MaxUpdateLimit     = 100
	MaxUpdateWait      = 20 * time.Second
	MaxUpdatePageBytes = 4 << 20
	maxUpdatesRead     = 1000
)

// Long polls read the table again after each of these waits, growing from
// the first to the last: an update is seen within a quarter second while
// a bot is active, and an idle poll of 20 s costs about 23 reads.
var defaultPollWaits = []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second}

// UpdateReader reads a gateway's received updates; pkg/dynamo's Inbox is
// one.
type UpdateReader interface {
	ReadUpdates(ctx context.Context, gatewayID string, q inbox.UpdateQuery) (inbox.UpdatePage, error)
}

// WithUpdates sets where ListUpdates reads updates. Without it,
// ListUpdates answers 503.
func WithUpdates(r UpdateReader) Option { return func(a *API) { a.updates = r } }

// WithUpdatePolling sets the waits between a long poll's reads (the last
// repeats); tests shorten them.
func WithUpdatePolling(waits ...time.Duration) Option {
	return func(a *API) { a.pollWaits = waits }
}

// UpdateJSON is one received update as GET …/updates returns it.
type UpdateJSON struct {
	UpdateID    int64           `json:"updateId"`
	Type        string          `json:"type"`
	ChatID      *int64          `json:"chatId"`
	SenderID    *int64          `json:"senderId"`
	MessageDate *time.Time      `json:"messageDate"`
	ReceivedAt  time.Time       `json:"receivedAt"`
	Update      json.RawMessage `json:"update"`
}

// updatesJSON is the answer: nextCursor is always a position to poll from.
type updatesJSON struct {
	Items      []UpdateJSON `json:"items"`
	NextCursor string       `json:"nextCursor"`
}

// updatesQuery is a validated request of ListUpdates.
type updatesQuery struct {
	inbox.UpdateQuery
	wait   time.Duration
	cursor bool // a cursor was given
}

// ListUpdates answers GET /api/gateways/{id}/updates?cursor=&limit=&tail=&type=&chatId=&wait=:
// a TELEGRAM_BOT gateway's received updates, oldest first, from the
// cursor's position (the oldest kept update without one), or the newest
// tail updates, with the position to poll from next. With wait, it long-polls: it answers as soon
// as an update newer than the cursor (and matching the filters) exists,
// or with no items when the wait ends, so a bot can poll Gatehouse as it
// would poll Telegram's getUpdates. Another tenant's gateway is 404; a
// gateway of another type is 409.
func (a *API) ListUpdates(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		id := ev.PathParameters["id"]
		q, err := parseUpdatesQuery(ev.QueryStringParameters, id)
		if err != nil {
			return response{}, err
		}
		g, err := a.svc.Get(ctx, r.actor, id)
		if err != nil {
			return response{}, err
		}
		if g.Type != gateway.TypeTelegramBot {
			return response{}, gateway.Errorf(gateway.CodeConflict, "Only TELEGRAM_BOT gateways receive updates; this one is %s.", g.Type)
		}
		if a.updates == nil {
			return response{}, &gateway.Error{Code: gateway.CodeUnavailable, Message: "Updates are not available.", Op: "httpapi.ListUpdates"}
		}
		page, err := a.pollUpdates(ctx, g.ID, q)
		if err != nil {
			return response{}, err
		}
		out := updatesJSON{Items: make([]UpdateJSON, len(page.Updates)), NextCursor: encodeUpdateCursor(g.ID, page.Last)}
		for i, u := range page.Updates {
			out.Items[i] = UpdateJSON{UpdateID: u.UpdateID, Type: u.Type, ChatID: u.ChatID, SenderID: u.SenderID,
				MessageDate: u.MessageDate, ReceivedAt: u.ReceivedAt, Update: json.RawMessage(u.Raw)}
		}
		return response{status: http.StatusOK, body: out}, nil
	})
}

// pollUpdates reads once, and again after each poll wait while nothing
// matched and the wait, the request's deadline and its context allow.
func (a *API) pollUpdates(ctx context.Context, id string, q updatesQuery) (inbox.UpdatePage, error) {
	waits := a.pollWaits
	if len(waits) == 0 {
		waits = defaultPollWaits
	}
	end := time.Now().Add(q.wait)
	for i := 0; ; i++ {
		page, err := a.updates.ReadUpdates(ctx, id, q.UpdateQuery)
		if err != nil {
			return page, err
		}
		if len(page.Updates) > 0 {
			return page, nil
		}
		// The filter may have examined updates that did not match: the
		// next read starts after them. A read of the newest updates that
		// found none reads on forwards.
		q.After, q.Newest = page.Last, false
		pause := waits[min(i, len(waits)-1)]
		left := time.Until(end)
		if d, ok := ctx.Deadline(); ok {
			// Stop while a last read could still finish in time.
			left = min(left, time.Until(d)-500*time.Millisecond)
		}
		if left <= 0 {
			return page, nil
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return page, nil
		case <-t.C:
		}
	}
}

// parseUpdatesQuery validates the query parameters of ListUpdates, naming
// every invalid one.
func parseUpdatesQuery(p map[string]string, gatewayID string) (updatesQuery, error) {
	q := updatesQuery{UpdateQuery: inbox.UpdateQuery{After: -1, MaxBytes: MaxUpdatePageBytes, MaxRead: maxUpdatesRead}}
	fe := unknownParams(p, "cursor", "limit", "tail", "type", "chatId", "wait")
	limit, lfe := parseLimit(p, DefaultUpdateLimit, MaxUpdateLimit)
	fe = append(fe, lfe...)
	q.Limit = limit
	if t, ok := p["tail"]; ok {
		n, err := strconv.Atoi(t)
		_, withCursor := p["cursor"]
		_, withLimit := p["limit"]
		switch {
		case err != nil || n < 1 || n > MaxUpdateLimit:
			fe = append(fe, gateway.FieldError{Field: "tail", Message: "must be an integer from 1 to " + strconv.Itoa(MaxUpdateLimit)})
		case withCursor || withLimit:
			fe = append(fe, gateway.FieldError{Field: "tail", Message: "reads the newest updates: it goes without cursor and limit"})
		}
		q.Limit, q.Newest = n, true
	}
	if c, ok := p["cursor"]; ok {
		after, err := decodeUpdateCursor(c, gatewayID)
		if err != nil {
			fe = append(fe, gateway.FieldError{Field: "cursor", Message: "must be a nextCursor this route returned for this gateway"})
		}
		q.After, q.cursor = after, true
	}
	if t, ok := p["type"]; ok {
		if !route.ValidUpdateType(t) {
			fe = append(fe, gateway.FieldError{Field: "type", Message: "must be an update type such as message or callback_query"})
		}
		q.Type = t
	}
	if c, ok := p["chatId"]; ok {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n == 0 {
			fe = append(fe, gateway.FieldError{Field: "chatId", Message: "must be a chat id: a non-zero integer"})
		}
		q.ChatID = &n
	}
	if w, ok := p["wait"]; ok {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || time.Duration(n)*time.Second > MaxUpdateWait {
			fe = append(fe, gateway.FieldError{Field: "wait", Message: "must be a whole number of seconds from 0 to " + strconv.Itoa(int(MaxUpdateWait/time.Second))})
		}
		q.wait = time.Duration(n) * time.Second
	}
	if len(fe) > 0 {
		return q, gateway.Invalid(fe...)
	}
	return q, nil
}

// Update cursors are opaque to clients: "u1." and base64url of
// "<gateway id>:<update_id>". They name the gateway, so one cannot be
// replayed against another; they hold nothing secret (a position is not).
const updateCursorPrefix = "u1."

func encodeUpdateCursor(gatewayID string, after int64) string {
	return updateCursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(gatewayID+":"+strconv.FormatInt(after, 10)))
}

// decodeUpdateCursor returns the position of cursor c of gateway
// gatewayID: -1 (the beginning) or an update_id.
func decodeUpdateCursor(c, gatewayID string) (int64, error) {
	rest, ok := strings.CutPrefix(c, updateCursorPrefix)
	if !ok {
		return -1, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return -1, errBadCursor
	}
	id, pos, ok := strings.Cut(string(b), ":")
	if !ok || id != gatewayID {
		return -1, errBadCursor
	}
	n, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || n < -1 {
		return -1, errBadCursor
	}
	return n, nil
}

var errBadCursor = gateway.Errorf(gateway.CodeInvalid, "The cursor is invalid.")
