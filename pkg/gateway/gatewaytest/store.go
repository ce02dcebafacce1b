// Package gatewaytest holds fakes of the gateway package's contracts for
// tests that must run in milliseconds: Store, an in-memory gateway.Store with
// pkg/dynamo's semantics, and Sealer, a gateway.Sealer without KMS. TestStore
// is the contract every gateway.Store meets; it runs against Store here and
// against pkg/dynamo under the emulators, so that the fake cannot drift from
// the real thing.
package gatewaytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// MaxLimit is the largest page size ListGateways and ListAudit accept, as
// in pkg/dynamo.
const MaxLimit = 1000

// Op names a gateway.Store method, for Intercept.
type Op string

// The methods of gateway.Store.
const (
	OpCreateGateway  Op = "CreateGateway"
	OpGetGateway     Op = "GetGateway"
	OpUpdateGateway  Op = "UpdateGateway"
	OpDeleteGateway  Op = "DeleteGateway"
	OpListGateways   Op = "ListGateways"
	OpListAudit      Op = "ListAudit"
	OpGetIdempotency Op = "GetIdempotency"
)

// Store is gateway.Store in memory, with the semantics of pkg/dynamo's
// Store (TestStore checks both): conditional writes, idempotency records
// that expire on the store's clock, owner-scoped newest-first listings with
// opaque cursors that resume after the last item returned, and audit trails
// that outlive their gateway. What it returns is a copy, normalised as a
// round trip through DynamoDB would leave it (times in UTC, numbers in
// CredentialInfo as float64, an empty config as {}), so a test sees what
// the real store would give back.
//
// Errors are *gateway.Error with the codes gateway.Store documents, plus
// CodeConflict for a second gateway with the same id, CodeInternal for
// writes pkg/dynamo refuses as a caller's bug (a version that does not
// follow, an audit event without an id or already recorded, a
// CredentialInfo value DynamoDB cannot hold), and for a call whose context
// is done what pkg/dynamo answers then: CodeUnavailable after its deadline,
// CodeInternal once cancelled.
//
// A Store is safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	gateways  map[string]*gateway.Gateway
	audit     map[string][]auditEntry // by gateway id, ascending by key
	idem      map[string]gateway.Idempotency
	claims    map[string]string // bot id -> the gateway holding its claim
	now       func() time.Time
	intercept func(ctx context.Context, op Op, id string) error
}

var _ gateway.Store = (*Store)(nil)

// auditEntry is an audit event with its sort key, which orders a trail as
// pkg/dynamo's sort key does: by time, then by event id.
type auditEntry struct {
	key string
	ev  gateway.AuditEvent
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now as the clock that decides whether an
// idempotency record has expired.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// NewStore returns an empty Store.
func NewStore(opts ...Option) *Store {
	s := &Store{
		gateways: map[string]*gateway.Gateway{},
		audit:    map[string][]auditEntry{},
		idem:     map[string]gateway.Idempotency{},
		claims:   map[string]string{},
		now:      time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Intercept makes fn run at the start of every later call of the store's
// gateway.Store methods, before the store looks at its content and without
// its lock held. fn may call the store itself — to make the concurrent write
// that a conditional write must then lose — and it is called for those
// calls too. A non-nil error from fn is returned as the call's, with nothing
// done: a store outage, say. id is the gateway the call is about; "" for
// ListGateways and GetIdempotency. A nil fn removes the interceptor.
func (s *Store) Intercept(fn func(ctx context.Context, op Op, id string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = fn
}

// enter runs the interceptor, then refuses a call whose context is done,
// as the DynamoDB client does: a passed deadline is CodeUnavailable (the
// store is too slow; retry), a cancellation CodeInternal.
func (s *Store) enter(ctx context.Context, op Op, id string) error {
	s.mu.Lock()
	fn := s.intercept
	s.mu.Unlock()
	if fn != nil {
		if err := fn(ctx, op, id); err != nil {
			return err
		}
	}
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return &gateway.Error{Code: gateway.CodeUnavailable, Message: "The data store is unavailable; retry.", Op: "gatewaytest." + string(op), Err: err, RetryAfter: 2}
	case err != nil:
		return gateway.Internal("gatewaytest."+string(op), err)
	}
	return nil
}

// CreateGateway writes g, its audit event ev and, if idem is not nil, the
// idempotency record (whose GatewayID is g.ID), all or nothing.
//
// Errors: CodeIdempotencyConflict when a live record for idem's owner and
// key exists; CodeConflict when a gateway with g.ID exists; CodeInternal.
func (s *Store) CreateGateway(ctx context.Context, g *gateway.Gateway, ev gateway.AuditEvent, idem *gateway.Idempotency) error {
	const op = "gatewaytest.CreateGateway"
	if g == nil {
		return gateway.Internal(op, errors.New("nil gateway"))
	}
	if err := s.enter(ctx, OpCreateGateway, g.ID); err != nil {
		return err
	}
	stored, err := normalise(g)
	if err != nil {
		return gateway.Internal(op, fmt.Errorf("gateway %s: %w", g.ID, err))
	}
	entry, err := auditOf(g.ID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// pkg/dynamo evaluates every condition of the transaction and reports
	// the idempotency record's first, then the gateway's, then the event's.
	if idem != nil {
		if rec, ok := s.idem[idemKey(idem.Owner, idem.Key)]; ok && rec.ExpiresAt.Unix() > s.now().Unix() {
			return &gateway.Error{Code: gateway.CodeIdempotencyConflict, Message: "The Idempotency-Key has already been used.", Op: op}
		}
	}
	if _, ok := s.gateways[g.ID]; ok {
		return &gateway.Error{Code: gateway.CodeConflict, Message: "A gateway with this id already exists.", Op: op}
	}
	if s.recorded(g.ID, entry.key) {
		return gateway.Internal(op, fmt.Errorf("audit event %s of gateway %s already recorded", ev.ID, g.ID))
	}
	s.gateways[g.ID] = stored
	s.record(g.ID, entry)
	if idem != nil {
		s.idem[idemKey(idem.Owner, idem.Key)] = gateway.Idempotency{
			Owner: idem.Owner, Key: idem.Key, RequestHash: idem.RequestHash, GatewayID: g.ID,
			// DynamoDB's TTL is in whole seconds.
			ExpiresAt: time.Unix(idem.ExpiresAt.Unix(), 0).UTC(),
		}
	}
	return nil
}

// GetGateway reads gateway id. Errors: NotFound.
func (s *Store) GetGateway(ctx context.Context, id string) (*gateway.Gateway, error) {
	if err := s.enter(ctx, OpGetGateway, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gateways[id]
	if !ok {
		return nil, gateway.NotFound()
	}
	return clone(g), nil
}

// UpdateGateway replaces the stored gateway with g, and records ev, if the
// stored version is expectedVersion. g.Version must be expectedVersion+1.
//
// Errors: NotFound; CodeVersionMismatch (nothing is written, not even ev);
// CodeInternal.
func (s *Store) UpdateGateway(ctx context.Context, g *gateway.Gateway, expectedVersion int64, ev gateway.AuditEvent) error {
	const op = "gatewaytest.UpdateGateway"
	if g == nil {
		return gateway.Internal(op, errors.New("nil gateway"))
	}
	if err := s.enter(ctx, OpUpdateGateway, g.ID); err != nil {
		return err
	}
	if g.Version != expectedVersion+1 {
		return gateway.Internal(op, fmt.Errorf("gateway %s: new version %d does not follow %d", g.ID, g.Version, expectedVersion))
	}
	stored, err := normalise(g)
	if err != nil {
		return gateway.Internal(op, fmt.Errorf("gateway %s: %w", g.ID, err))
	}
	return s.change(op, g.ID, expectedVersion, ev, g.ClaimedBot, func() { s.gateways[g.ID] = stored })
}

// DeleteGateway deletes gateway id, and records ev, if the stored version
// is expectedVersion. The audit trail stays.
//
// Errors: as UpdateGateway.
func (s *Store) DeleteGateway(ctx context.Context, id string, expectedVersion int64, ev gateway.AuditEvent) error {
	if err := s.enter(ctx, OpDeleteGateway, id); err != nil {
		return err
	}
	return s.change("gatewaytest.DeleteGateway", id, expectedVersion, ev, "", func() { delete(s.gateways, id) })
}

// change applies write and records ev if gateway id is at version expected,
// and moves its bot claim to claim ("" for none), as pkg/dynamo does:
// CodeConflict with gateway.MsgBotInUse when another gateway holds it.
func (s *Store) change(op, id string, expected int64, ev gateway.AuditEvent, claim string, write func()) error {
	entry, err := auditOf(id, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.gateways[id]
	switch {
	case !ok:
		return gateway.NotFound()
	case cur.Version != expected:
		return &gateway.Error{Code: gateway.CodeVersionMismatch, Message: "The gateway has been changed since it was read; fetch it again.", Op: op}
	case s.recorded(id, entry.key):
		return gateway.Internal(op, fmt.Errorf("audit event %s of gateway %s already recorded", ev.ID, id))
	}
	held := cur.ClaimedBot
	if holder, taken := s.claims[claim]; claim != "" && claim != held && taken && holder != id {
		return &gateway.Error{Code: gateway.CodeConflict, Message: gateway.MsgBotInUse, Op: op}
	}
	if held != claim && s.claims[held] == id {
		delete(s.claims, held)
	}
	if claim != "" {
		s.claims[claim] = id
	}
	write()
	s.record(id, entry)
	return nil
}

// ClaimHolder is the gateway holding bot botID's claim, or "".
func (s *Store) ClaimHolder(botID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[botID]
}

// ListGateways lists owner's gateways newest first (ties broken by id,
// descending), limit (1..MaxLimit) to a page, keeping those that match f.
// Next resumes right after the page's last gateway, so gateways created or
// deleted meanwhile shift nothing; it is empty on the last page.
//
// Errors: CodeInvalid (field "limit" or "cursor") for a bad limit or a
// cursor not issued for this owner's listing.
func (s *Store) ListGateways(ctx context.Context, owner gateway.Owner, f gateway.ListFilter, limit int, cursor string) (gateway.Page, error) {
	if err := s.enter(ctx, OpListGateways, ""); err != nil {
		return gateway.Page{}, err
	}
	if err := checkLimit(limit); err != nil {
		return gateway.Page{}, err
	}
	// The scope leaves the filter out, as pkg/dynamo's does: a cursor
	// names a position in the owner's listing, whatever the filter.
	scope := "gateways:" + owner.Key()
	after, err := decodeCursor(cursor, scope)
	if err != nil {
		return gateway.Page{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type keyed struct {
		key string
		g   *gateway.Gateway
	}
	var all []keyed
	for _, g := range s.gateways {
		if g.Owner().Key() == owner.Key() {
			all = append(all, keyed{listKey(g), g})
		}
	}
	slices.SortFunc(all, func(a, b keyed) int { return strings.Compare(b.key, a.key) })
	page := gateway.Page{Gateways: []*gateway.Gateway{}}
	last := ""
	for _, k := range all {
		if after != "" && k.key >= after {
			continue
		}
		if (f.Type != "" && k.g.Type != f.Type) || (f.Status != "" && k.g.Status != f.Status) {
			continue
		}
		// One match beyond the page says there is a next one, so the
		// last page has no cursor.
		if len(page.Gateways) == limit {
			page.Next = encodeCursor(scope, last)
			break
		}
		page.Gateways = append(page.Gateways, clone(k.g))
		last = k.key
	}
	return page, nil
}

// ListAudit lists the audit events of gateway gatewayID newest first (ties
// broken by event id, descending), limit (1..MaxLimit) to a page. A
// deleted gateway's trail is kept. Next is empty on the last page.
//
// Errors: CodeInvalid (field "limit" or "cursor") for a bad limit or a
// cursor not issued for this gateway's trail.
func (s *Store) ListAudit(ctx context.Context, gatewayID string, limit int, cursor string) (gateway.AuditPage, error) {
	if err := s.enter(ctx, OpListAudit, gatewayID); err != nil {
		return gateway.AuditPage{}, err
	}
	if err := checkLimit(limit); err != nil {
		return gateway.AuditPage{}, err
	}
	scope := "audit:" + gatewayID
	after, err := decodeCursor(cursor, scope)
	if err != nil {
		return gateway.AuditPage{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	trail := s.audit[gatewayID]
	page := gateway.AuditPage{Events: []gateway.AuditEvent{}}
	last := ""
	for i := len(trail) - 1; i >= 0; i-- {
		e := trail[i]
		if after != "" && e.key >= after {
			continue
		}
		if len(page.Events) == limit {
			page.Next = encodeCursor(scope, last)
			break
		}
		page.Events = append(page.Events, copyEvent(e.ev))
		last = e.key
	}
	return page, nil
}

// GetIdempotency reads the record of owner's key. A record past its expiry
// (on the store's clock) is NotFound. ExpiresAt is in whole seconds.
func (s *Store) GetIdempotency(ctx context.Context, owner gateway.Owner, key string) (*gateway.Idempotency, error) {
	if err := s.enter(ctx, OpGetIdempotency, ""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.idem[idemKey(owner, key)]
	if !ok || !rec.ExpiresAt.After(s.now()) {
		return nil, gateway.NotFound()
	}
	rec.Owner, rec.Key = owner, key
	return &rec, nil
}

// MustPut stores g as it is, whatever is stored under its id, with no
// condition and no audit event: the seeding of a test's world, in a state
// the service would take several writes to reach. It fails tb for a
// gateway pkg/dynamo could not store.
func (s *Store) MustPut(tb testing.TB, g *gateway.Gateway) {
	tb.Helper()
	stored, err := normalise(g)
	if err != nil {
		tb.Fatalf("gatewaytest: MustPut(%s): %v", g.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gateways[g.ID] = stored
	if g.ClaimedBot != "" {
		s.claims[g.ClaimedBot] = g.ID
	}
}

// PutIdempotency stores rec as it is, for rec.Owner and rec.Key, whatever
// is stored there, with ExpiresAt cut to whole seconds.
func (s *Store) PutIdempotency(rec gateway.Idempotency) {
	rec.ExpiresAt = time.Unix(rec.ExpiresAt.Unix(), 0).UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idem[idemKey(rec.Owner, rec.Key)] = rec
}

// RecordAudit records ev in gateway id's trail on its own, as another
// store's write to the gateway's partition does (pkg/dynamo's routes put
// their audit events there). The gateway need not exist: trails outlive
// their gateways. It does not call the interceptor; the calling store
// runs its own.
//
// Errors: CodeInternal for an event without an id, naming another
// gateway, or already recorded.
func (s *Store) RecordAudit(id string, ev gateway.AuditEvent) error {
	const op = "gatewaytest.RecordAudit"
	entry, err := auditOf(id, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recorded(id, entry.key) {
		return gateway.Internal(op, fmt.Errorf("audit event %s of gateway %s already recorded", ev.ID, id))
	}
	s.record(id, entry)
	return nil
}

// Trail returns the whole audit trail of gateway id, newest first, without
// paging and without calling the interceptor.
func (s *Store) Trail(id string) []gateway.AuditEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	trail := s.audit[id]
	out := make([]gateway.AuditEvent, 0, len(trail))
	for i := len(trail) - 1; i >= 0; i-- {
		out = append(out, copyEvent(trail[i].ev))
	}
	return out
}

// Snapshot returns the store's whole content as bytes: two equal snapshots
// mean nothing was written in between.
func (s *Store) Snapshot(tb testing.TB) []byte {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	audit := make(map[string][]gateway.AuditEvent, len(s.audit))
	for id, trail := range s.audit {
		for _, e := range trail {
			audit[id] = append(audit[id], e.ev)
		}
	}
	b, err := json.Marshal(struct {
		Gateways map[string]*gateway.Gateway
		Audit    map[string][]gateway.AuditEvent
		Idem     map[string]gateway.Idempotency
	}{s.gateways, audit, s.idem})
	if err != nil {
		tb.Fatalf("gatewaytest: Snapshot: %v", err)
	}
	return b
}

// Restore replaces the store's content (gateways, trails, idempotency
// records) with a deep copy of from's; its clock and interceptor stay.
func (s *Store) Restore(from *Store) {
	from.mu.Lock()
	gws := make(map[string]*gateway.Gateway, len(from.gateways))
	for id, g := range from.gateways {
		gws[id] = clone(g)
	}
	audit := make(map[string][]auditEntry, len(from.audit))
	for id, trail := range from.audit {
		cp := make([]auditEntry, len(trail))
		for i, e := range trail {
			cp[i] = auditEntry{key: e.key, ev: copyEvent(e.ev)}
		}
		audit[id] = cp
	}
	idem := maps.Clone(from.idem)
	from.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.gateways, s.audit, s.idem = gws, audit, idem
}

// recorded reports whether gateway id's trail holds an event at key.
// s.mu held.
func (s *Store) recorded(id, key string) bool {
	_, found := slices.BinarySearchFunc(s.audit[id], key, func(e auditEntry, k string) int { return strings.Compare(e.key, k) })
	return found
}

// record adds e to gateway id's trail, keeping it sorted. s.mu held.
func (s *Store) record(id string, e auditEntry) {
	trail := s.audit[id]
	i, _ := slices.BinarySearchFunc(trail, e.key, func(x auditEntry, k string) int { return strings.Compare(x.key, k) })
	s.audit[id] = slices.Insert(trail, i, e)
}

func idemKey(o gateway.Owner, key string) string { return o.Key() + "\x00" + key }

// timeLayout is pkg/dynamo's: fixed width, so that string order is time
// order in sort keys.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// listKey orders an owner's listing as pkg/dynamo's owner index does.
func listKey(g *gateway.Gateway) string { return formatTime(g.CreatedAt) + "#" + g.ID }

// auditOf checks ev as pkg/dynamo does and returns it as it would be
// stored in gateway id's trail.
func auditOf(id string, ev gateway.AuditEvent) (auditEntry, error) {
	if ev.ID == "" {
		return auditEntry{}, fmt.Errorf("audit event of gateway %s has no id", id)
	}
	if ev.GatewayID != "" && ev.GatewayID != id {
		return auditEntry{}, fmt.Errorf("audit event %s names gateway %s, not %s", ev.ID, ev.GatewayID, id)
	}
	ev = copyEvent(ev)
	ev.GatewayID, ev.At = id, ev.At.UTC()
	return auditEntry{key: formatTime(ev.At) + "#" + ev.ID, ev: ev}, nil
}

func copyEvent(ev gateway.AuditEvent) gateway.AuditEvent {
	ev.Changes = slices.Clone(ev.Changes)
	ev.Details = maps.Clone(ev.Details)
	return ev
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return gateway.Invalid(gateway.FieldError{Field: "limit", Message: "The limit must be between 1 and " + strconv.Itoa(MaxLimit) + "."})
	}
	return nil
}

// cursor is what an opaque page cursor holds: the listing it was issued for
// and the sort key of the last item returned.
type cursor struct {
	Scope string `json:"s"`
	Key   string `json:"k"`
}

// maxCursorLen and maxKeyLen are pkg/dynamo's bounds on what a cursor may
// hold before it is decoded at all, and on a key value read from it.
const (
	maxCursorLen = 8192
	maxKeyLen    = 1000
)

func encodeCursor(scope, key string) string {
	b, _ := json.Marshal(cursor{Scope: scope, Key: key}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the key raw resumes after ("" for no cursor), once
// it is sure raw was issued for scope. Every failure is CodeInvalid on
// field "cursor", with pkg/dynamo's messages.
func decodeCursor(raw, scope string) (string, error) {
	if raw == "" {
		return "", nil
	}
	malformed := gateway.Invalid(gateway.FieldError{Field: "cursor", Message: "The cursor is malformed."})
	if len(raw) > maxCursorLen {
		return "", malformed
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", malformed
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return "", malformed
	}
	if c.Scope != scope {
		return "", gateway.Invalid(gateway.FieldError{Field: "cursor", Message: "The cursor belongs to another listing."})
	}
	if c.Key == "" || len(c.Key) > maxKeyLen {
		return "", malformed
	}
	return c.Key, nil
}

// normalise returns a copy of g as pkg/dynamo stores and reads it back: an
// empty config as {}, empty byte slices as nil, times in UTC,
// CredentialInfo as JSON-like values. Errors: a CredentialInfo value
// DynamoDB cannot hold.
func normalise(g *gateway.Gateway) (*gateway.Gateway, error) {
	c := clone(g)
	if len(c.Config) == 0 {
		c.Config = json.RawMessage("{}")
	}
	if g.CredentialInfo != nil {
		v, err := jsonLike(map[string]any(g.CredentialInfo))
		if err != nil {
			return nil, fmt.Errorf("credentialInfo: %w", err)
		}
		c.CredentialInfo = v.(map[string]any)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	for _, t := range []*time.Time{c.LastConnectedAt, c.LastErrorAt, c.LastCheckedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return c, nil
}

// clone copies g deeply, so that no caller can change a stored gateway
// without a write (the lifecycle edits CredentialInfo in place).
func clone(g *gateway.Gateway) *gateway.Gateway {
	c := *g
	if g.Config != nil {
		c.Config = bytes.Clone(g.Config)
	}
	if g.CredentialInfo != nil {
		c.CredentialInfo = deepCopy(map[string]any(g.CredentialInfo)).(map[string]any)
	}
	c.SealedCredentials = cloneBytes(g.SealedCredentials)
	c.WebhookSecretHash = cloneBytes(g.WebhookSecretHash)
	c.LastConnectedAt = clonePtr(g.LastConnectedAt)
	c.LastErrorAt = clonePtr(g.LastErrorAt)
	c.LastCheckedAt = clonePtr(g.LastCheckedAt)
	c.LastLatencyMs = clonePtr(g.LastLatencyMs)
	return &c
}

// cloneBytes copies b; empty is nil, as DynamoDB leaves an empty binary
// attribute out.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// jsonLike converts the values pkg/dynamo accepts in CredentialInfo to what
// it reads back: numbers as float64, lists as []any, maps as
// map[string]any. Anything else is an error, as it is there.
func jsonLike(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("number %s has no DynamoDB form", strconv.FormatFloat(x, 'g', -1, 64))
		}
		return x, nil
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number")
		}
		return f, nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return m, nil
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			c, err := jsonLike(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = c
		}
		return m, nil
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			c, err := jsonLike(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = c
		}
		return l, nil
	case []string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return l, nil
	default:
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
}

// deepCopy copies the maps and lists of a JSON-like value; other values
// are immutable, or (before normalise has run) left shared.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return x
	}
}
