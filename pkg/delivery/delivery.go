// Package delivery pushes a bot's received updates along its routes
// (package route): the delivery function runs it on batches of the
// table's DynamoDB Stream, and on a schedule for the retries.
//
// # How it keeps its promises
//
// Every (route, chat) pair is a lane: its updates are delivered one at a
// time, in update_id order, and lanes never wait for each other. A lane
// has one item in the table holding its lease, its backlog count, the
// last update it delivered and its retry schedule.
//
//   - Fast path: for a stream batch, a lane with nothing waiting is leased
//     and its updates are delivered straight from the stream records. The
//     stream is the durable queue: if the function dies before the lease is
//     released, Lambda re-invokes the batch, and updates already delivered
//     are skipped (the lane remembers the last one), or delivered again
//     with the same webhook-id.
//   - Slow path: when a lane has a backlog, is leased by another worker, is
//     waiting out a retry, or a delivery fails, the updates are written to
//     the lane's queue (items "DLV#…" in the bot's partition) together with
//     a marker in a small due-list partition, in one transaction. The
//     scheduled sweep (and the next stream batch for that lane) drains
//     queues whose markers are due.
//   - A failed delivery is retried with exponential backoff and full
//     jitter (at least the target's Retry-After) until the retry horizon
//     (24 h by default) has passed since its first attempt; then it moves
//     to the route's dead letters and the lane goes on.
//   - A stream batch reports the first record whose updates could not be
//     made durable (DynamoDB unavailable) as a batch item failure, so
//     Lambda retries from there and nothing before it twice.
//
// Consumers see an update more than once only as a retry (or a replay)
// carrying the same webhook-id, so they can de-duplicate.
package delivery

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// Lane is one (route, chat) ordering lane of a bot.
type Lane struct {
	BotID   string
	RouteID string
	Chat    string // route.ChatKey
}

// LaneState is a lane's stored bookkeeping.
type LaneState struct {
	Pending int64
	// DeliveredThrough is the highest update_id delivered by the fast path
	// or the queue (-1: none).
	DeliveredThrough int64
	NextAttemptAt    *time.Time
	Attempts         int64
	Leased           bool
}

// Pending is one queued update of a lane.
type Pending struct {
	route.Queued
	Attempts       int64
	FirstAttemptAt *time.Time
}

// AcquireMode says what a lease requires of the lane.
type AcquireMode int

const (
	// AcquireIdle leases a lane only if nothing is queued on it: the fast
	// path, which delivers from the stream records.
	AcquireIdle AcquireMode = iota
	// AcquireDue leases a lane that is not waiting out a retry.
	AcquireDue
)

// Release is what the lease holder writes as it lets a lane go.
type Release struct {
	// PendingDelta is added to the lane's backlog count (negative for the
	// queued updates delivered or dead-lettered).
	PendingDelta int64
	// DeliveredThrough is the new highest delivered update_id.
	DeliveredThrough int64
	// NextAttemptAt, when set, makes the lane wait before its next try;
	// Attempts and LastError go with it.
	NextAttemptAt *time.Time
	Attempts      int64
	LastError     string
	// FirstAttemptAt stamps the head item the first time it fails.
	FirstAttemptAt *time.Time
	// Head is the queued update whose attempt failed (nil: none).
	Head *Pending
}

// Store is what the engine needs of the table (pkg/dynamo implements it).
type Store interface {
	ListRoutes(ctx context.Context, botID string) ([]*route.Route, error)
	GetRoute(ctx context.Context, botID, routeID string) (*route.Route, error)
	// Acquire leases lane l to owner until until. It reports false, with
	// the lane's state, when the lane does not meet mode or is leased.
	Acquire(ctx context.Context, l Lane, owner string, until, now time.Time, mode AcquireMode) (LaneState, bool, error)
	// Extend moves owner's lease of l to until; an error if it is lost.
	Extend(ctx context.Context, l Lane, owner string, until time.Time) error
	// Release lets the lane go (and records rel). It returns the state
	// after; lost says the lease had expired and was taken.
	Release(ctx context.Context, l Lane, owner string, rel Release) (st LaneState, lost bool, err error)
	// Persist queues items on lane l and marks the lane due at due, all
	// or nothing. With owner set it also releases owner's lease with rel.
	Persist(ctx context.Context, l Lane, items []route.Queued, due time.Time, owner string, rel *Release) error
	// Queue reads up to limit queued updates of the lane, oldest first.
	Queue(ctx context.Context, l Lane, limit int) ([]Pending, error)
	// Done removes delivered updates from the lane's queue.
	Done(ctx context.Context, l Lane, updateIDs []int64) error
	// DeadLetter moves a queued update to the route's dead letters.
	DeadLetter(ctx context.Context, l Lane, p Pending, failedAt time.Time, lastError string) error
	// Due lists lanes whose markers are due at now (at most limit).
	Due(ctx context.Context, now time.Time, limit int) ([]Lane, error)
	// Settle takes done off the lane's backlog count, removes its marker
	// and releases owner's lease, if the count is at most done; otherwise
	// it changes nothing (the lease is kept) and returns the count.
	Settle(ctx context.Context, l Lane, owner string, deliveredThrough, done int64) (settled bool, pending int64, err error)
	// Reschedule moves the lane's marker to at (the lane is leased).
	Reschedule(ctx context.Context, l Lane, at time.Time) error
	// Delivered and Failed record a route's delivery outcome.
	Delivered(ctx context.Context, r *route.Route, updateID int64, at time.Time, lag time.Duration) error
	Failed(ctx context.Context, r *route.Route, at time.Time, msg string, errorAfter int64) error
	// KickTargeting retries now the waiting lanes of every failing route
	// whose target is WEBHOOK gateway id.
	KickTargeting(ctx context.Context, id string) error
	// ForgetLane deletes what a lane of a deleted route left: its marker,
	// its item and its queue.
	ForgetLane(ctx context.Context, l Lane) error
	// GatewayRemoved deletes the routes of a deleted bot and pauses the
	// routes that targeted a deleted gateway.
	GatewayRemoved(ctx context.Context, id string) error
}

// Message is one delivery of an update along a route.
type Message struct {
	Route     *route.Route
	Update    *inbox.Update
	WebhookID string
	Replay    bool
	// Body is the JSON that a WEBHOOK target receives (and an EventBridge
	// event's detail).
	Body []byte
}

// Sender delivers messages to a target.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// RetryAfterError is a failure whose target asked to wait.
type RetryAfterError interface {
	RetryDelay() time.Duration
}

// Body is the JSON body of the delivery of u along r.
func Body(r *route.Route, u *inbox.Update, replay bool) ([]byte, error) {
	type body struct {
		Type      string          `json:"type"`
		GatewayID string          `json:"gatewayId"`
		RouteID   string          `json:"routeId"`
		UpdateID  int64           `json:"updateId"`
		Update    json.RawMessage `json:"update"`
		Replay    bool            `json:"replay,omitempty"`
	}
	return json.Marshal(body{Type: "telegram.update", GatewayID: r.GatewayID, RouteID: r.ID, UpdateID: u.UpdateID, Update: json.RawMessage(u.Raw), Replay: replay})
}

// Config tunes the engine.
type Config struct {
	// AttemptTimeout bounds one delivery attempt.
	AttemptTimeout time.Duration
	// RetryBase and RetryCap bound the backoff: attempt n waits a random
	// time in [0, min(RetryCap, RetryBase·2^(n-1))], at least RetryBase/2
	// and at least the target's Retry-After (up to RetryCap).
	RetryBase, RetryCap time.Duration
	// RetryFor is the retry horizon: an update that has failed for this
	// long since its first attempt becomes a dead letter.
	RetryFor time.Duration
	// ErrorAfter consecutive failures turn a route to ERROR.
	ErrorAfter int64
	// Lanes is how many lanes one invocation delivers concurrently.
	Lanes int
	// Budget bounds one invocation's work; lanes left are queued for the
	// sweep. Lambda's deadline, when nearer, wins.
	Budget time.Duration
}

// DefaultConfig is the production tuning.
func DefaultConfig() Config {
	return Config{
		AttemptTimeout: 10 * time.Second,
		RetryBase:      30 * time.Second,
		RetryCap:       30 * time.Minute,
		RetryFor:       24 * time.Hour,
		ErrorAfter:     5,
		Lanes:          32,
		Budget:         50 * time.Second,
	}
}

// Engine delivers updates along routes.
type Engine struct {
	store  Store
	sender Sender
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock sets the engine's clock (tests).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// New returns an engine. It does no I/O.
func New(store Store, sender Sender, cfg Config, log *slog.Logger, opts ...Option) *Engine {
	def := DefaultConfig()
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = def.AttemptTimeout
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = def.RetryBase
	}
	if cfg.RetryCap < cfg.RetryBase {
		cfg.RetryCap = max(def.RetryCap, cfg.RetryBase)
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = def.RetryFor
	}
	if cfg.ErrorAfter <= 0 {
		cfg.ErrorAfter = def.ErrorAfter
	}
	if cfg.Lanes <= 0 {
		cfg.Lanes = def.Lanes
	}
	if cfg.Budget <= 0 {
		cfg.Budget = def.Budget
	}
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{store: store, sender: sender, cfg: cfg, log: log, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Config returns the engine's tuning.
func (e *Engine) Config() Config { return e.cfg }

// errLeaseLost stops a lane whose lease could not be kept.
var errLeaseLost = errors.New("delivery: the lane's lease was lost")

// Record is one stream record as the engine needs it.
type Record struct {
	// Seq identifies the record for a batch item failure.
	Seq string
	// Update is set for an inserted update.
	Update *inbox.Update
	// RemovedGateway is set for a deleted gateway item.
	RemovedGateway string
	// HealthyTarget is set for a WEBHOOK gateway written CONNECTED (its
	// health check passed): routes to it that are waiting out a retry are
	// retried at once.
	HealthyTarget string
}

// Result says which records must be retried: the first one whose work is
// not durable, and every one after it (empty: none).
type Result struct {
	RetryFrom string
}

func newOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// work is one lane's share of a stream batch.
type work struct {
	lane    Lane
	route   *route.Route
	updates []*inbox.Update
	seqs    []string // the record of each update
}

// HandleStream delivers the updates a stream batch inserted, and cleans
// up after deleted gateways.
func (e *Engine) HandleStream(ctx context.Context, records []Record) Result {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	order := map[string]int{} // record seq -> position
	for i, r := range records {
		order[r.Seq] = i
	}
	var (
		mu    sync.Mutex
		retry = -1
	)
	fail := func(seq string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if i, ok := order[seq]; ok && (retry < 0 || i < retry) {
			retry = i
		}
		e.log.Error("delivery: could not make updates durable; the stream will retry them", "error", err)
	}

	// Group updates by bot, then lane, keeping stream order.
	var lanes []*work
	byLane := map[Lane]*work{}
	routes := map[string][]*route.Route{}
	// A record that fails here is retried with every record after it, so
	// nothing after it may be delivered now: a later update of the same
	// lane would overtake it (and be taken for delivered on the retry).
records:
	for _, rec := range records {
		switch {
		case rec.RemovedGateway != "":
			if err := e.store.GatewayRemoved(ctx, rec.RemovedGateway); err != nil {
				fail(rec.Seq, err)
				break records
			}
		case rec.HealthyTarget != "":
			// Best effort: a missed kick only means the retry waits.
			if err := e.store.KickTargeting(ctx, rec.HealthyTarget); err != nil {
				e.log.Warn("delivery: routes to a recovered target not retried early", "gatewayId", rec.HealthyTarget, "error", err)
			}
		case rec.Update != nil:
			u := rec.Update
			rs, ok := routes[u.GatewayID]
			if !ok {
				var err error
				if rs, err = e.store.ListRoutes(ctx, u.GatewayID); err != nil {
					fail(rec.Seq, err)
					break records
				}
				routes[u.GatewayID] = rs
			}
			for _, r := range rs {
				if !r.Filters.Match(route.Candidate{Type: u.Type, ChatID: u.ChatID, Raw: u.Raw}) {
					continue
				}
				l := Lane{BotID: u.GatewayID, RouteID: r.ID, Chat: route.ChatKey(u.ChatID, u.SenderID)}
				w := byLane[l]
				if w == nil {
					w = &work{lane: l, route: r}
					byLane[l] = w
					lanes = append(lanes, w)
				}
				w.updates = append(w.updates, u)
				w.seqs = append(w.seqs, rec.Seq)
			}
		}
	}

	prog, failing := newProgress(), &failures{}
	defer e.flush(ctx, prog)
	e.parallel(ctx, len(lanes), func(i int) {
		w := lanes[i]
		if at, err := e.streamLane(ctx, w, prog, failing); err != nil {
			fail(w.seqs[at], err)
		}
	})
	if retry >= 0 {
		return Result{RetryFrom: records[retry].Seq}
	}
	return Result{}
}

// bound limits ctx to the engine's budget, and to a little before
// Lambda's deadline.
func (e *Engine) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	end := e.now().Add(e.cfg.Budget)
	if d, ok := ctx.Deadline(); ok && d.Add(-2*time.Second).Before(end) {
		end = d.Add(-2 * time.Second)
	}
	return context.WithDeadline(ctx, end)
}

// parallel runs fn(0..n-1) on at most cfg.Lanes goroutines and waits.
func (e *Engine) parallel(ctx context.Context, n int, fn func(int)) {
	sem := make(chan struct{}, e.cfg.Lanes)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// leaseFor is how long a lease lasts before its holder renews it: long
// enough for a few attempts, short enough that a holder that died (or
// whose release was lost) blocks its lane only briefly.
func (e *Engine) leaseFor() time.Duration { return 3*e.cfg.AttemptTimeout + 5*time.Second }

// lease is a held lane lease.
type lease struct {
	e     *Engine
	lane  Lane
	owner string
	until time.Time
}

func (e *Engine) newLease(l Lane) *lease {
	return &lease{e: e, lane: l, owner: newOwner(), until: e.now().Add(e.leaseFor())}
}

// keep renews the lease when less than an attempt's worth is left; false
// means it is lost (or cannot be renewed): the holder must stop.
func (ls *lease) keep(ctx context.Context) bool {
	e := ls.e
	if ls.until.Sub(e.now()) > e.cfg.AttemptTimeout+2*time.Second {
		return true
	}
	until := e.now().Add(e.leaseFor())
	if err := e.store.Extend(ctx, ls.lane, ls.owner, until); err != nil {
		e.log.Warn("delivery: lane lease not renewed; stopping", "routeId", ls.lane.RouteID, "error", err)
		return false
	}
	ls.until = until
	return true
}

// release lets the lane go, retrying a failed write a few times: a lost
// release blocks the lane until the lease runs out.
func (e *Engine) release(ctx context.Context, l Lane, owner string, rel Release) (LaneState, bool, error) {
	ctx = context.WithoutCancel(ctx)
	for attempt := 0; ; attempt++ {
		st, lost, err := e.store.Release(ctx, l, owner, rel)
		if err == nil || attempt == 2 {
			return st, lost, err
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
}

// streamLane delivers one lane's updates of a stream batch: straight away
// when the lane is idle, else through its queue. On an error it returns
// the index of the first update that is not durable.
func (e *Engine) streamLane(ctx context.Context, w *work, prog *progress, failing *failures) (int, error) {
	ls := e.newLease(w.lane)
	owner := ls.owner
	now := e.now()
	st, ok, err := e.store.Acquire(ctx, w.lane, owner, ls.until, now, AcquireIdle)
	if err != nil {
		return 0, err
	}
	// Skip what an earlier invocation of this batch already delivered.
	start := 0
	for start < len(w.updates) && w.updates[start].UpdateID <= st.DeliveredThrough {
		start++
	}
	if !ok {
		if start == len(w.updates) {
			return 0, nil
		}
		due := now
		if st.NextAttemptAt != nil && st.NextAttemptAt.After(due) {
			due = *st.NextAttemptAt
		}
		// The holder (which looks again before it lets go), or the sweep
		// when due, delivers them: a backlog is never worked off here, so
		// a route catching up never holds the stream up.
		if err := e.store.Persist(ctx, w.lane, queued(w.updates[start:]), due, "", nil); err != nil {
			return start, err
		}
		return 0, nil
	}
	through := st.DeliveredThrough
	var last *inbox.Update
	defer func() { prog.delivered(w.route, last) }()
	for i := start; i < len(w.updates); i++ {
		u := w.updates[i]
		if !ls.keep(ctx) {
			// The lease is gone or cannot be kept: the stream retries the
			// rest, and whoever holds the lane now goes on in order.
			return i, errLeaseLost
		}
		if w.route.Status == route.StatusPaused || ctx.Err() != nil || failing.failing(w.route) {
			// Paused, out of time, or a target that keeps failing: queue
			// the rest for the sweep, so the stream never waits on it.
			return i, e.persistRest(ctx, w, i, owner, through, nil, "")
		}
		err := e.send(ctx, w.route, u, false)
		if err != nil {
			failing.failed(w.route)
			first := e.now()
			next := e.backoff(1, err)
			return i, e.persistRest(ctx, w, i, owner, through, &first, errorText(err), next)
		}
		through, last = u.UpdateID, u
	}
	_, _, err = e.release(ctx, w.lane, owner, Release{DeliveredThrough: through})
	if err != nil {
		e.log.Warn("delivery: lane release failed; its lease expires", "routeId", w.route.ID, "error", err)
	}
	return 0, nil
}

// persistRest queues the lane's updates from i on and releases the lease:
// with a retry schedule when the update at i failed (first set), or due
// at once otherwise (paused routes keep their marker until resumed).
func (e *Engine) persistRest(ctx context.Context, w *work, i int, owner string, through int64, first *time.Time, msg string, next ...time.Time) error {
	now := e.now()
	rel := &Release{DeliveredThrough: through}
	due := now
	if first != nil {
		rel.NextAttemptAt, rel.Attempts, rel.LastError, rel.FirstAttemptAt = &next[0], 1, msg, first
		due = next[0]
		e.recordFailure(ctx, w.route, msg)
	}
	if w.route.Status == route.StatusPaused {
		due = now.Add(pausedRecheck)
	}
	// Persist outlives the invocation's deadline: queueing is what makes
	// the updates durable.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return e.store.Persist(pctx, w.lane, queued(w.updates[i:]), due, owner, rel)
}

// pausedRecheck is how often the sweep looks at a paused route's lanes.
const pausedRecheck = 5 * time.Minute

func queued(us []*inbox.Update) []route.Queued {
	out := make([]route.Queued, len(us))
	for i, u := range us {
		out[i] = route.Queued{Update: *u}
	}
	return out
}

// send makes one delivery attempt.
func (e *Engine) send(ctx context.Context, r *route.Route, u *inbox.Update, replay bool) error {
	body, err := Body(r, u, replay)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, e.cfg.AttemptTimeout)
	defer cancel()
	return e.sender.Send(actx, Message{Route: r, Update: u, WebhookID: route.WebhookID(r.ID, u.UpdateID), Replay: replay, Body: body})
}

// failingAfter is how many failures in a row take a route off the
// stream's fast path: its updates then go through its queue and the
// sweep, so a target that keeps failing or hanging never makes the stream
// (and the other routes and bots on it) wait. A success in the sweep
// brings it back.
const failingAfter = 3

// failures are the routes that failed during one stream invocation.
type failures struct{ m sync.Map }

func (f *failures) failed(r *route.Route) { f.m.Store(r.ID, true) }

// failing reports whether r's updates skip the fast path.
func (f *failures) failing(r *route.Route) bool {
	if r.ConsecutiveFailures >= failingAfter || r.Status == route.StatusError {
		return true
	}
	_, ok := f.m.Load(r.ID)
	return ok
}

// progress collects, during one invocation, the newest update each route
// delivered, so that route state costs one write per route and
// invocation, not one per update.
type progress struct {
	mu   sync.Mutex
	last map[string]routeProgress
}

type routeProgress struct {
	r *route.Route
	u *inbox.Update
}

func newProgress() *progress { return &progress{last: map[string]routeProgress{}} }

// delivered notes that r delivered u (nil: nothing).
func (p *progress) delivered(r *route.Route, u *inbox.Update) {
	if u == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.last[r.ID]; !ok || u.UpdateID > cur.u.UpdateID {
		p.last[r.ID] = routeProgress{r: r, u: u}
	}
}

// flush records each route's progress.
func (e *Engine) flush(ctx context.Context, p *progress) {
	now := e.now()
	for _, rp := range p.last {
		if err := e.store.Delivered(context.WithoutCancel(ctx), rp.r, rp.u.UpdateID, now, now.Sub(rp.u.ReceivedAt)); err != nil {
			e.log.Warn("delivery: route state not recorded", "routeId", rp.r.ID, "error", err)
		}
	}
}

func (e *Engine) recordFailure(ctx context.Context, r *route.Route, msg string) {
	if err := e.store.Failed(context.WithoutCancel(ctx), r, e.now(), msg, e.cfg.ErrorAfter); err != nil {
		e.log.Warn("delivery: route state not recorded", "routeId", r.ID, "error", err)
	}
}

// backoff is when attempt n (1 = the first failure) is retried: full
// jitter over an exponential window, at least half the base, at least
// what the target asked for.
func (e *Engine) backoff(n int64, err error) time.Time {
	window := e.cfg.RetryCap
	if n < 40 {
		window = min(e.cfg.RetryCap, time.Duration(float64(e.cfg.RetryBase)*math.Pow(2, float64(n-1))))
	}
	d := e.cfg.RetryBase/2 + time.Duration(mrand.Int64N(int64(max(window-e.cfg.RetryBase/2, 1))))
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryDelay() > d {
		d = min(ra.RetryDelay(), e.cfg.RetryCap)
	}
	return e.now().Add(d)
}

// errorText is a failure as the route's lastError shows it.
func errorText(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the target did not answer in time"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// Sweep drains the lanes whose markers are due; the schedule runs it.
// It reports how many lanes it looked at.
func (e *Engine) Sweep(ctx context.Context) (int, error) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	lanes, err := e.store.Due(ctx, e.now(), 1000)
	if err != nil {
		return 0, err
	}
	// One route read per route, not per lane.
	byRoute := map[[2]string]*route.Route{}
	var mu sync.Mutex
	routeOf := func(l Lane) (*route.Route, error) {
		mu.Lock()
		r, ok := byRoute[[2]string{l.BotID, l.RouteID}]
		mu.Unlock()
		if ok {
			return r, nil
		}
		r, err := e.store.GetRoute(ctx, l.BotID, l.RouteID)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		byRoute[[2]string{l.BotID, l.RouteID}] = r
		mu.Unlock()
		return r, nil
	}
	prog := newProgress()
	defer e.flush(ctx, prog)
	e.parallel(ctx, len(lanes), func(i int) {
		r, err := routeOf(lanes[i])
		if gateway.IsCode(err, gateway.CodeNotFound) {
			// The route was deleted while this lane was being written to.
			err = e.store.ForgetLane(ctx, lanes[i])
		}
		if err != nil {
			e.log.Warn("delivery: route of a due lane unreadable", "routeId", lanes[i].RouteID, "error", err)
		}
		if r == nil || err != nil {
			return
		}
		e.drain(ctx, lanes[i], r, prog)
	})
	return len(lanes), nil
}

// drain delivers a lane's queue in order while it can, then settles it.
func (e *Engine) drain(ctx context.Context, l Lane, r *route.Route, prog *progress) {
	for round := 0; round < 3 && ctx.Err() == nil; round++ {
		ls := e.newLease(l)
		st, ok, err := e.store.Acquire(ctx, l, ls.owner, ls.until, e.now(), AcquireDue)
		if err != nil || !ok {
			if err != nil {
				e.log.Warn("delivery: lane not leased", "routeId", l.RouteID, "error", err)
			}
			return
		}
		if !e.drainLeased(ctx, l, r, ls, st, prog) {
			return
		}
	}
}

// drainLeased works through the leased lane's queue. It reports true when
// the lane should be looked at again (more was queued meanwhile).
func (e *Engine) drainLeased(ctx context.Context, l Lane, r *route.Route, ls *lease, st LaneState, prog *progress) bool {
	owner := ls.owner
	through := st.DeliveredThrough
	var done int64
	var last *inbox.Update
	defer func() { prog.delivered(r, last) }()
	release := func(rel Release) bool {
		rel.PendingDelta, rel.DeliveredThrough = -done, through
		after, lost, err := e.release(ctx, l, owner, rel)
		if err != nil || lost {
			if err != nil {
				e.log.Warn("delivery: lane release failed; its lease expires", "routeId", r.ID, "error", err)
			}
			return false
		}
		return rel.NextAttemptAt == nil && after.Pending > 0 && r.Status != route.StatusPaused
	}
	if r.Status == route.StatusPaused {
		_ = e.store.Reschedule(ctx, l, e.now().Add(pausedRecheck))
		return release(Release{})
	}
	for ctx.Err() == nil {
		items, err := e.store.Queue(ctx, l, 25)
		if err != nil {
			e.log.Warn("delivery: queue unreadable", "routeId", r.ID, "error", err)
			return release(Release{})
		}
		if len(items) == 0 {
			settled, pending, err := e.store.Settle(ctx, l, owner, through, done)
			if err == nil && !settled {
				// More is counted than was delivered: updates queued since
				// the read, or a count an interrupted drain left high.
				var again []Pending
				if again, err = e.store.Queue(ctx, l, 1); err == nil && len(again) == 0 {
					settled, _, err = e.store.Settle(ctx, l, owner, through, pending)
				}
			}
			if err != nil {
				e.log.Warn("delivery: lane not settled", "routeId", r.ID, "error", err)
				return release(Release{})
			}
			if settled {
				return false
			}
			continue
		}
		// Delivered updates leave the queue a page at a time (one batch
		// write); a failure to remove them only means they go again, with
		// the same webhook-id.
		var sent []*Pending
		dequeue := func() bool {
			if len(sent) == 0 {
				return true
			}
			ids := make([]int64, len(sent))
			for i, p := range sent {
				ids[i] = p.Update.UpdateID
			}
			if err := e.store.Done(context.WithoutCancel(ctx), l, ids); err != nil {
				e.log.Warn("delivery: delivered updates not dequeued", "routeId", r.ID, "error", err)
				sent = nil
				return false
			}
			for _, p := range sent {
				done++
				through = max(through, p.Update.UpdateID)
				if last == nil || p.Update.UpdateID > last.UpdateID {
					last = &p.Update
				}
			}
			sent = nil
			return true
		}
		for i := range items {
			p := &items[i]
			if ctx.Err() != nil {
				break
			}
			if !ls.keep(ctx) {
				dequeue()
				return false
			}
			err := e.send(ctx, r, &p.Update, p.Replay)
			if err == nil {
				sent = append(sent, p)
				continue
			}
			if !dequeue() {
				return release(Release{})
			}
			now := e.now()
			first := now
			if p.FirstAttemptAt != nil {
				first = *p.FirstAttemptAt
			}
			msg := errorText(err)
			e.recordFailure(ctx, r, msg)
			if now.Sub(first) >= e.cfg.RetryFor {
				if err := e.store.DeadLetter(context.WithoutCancel(ctx), l, *p, now, msg); err != nil {
					e.log.Warn("delivery: dead letter not written", "routeId", r.ID, "error", err)
					return release(Release{})
				}
				e.log.Warn("delivery: update dead-lettered", "routeId", r.ID, "updateId", p.Update.UpdateID, "attempts", p.Attempts+1)
				continue
			}
			next := e.backoff(p.Attempts+1, err)
			_ = e.store.Reschedule(ctx, l, next)
			release(Release{NextAttemptAt: &next, Attempts: p.Attempts + 1, LastError: msg, FirstAttemptAt: &first, Head: p})
			return false
		}
		if !dequeue() {
			return release(Release{})
		}
	}
	return release(Release{})
}
