package send

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Outcome is what became of one send.
type Outcome int

// Outcomes of a send.
const (
	// Sent: Telegram accepted the message.
	Sent Outcome = iota
	// Retry: Telegram did not take the message — a 429 (RetryAfter says
	// how long to wait), a 5xx, or a connection that failed before the
	// request was written. It may go again.
	Retry
	// Failed: Telegram refused the message for good (a 4xx: chat not
	// found, bot blocked, bad parameters).
	Failed
	// Unknown: the request was written but no answer came. Telegram may
	// have delivered it; it is never sent again.
	Unknown
)

// Result is the outcome of one send.
type Result struct {
	Outcome   Outcome
	MessageID int64
	// Message is Telegram's result (the sent Message) as JSON; for a
	// Failed send, Telegram's error answer.
	Message    json.RawMessage
	RetryAfter time.Duration
	// Error is a message safe to show the gateway's owner.
	Error string
	// CantParse is true for Telegram's "can't parse entities": the text's
	// formatting was refused, and the same text unformatted would go.
	CantParse bool
	// Rejected is true when Telegram refused the bot's token: nothing of
	// the bot's can go until the token is replaced.
	Rejected bool
}

// Bot sends one message for one gateway: a call of method (sendMessage,
// or one of the action route's other paced calls) with params, chat_id
// included. It makes exactly one request and never retries: retrying is
// the engine's decision. A Bot that is an io.Closer is closed when its
// sender ends.
type Bot interface {
	Send(ctx context.Context, method string, params json.RawMessage) Result
}

// Bots opens a gateway's bot. Errors: gateway.CodeNotFound when the
// gateway is gone, gateway.CodeNotConnected when it cannot send now.
type Bots interface {
	Open(ctx context.Context, gatewayID string) (Bot, error)
}

// Formatter turns one message's parameters into the requests that send
// it. Telegram's adapter implements it.
type Formatter interface {
	// Parts returns one request, or several for a long text converted
	// from Markdown; each is a complete sendMessage parameter object.
	Parts(params json.RawMessage) ([]json.RawMessage, error)
	// Plain returns a part converted from Markdown without its
	// formatting, for when Telegram refused to parse it; false when the
	// part was not converted from Markdown.
	Plain(part json.RawMessage) (json.RawMessage, bool)
}

// EngineOptions tune an Engine. Zero values take the defaults.
type EngineOptions struct {
	Limits Limits
	// LeaseTTL is how long a sender's lease lasts unless renewed (60 s).
	LeaseTTL time.Duration
	// Budget is how long one Run sends before it hands over to the next
	// (a Lambda invocation must end before its timeout): 4 minutes.
	Budget time.Duration
	// MaxInFlight bounds a bot's messages between claim and result (64):
	// at 30 a second, a table answering in 200 ms keeps about 20 busy.
	MaxInFlight int
	// Backoff is the first wait after a 5xx or a failed connection (1 s);
	// it doubles up to a minute.
	Backoff time.Duration
	// MaxAttempts bounds the sends of one part that did not reach
	// Telegram before the message fails (20).
	MaxAttempts int
	// Poll is how often a running sender looks for new jobs (1 s).
	Poll time.Duration
	Log  *slog.Logger
	Now  func() time.Time
}

// Engine sends bots' jobs.
type Engine struct {
	store Store
	bots  Bots
	fmt   Formatter
	o     EngineOptions
}

// NewEngine returns an engine. It does no I/O.
func NewEngine(store Store, bots Bots, f Formatter, o EngineOptions) *Engine {
	if o.Limits == (Limits{}) {
		o.Limits = TelegramLimits()
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = time.Minute
	}
	if o.Budget <= 0 {
		o.Budget = 4 * time.Minute
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{store: store, bots: bots, fmt: f, o: o}
}

// Pending returns the bots with active jobs, for the schedule to start a
// sender for each: one whose Lambda ended without handing over (a crash,
// a timeout) is replaced within one schedule period. A bot whose sender
// is alive ignores the extra start.
func (e *Engine) Pending(ctx context.Context) ([]string, error) {
	return e.store.Pending(ctx, 1000)
}

// Run sends gatewayID's active jobs while it holds the bot's lease, for
// at most the budget, then hands over. It returns at once when another
// sender holds the lease.
func (e *Engine) Run(ctx context.Context, gatewayID string) error {
	for {
		more, _, err := e.runOnce(ctx, gatewayID, "")
		if err != nil || !more {
			return err
		}
	}
}

// RunJob sends gatewayID's jobs while it holds the bot's lease, until job
// jobID is done, then hands over to the next sender (a stream record)
// when other jobs wait: the synchronous action route sends its message
// this way, paced with everything else the bot sends, without staying to
// send a broadcast. It reports whether it held the lease; when another
// sender did, that sender sends the job.
func (e *Engine) RunJob(ctx context.Context, gatewayID, jobID string) (bool, error) {
	_, held, err := e.runOnce(ctx, gatewayID, jobID)
	return held, err
}

// runOnce is one lease: it reports whether work arrived after the lease
// was released, which the caller then takes up again, and whether it held
// the lease at all. With until set it stops once that job is done.
func (e *Engine) runOnce(ctx context.Context, gatewayID, until string) (more, held bool, err error) {
	owner := "sender_" + gateway.NewToken()
	now := e.o.Now()
	state, ok, err := e.store.Acquire(ctx, gatewayID, owner, now.Add(e.o.LeaseTTL), now)
	if err != nil || !ok {
		return false, false, err
	}
	r := &run{e: e, gw: gatewayID, owner: owner, pacer: NewPacer(e.o.Limits), lanes: map[string]*lane{},
		jobs: map[string]*jobState{}, results: make(chan event, 2*e.o.MaxInFlight), start: now, until: until}
	r.pacer.Restore(state)
	runErr := r.loop(ctx)
	// Hand over: whatever happened, the next sender gets the pacer's
	// history, and a sender that stopped with work left asks for the next.
	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.store.Release(relCtx, gatewayID, owner, r.pacer.State(e.o.Now())); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr != nil || ctx.Err() != nil {
		return false, true, runErr
	}
	jobs, err := e.store.ActiveJobs(relCtx, gatewayID, nil)
	if err != nil || len(jobs) == 0 {
		return false, true, err
	}
	if r.outOfBudget() || until != "" {
		return false, true, e.store.Kick(relCtx, gatewayID)
	}
	// A job arrived between the last look and the release: its own kick
	// found the lease taken, so this sender takes it up.
	return true, true, nil
}

// jobState is a running sender's view of one job.
type jobState struct {
	job     *Job
	changed bool
}

// entry is one message waiting in its chat's lane.
type entry struct {
	js       *jobState
	index    int
	parts    []json.RawMessage
	part     int
	plain    bool
	attempts int
	ids      []int64
	result   json.RawMessage
}

// formatted reports whether the message asked Gatehouse to format it, so
// that a formatting Telegram refuses may be dropped rather than the
// message: the client did not write that markup itself.
func (en *entry) formatted() bool {
	_, params := en.js.job.Body.Message(en.index)
	var o struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(params, &o) == nil && o.Format != ""
}

// lane is one chat's queue: its messages go one at a time, in order.
type lane struct {
	chat     string
	group    bool
	entries  []*entry
	busy     bool      // a step owns the head entry
	notUntil time.Time // a backoff after a 5xx or a failed connection
	backoff  time.Duration
	ready    time.Time
	heapIdx  int
	heap     *laneHeap // the heap it is in, if any
	prio     bool
	// step, while the lane is prepared (its head part claimed), tells the
	// step to send (true) or to give the claim back (false).
	step      chan bool
	claimedAt time.Time
}

// A step is one part's way through the engine, in a goroutine of its
// own: claim (while the lane waits for its time), then — told to — send
// and write the result. Store writes happen off the loop, so the loop
// keeps the pace however slow the table answers; the pacer records a send
// when it really leaves.
type event struct {
	l       *lane
	claimed bool // the claim's answer (won, err), else the step's end (out)
	won     bool
	err     error
	out     outcome
}

// outcome is what a step leaves for the loop.
type outcome struct {
	// status is the message's end (SENT, FAILED, UNKNOWN); "" when a part
	// was sent and more follow; QUEUED when nothing reached Telegram and
	// the part goes again.
	status     ItemStatus
	retryAfter time.Duration
	aborted    bool
	// rejected is Telegram's refusal of the bot's token.
	rejected string
}

type run struct {
	e         *Engine
	gw        string
	owner     string
	pacer     *Pacer
	bot       Bot
	lanes     map[string]*lane
	jobs      map[string]*jobState
	bulk      queue
	prio      queue
	prepared  []*lane
	claiming  int
	results   chan event
	inFlight  int
	start     time.Time
	lastPoll  time.Time
	lastSave  time.Time
	lastLease time.Time
	storeErr  error
	rejected  string        // Telegram refused the bot's token, saying this
	claimTime time.Duration // exponential mean of claims' time
	until     string        // RunJob's job: the run ends when it is done
}

// untilDone reports whether the run's RunJob job is done (or was never
// this sender's to send).
func (r *run) untilDone() bool {
	if r.until == "" {
		return false
	}
	js, ok := r.jobs[r.until]
	return !ok || js.job.Sent+js.job.Failed+js.job.Unknown >= js.job.Total
}

// minLookahead is the least time a lane's head part is claimed before
// its turn; the run claims earlier when claims take longer (lookahead).
const minLookahead = 150 * time.Millisecond

// lookahead is how early a head part is claimed before its turn: twice
// the claims' recent mean time, so a claim is done when its turn comes
// however slow the table answers, no less than minLookahead and no more
// than a second — claiming further ahead would only load a slow table
// more.
func (r *run) lookahead() time.Duration { return min(max(minLookahead, 2*r.claimTime), time.Second) }

// maxClaiming bounds the claims in progress at once, for the same reason.
const maxClaiming = 16

// ahead is how many lanes may be claimed ahead of their turn: as many as
// the bot's overall limit lets send within the lookahead, and two more.
// Claiming more would commit the next slots before a lane with a longer
// chain, ready a moment later, could have them.
func (r *run) ahead() int {
	l := r.pacer.Limits()
	n := 2 + int(int64(l.PerSecond)*int64(r.lookahead())/int64(l.second()))
	return min(n, r.e.o.MaxInFlight)
}

func (r *run) outOfBudget() bool { return r.e.o.Now().Sub(r.start) >= r.e.o.Budget }

func (r *run) loop(ctx context.Context) error {
	bot, err := r.e.bots.Open(ctx, r.gw)
	if err != nil && !gateway.IsCode(err, gateway.CodeNotFound) && !gateway.IsCode(err, gateway.CodeNotConnected) {
		return err
	}
	if err != nil {
		return r.failAll(ctx, err)
	}
	r.bot = bot
	if c, ok := bot.(io.Closer); ok {
		defer c.Close()
	}
	if err := r.poll(ctx); err != nil {
		return err
	}
	r.lastLease = r.e.o.Now()
	for {
		now := r.e.o.Now()
		if err := r.housekeep(ctx, now); err != nil {
			r.stop(ctx)
			return err
		}
		if ctx.Err() != nil || r.outOfBudget() {
			r.stop(ctx)
			return r.save(context.WithoutCancel(ctx))
		}
		if (r.inFlight == 0 && r.bulk.len() == 0 && r.prio.len() == 0) || r.untilDone() {
			r.stop(ctx)
			return r.save(context.WithoutCancel(ctx))
		}
		wake := now.Add(r.e.o.Poll)
		if at, ok := r.dispatch(now); ok {
			wake = earliest(wake, at)
		}
		if at, ok := r.prepare(ctx, now); ok {
			wake = earliest(wake, at.Add(-r.lookahead()))
		}
		r.wait(ctx, wake.Sub(r.e.o.Now()))
		if r.storeErr != nil {
			err := r.storeErr
			r.stop(ctx)
			return err
		}
		if r.rejected != "" {
			// Every other message would be refused the same way: a
			// broadcast must not spend thousands of calls learning it.
			r.stop(ctx)
			return r.failAll(ctx, &gateway.Error{Code: gateway.CodeUpstreamRejected, Message: r.rejected})
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// housekeep renews the lease, saves progress and looks for new jobs when
// each is due.
func (r *run) housekeep(ctx context.Context, now time.Time) error {
	if now.Sub(r.lastLease) >= r.e.o.LeaseTTL/3 {
		if err := r.e.store.Extend(ctx, r.gw, r.owner, now.Add(r.e.o.LeaseTTL)); err != nil {
			return err
		}
		r.lastLease = now
	}
	if now.Sub(r.lastSave) >= time.Second {
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	if now.Sub(r.lastPoll) >= r.e.o.Poll && ctx.Err() == nil && !r.outOfBudget() {
		return r.poll(ctx)
	}
	return nil
}

// prepare claims the head parts of the lanes due within the lookahead,
// a few at a time. It returns when the next lane is due, if any.
func (r *run) prepare(ctx context.Context, now time.Time) (time.Time, bool) {
	for r.inFlight < r.e.o.MaxInFlight && r.claiming < maxClaiming && r.claiming+len(r.prepared) < r.ahead() {
		l, at := r.next(now)
		if l == nil {
			return time.Time{}, false
		}
		if at.After(now.Add(r.lookahead())) {
			return at, true
		}
		l.heap.remove(l)
		en := l.entries[0]
		if en.parts == nil {
			_, params := en.js.job.Body.Message(en.index)
			parts, err := r.e.fmt.Parts(params)
			if err != nil || len(parts) == 0 {
				r.finish(ctx, l, en, ItemFailed, "the message could not be prepared for sending")
				r.push(l)
				continue
			}
			en.parts = parts
		}
		chat := en.js.job.Body.Chat(en.index)
		c := Claim{JobID: en.js.job.ID, Index: en.index, Part: en.part, Owner: r.owner, At: now, Chat: chat}
		l.busy, l.step, l.claimedAt = true, make(chan bool, 1), now
		r.inFlight++
		r.claiming++
		go r.step(context.WithoutCancel(ctx), l, en, c)
	}
	return time.Time{}, false
}

// dispatch lets the prepared lane whose time has come send, an
// interactive one first. It returns when the next one may go.
func (r *run) dispatch(now time.Time) (time.Time, bool) {
	for len(r.prepared) > 0 {
		// An interactive lane first; then, of those whose chat may send
		// now, the longest chain; else the one whose chat may send first.
		best := 0
		for i, l := range r.prepared {
			b := r.prepared[best]
			lNow, bNow := !l.ready.After(now), !b.ready.After(now)
			switch {
			case l.prio != b.prio:
				if l.prio {
					best = i
				}
			case lNow && bNow:
				if l.chain() > b.chain() {
					best = i
				}
			case lNow != bNow:
				if lNow {
					best = i
				}
			case l.ready.Before(b.ready):
				best = i
			}
		}
		l := r.prepared[best]
		at := later(l.ready, r.pacer.GlobalReady())
		if at.After(now) {
			return at, true
		}
		r.prepared = append(r.prepared[:best], r.prepared[best+1:]...)
		r.pacer.Sent(l.chat, l.group, now)
		l.step <- true
	}
	return time.Time{}, false
}

// step claims c, waits for the word to send, sends and writes the result.
// It owns en until it reports its end.
func (r *run) step(ctx context.Context, l *lane, en *entry, c Claim) {
	won, err := r.e.store.Claim(ctx, c)
	r.results <- event{l: l, claimed: true, won: won, err: err}
	if err != nil || !won {
		return
	}
	if !<-l.step {
		if err := r.e.store.Unclaim(ctx, c); err != nil {
			r.e.o.Log.Error("send: giving a claim back failed; the message will be UNKNOWN", "gateway", r.gw, "job", c.JobID, "index", c.Index, "error", err)
		}
		r.results <- event{l: l, out: outcome{aborted: true}}
		return
	}
	res := r.bot.Send(ctx, en.js.job.Body.Call(), en.parts[en.part])
	r.results <- event{l: l, out: r.settle(ctx, en, c, res)}
}

// settle writes a send's result and says what the lane does next.
func (r *run) settle(ctx context.Context, en *entry, c Claim, res Result) outcome {
	switch res.Outcome {
	case Sent:
		if res.MessageID != 0 {
			en.ids = append(en.ids, res.MessageID)
		}
		en.result = res.Message
		en.part++
		en.plain = false
		if en.part < len(en.parts) {
			r.record(ctx, en, "", "", en.part)
			return outcome{}
		}
		r.record(ctx, en, ItemSent, "", en.part)
		return outcome{status: ItemSent}
	case Retry:
		en.attempts++
		if err := r.e.store.Unclaim(ctx, c); err != nil {
			// The claim stands, so the part must not go again.
			r.record(ctx, en, ItemUnknown, "the send's claim could not be released", en.part+1)
			return outcome{status: ItemUnknown}
		}
		if en.attempts >= r.e.o.MaxAttempts {
			r.record(ctx, en, ItemFailed, res.Error, en.part+1)
			return outcome{status: ItemFailed}
		}
		return outcome{status: ItemQueued, retryAfter: res.RetryAfter}
	case Failed:
		if res.CantParse && !en.plain && en.formatted() {
			if p, ok := r.e.fmt.Plain(en.parts[en.part]); ok {
				if err := r.e.store.Unclaim(ctx, c); err == nil {
					// The formatting was refused, not the message: the
					// same part goes again unformatted.
					en.plain = true
					en.parts[en.part] = p
					return outcome{status: ItemQueued}
				}
			}
		}
		en.result = res.Message
		r.record(ctx, en, ItemFailed, res.Error, en.part+1)
		if res.Rejected {
			return outcome{status: ItemFailed, rejected: res.Error}
		}
		return outcome{status: ItemFailed}
	}
	r.record(ctx, en, ItemUnknown, "the request reached the network but no answer came; it is not sent again", en.part+1)
	return outcome{status: ItemUnknown}
}

func (r *run) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ev := <-r.results:
		r.handle(ctx, ev)
	case <-t.C:
	case <-ctx.Done():
	}
}

// stop gives back the prepared lanes' claims and waits for every step.
func (r *run) stop(ctx context.Context) {
	for _, l := range r.prepared {
		l.step <- false
	}
	r.prepared = nil
	for r.inFlight > 0 {
		ev := <-r.results
		r.handle(context.WithoutCancel(ctx), ev)
		if ev.claimed && ev.won {
			// Claimed while stopping: give it straight back.
			r.prepared = r.prepared[:len(r.prepared)-1]
			ev.l.step <- false
		}
	}
}

// next returns the lane to prepare next and when it may send: an
// interactive lane before a bulk one; of the lanes that may send at the
// bot's next free slot, the one with the longest chain of messages left;
// else the one whose chat may send soonest.
func (r *run) next(now time.Time) (*lane, time.Time) {
	g := r.pacer.GlobalReady()
	slot := later(now, g)
	pl, pat := r.prio.next(slot)
	if pl != nil && !pat.After(slot) {
		return pl, later(pat, g)
	}
	bl, bat := r.bulk.next(slot)
	switch {
	case pl == nil && bl == nil:
		return nil, time.Time{}
	case pl == nil:
		return bl, later(bat, g)
	case bl == nil || pat.Before(bat):
		return pl, later(pat, g)
	}
	return bl, later(bat, g)
}

// push puts a lane with work back on its heap, ready when the pacer and
// its backoff allow.
func (r *run) push(l *lane) {
	if l.busy || l.heap != nil || len(l.entries) == 0 {
		return
	}
	l.ready = later(r.pacer.ChatReady(l.chat, l.group), l.notUntil)
	l.prio = l.entries[0].js.job.Interactive
	q := &r.bulk
	if l.prio {
		q = &r.prio
	}
	q.push(l)
}

// handle takes a step's report.
func (r *run) handle(ctx context.Context, ev event) {
	l := ev.l
	if ev.claimed {
		r.claiming--
		if d := r.e.o.Now().Sub(l.claimedAt); r.claimTime == 0 {
			r.claimTime = d
		} else {
			r.claimTime = (7*r.claimTime + d) / 8
		}
		switch {
		case ev.err != nil:
			r.storeErr = errors.Join(r.storeErr, ev.err)
			r.release(l)
		case !ev.won:
			// Another sender's claim: this one never sends it, and counts
			// it as unknown, which is what it is to this sender.
			r.e.o.Log.Warn("send: a claim was lost to another sender", "gateway", r.gw, "job", l.entries[0].js.job.ID, "index", l.entries[0].index)
			r.count(l, ItemUnknown)
			r.release(l)
		default:
			r.prepared = append(r.prepared, l)
		}
		return
	}
	now := r.e.o.Now()
	o := ev.out
	switch {
	case o.aborted, o.status == "":
	case o.status == ItemQueued && o.retryAfter > 0:
		r.pacer.Hold(l.chat, now.Add(o.retryAfter), o.retryAfter)
	case o.status == ItemQueued:
		l.backoff = min(max(2*l.backoff, r.e.o.Backoff), time.Minute)
		l.notUntil = now.Add(l.backoff)
	default:
		if o.status == ItemSent {
			l.backoff = 0
		}
		if o.rejected != "" && r.rejected == "" {
			r.rejected = o.rejected
		}
		r.count(l, o.status)
	}
	r.release(l)
}

// release ends a step: the lane is free and back on its heap.
func (r *run) release(l *lane) {
	l.busy = false
	r.inFlight--
	r.push(l)
}

// record writes an item's progress.
func (r *run) record(ctx context.Context, en *entry, status ItemStatus, msg string, done int) {
	it := Item{Index: en.index, Status: status, MessageIDs: en.ids, Error: msg, Parts: len(en.parts), UpdatedAt: r.e.o.Now(), Result: en.result}
	if err := r.e.store.Record(ctx, en.js.job.ID, it, done); err != nil {
		r.e.o.Log.Error("send: recording a result failed", "gateway", r.gw, "job", en.js.job.ID, "index", en.index, "error", err)
	}
}

// finish records a message's end from the loop (no step owns it).
func (r *run) finish(ctx context.Context, l *lane, en *entry, status ItemStatus, msg string) {
	r.record(ctx, en, status, msg, en.part+1)
	r.count(l, status)
}

// count takes the head message off l with its end.
func (r *run) count(l *lane, status ItemStatus) {
	en := l.entries[0]
	j := en.js.job
	switch status {
	case ItemSent:
		j.Sent++
	case ItemFailed:
		j.Failed++
	default:
		j.Unknown++
	}
	en.js.changed = true
	l.entries = l.entries[1:]
	if len(l.entries) == 0 {
		delete(r.lanes, l.chat)
	}
}

// save writes the counters of jobs that changed.
func (r *run) save(ctx context.Context) error {
	r.lastSave = r.e.o.Now()
	var errs []error
	for id, js := range r.jobs {
		if !js.changed {
			continue
		}
		j := js.job
		j.Status = JobRunning
		if j.Sent+j.Failed+j.Unknown >= j.Total {
			j.Status = JobDone
		}
		j.UpdatedAt = r.lastSave
		if err := r.e.store.Progress(ctx, j); err != nil {
			errs = append(errs, err)
			continue
		}
		js.changed = false
		if j.Status == JobDone {
			delete(r.jobs, id)
		}
	}
	return errors.Join(errs...)
}

// poll takes up jobs this sender does not know yet.
func (r *run) poll(ctx context.Context) error {
	r.lastPoll = r.e.o.Now()
	jobs, err := r.e.store.ActiveJobs(ctx, r.gw, func(id string) bool { _, ok := r.jobs[id]; return ok })
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if _, ok := r.jobs[j.ID]; ok {
			continue
		}
		if err := r.load(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// load adds a job's unfinished messages to their lanes, after turning the
// claims an earlier sender left without a result into UNKNOWN items.
func (r *run) load(ctx context.Context, j *Job) error {
	js := &jobState{job: j}
	r.jobs[j.ID] = js
	_, stale, err := r.e.store.Claims(ctx, j.ID)
	if err != nil {
		return err
	}
	for _, c := range stale {
		it := Item{Index: c.Index, Status: ItemUnknown, Error: "a sender stopped after claiming this message; it is not sent again", UpdatedAt: r.e.o.Now()}
		if err := r.e.store.Record(ctx, j.ID, it, c.Part+1); err != nil {
			return err
		}
	}
	done := map[int]bool{}
	counts := [3]int{}
	for from := 0; from < j.Total; from += 1000 {
		items, err := r.e.store.Items(ctx, j.ID, from, min(1000, j.Total-from))
		if err != nil {
			return err
		}
		for _, it := range items {
			switch it.Status {
			case ItemSent:
				counts[0]++
			case ItemFailed:
				counts[1]++
			case ItemUnknown:
				counts[2]++
			default:
				continue
			}
			done[it.Index] = true
		}
	}
	if j.Sent != counts[0] || j.Failed != counts[1] || j.Unknown != counts[2] || j.Status == JobQueued {
		j.Sent, j.Failed, j.Unknown = counts[0], counts[1], counts[2]
		js.changed = true
	}
	for i := 0; i < j.Total; i++ {
		if done[i] {
			continue
		}
		key := ChatKey(j.Body.Chat(i))
		l := r.lanes[key]
		if l == nil {
			l = &lane{chat: key, group: IsGroup(key)}
			r.lanes[key] = l
		}
		l.entries = append(l.entries, &entry{js: js, index: i})
		if l.heap == nil && !l.busy {
			r.push(l)
		} else if l.heap != nil {
			heap.Fix(l.heap, l.heapIdx) // its chain grew
		}
	}
	return nil
}

// failAll ends every active job's unsent messages: the gateway is gone
// or cannot send.
func (r *run) failAll(ctx context.Context, cause error) error {
	msg := "the gateway was deleted"
	switch {
	case gateway.IsCode(cause, gateway.CodeNotConnected):
		msg = "the gateway is not connected"
	case gateway.IsCode(cause, gateway.CodeUpstreamRejected):
		msg = "not sent: Telegram refused the bot's token (" + gateway.ErrorMessage(cause) + "); replace it and connect again"
	}
	if err := r.poll(ctx); err != nil {
		return err
	}
	for _, l := range r.lanes {
		for len(l.entries) > 0 {
			r.finish(ctx, l, l.entries[0], ItemFailed, msg)
		}
	}
	return r.save(ctx)
}

// queue holds the lanes that have messages and no step: waiting, by when
// their chat may send, and ready, by the length of the chain of messages
// they have left. Sending the longest chains first is what lets a run end
// when the bot's overall limit allows: a group with fifty messages at 20
// a minute needs two and a half minutes whatever happens, so it must not
// wait its turn behind two thousand chats with one message each.
type queue struct {
	waiting laneHeap
	ready   laneHeap
}

func (q *queue) len() int { return len(q.waiting.ls) + len(q.ready.ls) }

func (q *queue) push(l *lane) {
	q.waiting.byChain = false
	q.waiting.push(l)
}

// next moves the lanes whose chat may send by slot to ready and returns
// the ready lane with the longest chain, or else the lane that waits
// least, and when its chat may send.
func (q *queue) next(slot time.Time) (*lane, time.Time) {
	q.ready.byChain = true
	for len(q.waiting.ls) > 0 && !q.waiting.ls[0].ready.After(slot) {
		l := q.waiting.ls[0]
		q.waiting.remove(l)
		q.ready.push(l)
	}
	if len(q.ready.ls) > 0 {
		l := q.ready.ls[0]
		return l, l.ready
	}
	if len(q.waiting.ls) > 0 {
		l := q.waiting.ls[0]
		return l, l.ready
	}
	return nil, time.Time{}
}

// chain is how long a lane's messages take at least, in units of a
// chat's interval: a group's at 20 a minute count three.
func (l *lane) chain() int {
	if l.group {
		return 3 * len(l.entries)
	}
	return len(l.entries)
}

// laneHeap orders lanes by when they are ready, or by their chain
// (longest first, then the earliest ready).
type laneHeap struct {
	ls      []*lane
	byChain bool
}

func (h *laneHeap) Len() int { return len(h.ls) }
func (h *laneHeap) Less(i, j int) bool {
	a, b := h.ls[i], h.ls[j]
	if h.byChain && a.chain() != b.chain() {
		return a.chain() > b.chain()
	}
	return a.ready.Before(b.ready)
}
func (h *laneHeap) Swap(i, j int) {
	h.ls[i], h.ls[j] = h.ls[j], h.ls[i]
	h.ls[i].heapIdx, h.ls[j].heapIdx = i, j
}
func (h *laneHeap) Push(x any) {
	l := x.(*lane)
	l.heapIdx, l.heap = len(h.ls), h
	h.ls = append(h.ls, l)
}
func (h *laneHeap) Pop() any {
	l := h.ls[len(h.ls)-1]
	h.ls = h.ls[:len(h.ls)-1]
	l.heap = nil
	return l
}

func (h *laneHeap) push(l *lane)   { heap.Push(h, l) }
func (h *laneHeap) remove(l *lane) { heap.Remove(h, l.heapIdx) }
