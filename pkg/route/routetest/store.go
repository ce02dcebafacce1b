// Package routetest holds a fake of the route package's store for tests
// that must run in milliseconds: Store, a route.Store in memory with
// pkg/dynamo's semantics, over a gatewaytest.Store that holds the bots,
// the targets and the audit trails. TestStore is the contract every
// route.Store meets; it runs against Store here and against pkg/dynamo's
// Routes under the emulators, so that the fake cannot drift from the real
// thing.
package routetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// MaxLimit is the largest page DeadLetters accepts, as in pkg/dynamo.
const MaxLimit = 1000

// deadLetterTTL is how long pkg/dynamo keeps a dead letter; a dead
// letter's update expires then.
const deadLetterTTL = 14 * 24 * time.Hour

// Store is route.Store in memory, with the semantics of pkg/dynamo's
// Routes (TestStore checks both): a route is written only while its bot
// and its WEBHOOK target exist, with its audit event in the bot's trail
// (of the gatewaytest.Store it was made over); versions are checked;
// queues and dead letters are kept per route, by update id, and go with
// their route. What it returns is a copy, normalised as a round trip
// through DynamoDB would leave it (times in UTC; a new route without
// delivery state).
//
// Writes that span the two stores (a route and its bot's audit event) are
// not atomic against a concurrent write of the gateway store: fine for a
// fake that runs one request at a time.
//
// Errors are those route.Store documents; for a call whose context is
// done, what pkg/dynamo answers then: CodeUnavailable after its deadline,
// CodeInternal once cancelled. A Store is safe for concurrent use.
type Store struct {
	gateways *gatewaytest.Store

	mu     sync.Mutex
	routes map[string]*route.Route           // by routeKey
	queues map[string]map[int64]route.Queued // by routeKey, then update id
	dead   map[string]map[int64]route.DeadLetter
}

var _ route.Store = (*Store)(nil)

// NewStore returns an empty Store whose bots, targets and audit trails
// are those of gateways.
func NewStore(gateways *gatewaytest.Store) *Store {
	return &Store{
		gateways: gateways,
		routes:   map[string]*route.Route{},
		queues:   map[string]map[int64]route.Queued{},
		dead:     map[string]map[int64]route.DeadLetter{},
	}
}

func routeKey(botID, routeID string) string { return botID + "/" + routeID }

func routeNotFound() error {
	return &gateway.Error{Code: gateway.CodeNotFound, Message: "Route not found."}
}

// enter refuses a call whose context is done, as the DynamoDB client does.
func enter(ctx context.Context, op string) error {
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return &gateway.Error{Code: gateway.CodeUnavailable, Message: "The data store is unavailable; retry.", Op: op, Err: err, RetryAfter: 2}
	case err != nil:
		return gateway.Internal(op, err)
	}
	return nil
}

// exists reports whether gateway id exists, as a transaction's condition
// check sees it.
func (s *Store) exists(ctx context.Context, id string) (bool, error) {
	_, err := s.gateways.GetGateway(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case gateway.IsCode(err, gateway.CodeNotFound):
		return false, nil
	}
	return false, err
}

// CreateRoute writes r (its spec, status and times; no delivery state)
// and records ev in its bot's trail, if the bot and a WEBHOOK target
// exist.
//
// Errors: NotFound for a missing bot; route.ErrTargetGone (wrapped) for a
// missing target; CodeInternal for a route id in use or an event already
// recorded.
func (s *Store) CreateRoute(ctx context.Context, r *route.Route, ev gateway.AuditEvent) error {
	const op = "routetest.CreateRoute"
	if err := enter(ctx, op); err != nil {
		return err
	}
	if ok, err := s.exists(ctx, r.GatewayID); err != nil || !ok {
		if err != nil {
			return err
		}
		return gateway.NotFound()
	}
	if r.Target.Type == route.TargetWebhook {
		if ok, err := s.exists(ctx, r.Target.GatewayID); err != nil || !ok {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s: %w", op, route.ErrTargetGone)
		}
	}
	stored := written(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := routeKey(r.GatewayID, r.ID)
	if _, ok := s.routes[k]; ok {
		return gateway.Internal(op, fmt.Errorf("route %s exists", r.ID))
	}
	if err := s.gateways.RecordAudit(r.GatewayID, ev); err != nil {
		return err
	}
	s.routes[k] = stored
	return nil
}

// GetRoute reads one route. Errors: NotFound.
func (s *Store) GetRoute(ctx context.Context, botID, routeID string) (*route.Route, error) {
	if err := enter(ctx, "routetest.GetRoute"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.routes[routeKey(botID, routeID)]
	if !ok {
		return nil, routeNotFound()
	}
	return clone(r), nil
}

// ListRoutes returns every route of botID, oldest first; none is an
// empty list.
func (s *Store) ListRoutes(ctx context.Context, botID string) ([]*route.Route, error) {
	if err := enter(ctx, "routetest.ListRoutes"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*route.Route{}
	for _, r := range s.routes {
		if r.GatewayID == botID {
			out = append(out, clone(r))
		}
	}
	slices.SortStableFunc(out, func(a, b *route.Route) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compare(a.ID, b.ID)
	})
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UpdateRoute replaces r's target, filters, status, status reason,
// updatedAt and version, and records ev, if the stored version is
// previous.Version and (when the target changed to a WEBHOOK) the target
// exists. Creation time, owner and delivery state stay as stored.
//
// Errors: NotFound; CodeVersionMismatch; route.ErrTargetGone (wrapped);
// CodeInternal for an event already recorded. Nothing is written on an
// error.
func (s *Store) UpdateRoute(ctx context.Context, r *route.Route, previous *route.Route, ev gateway.AuditEvent) error {
	const op = "routetest.UpdateRoute"
	if err := enter(ctx, op); err != nil {
		return err
	}
	targetOK := true
	if r.Target != previous.Target && r.Target.Type == route.TargetWebhook {
		ok, err := s.exists(ctx, r.Target.GatewayID)
		if err != nil {
			return err
		}
		targetOK = ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.routes[routeKey(r.GatewayID, r.ID)]
	switch {
	case !ok:
		return routeNotFound()
	case cur.Version != previous.Version:
		return &gateway.Error{Code: gateway.CodeVersionMismatch, Message: "The route has been changed since it was read; fetch it again.", Op: op}
	case !targetOK:
		return fmt.Errorf("%s: %w", op, route.ErrTargetGone)
	}
	if err := s.gateways.RecordAudit(r.GatewayID, ev); err != nil {
		return err
	}
	next := clone(cur)
	w := written(r)
	next.Target, next.Filters, next.Status, next.StatusReason = w.Target, w.Filters, w.Status, w.StatusReason
	next.UpdatedAt, next.Version = w.UpdatedAt, w.Version
	s.routes[routeKey(r.GatewayID, r.ID)] = next
	return nil
}

// DeleteRoute deletes r with its queue and dead letters, and records ev.
//
// Errors: NotFound; CodeInternal for an event already recorded.
func (s *Store) DeleteRoute(ctx context.Context, r *route.Route, ev gateway.AuditEvent) error {
	const op = "routetest.DeleteRoute"
	if err := enter(ctx, op); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := routeKey(r.GatewayID, r.ID)
	if _, ok := s.routes[k]; !ok {
		return routeNotFound()
	}
	if err := s.gateways.RecordAudit(r.GatewayID, ev); err != nil {
		return err
	}
	delete(s.routes, k)
	delete(s.queues, k)
	delete(s.dead, k)
	return nil
}

// Backlog counts r's queued updates, up to route.MaxBacklogCount, and
// finds the oldest one's receipt.
func (s *Store) Backlog(ctx context.Context, r *route.Route) (route.Backlog, error) {
	if err := enter(ctx, "routetest.Backlog"); err != nil {
		return route.Backlog{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[routeKey(r.GatewayID, r.ID)]
	b := route.Backlog{Pending: min(len(q), route.MaxBacklogCount), Capped: len(q) > route.MaxBacklogCount}
	for _, it := range q {
		if t := it.Update.ReceivedAt; b.Oldest == nil || t.Before(*b.Oldest) {
			b.Oldest = &t
		}
	}
	return b, nil
}

// DeadLetters returns up to limit (1..MaxLimit) of r's dead letters,
// oldest update first, after the update id cursor names. Next is the last
// update id of the page, empty on the last page.
//
// Errors: CodeInvalid (field "limit" or "cursor").
func (s *Store) DeadLetters(ctx context.Context, r *route.Route, limit int, cursor string) (route.DeadLetterPage, error) {
	if err := enter(ctx, "routetest.DeadLetters"); err != nil {
		return route.DeadLetterPage{}, err
	}
	if limit < 1 || limit > MaxLimit {
		return route.DeadLetterPage{}, gateway.Invalid(gateway.FieldError{Field: "limit", Message: "The limit must be between 1 and " + strconv.Itoa(MaxLimit) + "."})
	}
	after := int64(-1)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return route.DeadLetterPage{}, gateway.Invalid(gateway.FieldError{Field: "cursor", Message: "must be a nextCursor of this route's dead letters"})
		}
		after = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var page route.DeadLetterPage
	for _, d := range sorted(s.dead[routeKey(r.GatewayID, r.ID)]) {
		if d.Update.UpdateID <= after {
			continue
		}
		if len(page.Items) == limit {
			page.Next = strconv.FormatInt(page.Items[limit-1].Update.UpdateID, 10)
			break
		}
		page.Items = append(page.Items, cloneDead(d))
	}
	return page, nil
}

// Enqueue puts items on r's queue; an update already queued is queued
// once, as the last Enqueue has it. It does not check that r exists.
func (s *Store) Enqueue(ctx context.Context, r *route.Route, items []route.Queued) error {
	if err := enter(ctx, "routetest.Enqueue"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := routeKey(r.GatewayID, r.ID)
	for _, q := range items {
		if s.queues[k] == nil {
			s.queues[k] = map[int64]route.Queued{}
		}
		s.queues[k][q.Update.UpdateID] = route.Queued{Update: cloneUpdate(q.Update), Replay: q.Replay}
	}
	return nil
}

// RequeueDeadLetters moves r's oldest dead letters, up to limit, back onto
// its queue as replays, and takes them off its dead-letter count.
func (s *Store) RequeueDeadLetters(ctx context.Context, r *route.Route, limit int) (int, bool, error) {
	if err := enter(ctx, "routetest.RequeueDeadLetters"); err != nil {
		return 0, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := routeKey(r.GatewayID, r.ID)
	all := sorted(s.dead[k])
	n := min(len(all), limit)
	for _, d := range all[:n] {
		if s.queues[k] == nil {
			s.queues[k] = map[int64]route.Queued{}
		}
		u := d.Update
		u.ExpiresAt = time.Time{}
		s.queues[k][u.UpdateID] = route.Queued{Update: u, Replay: true}
		delete(s.dead[k], u.UpdateID)
	}
	if stored, ok := s.routes[k]; ok && n > 0 {
		stored.DeadLetters -= int64(n)
	}
	return n, len(all) > n, nil
}

// Kick makes r's waiting deliveries due now. The fake has no delivery
// schedule: it only checks the context.
func (s *Store) Kick(ctx context.Context, r *route.Route) error {
	return enter(ctx, "routetest.Kick")
}

// Audit records ev in botID's trail.
//
// Errors: CodeInternal for an event already recorded.
func (s *Store) Audit(ctx context.Context, botID string, ev gateway.AuditEvent) error {
	if err := enter(ctx, "routetest.Audit"); err != nil {
		return err
	}
	return s.gateways.RecordAudit(botID, ev)
}

// DeadLetter moves update u from r's queue to its dead letters and counts
// it on the route, as the delivery engine's last failed attempt does
// (pkg/dynamo's Routes.DeadLetter). attempts is the number of attempts in
// all.
//
// Errors: NotFound when the route does not exist (nothing is written).
func (s *Store) DeadLetter(ctx context.Context, r *route.Route, u inbox.Update, failedAt time.Time, attempts int64, lastError string) error {
	if err := enter(ctx, "routetest.DeadLetter"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := routeKey(r.GatewayID, r.ID)
	stored, ok := s.routes[k]
	if !ok {
		return routeNotFound()
	}
	delete(s.queues[k], u.UpdateID)
	if s.dead[k] == nil {
		s.dead[k] = map[int64]route.DeadLetter{}
	}
	u = cloneUpdate(u)
	u.ExpiresAt = time.Unix(failedAt.Add(deadLetterTTL).Unix(), 0).UTC()
	s.dead[k][u.UpdateID] = route.DeadLetter{Update: u, FailedAt: failedAt.UTC(), Attempts: attempts, LastError: lastError}
	stored.DeadLetters++
	return nil
}

// Queue returns r's queued updates, by update id, without checking the
// context: what a test looks at.
func (s *Store) Queue(botID, routeID string) []route.Queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[routeKey(botID, routeID)]
	ids := slices.Sorted(maps.Keys(q))
	out := make([]route.Queued, len(ids))
	for i, id := range ids {
		out[i] = route.Queued{Update: cloneUpdate(q[id].Update), Replay: q[id].Replay}
	}
	return out
}

// MustPut stores r as it is, delivery state included, whatever is stored
// under its id, with no condition and no audit event: the seeding of a
// test's world.
func (s *Store) MustPut(tb testing.TB, r *route.Route) {
	tb.Helper()
	if !route.ValidID(r.ID) || r.GatewayID == "" {
		tb.Fatalf("routetest: MustPut: route %q of bot %q", r.ID, r.GatewayID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[routeKey(r.GatewayID, r.ID)] = normalise(r)
}

// Snapshot returns the store's whole content as bytes: two equal
// snapshots mean nothing was written in between. (The audit trails are
// the gateway store's.)
func (s *Store) Snapshot(tb testing.TB) []byte {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(struct {
		Routes map[string]*route.Route
		Queues map[string]map[int64]route.Queued
		Dead   map[string]map[int64]route.DeadLetter
	}{s.routes, s.queues, s.dead})
	if err != nil {
		tb.Fatalf("routetest: Snapshot: %v", err)
	}
	return b
}

// Restore replaces the store's content with a deep copy of from's; the
// gateway store stays.
func (s *Store) Restore(from *Store) {
	from.mu.Lock()
	routes := make(map[string]*route.Route, len(from.routes))
	for k, r := range from.routes {
		routes[k] = clone(r)
	}
	queues := make(map[string]map[int64]route.Queued, len(from.queues))
	for k, q := range from.queues {
		queues[k] = make(map[int64]route.Queued, len(q))
		for id, it := range q {
			queues[k][id] = route.Queued{Update: cloneUpdate(it.Update), Replay: it.Replay}
		}
	}
	dead := make(map[string]map[int64]route.DeadLetter, len(from.dead))
	for k, q := range from.dead {
		dead[k] = make(map[int64]route.DeadLetter, len(q))
		for id, d := range q {
			dead[k][id] = cloneDead(d)
		}
	}
	from.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes, s.queues, s.dead = routes, queues, dead
}

func sorted(m map[int64]route.DeadLetter) []route.DeadLetter {
	out := make([]route.DeadLetter, 0, len(m))
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[id])
	}
	return out
}

// written is r as pkg/dynamo writes a new route: spec, status, times and
// version, no delivery state.
func written(r *route.Route) *route.Route {
	n := normalise(r)
	return &route.Route{
		ID: n.ID, GatewayID: n.GatewayID, Owner: n.Owner, Target: n.Target, Filters: n.Filters,
		Status: n.Status, StatusReason: n.StatusReason, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, Version: n.Version,
	}
}

// normalise returns a copy of r as it reads back from DynamoDB: times in
// UTC, without a monotonic reading.
func normalise(r *route.Route) *route.Route {
	c := clone(r)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	for _, t := range []*time.Time{c.LastDeliveredAt, c.LastErrorAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return c
}

// clone copies r deeply.
func clone(r *route.Route) *route.Route {
	c := *r
	c.Filters.UpdateTypes = slices.Clone(r.Filters.UpdateTypes)
	c.Filters.ChatIDs = slices.Clone(r.Filters.ChatIDs)
	c.LastDeliveredUpdateID = clonePtr(r.LastDeliveredUpdateID)
	c.LastDeliveredAt = clonePtr(r.LastDeliveredAt)
	c.LastLagMs = clonePtr(r.LastLagMs)
	c.LastErrorAt = clonePtr(r.LastErrorAt)
	return &c
}

func cloneDead(d route.DeadLetter) route.DeadLetter {
	d.Update = cloneUpdate(d.Update)
	return d
}

// cloneUpdate copies u as DynamoDB gives it back: times in UTC.
func cloneUpdate(u inbox.Update) inbox.Update {
	u.ChatID, u.SenderID = clonePtr(u.ChatID), clonePtr(u.SenderID)
	if u.MessageDate != nil {
		t := u.MessageDate.UTC()
		u.MessageDate = &t
	}
	u.ReceivedAt = u.ReceivedAt.UTC()
	u.Raw = slices.Clone(u.Raw)
	return u
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
