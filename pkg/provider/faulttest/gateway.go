package faulttest

import (
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// PublicURL is the public API URL the lifecycle of a Gateway registers
// Telegram webhooks under.
const PublicURL = "https://gatehouse.example.com"

// Gateway is one gateway held in memory and driven through pkg/lifecycle
// exactly as the HTTP API drives it, so that a test sees the domain error
// (and so the HTTP status) that a provider's failure becomes. The store and
// the sealer under it are gatewaytest's in-memory ones.
type Gateway struct {
	life  *lifecycle.Service
	actor gateway.Actor
	typ   gateway.Type
	id    string
}

// NewGateway stores a gateway of p's type with creds and config (nil means
// {}) in status, without calling p. Errors: the gateway service's, for
// credentials or a config it would not store.
func NewGateway(ctx context.Context, p provider.Provider, creds gateway.Credentials, config json.RawMessage, status gateway.Status) (*Gateway, error) {
	reg := provider.NewRegistry()
	if err := reg.Register(p, false); err != nil {
		return nil, err
	}
	if len(config) == 0 {
		config = json.RawMessage("{}")
	}
	svc := gateway.NewService(gatewaytest.NewStore(), gatewaytest.NewSealer())
	g := &Gateway{
		life:  lifecycle.New(svc, reg, lifecycle.WithPublicURL(PublicURL), lifecycle.WithAllowPrivateNetworks(true)),
		actor: gateway.Actor{UserID: "faulttest", RequestID: "faulttest"},
		typ:   p.Type(),
	}
	created, _, err := svc.Create(ctx, g.actor, gateway.CreateRequest{Name: "fault", Type: p.Type(), Credentials: creds, Config: config}, "")
	if err != nil {
		return nil, err
	}
	g.id = created.ID
	if status != created.Status {
		_, err = svc.Modify(ctx, g.actor, g.id, nil, func(g *gateway.Gateway) (gateway.Change, error) {
			g.Status = status
			return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}}, nil
		})
	}
	return g, err
}

// Create creates another gateway of the same type with creds, as
// POST /api/gateways does: the provider's live check, then the write. A
// check that is inconclusive leaves its warning in the new gateway's
// LastError. Errors: CodeInvalid when the provider refuses the
// credentials, and the lifecycle's others.
func (g *Gateway) Create(ctx context.Context, creds gateway.Credentials) (*gateway.Gateway, error) {
	created, _, err := g.life.Create(ctx, g.actor, gateway.CreateRequest{Name: "created", Type: g.typ, Credentials: creds, Config: json.RawMessage("{}")}, "")
	return created, err
}

// Test runs the connection test, as POST /api/gateways/{id}/test does.
func (g *Gateway) Test(ctx context.Context) (lifecycle.TestResult, error) {
	return g.life.Test(ctx, g.actor, g.id)
}

// Connect connects the gateway, as PATCH /api/gateways/{id}/status does.
func (g *Gateway) Connect(ctx context.Context) (*gateway.Gateway, error) {
	return g.life.Connect(ctx, g.actor, g.id, nil)
}

// Disconnect disconnects the gateway, as PATCH /api/gateways/{id}/status
// does.
func (g *Gateway) Disconnect(ctx context.Context) (*gateway.Gateway, error) {
	return g.life.Disconnect(ctx, g.actor, g.id, nil)
}

// Execute runs an action, as POST /api/gateways/{id}/actions/{action} does.
func (g *Gateway) Execute(ctx context.Context, action string, params json.RawMessage) (any, error) {
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	return g.life.Execute(ctx, g.actor, g.id, action, params)
}

// Stored returns the gateway as it is stored now.
func (g *Gateway) Stored(ctx context.Context) (*gateway.Gateway, error) {
	return g.life.Gateways().Get(ctx, g.actor, g.id)
}
