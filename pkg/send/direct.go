package send

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Direct sends the synchronous action route's single messages through
// the bot's paced queue, so that a reply typed by a bot's code and a
// broadcast share one pace and one never-twice guarantee. The message is
// queued as an interactive job (it goes before bulk ones) and, when no
// sender runs for the bot, this caller sends it at once under the bot's
// lease; otherwise the running sender picks it up within a second.
type Direct struct {
	svc    *Service
	engine *Engine
	store  Store
	// wait bounds how long SendNow waits for the result.
	wait time.Duration
	poll time.Duration
}

// NewDirect returns the synchronous sender. wait bounds how long a call
// waits for its message's result (zero: 25 s, under API Gateway's 30 s).
func NewDirect(svc *Service, engine *Engine, store Store, wait time.Duration) *Direct {
	if wait <= 0 {
		wait = 25 * time.Second
	}
	return &Direct{svc: svc, engine: engine, store: store, wait: wait, poll: 100 * time.Millisecond}
}

// SendNow sends one sendMessage (params as the action route takes them,
// fields named "params.…") and returns Telegram's result. Errors: the
// Service's Submit errors; gateway.CodeUpstreamRefused with Telegram's
// description when Telegram refused it; gateway.CodeUpstreamUnreachable
// when its answer never came (it is not sent again); gateway.CodeUnavailable
// when it is still queued behind others when the wait ends (it will be
// sent; the error names its job).
func (d *Direct) SendNow(ctx context.Context, actor gateway.Actor, gatewayID string, params json.RawMessage) (json.RawMessage, error) {
	j, err := d.svc.submitOne(ctx, actor, gatewayID, params)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.wait)
	defer cancel()
	if _, err := d.engine.RunJob(ctx, gatewayID, j.ID); err != nil && ctx.Err() == nil {
		return nil, err
	}
	for {
		items, err := d.store.Items(context.WithoutCancel(ctx), j.ID, 0, 1)
		if err != nil {
			return nil, err
		}
		if len(items) == 1 {
			switch it := items[0]; it.Status {
			case ItemSent:
				return it.Result, nil
			case ItemFailed:
				return nil, &gateway.Error{Code: gateway.CodeUpstreamRefused, Message: it.Error, Op: "send.SendNow"}
			case ItemUnknown:
				return nil, &gateway.Error{Code: gateway.CodeUpstreamUnreachable, Op: "send.SendNow",
					Message: "Telegram's answer never came; the message may have been delivered and is not sent again (job " + j.ID + ")."}
			}
		}
		select {
		case <-ctx.Done():
			return nil, &gateway.Error{Code: gateway.CodeUnavailable, Op: "send.SendNow", RetryAfter: 1,
				Message: "The message is queued behind the bot's other messages and will be sent; GET /api/gateways/" + gatewayID + "/messages/" + j.ID + " shows when."}
		case <-time.After(d.poll):
		}
	}
}

// submitOne queues one interactive message, its fields checked under
// "params".
func (s *Service) submitOne(ctx context.Context, actor gateway.Actor, gatewayID string, params json.RawMessage) (*Job, error) {
	g, err := s.gateways.Get(ctx, actor, gatewayID)
	if err != nil {
		return nil, err
	}
	if g.Type != gateway.TypeTelegramBot {
		return nil, gateway.Errorf(gateway.CodeUnsupportedAction, "%s gateways have no action %q", g.Type, "sendMessage")
	}
	if fe := s.check("params", params, true); len(fe) > 0 {
		e := gateway.Invalid(fe...)
		e.Message = "The action's parameters are invalid."
		return nil, e
	}
	if g.Status != gateway.StatusConnected {
		return nil, gateway.Errorf(gateway.CodeNotConnected, "Connect the gateway before sending messages.")
	}
	j := s.newJob(g, Body{Messages: []json.RawMessage{compact(params)}}, true)
	if _, err := s.store.CreateJob(ctx, j); err != nil {
		return nil, err
	}
	return j, nil
}
