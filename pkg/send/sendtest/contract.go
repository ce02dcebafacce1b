package sendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// StoreContract checks that the stores newStore returns meet send.Store's
// contract as pkg/dynamo defines it: a job and its body (a 10,000-chat
// broadcast and a 1,000-message batch of 4 KB texts included) come back
// as written, and a second job with the same id stores nothing; another
// gateway's job is not found; active jobs come oldest first and a DONE
// job leaves them, and its bot leaves Pending with its last one; the
// sender lease has one holder, can be taken once expired, refuses Extend
// and Release to others, and hands the pacer state on; a part of a
// message is claimed once, in part order, and given back only by its
// owner; results are read by index, a claimed item without one with
// Status ""; unanswered claims are listed; Kick is harmless any time; a
// done context writes nothing. Each subtest gets a store of its own.
func StoreContract(t *testing.T, newStore func(t *testing.T) send.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, st send.Store)
	}{
		{name: "create and get", run: testCreateGet},
		{name: "large bodies", run: testLargeBodies},
		{name: "create existing", run: testCreateExisting},
		{name: "another gateway's job", run: testOtherGateway},
		{name: "active jobs and pending", run: testActive},
		{name: "lease", run: testLease},
		{name: "claim", run: testClaim},
		{name: "items", run: testItems},
		{name: "claims", run: testClaims},
		{name: "concurrent claims", run: testConcurrentClaims},
		{name: "kick", run: testKick},
		{name: "a done context", run: testDoneContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// t0 is the contract's clock origin, with a fraction of a second.
func t0() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 120000000, time.UTC) }

// newJob is a job of gateway gw created at at, sending body, with every
// field set.
func newJob(gw string, at time.Time, body send.Body) *send.Job {
	return &send.Job{ID: send.NewJobID(), GatewayID: gw, Owner: gateway.Owner{UserID: "alice", OrganizationID: "acme"},
		Status: send.JobQueued, Total: body.Len(), CreatedAt: at, UpdatedAt: at,
		RequestHash: strings.Repeat("ab", 32), Body: body}
}

// batch is a body of n messages to chats 1..n with texts of size bytes.
func batch(n, size int) send.Body {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
	// Letters, a few characters JSON escapes and one outside ASCII.
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,<>&\"\\\n_*[]()~é")
	var b send.Body
	for i := range n {
		var text strings.Builder
		for text.Len() < size {
			text.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		m, _ := json.Marshal(map[string]any{"chat_id": i + 1, "text": text.String(), "parse_mode": "HTML"})
		b.Messages = append(b.Messages, m)
	}
	return b
}

// broadcast is a body of one message to n chats: private chats, groups
// and a channel by name.
func broadcast(n int) send.Body {
	chats := make([]json.RawMessage, n)
	for i := range chats {
		switch {
		case i == 0:
			chats[i] = json.RawMessage(`"@gatehouse_news"`)
		case i%10 == 0:
			chats[i] = json.RawMessage("-100" + strconv.Itoa(1000000000+i))
		default:
			chats[i] = json.RawMessage(strconv.Itoa(500000000 + i))
		}
	}
	return send.Body{Broadcast: &send.Broadcast{ChatIDs: chats, Message: json.RawMessage(`{"text":"Hello, <b>everyone</b>","parse_mode":"HTML"}`)}}
}

// written is j as a store gives it back: times in UTC and the body as a
// JSON round trip leaves it.
func written(t *testing.T, j *send.Job) *send.Job {
	t.Helper()
	out := *j
	out.CreatedAt, out.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	raw, err := json.Marshal(j.Body)
	if err != nil {
		t.Fatal(err)
	}
	out.Body = send.Body{}
	if err := json.Unmarshal(raw, &out.Body); err != nil {
		t.Fatal(err)
	}
	return &out
}

func mustCreate(t *testing.T, st send.Store, j *send.Job) {
	t.Helper()
	if _, err := st.CreateJob(t.Context(), j); err != nil {
		t.Fatalf("CreateJob(%s): %v", j.ID, err)
	}
}

func mustGet(t *testing.T, st send.Store, gw, id string) *send.Job {
	t.Helper()
	j, err := st.GetJob(t.Context(), gw, id)
	if err != nil {
		t.Fatalf("GetJob(%s): %v", id, err)
	}
	return j
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gateway.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// wantJob compares jobs field by field, so that a difference in a large
// body is named without printing it.
func wantJob(t *testing.T, what string, got, want *send.Job) {
	t.Helper()
	g, w := *got, *want
	g.Body, w.Body = send.Body{}, send.Body{}
	wantEqual(t, what+" (fields)", g, w)
	if got.Body.Len() != want.Body.Len() {
		t.Fatalf("%s: body sends %d messages, want %d", what, got.Body.Len(), want.Body.Len())
	}
	gb, _ := json.Marshal(got.Body)
	wb, _ := json.Marshal(want.Body)
	if string(gb) != string(wb) {
		t.Fatalf("%s: body differs (%d bytes, want %d)", what, len(gb), len(wb))
	}
	wantEqual(t, what+" (body)", got.Body, want.Body)
}

func testCreateGet(t *testing.T, st send.Store) {
	j := newJob("gw_bot", t0().In(time.FixedZone("x", 3600)), batch(3, 40))
	j.Interactive = true
	want := written(t, j)
	got, err := st.CreateJob(t.Context(), j)
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	if got != j {
		t.Errorf("CreateJob returned %p, want the job passed, %p", got, j)
	}
	wantJob(t, "GetJob", mustGet(t, st, j.GatewayID, j.ID), want)

	personal := newJob("gw_bot", t0(), broadcast(3))
	personal.Owner = gateway.Owner{UserID: "bob"}
	mustCreate(t, st, personal)
	wantJob(t, "GetJob of a personal broadcast", mustGet(t, st, personal.GatewayID, personal.ID), written(t, personal))

	// Callers hold copies.
	got1 := mustGet(t, st, j.GatewayID, j.ID)
	got1.Body.Messages[0][2] = 'X'
	got1.Total = 99
	wantJob(t, "GetJob after the caller changed its copy", mustGet(t, st, j.GatewayID, j.ID), want)
}

func testLargeBodies(t *testing.T, st send.Store) {
	for _, tt := range []struct {
		name string
		body send.Body
	}{
		{name: "a broadcast to 10,000 chats", body: broadcast(send.MaxBroadcastChats)},
		{name: "a batch of 1,000 messages of 4 KB", body: batch(send.MaxMessages, 4096)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := newJob("gw_big", t0(), tt.body)
			mustCreate(t, st, j)
			wantJob(t, "GetJob", mustGet(t, st, j.GatewayID, j.ID), written(t, j))
			active, err := st.ActiveJobs(t.Context(), j.GatewayID, nil)
			if err != nil {
				t.Fatalf("ActiveJobs: %v", err)
			}
			i := slices.IndexFunc(active, func(a *send.Job) bool { return a.ID == j.ID })
			if i < 0 {
				t.Fatalf("ActiveJobs lacks the job")
			}
			wantJob(t, "ActiveJobs", active[i], written(t, j))
		})
	}
}

func testCreateExisting(t *testing.T, st send.Store) {
	first := newJob("gw_bot", t0(), batch(2, 10))
	mustCreate(t, st, first)
	second := newJob("gw_bot", t0().Add(time.Minute), batch(5, 20))
	second.ID, second.RequestHash = first.ID, "other"
	got, err := st.CreateJob(t.Context(), second)
	if err != send.ErrJobExists {
		t.Fatalf("second CreateJob: %v, want send.ErrJobExists itself", err)
	}
	wantJob(t, "the job CreateJob returned", got, written(t, first))
	wantJob(t, "GetJob", mustGet(t, st, first.GatewayID, first.ID), written(t, first))
	active, err := st.ActiveJobs(t.Context(), "gw_bot", nil)
	if err != nil {
		t.Fatalf("ActiveJobs: %v", err)
	}
	if len(active) != 1 {
		t.Fatalf("ActiveJobs holds %d jobs, want 1", len(active))
	}
}

func testOtherGateway(t *testing.T, st send.Store) {
	j := newJob("gw_bot", t0(), batch(1, 10))
	mustCreate(t, st, j)
	_, err := st.GetJob(t.Context(), "gw_other", j.ID)
	wantCode(t, "GetJob of another gateway's job", err, gateway.CodeNotFound)
	_, err = st.GetJob(t.Context(), "gw_bot", send.NewJobID())
	wantCode(t, "GetJob of no job", err, gateway.CodeNotFound)
	active, err := st.ActiveJobs(t.Context(), "gw_other", nil)
	if err != nil || len(active) != 0 {
		t.Fatalf("ActiveJobs of another gateway: %v, %v", active, err)
	}
}

func pending(t *testing.T, st send.Store) []string {
	t.Helper()
	p, err := st.Pending(t.Context(), 100)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	slices.Sort(p)
	return p
}

func activeIDs(t *testing.T, st send.Store, gw string) []string {
	t.Helper()
	active, err := st.ActiveJobs(t.Context(), gw, nil)
	if err != nil {
		t.Fatalf("ActiveJobs: %v", err)
	}
	var ids []string
	for _, j := range active {
		ids = append(ids, j.ID)
	}
	return ids
}

func testActive(t *testing.T, st send.Store) {
	ctx := t.Context()
	if got := pending(t, st); len(got) != 0 {
		t.Fatalf("Pending of an empty store: %v", got)
	}
	late, early, middle := newJob("gw_a", t0().Add(2*time.Second), batch(1, 10)), newJob("gw_a", t0(), batch(1, 10)), newJob("gw_a", t0().Add(time.Second), batch(1, 10))
	other := newJob("gw_b", t0(), broadcast(2))
	for _, j := range []*send.Job{late, early, middle, other} {
		mustCreate(t, st, j)
	}
	wantEqual(t, "ActiveJobs", activeIDs(t, st, "gw_a"), []string{early.ID, middle.ID, late.ID})
	wantEqual(t, "Pending", pending(t, st), []string{"gw_a", "gw_b"})
	if p, err := st.Pending(ctx, 1); err != nil || len(p) != 1 {
		t.Fatalf("Pending(1) = %v, %v; want one bot", p, err)
	}

	running := *middle
	running.Status, running.Sent, running.Failed, running.Unknown, running.UpdatedAt = send.JobRunning, 3, 2, 1, t0().Add(time.Hour)
	if err := st.Progress(ctx, &running); err != nil {
		t.Fatalf("Progress RUNNING: %v", err)
	}
	want := written(t, middle)
	want.Status, want.Sent, want.Failed, want.Unknown, want.UpdatedAt = send.JobRunning, 3, 2, 1, t0().Add(time.Hour)
	wantJob(t, "GetJob after Progress", mustGet(t, st, "gw_a", middle.ID), want)
	wantEqual(t, "ActiveJobs after RUNNING", activeIDs(t, st, "gw_a"), []string{early.ID, middle.ID, late.ID})

	for i, j := range []*send.Job{middle, early, late} {
		done := *j
		done.Status, done.Sent, done.UpdatedAt = send.JobDone, 1, t0().Add(2*time.Hour)
		if err := st.Progress(ctx, &done); err != nil {
			t.Fatalf("Progress DONE %d: %v", i, err)
		}
		wantEqual(t, "status after DONE", mustGet(t, st, "gw_a", j.ID).Status, send.JobDone)
		if i < 2 {
			wantEqual(t, "Pending with jobs left", pending(t, st), []string{"gw_a", "gw_b"})
		}
	}
	if got := activeIDs(t, st, "gw_a"); len(got) != 0 {
		t.Fatalf("ActiveJobs after every job is DONE: %v", got)
	}
	wantEqual(t, "Pending after gw_a's last job", pending(t, st), []string{"gw_b"})

	again := *early
	again.Status, again.UpdatedAt = send.JobDone, t0().Add(3*time.Hour)
	if err := st.Progress(ctx, &again); err != nil {
		t.Fatalf("Progress DONE of a DONE job: %v", err)
	}
	again.Status = send.JobRunning
	wantCode(t, "Progress RUNNING of a DONE job", st.Progress(ctx, &again), gateway.CodeConflict)
	wantEqual(t, "status of a DONE job", mustGet(t, st, "gw_a", early.ID).Status, send.JobDone)
	wantCode(t, "Progress of no job", st.Progress(ctx, newJob("gw_a", t0(), batch(1, 1))), gateway.CodeNotFound)

	// A new job brings the bot back.
	mustCreate(t, st, newJob("gw_a", t0().Add(4*time.Hour), batch(1, 10)))
	wantEqual(t, "Pending after a new job", pending(t, st), []string{"gw_a", "gw_b"})
}

// state is a pacer state with every field set, as a store returns it.
func state(t *testing.T) send.PacerState {
	t.Helper()
	s := send.PacerState{
		Global: []time.Time{t0(), t0().Add(time.Millisecond)},
		Chats:  map[string]time.Time{"42": t0()},
		Groups: map[string][]time.Time{"-1001": {t0(), t0().Add(time.Second)}},
		Holds:  map[string]time.Time{"42": t0().Add(5 * time.Second)},
		Hold:   t0().Add(3 * time.Second),
	}
	b, err := send.MarshalState(s)
	if err != nil {
		t.Fatal(err)
	}
	out, err := send.UnmarshalState(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testLease(t *testing.T, st send.Store) {
	ctx := t.Context()
	acquire := func(owner string, until, now time.Time, want bool) send.PacerState {
		t.Helper()
		s, ok, err := st.Acquire(ctx, "gw_bot", owner, until, now)
		if err != nil || ok != want {
			t.Fatalf("Acquire by %s at %v = %v, %v; want %v", owner, now, ok, err, want)
		}
		return s
	}
	if s := acquire("a", t0().Add(30*time.Second), t0(), true); !reflect.DeepEqual(s, send.PacerState{}) {
		t.Fatalf("first Acquire returned state %+v, want none", s)
	}
	acquire("b", t0().Add(40*time.Second), t0().Add(10*time.Second), false)
	if _, ok, err := st.Acquire(ctx, "gw_other", "b", t0().Add(40*time.Second), t0().Add(10*time.Second)); err != nil || !ok {
		t.Fatalf("Acquire of another bot's lease = %v, %v", ok, err)
	}
	wantCode(t, "Extend by another owner", st.Extend(ctx, "gw_bot", "b", t0().Add(time.Hour)), gateway.CodeConflict)
	if err := st.Extend(ctx, "gw_bot", "a", t0().Add(60*time.Second)); err != nil {
		t.Fatalf("Extend by the owner: %v", err)
	}
	acquire("b", t0().Add(90*time.Second), t0().Add(45*time.Second), false) // extended past 30 s
	wantCode(t, "Release by another owner", st.Release(ctx, "gw_bot", "b", state(t)), gateway.CodeConflict)
	acquire("b", t0().Add(90*time.Second), t0().Add(61*time.Second), true) // expired at 60 s
	wantCode(t, "Extend by the expired owner", st.Extend(ctx, "gw_bot", "a", t0().Add(time.Hour)), gateway.CodeConflict)
	wantCode(t, "Release by the expired owner", st.Release(ctx, "gw_bot", "a", send.PacerState{}), gateway.CodeConflict)
	if err := st.Release(ctx, "gw_bot", "b", state(t)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantCode(t, "Extend after Release", st.Extend(ctx, "gw_bot", "b", t0().Add(time.Hour)), gateway.CodeConflict)
	// Released: free at once, whatever its until was.
	got := acquire("c", t0().Add(100*time.Second), t0().Add(62*time.Second), true)
	wantEqual(t, "state after Release", got, state(t))
	if err := st.Release(ctx, "gw_bot", "c", send.PacerState{}); err != nil {
		t.Fatalf("Release of an empty state: %v", err)
	}
	wantEqual(t, "empty state after Release", acquire("d", t0().Add(200*time.Second), t0().Add(63*time.Second), true), send.PacerState{})
}

func claim(job string, index, part int, owner string) send.Claim {
	return send.Claim{JobID: job, Index: index, Part: part, Owner: owner, At: t0().Add(time.Duration(index*10+part) * time.Second),
		Chat: json.RawMessage(strconv.Itoa(100 + index))}
}

func wantClaim(t *testing.T, st send.Store, c send.Claim, want bool) {
	t.Helper()
	got, err := st.Claim(t.Context(), c)
	if err != nil || got != want {
		t.Fatalf("Claim(index %d, part %d) by %s = %v, %v; want %v", c.Index, c.Part, c.Owner, got, err, want)
	}
}

func record(t *testing.T, st send.Store, job string, it send.Item, done int) {
	t.Helper()
	if err := st.Record(t.Context(), job, it, done); err != nil {
		t.Fatalf("Record(index %d, done %d): %v", it.Index, done, err)
	}
}

func testClaim(t *testing.T, st send.Store) {
	ctx := t.Context()
	j := newJob("gw_bot", t0(), batch(3, 10))
	mustCreate(t, st, j)
	wantClaim(t, st, claim(j.ID, 0, 1, "a"), false) // part 1 before part 0
	wantClaim(t, st, claim(j.ID, 0, 0, "a"), true)
	wantClaim(t, st, claim(j.ID, 0, 0, "b"), false)
	wantClaim(t, st, claim(j.ID, 0, 0, "a"), false)
	wantClaim(t, st, claim(j.ID, 0, 1, "a"), false) // part 0 has no result
	record(t, st, j.ID, send.Item{Index: 0, Status: send.ItemSent, MessageIDs: []int64{11}, Parts: 2, UpdatedAt: t0()}, 1)
	wantClaim(t, st, claim(j.ID, 0, 0, "c"), false)
	wantClaim(t, st, claim(j.ID, 0, 2, "b"), false)
	wantClaim(t, st, claim(j.ID, 0, 1, "b"), true)
	wantClaim(t, st, claim(j.ID, 0, 1, "c"), false)

	// Only the owner gives a claim back.
	if err := st.Unclaim(ctx, claim(j.ID, 0, 1, "a")); err != nil {
		t.Fatalf("Unclaim by another owner: %v", err)
	}
	wantClaim(t, st, claim(j.ID, 0, 1, "c"), false)
	if err := st.Unclaim(ctx, claim(j.ID, 0, 0, "b")); err != nil {
		t.Fatalf("Unclaim of an earlier part: %v", err)
	}
	wantClaim(t, st, claim(j.ID, 0, 0, "c"), false)
	if err := st.Unclaim(ctx, claim(j.ID, 0, 1, "b")); err != nil {
		t.Fatalf("Unclaim: %v", err)
	}
	wantClaim(t, st, claim(j.ID, 0, 1, "c"), true)
	record(t, st, j.ID, send.Item{Index: 0, Status: send.ItemSent, MessageIDs: []int64{11, 12}, Parts: 2, UpdatedAt: t0()}, 2)
	if err := st.Unclaim(ctx, claim(j.ID, 0, 1, "c")); err != nil {
		t.Fatalf("Unclaim of a part with a result: %v", err)
	}
	wantClaim(t, st, claim(j.ID, 0, 1, "d"), false) // the result stands

	// Part 0 given back goes again.
	wantClaim(t, st, claim(j.ID, 1, 0, "a"), true)
	if err := st.Unclaim(ctx, claim(j.ID, 1, 0, "a")); err != nil {
		t.Fatalf("Unclaim of part 0: %v", err)
	}
	wantClaim(t, st, claim(j.ID, 1, 0, "b"), true)
	wantClaim(t, st, claim(j.ID, 1, 0, "a"), false)

	// Results never go backwards.
	wantCode(t, "Record of fewer parts", st.Record(ctx, j.ID, send.Item{Index: 0, Status: send.ItemSent, UpdatedAt: t0()}, 1), gateway.CodeConflict)
	items, err := st.Items(ctx, j.ID, 0, 1)
	if err != nil || len(items) != 1 {
		t.Fatalf("Items = %v, %v", items, err)
	}
	wantEqual(t, "message ids after a refused Record", items[0].MessageIDs, []int64{11, 12})
}

func testItems(t *testing.T, st send.Store) {
	ctx := t.Context()
	j := newJob("gw_bot", t0(), batch(8, 10))
	mustCreate(t, st, j)
	at := t0().Add(time.Minute).In(time.FixedZone("x", -7200))
	for _, c := range []send.Claim{claim(j.ID, 1, 0, "a"), claim(j.ID, 3, 0, "a"), claim(j.ID, 4, 0, "a"), claim(j.ID, 6, 0, "a")} {
		wantClaim(t, st, c, true)
	}
	record(t, st, j.ID, send.Item{Index: 1, Status: send.ItemSent, MessageIDs: []int64{7001}, Parts: 1, UpdatedAt: at,
		Result: json.RawMessage(`{"message_id":7001,"chat":{"id":101,"type":"private"},"date":1764921600,"text":"hi"}`)}, 1)
	record(t, st, j.ID, send.Item{Index: 3, ChatID: json.RawMessage(`"@channel"`), Status: send.ItemFailed, Error: "Bad Request: chat not found", Parts: 1, UpdatedAt: at}, 1)
	record(t, st, j.ID, send.Item{Index: 6, Status: send.ItemUnknown, Error: "the answer never came", MessageIDs: []int64{}, UpdatedAt: at}, 1)
	sent := send.Item{Index: 1, ChatID: json.RawMessage(`101`), Status: send.ItemSent, MessageIDs: []int64{7001}, Parts: 1, UpdatedAt: at.UTC(),
		Result: json.RawMessage(`{"message_id":7001,"chat":{"id":101,"type":"private"},"date":1764921600,"text":"hi"}`)}
	failed := send.Item{Index: 3, ChatID: json.RawMessage(`"@channel"`), Status: send.ItemFailed, Error: "Bad Request: chat not found", Parts: 1, UpdatedAt: at.UTC()}
	claimed := send.Item{Index: 4, ChatID: json.RawMessage(`104`)}
	unknown := send.Item{Index: 6, ChatID: json.RawMessage(`106`), Status: send.ItemUnknown, Error: "the answer never came", UpdatedAt: at.UTC()}
	for _, tt := range []struct {
		name        string
		from, limit int
		want        []send.Item
	}{
		{name: "all", from: 0, limit: 8, want: []send.Item{sent, failed, claimed, unknown}},
		{name: "a middle range", from: 1, limit: 3, want: []send.Item{sent, failed}},
		{name: "a range starting at a claim", from: 4, limit: 2, want: []send.Item{claimed}},
		{name: "an empty range", from: 7, limit: 1, want: nil},
		{name: "one item", from: 6, limit: 1, want: []send.Item{unknown}},
		{name: "past the end", from: 8, limit: 100, want: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Items(ctx, j.ID, tt.from, tt.limit)
			if err != nil {
				t.Fatalf("Items: %v", err)
			}
			if len(got) == 0 {
				got = nil
			}
			wantEqual(t, "Items", got, tt.want)
		})
	}
	// A result recorded again replaces the first.
	record(t, st, j.ID, send.Item{Index: 3, Status: send.ItemSent, MessageIDs: []int64{9}, Parts: 1, UpdatedAt: at}, 1)
	got, err := st.Items(ctx, j.ID, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "Items after a second Record", got, []send.Item{{Index: 3, ChatID: json.RawMessage(`"@channel"`), Status: send.ItemSent, MessageIDs: []int64{9}, Parts: 1, UpdatedAt: at.UTC()}})
	if other, err := st.Items(ctx, send.NewJobID(), 0, 8); err != nil || len(other) != 0 {
		t.Fatalf("Items of another job = %v, %v", other, err)
	}
}

func testClaims(t *testing.T, st send.Store) {
	ctx := t.Context()
	j := newJob("gw_bot", t0(), batch(5, 10))
	mustCreate(t, st, j)
	if items, claims, err := st.Claims(ctx, j.ID); err != nil || len(items)+len(claims) != 0 {
		t.Fatalf("Claims of a new job = %v, %v, %v", items, claims, err)
	}
	wantClaim(t, st, claim(j.ID, 0, 0, "a"), true) // no result: listed
	wantClaim(t, st, claim(j.ID, 1, 0, "a"), true) // a result: not listed
	record(t, st, j.ID, send.Item{Index: 1, Status: send.ItemSent, MessageIDs: []int64{1}, Parts: 1, UpdatedAt: t0()}, 1)
	wantClaim(t, st, claim(j.ID, 2, 0, "a"), true) // part 1 without a result: listed
	record(t, st, j.ID, send.Item{Index: 2, Status: send.ItemSent, MessageIDs: []int64{2}, Parts: 2, UpdatedAt: t0()}, 1)
	wantClaim(t, st, claim(j.ID, 2, 1, "b"), true)
	wantClaim(t, st, claim(j.ID, 3, 0, "a"), true) // given back: not listed
	if err := st.Unclaim(ctx, claim(j.ID, 3, 0, "a")); err != nil {
		t.Fatal(err)
	}
	items, claims, err := st.Claims(ctx, j.ID)
	if err != nil {
		t.Fatalf("Claims: %v", err)
	}
	wantEqual(t, "Claims' claims", claims, []send.Claim{claim(j.ID, 0, 0, "a"), claim(j.ID, 2, 1, "b")})
	wantEqual(t, "Claims' items", items, []send.Item{
		{Index: 0, ChatID: json.RawMessage(`100`)},
		{Index: 2, ChatID: json.RawMessage(`102`), Status: send.ItemSent, MessageIDs: []int64{2}, Parts: 2, UpdatedAt: t0()},
	})
}

// testConcurrentClaims: eight senders race for the same 200 parts; each
// part is won exactly once.
func testConcurrentClaims(t *testing.T, st send.Store) {
	const senders, parts = 8, 200
	j := newJob("gw_bot", t0(), broadcast(parts))
	mustCreate(t, st, j)
	var mu sync.Mutex
	wins := map[int][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := "sender-" + strconv.Itoa(s)
			order := rand.New(rand.NewPCG(uint64(s), 1)).Perm(parts)
			for _, i := range order {
				ok, err := st.Claim(context.Background(), claim(j.ID, i, 0, owner))
				if err != nil {
					errs <- fmt.Errorf("Claim(%d) by %s: %w", i, owner, err)
					return
				}
				if ok {
					mu.Lock()
					wins[i] = append(wins[i], owner)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range parts {
		if len(wins[i]) != 1 {
			t.Errorf("part %d won by %v, want exactly one sender", i, wins[i])
		}
	}
	_, claims, err := st.Claims(t.Context(), j.ID)
	if err != nil || len(claims) != parts {
		t.Fatalf("Claims after the race: %d claims, %v; want %d", len(claims), err, parts)
	}
	for _, c := range claims {
		if w := wins[c.Index]; len(w) != 1 || w[0] != c.Owner {
			t.Errorf("part %d is stored as %s's, won by %v", c.Index, c.Owner, w)
		}
	}
}

func testKick(t *testing.T, st send.Store) {
	if err := st.Kick(t.Context(), "gw_idle"); err != nil {
		t.Fatalf("Kick of a bot with no jobs: %v", err)
	}
	if got := pending(t, st); len(got) != 0 {
		t.Fatalf("Pending after kicking an idle bot: %v", got)
	}
	j := newJob("gw_bot", t0(), batch(1, 10))
	mustCreate(t, st, j)
	for range 2 {
		if err := st.Kick(t.Context(), "gw_bot"); err != nil {
			t.Fatalf("Kick: %v", err)
		}
	}
	wantEqual(t, "Pending after Kick", pending(t, st), []string{"gw_bot"})
	wantJob(t, "the job after Kick", mustGet(t, st, "gw_bot", j.ID), written(t, j))
}

func testDoneContext(t *testing.T, st send.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	j := newJob("gw_bot", t0(), batch(1, 10))
	if _, err := st.CreateJob(ctx, j); err == nil {
		t.Fatal("CreateJob with a cancelled context succeeded")
	}
	_, err := st.GetJob(t.Context(), "gw_bot", j.ID)
	wantCode(t, "GetJob of a job created with a cancelled context", err, gateway.CodeNotFound)
	if ok, err := st.Claim(ctx, claim(j.ID, 0, 0, "a")); err == nil || ok {
		t.Fatalf("Claim with a cancelled context = %v, %v", ok, err)
	}
	wantClaim(t, st, claim(j.ID, 0, 0, "a"), true)
}
