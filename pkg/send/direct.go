package send

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Direct sends the synchronous action route's single calls that
// Telegram's limits count (a message, a photo, a document, an edit)
// through the bot's paced queue, so that a reply typed by a bot's code and
// a broadcast share one pace and one never-twice guarantee. The call is
// queued as an interactive job (it goes before bulk ones) and, when no
// sender runs for the bot, this caller sends it at once under the bot's
// lease; otherwise the running sender picks it up within a second.
type Direct struct {
	svc    *Service
	engine *Engine
	store  Store
	calls  Calls
	// wait bounds how long SendNow waits for the result.
	wait time.Duration
	poll time.Duration
}

// Calls is what Direct knows of the action route's calls; Telegram's
// adapter implements it.
type Calls interface {
	// Paced reports whether action with params goes through the bot's
	// queue: a call Telegram's limits count, in one of the bot's chats.
	Paced(action string, params json.RawMessage) bool
	// Request checks a paced action's parameters, every bad field named
	// under "params", and returns the request that makes it, as it will
	// be sent (sendMessage's as a batch's message, its Markdown option
	// included); Direct stores it compacted.
	Request(action string, params json.RawMessage) (json.RawMessage, []gateway.FieldError)
	// Refused returns the error of a call Telegram refused: answer is
	// its error answer, msg a message safe to show. A refusal of the
	// bot's token is gateway.CodeUpstreamRejected, any other
	// gateway.CodeUpstreamRefused.
	Refused(answer json.RawMessage, msg string) error
}

// NewDirect returns the synchronous sender. wait bounds how long a call
// waits for its result (zero: 25 s, under API Gateway's 30 s).
func NewDirect(svc *Service, engine *Engine, store Store, calls Calls, wait time.Duration) *Direct {
	if wait <= 0 {
		wait = 25 * time.Second
	}
	return &Direct{svc: svc, engine: engine, store: store, calls: calls, wait: wait, poll: 100 * time.Millisecond}
}

// Paced reports whether the action route sends action with params
// through SendNow.
func (d *Direct) Paced(action string, params json.RawMessage) bool {
	return d.calls.Paced(action, params)
}

// SendNow makes one paced call (params as the action route takes them,
// fields named "params.…") and returns Telegram's result. Errors: the
// gateway's (not found, not a Telegram bot, not connected),
// gateway.CodeInvalid with every bad field, gateway.CodeUpstreamRefused
// with Telegram's description when Telegram refused it (Calls.Refused:
// gateway.CodeUpstreamRejected when it refused the bot's token),
// gateway.CodeUpstreamUnreachable when its answer never came (it is not
// sent again); gateway.CodeUnavailable naming its job once the job is
// stored but its result is not known: still queued behind others when the
// wait ends, or the send could not go on (KMS, the table or Telegram's
// bot could not be reached) — either way a sender sends it later, so a
// client must not send it again.
func (d *Direct) SendNow(ctx context.Context, actor gateway.Actor, gatewayID, action string, params json.RawMessage) (json.RawMessage, error) {
	j, err := d.submit(ctx, actor, gatewayID, action, params)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.wait)
	defer cancel()
	_, runErr := d.engine.RunJob(ctx, gatewayID, j.ID)
	if ctx.Err() != nil {
		runErr = nil // the wait ended: the queue's answer below
	}
	for {
		items, err := d.store.Items(context.WithoutCancel(ctx), j.ID, 0, 1)
		if err == nil && len(items) == 1 {
			if out, done, err := d.answer(j.ID, items[0]); done {
				return out, err
			}
		}
		if cause := errors.Join(runErr, err); cause != nil {
			return nil, queued(gatewayID, j.ID, "The message is queued and a sender will send it when Gatehouse can reach what it needs", cause)
		}
		select {
		case <-ctx.Done():
			return nil, queued(gatewayID, j.ID, "The message is queued behind the bot's other messages and will be sent", nil)
		case <-time.After(d.poll):
		}
	}
}

// answer is the action's answer for a job's item, done false while the
// item has no result.
func (d *Direct) answer(jobID string, it Item) (json.RawMessage, bool, error) {
	switch it.Status {
	case ItemSent:
		return it.Result, true, nil
	case ItemFailed:
		return nil, true, d.calls.Refused(it.Result, it.Error)
	case ItemUnknown:
		return nil, true, &gateway.Error{Code: gateway.CodeUpstreamUnreachable, Op: "send.SendNow",
			Message: "Telegram's answer never came; the message may have been delivered and is not sent again (job " + jobID + ")."}
	}
	return nil, false, nil
}

// queued is the 503 of a stored job whose result is not known yet: it
// names the job, which GET …/messages/{jobId} follows.
func queued(gatewayID, jobID, msg string, cause error) error {
	return &gateway.Error{Code: gateway.CodeUnavailable, Op: "send.SendNow", RetryAfter: 1, Err: cause,
		Message: msg + "; GET /api/gateways/" + gatewayID + "/messages/" + jobID + " shows when."}
}

// submit queues one interactive call, checked by Calls.Request.
func (d *Direct) submit(ctx context.Context, actor gateway.Actor, gatewayID, action string, params json.RawMessage) (*Job, error) {
	s := d.svc
	g, err := s.gateways.Get(ctx, actor, gatewayID)
	if err != nil {
		return nil, err
	}
	if g.Type != gateway.TypeTelegramBot {
		return nil, gateway.Errorf(gateway.CodeUnsupportedAction, "%s gateways have no action %q", g.Type, action)
	}
	params, fe := d.calls.Request(action, params)
	if len(fe) > 0 {
		e := gateway.Invalid(fe...)
		e.Message = "The action's parameters are invalid."
		return nil, e
	}
	if g.Status != gateway.StatusConnected {
		return nil, gateway.Errorf(gateway.CodeNotConnected, "Connect the gateway before sending messages.")
	}
	body := Body{Messages: []json.RawMessage{compact(params)}}
	if action != MethodSendMessage {
		body.Method = action
	}
	j := s.newJob(g, body, true)
	if _, err := s.store.CreateJob(ctx, j); err != nil {
		return nil, err
	}
	return j, nil
}
