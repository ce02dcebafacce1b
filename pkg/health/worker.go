package health

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// Task is one worker invocation's work: the sweep, how many segments it
// is split into, and the segment to start with.
type Task struct {
	Sweep    string `json:"sweep"`
	Segment  int    `json:"segment"`
	Segments int    `json:"segments"`
}

// Report counts what a run did. Worker runs and fan-outs add theirs up.
type Report struct {
	Sweep string `json:"sweep"`
	// Dispatched is how many tasks a coordinator handed out.
	Dispatched int `json:"dispatched,omitempty"`
	// Segments are the segments this run worked on.
	Segments []int `json:"segments,omitempty"`
	// Paused counts segments left at the deadline, to resume next sweep.
	Paused        int `json:"paused,omitempty"`
	Checked       int `json:"checked"`
	Healthy       int `json:"healthy"`
	Failed        int `json:"failed"`
	Skipped       int `json:"skipped"`
	Written       int `json:"written"`
	Conflicts     int `json:"conflicts"`
	StatusChanges int `json:"statusChanges"`
	Samples       int `json:"samples"`
	Errors        int `json:"errors"`
}

// Add adds o's counts to r.
func (r *Report) Add(o Report) {
	if r.Sweep == "" {
		r.Sweep = o.Sweep
	}
	r.Dispatched += o.Dispatched
	r.Segments = append(r.Segments, o.Segments...)
	slices.Sort(r.Segments)
	r.Paused += o.Paused
	r.Checked += o.Checked
	r.Healthy += o.Healthy
	r.Failed += o.Failed
	r.Skipped += o.Skipped
	r.Written += o.Written
	r.Conflicts += o.Conflicts
	r.StatusChanges += o.StatusChanges
	r.Samples += o.Samples
	r.Errors += o.Errors
}

// tally is a Report under construction by concurrent checks.
type tally struct {
	checked, healthy, failed, skipped, written, conflicts, changes, samples, errors atomic.Int64
}

func (t *tally) addTo(r *Report) {
	r.Checked += int(t.checked.Load())
	r.Healthy += int(t.healthy.Load())
	r.Failed += int(t.failed.Load())
	r.Skipped += int(t.skipped.Load())
	r.Written += int(t.written.Load())
	r.Conflicts += int(t.conflicts.Load())
	r.StatusChanges += int(t.changes.Load())
	r.Samples += int(t.samples.Load())
	r.Errors += int(t.errors.Load())
}

// Worker checks the gateways of the segments it claims. One Worker serves
// every invocation of a container (or, locally, every goroutine of a
// sweep); it is safe for concurrent use. It starts no goroutine that
// outlives Run.
type Worker struct {
	store    Store
	opener   Opener
	registry *provider.Registry
	events   Publisher
	cfg      Config
	now      func() time.Time
	log      *slog.Logger

	// warm remembers when this container last worked on each segment, so
	// that it claims the segments whose data keys it still has cached;
	// warmTTL is how long the Opener keeps them (WithWarmTTL).
	warmTTL  time.Duration
	mu       sync.Mutex
	warm     map[int]time.Time
	warmSegs int
}

// Option configures a Worker.
type Option func(*Worker)

// WithClock replaces time.Now, for tests: it decides deadlines, leases,
// sample times and what "recent" means.
func WithClock(now func() time.Time) Option { return func(w *Worker) { w.now = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Worker) { w.log = l } }

// WithEvents sets where status changes go (default: nowhere).
func WithEvents(p Publisher) Option { return func(w *Worker) { w.events = p } }

// WithWarmTTL sets how long a segment this container processed counts as
// warm: the TTL of the plaintext data-key cache behind the Opener, which
// whoever builds the Opener knows. Without it (or with zero) the worker
// assumes no cache, so no segment counts as warm and a run starts at its
// task's segment.
func WithWarmTTL(d time.Duration) Option { return func(w *Worker) { w.warmTTL = d } }

// NewWorker returns a Worker. It does no I/O.
func NewWorker(store Store, opener Opener, registry *provider.Registry, cfg Config, opts ...Option) *Worker {
	w := &Worker{
		store: store, opener: opener, registry: registry, cfg: cfg.withDefaults(),
		now: time.Now, log: slog.Default(), warm: map[int]time.Time{},
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Config returns the worker's configuration, defaults applied.
func (w *Worker) Config() Config { return w.cfg }

// Run works on t's sweep until no segment is left to claim or deadline
// nears: it claims a segment (t.Segment unless this container has others
// warm), checks its gateways, saves it as done or paused, and claims the
// next. A zero deadline means Config.Budget from now.
//
// Errors: the store's, when segment bookkeeping or a scan fails; the
// report then covers what was done. Failures of single checks are counted,
// not returned.
func (w *Worker) Run(ctx context.Context, t Task, deadline time.Time) (Report, error) {
	rep := Report{Sweep: t.Sweep}
	if t.Sweep == "" || t.Segments < 1 || t.Segments > MaxSegments || t.Segment < 0 || t.Segment >= t.Segments {
		return rep, fmt.Errorf("health.Run: invalid task %+v", t)
	}
	start := w.now()
	if deadline.IsZero() {
		deadline = start.Add(w.cfg.Budget)
	}
	stopAt := deadline.Add(-w.cfg.CheckTimeout - w.cfg.Margin)
	owner := "run-" + newID()
	var errs []error
	tried := map[int]bool{}
	for attempt := 0; attempt < 2*t.Segments+2 && w.now().Before(stopAt); attempt++ {
		states, err := w.store.ListSegments(ctx, t.Segments)
		if err != nil {
			errs = append(errs, err)
			break
		}
		seg, ok := w.pick(t, states, tried)
		if !ok {
			break
		}
		tried[seg] = true
		st, ok, err := w.store.ClaimSegment(ctx, Claim{
			Segment: seg, Segments: t.Segments, Sweep: t.Sweep, Owner: owner, Now: w.now(), LeaseUntil: deadline,
		})
		if err != nil {
			errs = append(errs, err)
			break
		}
		if !ok {
			continue // another worker was quicker; look again
		}
		var tl tally
		state, err := w.runSegment(ctx, t.Sweep, st, owner, stopAt, &tl)
		tl.addTo(&rep)
		rep.Segments = append(rep.Segments, seg)
		if state == StatePaused {
			rep.Paused++
		}
		w.remember(t.Segments, seg)
		if err != nil {
			errs = append(errs, err)
			break
		}
	}
	w.log.Info("health: run finished", "sweep", t.Sweep, "segments", rep.Segments, "paused", rep.Paused,
		"checked", rep.Checked, "failed", rep.Failed, "statusChanges", rep.StatusChanges,
		"conflicts", rep.Conflicts, "errors", rep.Errors, "ms", w.now().Sub(start).Milliseconds())
	return rep, errors.Join(errs...)
}

// pick chooses the next segment to claim among those the listing shows
// claimable: first t.Segment if this container has it warm, then the
// container's other warm segments, then t.Segment and the rest in order
// after it. A cold container thus starts where the coordinator pointed it,
// and a warm one goes back to the gateways whose keys it holds.
func (w *Worker) pick(t Task, states []SegmentState, tried map[int]bool) (int, bool) {
	byNum := make(map[int]SegmentState, len(states))
	for _, s := range states {
		byNum[s.Segment] = s
	}
	now := w.now()
	claimable := func(i int) bool {
		if tried[i] {
			return false
		}
		s, ok := byNum[i]
		return !ok || s.Claimable(t.Sweep, now)
	}
	warm := w.warmSegments(t.Segments, now)
	order := make([]int, 0, t.Segments+len(warm)+1)
	if slices.Contains(warm, t.Segment) {
		order = append(order, t.Segment)
	}
	order = append(order, warm...)
	for i := 0; i < t.Segments; i++ {
		order = append(order, (t.Segment+i)%t.Segments)
	}
	for _, i := range order {
		if claimable(i) {
			return i, true
		}
	}
	return 0, false
}

func (w *Worker) warmSegments(segments int, now time.Time) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.warmSegs != segments {
		return nil
	}
	var out []int
	for s, at := range w.warm {
		if now.Sub(at) < w.warmTTL {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (w *Worker) remember(segments, seg int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.warmSegs != segments {
		w.warm, w.warmSegs = map[int]time.Time{}, segments
	}
	w.warm[seg] = w.now()
}

// runSegment checks the gateways of a claimed segment from its cursor on,
// with at most Config.Concurrency checks in flight, until the segment ends
// or stopAt passes; then it waits for the checks in flight and saves the
// segment, done or paused at the last gateway started.
func (w *Worker) runSegment(ctx context.Context, sweep string, st SegmentState, owner string, stopAt time.Time, t *tally) (string, error) {
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	cursor, last := st.Cursor, st.Cursor
	lastSave := w.now()
	state := StateDone
	var scanErr error
pages:
	for {
		page, err := w.store.ScanGateways(ctx, st.Segment, st.Segments, cursor, w.cfg.PageSize)
		if err != nil {
			state, scanErr = StatePaused, err
			break
		}
		for i, g := range page.Gateways {
			if !w.now().Before(stopAt) {
				state = StatePaused
				break pages
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				state = StatePaused
				break pages
			}
			// Waiting for a free slot may have taken most of a check timeout.
			if !w.now().Before(stopAt) {
				<-sem
				state = StatePaused
				break pages
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				w.check(ctx, g, sweep, t)
			}()
			last = page.Keys[i]
		}
		if page.Next == nil {
			break
		}
		cursor, last = page.Next, page.Next
		if now := w.now(); now.Sub(lastSave) >= w.cfg.CheckpointEvery {
			lastSave = now
			if _, err := w.store.SaveSegment(ctx, SegmentSave{Segment: st.Segment, Segments: st.Segments, Owner: owner, State: StateRunning, Cursor: last, Now: now}); err != nil {
				w.log.Warn("health: checkpoint failed", "segment", st.Segment, "error", err)
			}
		}
	}
	wg.Wait()
	save := SegmentSave{Segment: st.Segment, Segments: st.Segments, Owner: owner, State: state, Now: w.now()}
	if state == StatePaused {
		save.Cursor = last
	}
	// Record progress even when the invocation's context has just ended.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	held, err := w.store.SaveSegment(sctx, save)
	switch {
	case err != nil:
		return state, errors.Join(scanErr, err)
	case !held:
		w.log.Warn("health: segment was taken over before it was saved", "segment", st.Segment, "sweep", sweep)
	}
	return state, scanErr
}

// newID returns 26 random base32 characters, for audit events and runs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it panics instead
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
