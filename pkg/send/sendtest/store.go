// Package sendtest holds a fake of the send package's store for tests
// that must run in milliseconds: Store, a send.Store in memory with
// pkg/dynamo's semantics. StoreContract is the contract every send.Store
// meets; it runs against Store here and against pkg/dynamo's SendJobs
// under the emulators, so that the fake cannot drift from the real thing.
package sendtest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// Store is send.Store in memory, with the semantics of pkg/dynamo's
// SendJobs (StoreContract checks both): a job is written once and its
// body comes back as a JSON round trip leaves it; a claim is won by one
// caller only, in part order; a result never takes an item's count of
// parts with results backwards; the sender lease is held by one owner at
// a time and keeps the pacer state its last holder left. What it returns
// is a copy, with times in UTC.
//
// Items returns every item in its range that has been claimed or
// recorded; an item claimed but without any result yet has Status "",
// which send.Service.Get shows as QUEUED.
//
// Errors are those send.Store documents; for a call whose context is
// done, what pkg/dynamo answers then: CodeUnavailable after its deadline,
// CodeInternal once cancelled. A Store is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	jobs   map[string]*storedJob
	items  map[string]map[int]*storedItem // by job id, then index
	leases map[string]*lease              // by gateway id
	kicks  map[string]int                 // by gateway id
}

var _ send.Store = (*Store)(nil)

// storedJob is a job with its body as the JSON a store keeps.
type storedJob struct {
	job  send.Job // Body left empty
	body []byte
}

// storedItem is an item with its claim bookkeeping: claimed is how many
// parts have been claimed, done how many have results.
type storedItem struct {
	item      send.Item
	claimed   int
	hasClaim  bool
	done      int
	owner     string
	claimedAt time.Time
}

type lease struct {
	owner string
	until time.Time
	state []byte // send.MarshalState's
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		jobs:   map[string]*storedJob{},
		items:  map[string]map[int]*storedItem{},
		leases: map[string]*lease{},
		kicks:  map[string]int{},
	}
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

func leaseConflict(op string) error {
	return &gateway.Error{Code: gateway.CodeConflict, Message: "Another sender holds the bot's lease.", Op: op}
}

// read returns the job as a round trip through the store leaves it.
func (j *storedJob) read(op string) (*send.Job, error) {
	out := j.job
	if err := json.Unmarshal(j.body, &out.Body); err != nil {
		return nil, gateway.Internal(op, err)
	}
	return &out, nil
}

// CreateJob stores j and marks its bot as having work; for an existing
// id it stores nothing and returns the stored job and send.ErrJobExists.
func (s *Store) CreateJob(ctx context.Context, j *send.Job) (*send.Job, error) {
	const op = "sendtest.CreateJob"
	if err := enter(ctx, op); err != nil {
		return nil, err
	}
	body, err := json.Marshal(j.Body)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.jobs[j.ID]; ok {
		existing, err := old.read(op)
		if err != nil {
			return nil, err
		}
		return existing, send.ErrJobExists
	}
	stored := &storedJob{job: *j, body: body}
	stored.job.Body = send.Body{}
	stored.job.CreatedAt, stored.job.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	s.jobs[j.ID] = stored
	return j, nil
}

// GetJob returns job jobID of gatewayID; CodeNotFound when there is none.
func (s *Store) GetJob(ctx context.Context, gatewayID, jobID string) (*send.Job, error) {
	const op = "sendtest.GetJob"
	if err := enter(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[jobID]
	if !ok || j.job.GatewayID != gatewayID {
		return nil, gateway.NotFound()
	}
	return j.read(op)
}

// Items returns the claimed or recorded items of job jobID whose index is
// in [from, from+limit), by index.
func (s *Store) Items(ctx context.Context, jobID string, from, limit int) ([]send.Item, error) {
	const op = "sendtest.Items"
	if err := enter(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []send.Item
	for _, i := range s.indexes(jobID) {
		if i >= from && i < from+limit {
			out = append(out, copyItem(s.items[jobID][i].item))
		}
	}
	return out, nil
}

// indexes returns the indexes of job jobID's items in order; s.mu is held.
func (s *Store) indexes(jobID string) []int {
	var idx []int
	for i := range s.items[jobID] {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

func copyItem(it send.Item) send.Item {
	it.ChatID = slices.Clone(it.ChatID)
	it.MessageIDs = slices.Clone(it.MessageIDs)
	it.Result = slices.Clone(it.Result)
	return it
}

// ActiveJobs returns gatewayID's jobs that are not DONE, oldest first
// (then by id).
func (s *Store) ActiveJobs(ctx context.Context, gatewayID string, skip func(string) bool) ([]*send.Job, error) {
	const op = "sendtest.ActiveJobs"
	if err := enter(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*send.Job
	for _, j := range s.jobs {
		if j.job.GatewayID != gatewayID || j.job.Status == send.JobDone || (skip != nil && skip(j.job.ID)) {
			continue
		}
		got, err := j.read(op)
		if err != nil {
			return nil, err
		}
		out = append(out, got)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].CreatedAt.Equal(out[b].CreatedAt) {
			return out[a].CreatedAt.Before(out[b].CreatedAt)
		}
		return out[a].ID < out[b].ID
	})
	return out, nil
}

// Progress writes j's status, counters and UpdatedAt. A job that is DONE
// stays as it is: writing DONE again is a no-op, anything else
// CodeConflict. Errors: CodeNotFound for a job that does not exist.
func (s *Store) Progress(ctx context.Context, j *send.Job) error {
	const op = "sendtest.Progress"
	if err := enter(ctx, op); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.jobs[j.ID]
	if !ok || stored.job.GatewayID != j.GatewayID {
		return gateway.NotFound()
	}
	if stored.job.Status == send.JobDone {
		if j.Status == send.JobDone {
			return nil
		}
		return &gateway.Error{Code: gateway.CodeConflict, Message: "The job is done.", Op: op}
	}
	stored.job.Status = j.Status
	stored.job.Sent, stored.job.Failed, stored.job.Unknown = j.Sent, j.Failed, j.Unknown
	stored.job.UpdatedAt = j.UpdatedAt.UTC()
	return nil
}

// Acquire takes gatewayID's sender lease for owner until until when it is
// free, expired at now, or already owner's, and returns the pacer state
// the last holder left.
func (s *Store) Acquire(ctx context.Context, gatewayID, owner string, until, now time.Time) (send.PacerState, bool, error) {
	const op = "sendtest.Acquire"
	if err := enter(ctx, op); err != nil {
		return send.PacerState{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[gatewayID]
	if l == nil {
		l = &lease{}
		s.leases[gatewayID] = l
	}
	if l.owner != "" && l.owner != owner && !l.until.Before(truncMilli(now)) {
		return send.PacerState{}, false, nil
	}
	l.owner, l.until = owner, truncMilli(until)
	st, err := send.UnmarshalState(l.state)
	if err != nil {
		return send.PacerState{}, false, gateway.Internal(op, err)
	}
	return st, true, nil
}

// truncMilli is t as pkg/dynamo keeps a lease's times: Unix milliseconds.
func truncMilli(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// Extend moves owner's lease of gatewayID to until; CodeConflict when
// another owner holds it or it was released.
func (s *Store) Extend(ctx context.Context, gatewayID, owner string, until time.Time) error {
	const op = "sendtest.Extend"
	if err := enter(ctx, op); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[gatewayID]
	if l == nil || l.owner != owner {
		return leaseConflict(op)
	}
	l.until = truncMilli(until)
	return nil
}

// Release lets owner's lease of gatewayID go and keeps state for the next
// holder; CodeConflict, storing nothing, when owner does not hold it.
func (s *Store) Release(ctx context.Context, gatewayID, owner string, state send.PacerState) error {
	const op = "sendtest.Release"
	if err := enter(ctx, op); err != nil {
		return err
	}
	b, err := send.MarshalState(state)
	if err != nil {
		return gateway.Internal(op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[gatewayID]
	if l == nil || l.owner != owner {
		return leaseConflict(op)
	}
	*l = lease{state: b}
	return nil
}

// Claim wins part c.Part of message c.Index of job c.JobID for c.Owner
// when no one claimed that part and every part before it has a result.
func (s *Store) Claim(ctx context.Context, c send.Claim) (bool, error) {
	const op = "sendtest.Claim"
	if err := enter(ctx, op); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[c.JobID][c.Index]
	free := c.Part == 0
	if it != nil && it.hasClaim {
		free = it.claimed == c.Part && it.done == c.Part
	}
	if !free {
		return false, nil
	}
	it = s.item(c.JobID, c.Index)
	it.hasClaim, it.claimed, it.owner, it.claimedAt = true, c.Part+1, c.Owner, c.At.UTC()
	if len(c.Chat) > 0 {
		it.item.ChatID = slices.Clone(c.Chat)
	}
	return true, nil
}

// item returns the stored item of a write, made if need be; s.mu is held.
func (s *Store) item(jobID string, index int) *storedItem {
	m := s.items[jobID]
	if m == nil {
		m = map[int]*storedItem{}
		s.items[jobID] = m
	}
	it := m[index]
	if it == nil {
		it = &storedItem{item: send.Item{Index: index}}
		m[index] = it
	}
	return it
}

// Unclaim gives back c when c.Owner holds the last claimed part and it
// has no result; otherwise it does nothing.
func (s *Store) Unclaim(ctx context.Context, c send.Claim) error {
	const op = "sendtest.Unclaim"
	if err := enter(ctx, op); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[c.JobID][c.Index]
	if ok && it.hasClaim && it.claimed == c.Part+1 && it.owner == c.Owner && it.done == c.Part {
		it.claimed = c.Part
	}
	return nil
}

// Record writes the result of a claimed part of message it.Index: status,
// message ids, error, parts and done, how many parts have results.
// Errors: CodeConflict, writing nothing, when the item already has
// results for more than done parts.
func (s *Store) Record(ctx context.Context, jobID string, it send.Item, done int) error {
	const op = "sendtest.Record"
	if err := enter(ctx, op); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.item(jobID, it.Index)
	if st.done > done {
		return &gateway.Error{Code: gateway.CodeConflict, Message: "The message has later results.", Op: op}
	}
	chat := st.item.ChatID
	if len(it.ChatID) > 0 {
		chat = it.ChatID
	}
	st.item = copyItem(send.Item{Index: it.Index, ChatID: chat, Status: it.Status, MessageIDs: it.MessageIDs,
		Error: it.Error, Parts: it.Parts, UpdatedAt: it.UpdatedAt.UTC(), Result: it.Result})
	if len(st.item.MessageIDs) == 0 {
		st.item.MessageIDs = nil
	}
	st.done = done
	return nil
}

// Claims returns job jobID's items whose last claimed part has no result,
// by index, with their claims.
func (s *Store) Claims(ctx context.Context, jobID string) ([]send.Item, []send.Claim, error) {
	const op = "sendtest.Claims"
	if err := enter(ctx, op); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []send.Item
	var claims []send.Claim
	for _, i := range s.indexes(jobID) {
		it := s.items[jobID][i]
		if !it.hasClaim || it.claimed <= it.done {
			continue
		}
		items = append(items, copyItem(it.item))
		claims = append(claims, send.Claim{JobID: jobID, Index: i, Part: it.claimed - 1, Owner: it.owner, At: it.claimedAt,
			Chat: slices.Clone(it.item.ChatID)})
	}
	return items, claims, nil
}

// Pending returns up to limit bots that have active jobs, by id.
func (s *Store) Pending(ctx context.Context, limit int) ([]string, error) {
	const op = "sendtest.Pending"
	if err := enter(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, j := range s.jobs {
		if j.job.Status != send.JobDone && !seen[j.job.GatewayID] {
			seen[j.job.GatewayID] = true
			out = append(out, j.job.GatewayID)
		}
	}
	sort.Strings(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Kick counts a request for a sender for gatewayID; Kicks reads it.
func (s *Store) Kick(ctx context.Context, gatewayID string) error {
	if err := enter(ctx, "sendtest.Kick"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kicks[gatewayID]++
	return nil
}

// Kicks returns how many times Kick was called for gatewayID.
func (s *Store) Kicks(gatewayID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kicks[gatewayID]
}

// Snapshot returns the store's jobs (with their bodies) and items as
// canonical JSON, for tests that check a request stored nothing.
func (s *Store) Snapshot(tb interface{ Fatal(...any) }) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	type item struct {
		Job     string
		Item    send.Item
		Claimed int
		Done    int
	}
	var jobs []storedJob
	for _, id := range slices.Sorted(maps.Keys(s.jobs)) {
		jobs = append(jobs, *s.jobs[id])
	}
	var items []item
	for _, id := range slices.Sorted(maps.Keys(s.items)) {
		for _, i := range slices.Sorted(maps.Keys(s.items[id])) {
			it := s.items[id][i]
			items = append(items, item{Job: id, Item: it.item, Claimed: it.claimed, Done: it.done})
		}
	}
	out, err := json.Marshal(struct {
		Jobs  []storedJob
		Items []item
	}{jobs, items})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// MarshalJSON shows a stored job and its body to Snapshot.
func (j storedJob) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Job  send.Job
		Body json.RawMessage
	}{j.job, j.body})
}

// Reset empties the store.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = map[string]*storedJob{}
	s.items = map[string]map[int]*storedItem{}
	s.leases = map[string]*lease{}
	s.kicks = map[string]int{}
}
