package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// PublicURL is the public API URL the lifecycle of a Gateway registers
// Telegram webhooks under.
const PublicURL = "https://gatehouse.example.com"

// Gateway is one gateway held in memory and driven through pkg/lifecycle
// exactly as the HTTP API drives it, so that a test sees the domain error
// (and so the HTTP status) that a provider's failure becomes. Its
// credentials are stored unencrypted: this is a test double of the store
// and the sealer, nothing else.
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
	svc := gateway.NewService(&memStore{gateways: map[string]*gateway.Gateway{}}, plainSealer{})
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

// plainSealer stores credentials as they are. Only a test may do this.
type plainSealer struct{}

func (plainSealer) Seal(_ context.Context, plaintext []byte, _ map[string]string) ([]byte, error) {
	return append([]byte(nil), plaintext...), nil
}

func (plainSealer) Open(_ context.Context, blob []byte, _ map[string]string) ([]byte, error) {
	return append([]byte(nil), blob...), nil
}

// memStore is gateway.Store over a map, enough for one gateway's lifecycle:
// no listing, no idempotency, audit events counted but not kept.
type memStore struct {
	mu       sync.Mutex
	gateways map[string]*gateway.Gateway
}

var errUnsupported = errors.New("faulttest: not supported by the in-memory store")

// clone copies g deeply enough that the service's changes to a read copy
// never reach the stored one before it is written back.
func clone(g *gateway.Gateway) *gateway.Gateway {
	c := *g
	if g.CredentialInfo != nil {
		c.CredentialInfo = make(map[string]any, len(g.CredentialInfo))
		for k, v := range g.CredentialInfo {
			c.CredentialInfo[k] = v
		}
	}
	c.SealedCredentials = append([]byte(nil), g.SealedCredentials...)
	c.WebhookSecretHash = append([]byte(nil), g.WebhookSecretHash...)
	c.Config = append(json.RawMessage(nil), g.Config...)
	return &c
}

func (m *memStore) CreateGateway(_ context.Context, g *gateway.Gateway, _ gateway.AuditEvent, _ *gateway.Idempotency) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.gateways[g.ID]; ok {
		return gateway.Errorf(gateway.CodeConflict, "A gateway with this id already exists.")
	}
	m.gateways[g.ID] = clone(g)
	return nil
}

func (m *memStore) GetGateway(_ context.Context, id string) (*gateway.Gateway, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.gateways[id]
	if !ok {
		return nil, gateway.NotFound()
	}
	return clone(g), nil
}

func (m *memStore) UpdateGateway(_ context.Context, g *gateway.Gateway, expected int64, _ gateway.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.gateways[g.ID]
	switch {
	case !ok:
		return gateway.NotFound()
	case cur.Version != expected:
		return gateway.Errorf(gateway.CodeVersionMismatch, "The gateway has been changed since it was read.")
	}
	m.gateways[g.ID] = clone(g)
	return nil
}

func (m *memStore) DeleteGateway(_ context.Context, id string, expected int64, _ gateway.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.gateways[id]
	switch {
	case !ok:
		return gateway.NotFound()
	case cur.Version != expected:
		return gateway.Errorf(gateway.CodeVersionMismatch, "The gateway has been changed since it was read.")
	}
	delete(m.gateways, id)
	return nil
}

func (m *memStore) ListGateways(context.Context, gateway.Owner, gateway.ListFilter, int, string) (gateway.Page, error) {
	return gateway.Page{}, gateway.Internal("faulttest.ListGateways", errUnsupported)
}

func (m *memStore) ListAudit(context.Context, string, int, string) (gateway.AuditPage, error) {
	return gateway.AuditPage{}, gateway.Internal("faulttest.ListAudit", errUnsupported)
}

func (m *memStore) GetIdempotency(context.Context, gateway.Owner, string) (*gateway.Idempotency, error) {
	return nil, gateway.NotFound()
}
