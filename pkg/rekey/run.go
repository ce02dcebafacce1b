package rekey

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// saveTimeout bounds the checkpoint save that ends a run, which runs even
// when the run's context has just been cancelled.
const saveTimeout = 10 * time.Second

// Run rotates (or, with opts.DryRun, inspects) every gateway's credentials
// until all are done, opts.Deadline nears, ctx ends or an outage stops it,
// and returns the run's summary. Progress lines go out at most once per
// Config.ProgressEvery and once at the end.
//
// Errors: CodeInvalid when DryRun and Resume are both set; CodeConflict
// when opts.Resume finds no run to resume or a run under another key, or
// when another run takes the checkpoint over; CodeUnavailable (the store's or the
// Resealer's) when KMS or DynamoDB cannot be reached; ctx's error, wrapped,
// when it ends first; and failures beyond Config.MaxFailures. After an
// error the summary still says what was done, and the checkpoint (except
// in a dry run) lets a run with Resume continue.
func (r *Rotator) Run(ctx context.Context, opts Options) (Summary, error) {
	if opts.DryRun && opts.Resume {
		return Summary{DryRun: true}, gateway.Errorf(gateway.CodeInvalid, "A dry run cannot resume a run; start it without resume.")
	}
	ru := r.newRun(opts)
	if opts.Resume {
		if sum, finished, err := ru.resume(ctx); finished || err != nil {
			return sum, err
		}
	} else if sum, err := ru.begin(ctx); err != nil {
		return sum, err
	}
	ru.baseline()
	ru.walk(ctx)
	err := ru.settle(ctx)
	err = ru.saveFinal(ctx, err)
	return ru.report(err)
}

// newRun prepares one invocation of Run, with its deadline's margin.
func (r *Rotator) newRun(opts Options) *run {
	ru := &run{r: r, dry: opts.DryRun, started: r.now(), sem: make(chan struct{}, r.cfg.Concurrency), listed: map[string]bool{}}
	if !opts.Deadline.IsZero() {
		ru.stopAt = opts.Deadline.Add(-r.cfg.Margin)
	}
	return ru
}

// resume loads the latest run's checkpoint to continue it. finished is true
// when that run is already complete: its summary is then the answer, and
// nothing is to be done. Errors: the store's; CodeConflict when there is
// nothing to resume or the run seals under another key; CodeInternal for a
// checkpoint with an impossible number of segments.
func (ru *run) resume(ctx context.Context) (sum Summary, finished bool, err error) {
	cp, ok, err := ru.r.store.LoadCheckpoint(ctx)
	switch {
	case err != nil:
		return Summary{}, false, err
	case !ok:
		return Summary{}, false, gateway.Errorf(gateway.CodeConflict, "There is no rotation to resume; start one without resume.")
	case cp.Complete:
		// Nothing left: answering with the finished run's summary lets
		// a caller loop "resume until complete" without special cases.
		ru.cp = cp
		return ru.summary(true), true, nil
	case cp.KeyID != ru.r.cfg.KeyID:
		return Summary{}, false, gateway.Errorf(gateway.CodeConflict,
			"Rotation %s seals under key %s, not the configured %s; start a new rotation instead of resuming it.", cp.RunID, cp.KeyID, ru.r.cfg.KeyID)
	case len(cp.Segments) == 0 || len(cp.Segments) > MaxSegments:
		return Summary{}, false, gateway.Internal("rekey.Run", fmt.Errorf("checkpoint of run %s has %d segments", cp.RunID, len(cp.Segments)))
	}
	ru.cp, ru.resumed = cp, true
	for _, ref := range cp.Unreadable {
		ru.listed[ref.ID] = true
	}
	return Summary{}, false, nil
}

// begin starts a new run: it counts the gateways and, unless this is a dry
// run, names the run and saves its first checkpoint, which takes over from
// any run before it. On an error, the summary says what there is to say.
func (ru *run) begin(ctx context.Context) (Summary, error) {
	total, err := ru.count(ctx)
	if err != nil {
		return Summary{DryRun: ru.dry}, err
	}
	ru.cp = Checkpoint{StartedAt: ru.started.UTC(), KeyID: ru.r.cfg.KeyID, Total: total, Segments: make([]SegmentState, ru.r.cfg.Segments)}
	if !ru.dry {
		ru.cp.RunID = newRunID(ru.started)
		ru.cp.UpdatedAt = ru.started.UTC()
		if err := ru.r.store.SaveCheckpoint(ctx, ru.cp, true); err != nil {
			return ru.summary(false), err
		}
	}
	return Summary{}, nil
}

// baseline sets what this invocation's progress is measured from: the
// counts its checkpoint already holds, and its start.
func (ru *run) baseline() {
	for _, s := range ru.cp.Segments {
		ru.live.Add(s.Counts)
	}
	ru.startScanned = ru.live.Scanned
	ru.lastSave, ru.lastProgress = ru.started, ru.started
}

// walk works through every segment not yet done, each in a goroutine of
// its own, and returns when all of them have ended or stopped.
func (ru *run) walk(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range ru.cp.Segments {
		if ru.cp.Segments[i].Done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ru.segment(ctx, i)
		}()
	}
	wg.Wait()
}

// settle marks the checkpoint complete when every segment is done, and
// returns the error the run stopped with: its own, or ctx's when ctx ended
// before the run was complete.
func (ru *run) settle(ctx context.Context) error {
	ru.mu.Lock()
	complete := true
	for _, s := range ru.cp.Segments {
		complete = complete && s.Done
	}
	ru.cp.Complete = complete
	err := ru.err
	ru.mu.Unlock()
	if err == nil && ctx.Err() != nil && !complete {
		err = ctx.Err()
	}
	return err
}

// saveFinal saves the checkpoint a run ends with (not in a dry run), even
// when ctx has just ended, and adds a failure to save to err. A save
// refused because another run took over says nothing err does not.
func (ru *run) saveFinal(ctx context.Context, err error) error {
	if ru.dry {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	serr := ru.save(sctx, true)
	cancel()
	if serr != nil && !gateway.IsCode(err, gateway.CodeConflict) {
		err = errors.Join(err, serr)
	}
	return err
}

// report sends the last progress line, logs how the run ended and returns
// its summary, with an interruption by ctx named as such.
func (ru *run) report(err error) (Summary, error) {
	r := ru.r
	sum := ru.summary(false)
	r.progress(ru.line(sum.Counts, sum.PerSecond))
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("rekey: run %s interrupted: %w", sum.RunID, err)
	}
	r.log.Info("rotate: run ended", "run", sum.RunID, "dryRun", sum.DryRun, "complete", sum.Complete,
		"scanned", sum.Scanned, "reencrypted", sum.Reencrypted, "unreadable", sum.Unreadable,
		"skipped", sum.Skipped, "failed", sum.Failed, "ms", sum.ElapsedMs, "error", err)
	return sum, err
}

// run is one invocation of Run.
type run struct {
	r       *Rotator
	dry     bool
	resumed bool
	started time.Time
	stopAt  time.Time // zero: no deadline
	sem     chan struct{}

	mu           sync.Mutex
	cp           Checkpoint // committed progress
	live         Counts     // everything finished, committed or not: for progress lines
	startScanned int
	listed       map[string]bool // ids in cp.Unreadable
	err          error           // the first error that stops the run
	failures     int             // in this invocation
	lastSave     time.Time
	lastProgress time.Time

	saveMu sync.Mutex // serialises saves, so a later save is never overtaken by an earlier one
}

// count adds up CountGateways over the segments, in parallel.
func (ru *run) count(ctx context.Context) (int, error) {
	n := ru.r.cfg.Segments
	counts := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = ru.r.store.CountGateways(ctx, i, n)
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	return total, errors.Join(errs...)
}

// halt records the first error that stops the run.
func (ru *run) halt(err error) {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	if ru.err == nil {
		ru.err = err
	}
}

// stopping reports whether the run must start no more gateways.
func (ru *run) stopping(ctx context.Context) bool {
	if ctx.Err() != nil || (!ru.stopAt.IsZero() && !ru.r.now().Before(ru.stopAt)) {
		return true
	}
	ru.mu.Lock()
	defer ru.mu.Unlock()
	return ru.err != nil
}

// segment works through segment i from its cursor until it ends or the run
// stops.
func (ru *run) segment(ctx context.Context, i int) {
	ru.mu.Lock()
	cursor, segments := ru.cp.Segments[i].Cursor, len(ru.cp.Segments)
	ru.mu.Unlock()
	for !ru.stopping(ctx) {
		page, err := ru.r.store.ScanGateways(ctx, i, segments, cursor, ru.r.cfg.PageSize)
		if err != nil {
			if ctx.Err() == nil {
				ru.halt(err)
			}
			return
		}
		if !ru.page(ctx, i, page) {
			return
		}
		ru.mu.Lock()
		if page.Next == nil {
			ru.cp.Segments[i].Done, ru.cp.Segments[i].Cursor = true, nil
		} else {
			ru.cp.Segments[i].Cursor = page.Next
		}
		ru.mu.Unlock()
		ru.maybeSave(ctx)
		if page.Next == nil {
			return
		}
		cursor = page.Next
	}
}

// page processes a page's gateways, up to Config.Concurrency at once across
// the run, and reports whether all of them are done. As gateways finish,
// the segment's cursor and counts advance over the done prefix of the page.
func (ru *run) page(ctx context.Context, seg int, p Page) bool {
	results := make([]*outcome, len(p.Entries))
	mark := 0 // results[:mark] are committed
	var pmu sync.Mutex
	var wg sync.WaitGroup
	for j, e := range p.Entries {
		if ru.stopping(ctx) {
			break
		}
		acquired := false
		select {
		case ru.sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if !acquired {
			break
		}
		// Waiting for a slot may have taken the run past its deadline.
		if ru.stopping(ctx) {
			<-ru.sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-ru.sem }()
			o := ru.process(ctx, e)
			ru.finish(o)
			pmu.Lock()
			defer pmu.Unlock()
			results[j] = &o
			for mark < len(results) && results[mark] != nil && results[mark].kind != kindStopped {
				ru.commit(seg, *results[mark], p.Keys[mark])
				mark++
			}
		}()
	}
	wg.Wait()
	return mark == len(p.Entries)
}

type kind int

const (
	kindStopped kind = iota // not done: the run stops (outage, ctx)
	kindRotated
	kindUnreadable
	kindSkipped
	kindFailed
)

// outcome is what became of one gateway.
type outcome struct {
	kind kind
	ref  GatewayRef
	err  error // kindStopped, kindFailed
	// masked: the run stored (a dry run: would store) the gateway's
	// credentialInfo masked.
	masked bool
}

func (o outcome) counts() Counts {
	c := Counts{Scanned: 1}
	switch o.kind {
	case kindRotated:
		c.Reencrypted = 1
	case kindUnreadable:
		c.Unreadable = 1
	case kindSkipped:
		c.Skipped = 1
	case kindFailed:
		c.Failed = 1
	}
	if o.masked {
		c.Masked = 1
	}
	return c
}

// finish accounts for a finished gateway: the live counts, the lists, the
// failure budget, the stop, and a progress line when one is due.
func (ru *run) finish(o outcome) {
	ru.mu.Lock()
	var line string
	switch o.kind {
	case kindStopped:
		if ru.err == nil {
			ru.err = o.err
		}
		ru.mu.Unlock()
		return
	case kindUnreadable:
		// A resumed run meets again the gateways it marked beyond its
		// checkpoint; they are listed once.
		if len(ru.cp.Unreadable) < MaxListed && !ru.listed[o.ref.ID] {
			ru.listed[o.ref.ID] = true
			ru.cp.Unreadable = append(ru.cp.Unreadable, o.ref)
		}
	case kindFailed:
		ru.failures++
		if len(ru.cp.Failed) < MaxListed && !slices.ContainsFunc(ru.cp.Failed, func(f GatewayRef) bool { return f.ID == o.ref.ID }) {
			ru.cp.Failed = append(ru.cp.Failed, o.ref)
		}
		if ru.failures >= ru.r.cfg.MaxFailures && ru.err == nil {
			ru.err = fmt.Errorf("rekey: %d gateways failed in this invocation; stopping (the last: %w)", ru.failures, o.err)
		}
	}
	ru.live.Add(o.counts())
	if now := ru.r.now(); now.Sub(ru.lastProgress) >= ru.r.cfg.ProgressEvery {
		ru.lastProgress = now
		line = ru.line(ru.live, ru.rate(ru.live.Scanned, now))
	}
	ru.mu.Unlock()
	if line != "" {
		ru.r.progress(line)
	}
}

// commit moves segment seg's cursor past a done gateway and counts it.
func (ru *run) commit(seg int, o outcome, key Cursor) {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	s := &ru.cp.Segments[seg]
	s.Cursor = key
	s.Counts.Add(o.counts())
}

// maybeSave saves the checkpoint when the last save is older than
// Config.CheckpointEvery. A failed save stops the run: going on without a
// checkpoint would make a resume repeat work it cannot recognise.
func (ru *run) maybeSave(ctx context.Context) {
	if ru.dry {
		return
	}
	ru.mu.Lock()
	due := ru.r.now().Sub(ru.lastSave) >= ru.r.cfg.CheckpointEvery
	ru.mu.Unlock()
	if due {
		if err := ru.save(ctx, false); err != nil && ctx.Err() == nil {
			ru.halt(err)
		}
	}
}

// save writes a snapshot of the checkpoint. final also saves a run that has
// already stopped with an error.
func (ru *run) save(ctx context.Context, final bool) error {
	ru.saveMu.Lock()
	defer ru.saveMu.Unlock()
	ru.mu.Lock()
	if !final && ru.err != nil {
		ru.mu.Unlock()
		return nil
	}
	now := ru.r.now()
	ru.lastSave = now
	ru.cp.UpdatedAt = now.UTC()
	cp := ru.cp
	cp.Segments = make([]SegmentState, len(ru.cp.Segments))
	for i, s := range ru.cp.Segments {
		cp.Segments[i] = s
		cp.Segments[i].Cursor = maps.Clone(s.Cursor)
	}
	cp.Unreadable = slices.Clone(ru.cp.Unreadable)
	cp.Failed = slices.Clone(ru.cp.Failed)
	ru.mu.Unlock()
	return ru.r.store.SaveCheckpoint(ctx, cp, false)
}

// process rotates one gateway: reseal, write if unchanged, and on a
// concurrent change re-read and start over.
func (ru *run) process(ctx context.Context, e Entry) outcome {
	r := ru.r
	for attempt := 0; ; attempt++ {
		g := e.Gateway
		ref := GatewayRef{ID: g.ID, Owner: g.Owner().Key()}
		if !ru.dry && e.Run != "" && e.Run == ru.cp.RunID {
			// Done by this run before it stopped, beyond its checkpoint.
			if e.Result == ResultUnreadable {
				return outcome{kind: kindUnreadable, ref: ref}
			}
			return outcome{kind: kindRotated, ref: ref}
		}
		if len(g.SealedCredentials) == 0 {
			return outcome{kind: kindSkipped, ref: ref}
		}
		var sealed []byte
		var err error
		if ru.dry {
			err = r.sealer.CheckCredentials(ctx, g)
		} else {
			sealed, err = r.sealer.Reseal(ctx, g)
		}
		var w Write
		now := r.now().UTC()
		switch {
		case err == nil && ru.dry:
			return outcome{kind: kindRotated, ref: ref, masked: e.UnmaskedInfo}
		case err == nil:
			w = Write{Result: ResultRotated, Sealed: sealed, Event: gateway.AuditEvent{
				Action: gateway.AuditCredentialsRotated, Changes: []string{"credentials"},
				Details: map[string]string{"run": ru.cp.RunID},
			}}
		case gateway.IsCode(err, gateway.CodeCredentialsUnreadable):
			r.log.Warn("rotate: credentials unreadable", "gateway", ref.ID, "owner", ref.Owner, "dryRun", ru.dry, "error", err)
			if ru.dry || (g.Status == gateway.StatusError && g.LastError == gateway.LastErrorCredentialsUnreadable) {
				return outcome{kind: kindUnreadable, ref: ref, masked: ru.dry && e.UnmaskedInfo}
			}
			w = Write{Result: ResultUnreadable, LastError: gateway.LastErrorCredentialsUnreadable, Event: gateway.AuditEvent{
				Action: gateway.AuditStatusChanged, Changes: []string{"status", "lastError"},
				Details: map[string]string{"from": string(g.Status), "to": string(gateway.StatusError),
					"error": gateway.LastErrorCredentialsUnreadable, "run": ru.cp.RunID},
			}}
		default:
			return ru.failure(ctx, ref, err)
		}
		w.GatewayID, w.Version, w.Run, w.At = g.ID, g.Version, ru.cp.RunID, now
		if e.UnmaskedInfo {
			// Read masked (pkg/dynamo); stored masked in the same write.
			w.CredentialInfo = g.CredentialInfo
			w.Event.Changes = append(w.Event.Changes, "credentialInfo")
		}
		w.Event.ID, w.Event.GatewayID, w.Event.Actor, w.Event.At = gateway.NewEventID(), g.ID, gateway.Actor{System: Actor}, now
		ok, err := r.store.WriteGateway(ctx, w)
		switch {
		case err != nil:
			return ru.failure(ctx, ref, err)
		case ok && w.Result == ResultRotated:
			return outcome{kind: kindRotated, ref: ref, masked: e.UnmaskedInfo}
		case ok:
			return outcome{kind: kindUnreadable, ref: ref, masked: e.UnmaskedInfo}
		case attempt == r.cfg.Retries:
			return ru.failure(ctx, ref, gateway.Errorf(gateway.CodeVersionMismatch, "The gateway kept changing during the rotation."))
		}
		e, err = r.store.GetGateway(ctx, g.ID)
		if gateway.IsCode(err, gateway.CodeNotFound) {
			return outcome{kind: kindSkipped, ref: ref} // deleted meanwhile
		}
		if err != nil {
			return ru.failure(ctx, ref, err)
		}
	}
}

// failure classifies an error of one gateway: an outage or the end of ctx
// stops the run (the gateway is not done, and not marked); anything else
// fails this gateway only.
func (ru *run) failure(ctx context.Context, ref GatewayRef, err error) outcome {
	if ctx.Err() != nil || gateway.IsCode(err, gateway.CodeUnavailable) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return outcome{kind: kindStopped, ref: ref, err: err}
	}
	ru.r.log.Error("rotate: gateway failed", "gateway", ref.ID, "owner", ref.Owner, "error", err)
	ref.Error = gateway.ErrorCode(err)
	return outcome{kind: kindFailed, ref: ref, err: err}
}

// rate is the gateways scanned per second in this invocation. ru.mu held.
func (ru *run) rate(scanned int, now time.Time) float64 {
	el := now.Sub(ru.started).Seconds()
	if el <= 0 {
		return 0
	}
	return float64(scanned-ru.startScanned) / el
}

// line is the progress line for c.
func (ru *run) line(c Counts, perSecond float64) string {
	return Progress{DryRun: ru.dry, Total: ru.cp.Total, Counts: c, PerSecond: perSecond}.String()
}

// summary reports the committed progress. previous means the run was
// already complete and nothing was done now.
func (ru *run) summary(previous bool) Summary {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	now := ru.r.now()
	s := Summary{
		RunID: ru.cp.RunID, DryRun: ru.dry, Complete: ru.cp.Complete, Resumed: ru.resumed || previous,
		KeyID: ru.cp.KeyID, StartedAt: ru.cp.StartedAt, Total: ru.cp.Total,
		UnreadableGateways: slices.Clone(ru.cp.Unreadable), FailedGateways: slices.Clone(ru.cp.Failed),
		ElapsedMs: now.Sub(ru.started).Milliseconds(),
	}
	for _, seg := range ru.cp.Segments {
		s.Counts.Add(seg.Counts)
	}
	if !previous {
		s.PerSecond = ru.rate(s.Scanned, now)
	}
	if s.UnreadableGateways == nil {
		s.UnreadableGateways = []GatewayRef{}
	}
	if s.FailedGateways == nil {
		s.FailedGateways = []GatewayRef{}
	}
	if !s.Complete && !s.DryRun && s.RunID != "" {
		s.Next = "run again with resume to continue run " + s.RunID
	}
	return s
}

// newRunID names a run by its start, so that ids sort by time, plus a
// random part.
func newRunID(at time.Time) string {
	var b [5]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it panics instead
	return "rot_" + at.UTC().Format("20060102T150405Z") + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
