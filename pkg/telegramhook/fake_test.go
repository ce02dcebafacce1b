package telegramhook

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// fakeStore is an in-memory Store with the conditions of pkg/dynamo's. It
// counts calls, and can be told to fail them.
type fakeStore struct {
	mu       sync.Mutex
	gateways map[string]*inbox.Gateway
	updates  map[updateKey]*inbox.Update
	// keepRaw false stores updates without their body (benchmarks).
	keepRaw bool
	events  []gateway.AuditEvent
	// versions counts the version bumps of each gateway.
	versions map[string]int

	reads, puts, touches, recovers int
	readErr, putErr                error
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{gateways: map[string]*inbox.Gateway{}, updates: map[updateKey]*inbox.Update{}, versions: map[string]int{}, keepRaw: true}
}

func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// add stores a TELEGRAM_BOT gateway, CONNECTED, with secret's hash.
func (s *fakeStore) add(id, secret string) *inbox.Gateway {
	g := &inbox.Gateway{ID: id, Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected}
	if secret != "" {
		g.WebhookSecretHash = hashOf(secret)
	}
	s.set(g)
	return g
}

func (s *fakeStore) set(g *inbox.Gateway) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *g
	s.gateways[g.ID] = &cp
}

func (s *fakeStore) get(id string) inbox.Gateway {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.gateways[id]
}

func (s *fakeStore) Gateway(_ context.Context, id string) (*inbox.Gateway, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.readErr != nil {
		return nil, s.readErr
	}
	g, ok := s.gateways[id]
	if !ok {
		return nil, gateway.NotFound()
	}
	cp := *g
	return &cp, nil
}

// updateKey is an update's key in the fake, as (pk, sk) is in the table.
type updateKey struct {
	gatewayID string
	updateID  int64
}

func (s *fakeStore) PutUpdate(_ context.Context, u *inbox.Update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if s.putErr != nil {
		return s.putErr
	}
	k := updateKey{u.GatewayID, u.UpdateID}
	if _, ok := s.updates[k]; ok {
		return fmt.Errorf("fake: %w", inbox.ErrDuplicate)
	}
	cp := *u
	if !s.keepRaw {
		cp.Raw = nil
	}
	s.updates[k] = &cp
	return nil
}

func (s *fakeStore) TouchConnected(_ context.Context, id string, now, notAfter time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touches++
	g, ok := s.gateways[id]
	if !ok || g.Status != gateway.StatusConnected || (g.LastConnectedAt != nil && !g.LastConnectedAt.Before(notAfter)) {
		return false, nil
	}
	g.LastConnectedAt = &now
	return true, nil
}

func (s *fakeStore) RecoverWebhookError(_ context.Context, id string, now time.Time, ev gateway.AuditEvent) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recovers++
	g, ok := s.gateways[id]
	if !ok || g.Status != gateway.StatusError || !strings.HasPrefix(g.LastError, inbox.WebhookErrorPrefix) {
		return false, nil
	}
	g.Status, g.LastConnectedAt, g.LastError = gateway.StatusConnected, &now, ""
	s.versions[id]++
	s.events = append(s.events, ev)
	return true, nil
}

// stored returns the stored updates of gateway id.
func (s *fakeStore) stored(id string) map[int64]*inbox.Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]*inbox.Update{}
	for _, u := range s.updates {
		if u.GatewayID == id {
			out[u.UpdateID] = u
		}
	}
	return out
}

// counts returns the call counters.
func (s *fakeStore) counts() (reads, puts, touches, recovers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.puts, s.touches, s.recovers
}

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) }
