package send

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
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
	Outcome    Outcome
	MessageID  int64
	RetryAfter time.Duration
	// Error is a message safe to show the gateway's owner.
	Error string
	// CantParse is true for Telegram's "can't parse entities": the text's
	// formatting was refused, and the same text unformatted would go.
	CantParse bool
}

// Bot sends one message (sendMessage parameters with chat_id) for one
// gateway. It makes exactly one request and never retries: retrying is
// the engine's decision.
type Bot interface {
	Send(ctx context.Context, params json.RawMessage) Result
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
	// MaxInFlight bounds concurrent requests to Telegram (32).
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
		o.MaxInFlight = 32
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
		more, err := e.runOnce(ctx, gatewayID)
		if err != nil || !more {
			return err
		}
	}
}

// runOnce is one lease: it reports whether work arrived after the lease
// was released, which the caller then takes up again.
func (e *Engine) runOnce(ctx context.Context, gatewayID string) (bool, error) {
	owner := "sender_" + gateway.NewToken()
	now := e.o.Now()
	state, ok, err := e.store.Acquire(ctx, gatewayID, owner, now.Add(e.o.LeaseTTL), now)
	if err != nil || !ok {
		return false, err
	}
	r := &run{e: e, gw: gatewayID, owner: owner, pacer: NewPacer(e.o.Limits), lanes: map[string]*lane{},
		jobs: map[string]*jobState{}, results: make(chan result, e.o.MaxInFlight), start: now}
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
		return false, runErr
	}
	jobs, err := e.store.ActiveJobs(relCtx, gatewayID)
	if err != nil || len(jobs) == 0 {
		return false, err
	}
	if r.outOfBudget() {
		return false, e.store.Kick(relCtx, gatewayID)
	}
	// A job arrived between the last look and the release: its own kick
	// found the lease taken, so this sender takes it up.
	return true, nil
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
	busy     bool
	notUntil time.Time // a backoff after a 5xx or a failed connection
	backoff  time.Duration
	ready    time.Time
	heapIdx  int
	inHeap   bool
	prio     bool
}

type result struct {
	l   *lane
	res Result
	at  time.Time
}

type run struct {
	e         *Engine
	gw        string
	owner     string
	pacer     *Pacer
	bot       Bot
	lanes     map[string]*lane
	jobs      map[string]*jobState
	bulk      laneHeap
	prio      laneHeap
	results   chan result
	inFlight  int
	start     time.Time
	lastPoll  time.Time
	lastSave  time.Time
	lastLease time.Time
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
	if err := r.poll(ctx); err != nil {
		return err
	}
	r.lastLease = r.e.o.Now()
	for {
		now := r.e.o.Now()
		if now.Sub(r.lastLease) >= r.e.o.LeaseTTL/3 {
			if err := r.e.store.Extend(ctx, r.gw, r.owner, now.Add(r.e.o.LeaseTTL)); err != nil {
				r.drain(ctx)
				return err
			}
			r.lastLease = now
		}
		if now.Sub(r.lastSave) >= time.Second {
			if err := r.save(ctx); err != nil {
				r.drain(ctx)
				return err
			}
		}
		stopping := ctx.Err() != nil || r.outOfBudget()
		if !stopping && now.Sub(r.lastPoll) >= r.e.o.Poll {
			if err := r.poll(ctx); err != nil {
				r.drain(ctx)
				return err
			}
		}
		if stopping || (r.inFlight == 0 && r.bulk.Len() == 0 && r.prio.Len() == 0 && !r.waiting()) {
			r.drain(ctx)
			return r.save(context.WithoutCancel(ctx))
		}
		wait := time.Until(now.Add(r.e.o.Poll))
		if l, at := r.next(now); l != nil && r.inFlight < r.e.o.MaxInFlight {
			if !at.After(now) {
				if err := r.dispatch(ctx, l, now); err != nil {
					r.drain(ctx)
					return err
				}
				continue
			}
			wait = min(wait, at.Sub(now))
		}
		r.wait(ctx, wait)
	}
}

// waiting reports whether some lane has a message held back by a backoff
// or by its own busy send.
func (r *run) waiting() bool {
	for _, l := range r.lanes {
		if len(l.entries) > 0 {
			return true
		}
	}
	return false
}

func (r *run) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case res := <-r.results:
		r.handle(ctx, res)
	case <-t.C:
	case <-ctx.Done():
	}
}

// drain waits for the sends in flight and records them.
func (r *run) drain(ctx context.Context) {
	for r.inFlight > 0 {
		r.handle(context.WithoutCancel(ctx), <-r.results)
	}
}

// next returns the lane to send to next and when: an interactive lane
// before a bulk one, each heap's earliest, no earlier than the bot's
// overall limit allows.
func (r *run) next(now time.Time) (*lane, time.Time) {
	g := r.pacer.GlobalReady()
	at := func(h *laneHeap) (*lane, time.Time) {
		if h.Len() == 0 {
			return nil, time.Time{}
		}
		l := (*h)[0]
		return l, later(l.ready, g)
	}
	pl, pat := at(&r.prio)
	if pl != nil && !pat.After(later(now, g)) {
		return pl, pat
	}
	bl, bat := at(&r.bulk)
	switch {
	case pl == nil:
		return bl, bat
	case bl == nil || pat.Before(bat):
		return pl, pat
	}
	return bl, bat
}

// push puts a lane with work back on its heap, ready when the pacer and
// its backoff allow.
func (r *run) push(l *lane) {
	if l.busy || l.inHeap || len(l.entries) == 0 {
		return
	}
	l.ready = later(r.pacer.ChatReady(l.chat, l.group), l.notUntil)
	l.prio = l.entries[0].js.job.Interactive
	h := &r.bulk
	if l.prio {
		h = &r.prio
	}
	heap.Push(h, l)
}

// dispatch claims the head part of l and sends it.
func (r *run) dispatch(ctx context.Context, l *lane, now time.Time) error {
	h := &r.bulk
	if l.prio {
		h = &r.prio
	}
	heap.Remove(h, l.heapIdx)
	en := l.entries[0]
	if en.parts == nil {
		_, params := en.js.job.Body.Message(en.index)
		parts, err := r.e.fmt.Parts(params)
		if err != nil || len(parts) == 0 {
			r.finish(ctx, l, en, ItemFailed, "the message could not be prepared for sending")
			r.push(l)
			return nil
		}
		en.parts = parts
	}
	chat, _ := en.js.job.Body.Message(en.index)
	c := Claim{JobID: en.js.job.ID, Index: en.index, Part: en.part, Owner: r.owner, At: now, Chat: chat}
	won, err := r.e.store.Claim(ctx, c)
	if err != nil {
		r.push(l)
		return err
	}
	if !won {
		// Another sender's claim: this sender never sends it. The item's
		// result is that sender's to record, or the recovery's.
		l.entries = l.entries[1:]
		r.push(l)
		return nil
	}
	l.busy = true
	r.inFlight++
	at := r.e.o.Now()
	r.pacer.Sent(l.chat, l.group, at)
	body := en.parts[en.part]
	go func() {
		res := r.bot.Send(context.WithoutCancel(ctx), body)
		r.results <- result{l: l, res: res, at: at}
	}()
	return nil
}

// handle records one send's outcome and moves its lane on.
func (r *run) handle(ctx context.Context, res result) {
	r.inFlight--
	l := res.l
	l.busy = false
	en := l.entries[0]
	c := Claim{JobID: en.js.job.ID, Index: en.index, Part: en.part, Owner: r.owner, At: res.at}
	now := r.e.o.Now()
	switch res.res.Outcome {
	case Sent:
		l.backoff = 0
		en.ids = append(en.ids, res.res.MessageID)
		en.part++
		en.plain = false
		if en.part < len(en.parts) {
			r.record(ctx, en, "", "", en.part)
		} else {
			r.finish(ctx, l, en, ItemSent, "")
		}
	case Retry:
		en.attempts++
		if err := r.e.store.Unclaim(ctx, c); err != nil {
			// The claim stands, so the part must not go again.
			r.finish(ctx, l, en, ItemUnknown, "the send's claim could not be released")
			break
		}
		if en.attempts >= r.e.o.MaxAttempts {
			r.finish(ctx, l, en, ItemFailed, res.res.Error)
			break
		}
		if res.res.RetryAfter > 0 {
			r.pacer.Hold(l.chat, now.Add(res.res.RetryAfter), res.res.RetryAfter)
		} else {
			l.backoff = min(max(2*l.backoff, r.e.o.Backoff), time.Minute)
			l.notUntil = now.Add(l.backoff)
		}
	case Failed:
		if res.res.CantParse && !en.plain && en.formatted() {
			if err := r.e.store.Unclaim(ctx, c); err == nil {
				// The formatting was refused, not the message: the same
				// part goes again unformatted.
				if p, ok := r.e.fmt.Plain(en.parts[en.part]); ok {
					en.plain = true
					en.parts[en.part] = p
					break
				}
			}
		}
		r.finish(ctx, l, en, ItemFailed, res.res.Error)
	default:
		r.finish(ctx, l, en, ItemUnknown, "the request reached the network but no answer came; it is not sent again")
	}
	r.push(l)
}

// record writes an item's progress.
func (r *run) record(ctx context.Context, en *entry, status ItemStatus, msg string, done int) {
	it := Item{Index: en.index, Status: status, MessageIDs: en.ids, Error: msg, Parts: len(en.parts), UpdatedAt: r.e.o.Now()}
	if err := r.e.store.Record(ctx, en.js.job.ID, it, done); err != nil {
		r.e.o.Log.Error("send: recording a result failed", "gateway", r.gw, "job", en.js.job.ID, "index", en.index, "error", err)
	}
}

// finish ends a message with status and moves its lane to the next.
func (r *run) finish(ctx context.Context, l *lane, en *entry, status ItemStatus, msg string) {
	r.record(ctx, en, status, msg, en.part+boolInt(status != ItemSent && en.part < len(en.parts)))
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
	jobs, err := r.e.store.ActiveJobs(ctx, r.gw)
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
		chat, _ := j.Body.Message(i)
		key := ChatKey(chat)
		l := r.lanes[key]
		if l == nil {
			l = &lane{chat: key, group: IsGroup(key)}
			r.lanes[key] = l
		}
		l.entries = append(l.entries, &entry{js: js, index: i})
		if !l.inHeap && !l.busy {
			r.push(l)
		}
	}
	return nil
}

// failAll ends every active job's unsent messages: the gateway is gone
// or cannot send.
func (r *run) failAll(ctx context.Context, cause error) error {
	msg := "the gateway was deleted"
	if gateway.IsCode(cause, gateway.CodeNotConnected) {
		msg = "the gateway is not connected"
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

// laneHeap orders lanes by when they are ready.
type laneHeap []*lane

func (h laneHeap) Len() int           { return len(h) }
func (h laneHeap) Less(i, j int) bool { return h[i].ready.Before(h[j].ready) }
func (h laneHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *laneHeap) Push(x any) {
	l := x.(*lane)
	l.heapIdx, l.inHeap = len(*h), true
	*h = append(*h, l)
}
func (h *laneHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	*h = old[:len(old)-1]
	l.inHeap = false
	return l
}
