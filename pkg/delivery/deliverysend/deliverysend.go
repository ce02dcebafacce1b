// Package deliverysend sends the delivery engine's messages to their
// targets: a WEBHOOK gateway's endpoint, signed with its signing secret
// (opened with KMS), or the bus.
package deliverysend

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// Gateways is what Targets needs of the gateway service.
type Gateways interface {
	GetGateway(ctx context.Context, id string) (*gateway.Gateway, error)
	Credentials(ctx context.Context, g *gateway.Gateway) (gateway.Credentials, error)
}

// Targets sends messages to their route's target: a WEBHOOK gateway's
// endpoint, signed with its signing secret, or the bus.
type Targets struct {
	gateways Gateways
	webhook  *webhook.Provider
	bus      delivery.Bus
	ttl      time.Duration

	mu    sync.Mutex
	cache map[string]cachedTarget
}

type cachedTarget struct {
	creds gateway.Credentials
	at    time.Time
}

// New returns the sender. Target gateways and their opened
// credentials are cached for ttl, so a burst of updates costs one read
// and one decryption per target.
func New(gws Gateways, wh *webhook.Provider, bus delivery.Bus, ttl time.Duration) *Targets {
	return &Targets{gateways: gws, webhook: wh, bus: bus, ttl: ttl, cache: map[string]cachedTarget{}}
}

// ErrTargetMissing is a WEBHOOK target that no longer exists (or was
// replaced by a gateway of another type or owner).
var ErrTargetMissing = errors.New("the target gateway no longer exists")

// Send delivers m.
func (t *Targets) Send(ctx context.Context, m delivery.Message) error {
	switch m.Route.Target.Type {
	case route.TargetEventBridge:
		return t.bus.Publish(ctx, m)
	case route.TargetWebhook:
		creds, err := t.credentials(ctx, m.Route)
		if err != nil {
			return err
		}
		_, err = t.webhook.Deliver(ctx, creds, m.WebhookID, m.Body)
		return err
	}
	return errors.New("unknown target type " + string(m.Route.Target.Type))
}

// credentials are the opened credentials of r's WEBHOOK target.
func (t *Targets) credentials(ctx context.Context, r *route.Route) (gateway.Credentials, error) {
	id := r.Target.GatewayID
	t.mu.Lock()
	c, ok := t.cache[id]
	t.mu.Unlock()
	if ok && time.Since(c.at) < t.ttl {
		return c.creds, nil
	}
	g, err := t.gateways.GetGateway(ctx, id)
	if gateway.IsCode(err, gateway.CodeNotFound) || (err == nil && (g.Type != gateway.TypeWebhook || g.Owner().Key() != r.Owner)) {
		return gateway.Credentials{}, ErrTargetMissing
	}
	if err != nil {
		return gateway.Credentials{}, err
	}
	creds, err := t.gateways.Credentials(ctx, g)
	if err != nil {
		return gateway.Credentials{}, err
	}
	t.mu.Lock()
	t.cache[id] = cachedTarget{creds: creds, at: time.Now()}
	t.mu.Unlock()
	return creds, nil
}
