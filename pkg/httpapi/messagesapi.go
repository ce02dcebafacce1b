package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// FnMessages is the function that serves …/messages: paced, idempotent,
// asynchronous sends and their jobs.
const FnMessages = "messages"

// MaxMessagesBodyBytes bounds a POST …/messages body: a broadcast to
// 10,000 chats or a batch of 1,000 messages fits, and API Gateway's and
// Lambda's payload limits (10 MB, 6 MB) stay out of reach.
const MaxMessagesBodyBytes = 5 << 20

// Route keys of FnMessages, as the template declares them.
const (
	rkSubmitMessages = "POST /api/gateways/{id}/messages"
	rkGetMessageJob  = "GET /api/gateways/{id}/messages/{jobId}"
	maxJobItems      = 1000
)

// WithMessages sets the send service. Without it, Messages answers 503.
func WithMessages(s *send.Service) Option { return func(a *API) { a.messages = s } }

// PacedSender sends the action route's calls that Telegram's limits count
// (sendMessage, sendPhoto, sendDocument, editMessageText) through the
// bot's paced queue and returns Telegram's result (send.Direct).
type PacedSender interface {
	Paced(action string, params json.RawMessage) bool
	SendNow(ctx context.Context, actor gateway.Actor, gatewayID, action string, params json.RawMessage) (json.RawMessage, error)
}

// WithPacedSend makes the action route's paced calls go through p, paced
// with the bot's jobs. Without it, every action calls Telegram at once.
func WithPacedSend(p PacedSender) Option { return func(a *API) { a.paced = p } }

// JobJSON is a job as the API returns it.
type JobJSON struct {
	JobID      string         `json:"jobId"`
	Status     send.JobStatus `json:"status"`
	Total      int            `json:"total"`
	Sent       int            `json:"sent"`
	Failed     int            `json:"failed"`
	Unknown    int            `json:"unknown"`
	Queued     int            `json:"queued"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
	Items      []JobItemJSON  `json:"items"`
	NextCursor *string        `json:"nextCursor"`
}

// JobItemJSON is one message of a job. MessageID is Telegram's id of the
// (first) message sent; MessageIDs lists every part of a long message.
type JobItemJSON struct {
	Index      int             `json:"index"`
	ChatID     json.RawMessage `json:"chatId"`
	Status     send.ItemStatus `json:"status"`
	MessageID  *int64          `json:"messageId"`
	MessageIDs []int64         `json:"messageIds,omitempty"`
	Error      *string         `json:"error"`
}

// Messages answers POST …/messages (202 with the job, Location its URL;
// Idempotency-Key honoured) and GET …/messages/{jobId} (the job, its
// counters and a page of its messages).
func (a *API) Messages(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.serve(ctx, ev, func(ctx context.Context, r *request) (response, error) {
		if a.messages == nil {
			return response{}, &gateway.Error{Code: gateway.CodeUnavailable, Message: "Sending is not available.", Op: "httpapi.Messages"}
		}
		id := ev.PathParameters["id"]
		switch routeKey(ev, "messages", "jobId") {
		case rkSubmitMessages:
			key, err := r.idempotencyKey()
			if err != nil {
				return response{}, err
			}
			if fe := unknownParams(ev.QueryStringParameters); len(fe) > 0 {
				return response{}, gateway.Invalid(fe...)
			}
			body, err := edge.JSONBody(&r.ev, MaxMessagesBodyBytes)
			if err != nil {
				return response{}, err
			}
			// A job is one action for the abuse limits: its messages are
			// paced by the engine, not by the caller.
			if err := a.checkGateway(ctx, limitAction, r.actor, id); err != nil {
				return response{}, err
			}
			sub, err := a.messages.Submit(ctx, r.actor, id, body, key)
			if err != nil {
				return response{}, err
			}
			j := sub.Job
			out := response{status: http.StatusAccepted, body: map[string]any{"jobId": j.ID, "status": j.Status, "total": j.Total},
				headers: map[string]string{"Location": "/api/gateways/" + id + "/messages/" + j.ID}}
			if sub.Replayed {
				out.headers["Idempotent-Replayed"] = "true"
			}
			return out, nil
		case rkGetMessageJob:
			q := ev.QueryStringParameters
			fe := unknownParams(q, "limit", "cursor")
			limit, lfe := parseLimit(q, 100, maxJobItems)
			fe = append(fe, lfe...)
			from := 0
			if c, ok := q["cursor"]; ok {
				n, ok := decodeJobCursor(c)
				if !ok {
					fe = append(fe, gateway.FieldError{Field: "cursor", Message: "must be a nextCursor this route returned"})
				}
				from = n
			}
			if len(fe) > 0 {
				return response{}, gateway.Invalid(fe...)
			}
			j, items, next, err := a.messages.Get(ctx, r.actor, id, ev.PathParameters["jobId"], from, limit)
			if err != nil {
				return response{}, err
			}
			return response{status: http.StatusOK, body: jobToJSON(j, items, next)}, nil
		}
		return response{}, gateway.Errorf(gateway.CodeNotFound, "No such route.")
	})
}

func jobToJSON(j *send.Job, items []send.Item, next int) JobJSON {
	out := JobJSON{JobID: j.ID, Status: j.Status, Total: j.Total, Sent: j.Sent, Failed: j.Failed, Unknown: j.Unknown,
		Queued: max(0, j.Total-j.Sent-j.Failed-j.Unknown), CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, Items: make([]JobItemJSON, len(items))}
	for i, it := range items {
		ji := JobItemJSON{Index: it.Index, ChatID: it.ChatID, Status: it.Status, Error: nullable(it.Error)}
		if len(it.MessageIDs) > 0 {
			ji.MessageID = &it.MessageIDs[0]
			if len(it.MessageIDs) > 1 {
				ji.MessageIDs = it.MessageIDs
			}
		}
		out.Items[i] = ji
	}
	if next >= 0 {
		c := encodeJobCursor(next)
		out.NextCursor = &c
	}
	return out
}

// Job cursors are the index to go on from, opaque to clients.
func encodeJobCursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("m" + strconv.Itoa(i)))
}

func decodeJobCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 'm' {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[1:]))
	return n, err == nil && n >= 0 && n < send.MaxBroadcastChats
}
