package rekey_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/rekey"
	"github.com/gatehouse/gatehouse/pkg/rekey/rekeydynamo"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// world is one test's table and two KMS keys: the gateways are sealed
// under A, and B is the current key a rotation moves them to.
type world struct {
	t      *testing.T
	ddb    *dynamodb.Client
	table  string
	kms    *countingKMS
	keyA   string
	keyB   string
	store  *dynamo.Store
	rekey  *rekeydynamo.Store
	sealA  *gateway.Service // the service that wrote the gateways
	logs   *lockedBuffer
	lines  *lineLog
	owners []gateway.Actor
}

func newWorld(t *testing.T, kmsClient *kms.Client) *world {
	t.Helper()
	env := emutest.Start(t)
	ctx := t.Context()
	w := &world{t: t, ddb: env.DynamoDBClient(), table: emutest.UniqueName("rekey"), kms: &countingKMS{next: kmsClient},
		logs: &lockedBuffer{}, lines: &lineLog{},
		owners: []gateway.Actor{{UserID: "alice"}, {UserID: "bob"}, {UserID: "alice", OrganizationID: "acme"}}}
	if err := dynamo.EnsureTable(ctx, w.ddb, w.table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = w.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(w.table)})
	})
	var err error
	if w.keyA, err = envelope.EnsureKey(ctx, kmsClient, "alias/"+emutest.UniqueName("a")); err != nil {
		t.Fatal(err)
	}
	if w.keyB, err = envelope.EnsureKey(ctx, kmsClient, "alias/"+emutest.UniqueName("b")); err != nil {
		t.Fatal(err)
	}
	if w.keyA == w.keyB {
		t.Fatal("the two keys are one")
	}
	w.store = dynamo.New(w.ddb, w.table)
	w.rekey = rekeydynamo.New(w.ddb, w.table)
	w.sealA = gateway.NewService(w.store, envelope.New(kmsClient, w.keyA))
	return w
}

// rotator rotates to key B through the counting KMS client, with cfg's
// tuning; progress lines and the log are kept for inspection.
func (w *world) rotator(cfg rekey.Config, reseal func(rekey.Resealer) rekey.Resealer, opts ...rekey.Option) *rekey.Rotator {
	cfg.KeyID = w.keyB
	var r rekey.Resealer = gateway.NewService(w.store, envelope.New(w.kms, w.keyB))
	if reseal != nil {
		r = reseal(r)
	}
	base := []rekey.Option{
		rekey.WithLogger(slog.New(slog.NewJSONHandler(w.logs, nil))),
		rekey.WithProgress(w.lines.add),
	}
	return rekey.New(w.rekey, r, cfg, append(base, opts...)...)
}

// create makes n gateways under key A, spread over three owners, 8 at a
// time, and returns them with their plaintext credentials.
func (w *world) create(n int) ([]*gateway.Gateway, map[string]gateway.Credentials) {
	w.t.Helper()
	gws := make([]*gateway.Gateway, n)
	creds := make([]gateway.Credentials, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			creds[i] = gateway.Credentials{URL: fmt.Sprintf("https://hooks.example.com/%d", i), SigningSecret: fmt.Sprintf("whsec_%s", gateway.NewEventID())}
			gws[i], _, errs[i] = w.sealA.Create(w.t.Context(), w.owners[i%len(w.owners)], gateway.CreateRequest{
				Name: fmt.Sprintf("hook %d", i), Type: gateway.TypeWebhook, Credentials: creds[i], Config: json.RawMessage(`{}`),
			}, "")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		w.t.Fatalf("create: %v", err)
	}
	byID := map[string]gateway.Credentials{}
	for i, g := range gws {
		byID[g.ID] = creds[i]
	}
	return gws, byID
}

func (w *world) get(id string) *gateway.Gateway {
	w.t.Helper()
	g, err := w.store.GetGateway(w.t.Context(), id)
	if err != nil {
		w.t.Fatalf("GetGateway(%s): %v", id, err)
	}
	return g
}

// setCredentials writes a gateway's credentials attribute directly, as
// corruption or a copy would; nil removes it.
func (w *world) setCredentials(id string, blob []byte) {
	w.t.Helper()
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(w.table),
		Key:       map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: "GW#" + id}, dynamo.AttrSK: &types.AttributeValueMemberS{Value: "GATEWAY"}},
	}
	if blob == nil {
		in.UpdateExpression = aws.String("REMOVE credentials")
	} else {
		in.UpdateExpression = aws.String("SET credentials = :c")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":c": &types.AttributeValueMemberB{Value: blob}}
	}
	if _, err := w.ddb.UpdateItem(w.t.Context(), in); err != nil {
		w.t.Fatal(err)
	}
}

// audit returns a gateway's events of action.
func (w *world) audit(id, action string) []gateway.AuditEvent {
	w.t.Helper()
	p, err := w.store.ListAudit(w.t.Context(), id, dynamo.MaxLimit, "")
	if err != nil {
		w.t.Fatal(err)
	}
	var out []gateway.AuditEvent
	for _, e := range p.Events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// items reads the whole table, sorted by key.
func (w *world) items() []map[string]types.AttributeValue {
	w.t.Helper()
	var out []map[string]types.AttributeValue
	in := &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true)}
	for {
		page, err := w.ddb.Scan(w.t.Context(), in)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	key := func(it map[string]types.AttributeValue) string {
		return it[dynamo.AttrPK].(*types.AttributeValueMemberS).Value + "|" + it[dynamo.AttrSK].(*types.AttributeValueMemberS).Value
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// opens checks that g's credentials open, under g's binding, to want.
func (w *world) opens(g *gateway.Gateway, want gateway.Credentials) {
	w.t.Helper()
	got, err := w.sealA.Credentials(w.t.Context(), g)
	if err != nil {
		w.t.Errorf("gateway %s: credentials do not open: %v", g.ID, err)
		return
	}
	if got != want {
		w.t.Errorf("gateway %s: credentials changed in the rotation", g.ID)
	}
}

// blobKey returns the key id and the encrypted data key a blob names
// (envelope's format 1: version, uint16-prefixed key id, uint16-prefixed
// encrypted data key, …).
func blobKey(t *testing.T, b []byte) (keyID string, dataKey []byte) {
	t.Helper()
	if len(b) < 3 || b[0] != 1 {
		t.Fatalf("not a format-1 blob")
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	m := int(binary.BigEndian.Uint16(b[3+n:]))
	return string(b[3 : 3+n]), b[5+n : 5+n+m]
}

func TestRotateMovesEveryGatewayToTheCurrentKey(t *testing.T) {
	env := emutest.Start(t)
	w := newWorld(t, env.KMSClient())
	ctx := t.Context()
	gws, creds := w.create(24)
	corrupt, copied, empty := gws[0], gws[1], gws[2]
	flipped := bytes.Clone(corrupt.SealedCredentials)
	flipped[len(flipped)-1] ^= 1
	w.setCredentials(corrupt.ID, flipped)
	w.setCredentials(copied.ID, gws[3].SealedCredentials) // bound to gws[3], not to copied
	w.setCredentials(empty.ID, nil)
	before := map[string]*gateway.Gateway{}
	for _, g := range gws {
		before[g.ID] = w.get(g.ID)
	}

	sum, err := w.rotator(rekey.Config{Segments: 3, Concurrency: 4, PageSize: 5}, nil).Run(ctx, rekey.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantCounts := rekey.Counts{Scanned: 24, Reencrypted: 21, Unreadable: 2, Skipped: 1}
	if !sum.Complete || sum.Counts != wantCounts || sum.Total != 24 || sum.RunID == "" || sum.KeyID != w.keyB || sum.DryRun || sum.Resumed {
		t.Fatalf("summary %+v, want complete with %+v", sum, wantCounts)
	}
	gotUnreadable := map[string]string{}
	for _, r := range sum.UnreadableGateways {
		gotUnreadable[r.ID] = r.Owner
	}
	if want := map[string]string{corrupt.ID: corrupt.Owner().Key(), copied.ID: copied.Owner().Key()}; !reflect.DeepEqual(gotUnreadable, want) {
		t.Errorf("unreadable gateways %v, want %v", gotUnreadable, want)
	}

	dataKeys := map[string]bool{}
	for _, g := range gws[3:] {
		after, old := w.get(g.ID), before[g.ID]
		if after.Version != old.Version+1 {
			t.Errorf("gateway %s: version %d → %d, want +1", g.ID, old.Version, after.Version)
		}
		keyID, dk := blobKey(t, after.SealedCredentials)
		if keyID != w.keyB {
			t.Errorf("gateway %s: blob names key %s, want B %s", g.ID, keyID, w.keyB)
		}
		if dataKeys[string(dk)] {
			t.Errorf("gateway %s: a data key was used twice", g.ID)
		}
		dataKeys[string(dk)] = true
		w.opens(after, creds[g.ID])
		if !reflect.DeepEqual(after.CredentialInfo, old.CredentialInfo) || after.Name != old.Name || after.Status != old.Status {
			t.Errorf("gateway %s: more than its credentials changed", g.ID)
		}
		evs := w.audit(g.ID, gateway.AuditCredentialsRotated)
		if len(evs) != 1 || evs[0].Actor.System != rekey.Actor || !reflect.DeepEqual(evs[0].Changes, []string{"credentials"}) ||
			!reflect.DeepEqual(evs[0].Details, map[string]string{"run": sum.RunID}) {
			t.Errorf("gateway %s: rotation audit events %+v", g.ID, evs)
		}
	}
	for _, g := range []*gateway.Gateway{corrupt, copied} {
		after, old := w.get(g.ID), before[g.ID]
		if after.Status != gateway.StatusError || after.LastError != "credentials unreadable; re-enter them" || after.LastErrorAt == nil ||
			after.Version != old.Version+1 || !bytes.Equal(after.SealedCredentials, old.SealedCredentials) {
			t.Errorf("unreadable gateway %s after the run: status %s, lastError %q, version %d (was %d)", g.ID, after.Status, after.LastError, after.Version, old.Version)
		}
		evs := w.audit(g.ID, gateway.AuditStatusChanged)
		if len(evs) != 1 || evs[0].Details["to"] != "ERROR" || evs[0].Details["error"] != gateway.LastErrorCredentialsUnreadable {
			t.Errorf("unreadable gateway %s: audit %+v", g.ID, evs)
		}
	}
	if got := w.get(empty.ID); got.Version != before[empty.ID].Version {
		t.Errorf("gateway without credentials was written: version %d", got.Version)
	}
	if n := len(w.lines.all()); n == 0 || w.lines.last() != (rekey.Progress{Total: 24, Counts: sum.Counts, PerSecond: sum.PerSecond}.String()) {
		t.Errorf("last progress line %q, want the summary's", w.lines.last())
	}

	// Nothing secret went to the log, the progress lines or the summary.
	out, _ := json.Marshal(sum)
	said := w.logs.String() + strings.Join(w.lines.all(), "\n") + string(out)
	for id, c := range creds {
		if strings.Contains(said, c.SigningSecret) {
			t.Fatalf("the signing secret of %s was written out", id)
		}
	}

	// Resuming a finished run answers its summary and writes nothing.
	items := w.items()
	again, err := w.rotator(rekey.Config{}, nil).Run(ctx, rekey.Options{Resume: true})
	if err != nil || !again.Complete || again.RunID != sum.RunID || again.Counts != sum.Counts {
		t.Errorf("resume of a finished run: %+v, %v", again, err)
	}
	if !reflect.DeepEqual(w.items(), items) {
		t.Error("resuming a finished run wrote to the table")
	}

	// A new run is a new run id and rotates again; the gateways already
	// marked unreadable are reported but not written again.
	next, err := w.rotator(rekey.Config{}, nil).Run(ctx, rekey.Options{})
	if err != nil || !next.Complete || next.RunID == sum.RunID || next.Counts != wantCounts {
		t.Fatalf("second run: %+v, %v", next, err)
	}
	for _, g := range gws {
		want := before[g.ID].Version + 2
		switch g.ID {
		case corrupt.ID, copied.ID:
			want = before[g.ID].Version + 1
		case empty.ID:
			want = before[g.ID].Version
		}
		if got := w.get(g.ID).Version; got != want {
			t.Errorf("gateway %s after two runs: version %d, want %d", g.ID, got, want)
		}
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	env := emutest.Start(t)
	w := newWorld(t, env.KMSClient())
	gws, _ := w.create(12)
	w.setCredentials(gws[0].ID, gws[1].SealedCredentials)
	before := w.items()

	sum, err := w.rotator(rekey.Config{Segments: 2, PageSize: 4}, nil).Run(t.Context(), rekey.Options{DryRun: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := rekey.Counts{Scanned: 12, Reencrypted: 11, Unreadable: 1}
	if !sum.DryRun || !sum.Complete || sum.Counts != want || sum.RunID != "" || len(sum.UnreadableGateways) != 1 || sum.UnreadableGateways[0].ID != gws[0].ID {
		t.Errorf("summary %+v, want a complete dry run with %+v", sum, want)
	}
	if after := w.items(); !reflect.DeepEqual(after, before) {
		t.Errorf("a dry run changed the table: %d items before, %d after", len(before), len(after))
	}
	if got := w.kms.generates.Load(); got != 0 {
		t.Errorf("a dry run asked KMS for %d data keys", got)
	}
	if !strings.HasPrefix(w.lines.last(), "rotate (dry run): 12/12 scanned, 11 to re-encrypt, 1 unreadable") {
		t.Errorf("last progress line %q", w.lines.last())
	}
	if _, err := w.rotator(rekey.Config{}, nil).Run(t.Context(), rekey.Options{DryRun: true, Resume: true}); !gateway.IsCode(err, gateway.CodeInvalid) {
		t.Errorf("dry run with resume: %v, want invalid", err)
	}
}

// stopAfter calls stop when the n-th gateway is resealed.
type stopAfter struct {
	rekey.Resealer
	n     int64
	calls atomic.Int64
	stop  func()
}

func (s *stopAfter) Reseal(ctx context.Context, g *gateway.Gateway) ([]byte, error) {
	if s.calls.Add(1) == s.n {
		s.stop()
	}
	return s.Resealer.Reseal(ctx, g)
}

func TestInterruptedRunResumes(t *testing.T) {
	env := emutest.Start(t)
	tests := []struct {
		name string
		// interrupt returns the context and options of the first run and
		// the function that interrupts it.
		interrupt func(ctx context.Context) (context.Context, rekey.Options, []rekey.Option, func())
		wantErr   bool
	}{
		{"context cancelled", func(ctx context.Context) (context.Context, rekey.Options, []rekey.Option, func()) {
			ctx, cancel := context.WithCancel(ctx)
			return ctx, rekey.Options{}, nil, cancel
		}, true},
		{"deadline reached", func(ctx context.Context) (context.Context, rekey.Options, []rekey.Option, func()) {
			var late atomic.Bool
			clock := func() time.Time {
				if late.Load() {
					return time.Now().Add(2 * time.Hour)
				}
				return time.Now()
			}
			opts := rekey.Options{Deadline: time.Now().Add(time.Hour)}
			return ctx, opts, []rekey.Option{rekey.WithClock(clock)}, func() { late.Store(true) }
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, env.KMSClient())
			const n = 60
			gws, creds := w.create(n)
			before := map[string]int64{}
			for _, g := range gws {
				before[g.ID] = g.Version
			}
			ctx, opts, ropts, interrupt := tt.interrupt(t.Context())
			cfg := rekey.Config{Segments: 3, Concurrency: 6, PageSize: 7}
			first, err := w.rotator(cfg, func(r rekey.Resealer) rekey.Resealer {
				return &stopAfter{Resealer: r, n: 20, stop: interrupt}
			}, ropts...).Run(ctx, opts)
			if (err != nil) != tt.wantErr || first.Complete || first.RunID == "" {
				t.Fatalf("first run: %+v, %v", first, err)
			}
			done := 0
			for _, g := range gws {
				if w.get(g.ID).Version == before[g.ID]+1 {
					done++
				}
			}
			if done == 0 || done == n || first.Reencrypted > done {
				t.Fatalf("first run rotated %d of %d (summary says %d): not an interruption in the middle", done, n, first.Reencrypted)
			}
			cp, ok, err := w.rekey.LoadCheckpoint(t.Context())
			if err != nil || !ok || cp.RunID != first.RunID || cp.Complete {
				t.Fatalf("checkpoint after the interruption: %+v %v %v", cp, ok, err)
			}

			second, err := w.rotator(cfg, nil).Run(t.Context(), rekey.Options{Resume: true})
			if err != nil || !second.Complete || !second.Resumed || second.RunID != first.RunID {
				t.Fatalf("resumed run: %+v, %v", second, err)
			}
			if want := (rekey.Counts{Scanned: n, Reencrypted: n}); second.Counts != want {
				t.Errorf("resumed run counts %+v, want %+v", second.Counts, want)
			}
			for _, g := range gws {
				after := w.get(g.ID)
				if after.Version != before[g.ID]+1 {
					t.Errorf("gateway %s: version %d → %d, want exactly one rotation", g.ID, before[g.ID], after.Version)
				}
				if keyID, _ := blobKey(t, after.SealedCredentials); keyID != w.keyB {
					t.Errorf("gateway %s: still under %s", g.ID, keyID)
				}
				if evs := w.audit(g.ID, gateway.AuditCredentialsRotated); len(evs) != 1 {
					t.Errorf("gateway %s: %d rotation events", g.ID, len(evs))
				}
				w.opens(after, creds[g.ID])
			}
		})
	}
}

// editFirst lets a user change a gateway between the rotation's read and
// its write, the first time each of the gateways in edits is resealed.
type editFirst struct {
	rekey.Resealer
	mu    sync.Mutex
	edits map[string]func()
}

func (e *editFirst) Reseal(ctx context.Context, g *gateway.Gateway) ([]byte, error) {
	sealed, err := e.Resealer.Reseal(ctx, g)
	e.mu.Lock()
	edit := e.edits[g.ID]
	delete(e.edits, g.ID)
	e.mu.Unlock()
	if edit != nil {
		edit()
	}
	return sealed, err
}

func TestConcurrentEditIsNotOverwritten(t *testing.T) {
	env := emutest.Start(t)
	w := newWorld(t, env.KMSClient())
	ctx := t.Context()
	gws, creds := w.create(6)
	rekeyed, renamed, checked := gws[0], gws[1], gws[2]
	checkedAt := time.Date(2025, 5, 1, 10, 5, 0, 0, time.UTC)
	fresh := gateway.Credentials{URL: "https://hooks.example.com/new", SigningSecret: "whsec_entered_during_the_rotation"}
	name := "renamed during the rotation"
	edit := func(g *gateway.Gateway, req gateway.UpdateRequest) func() {
		return func() {
			if _, err := w.sealA.Update(ctx, gateway.Actor{UserID: g.UserID, OrganizationID: g.OrganizationID}, g.ID, req, nil); err != nil {
				t.Errorf("user update of %s: %v", g.ID, err)
			}
		}
	}
	sum, err := w.rotator(rekey.Config{}, func(r rekey.Resealer) rekey.Resealer {
		return &editFirst{Resealer: r, edits: map[string]func(){
			rekeyed.ID: edit(rekeyed, gateway.UpdateRequest{Credentials: &fresh}),
			renamed.ID: edit(renamed, gateway.UpdateRequest{Name: &name}),
			// The health sweep's bookkeeping keeps the version, so the
			// rotation's write goes through; it must not write back the
			// bookkeeping it read.
			checked.ID: func() {
				if _, err := dynamo.NewHealth(w.ddb, w.table).RecordCheck(ctx, health.CheckWrite{
					GatewayID: checked.ID, Version: checked.Version, CheckedAt: checkedAt, LatencyMs: 42, ConsecutiveFailures: 1,
				}); err != nil {
					t.Errorf("health check of %s: %v", checked.ID, err)
				}
			},
		}}
	}).Run(ctx, rekey.Options{})
	if err != nil || sum.Reencrypted != 6 || sum.Failed != 0 {
		t.Fatalf("Run: %+v, %v", sum, err)
	}
	a, b := w.get(rekeyed.ID), w.get(renamed.ID)
	w.opens(a, fresh) // the user's new credentials, not the ones read before
	w.opens(b, creds[renamed.ID])
	if b.Name != name {
		t.Errorf("the rename was lost: %q", b.Name)
	}
	if c := w.get(checked.ID); c.LastCheckedAt == nil || !c.LastCheckedAt.Equal(checkedAt) || c.ConsecutiveFailures != 1 || c.Version != 2 {
		t.Errorf("health bookkeeping written during the rotation: lastCheckedAt %v, failures %d, version %d", c.LastCheckedAt, c.ConsecutiveFailures, c.Version)
	}
	for _, g := range []*gateway.Gateway{a, b} {
		if g.Version != 3 {
			t.Errorf("gateway %s: version %d, want 3 (created, edited, rotated)", g.ID, g.Version)
		}
		if keyID, _ := blobKey(t, g.SealedCredentials); keyID != w.keyB {
			t.Errorf("gateway %s: under %s after the rotation", g.ID, keyID)
		}
	}
}

// A fresh run takes the checkpoint over: the run it replaces stops at its
// next save instead of overwriting the newer run's progress.
func TestNewRunTakesOver(t *testing.T) {
	env := emutest.Start(t)
	w := newWorld(t, env.KMSClient())
	gws, _ := w.create(12)
	var takeOver sync.Once
	cfg := rekey.Config{Segments: 1, Concurrency: 1, PageSize: 2, CheckpointEvery: time.Nanosecond}
	first, err := w.rotator(cfg, func(r rekey.Resealer) rekey.Resealer {
		return &stopAfter{Resealer: r, n: 3, stop: func() {
			takeOver.Do(func() {
				if err := w.rekey.SaveCheckpoint(t.Context(), rekey.Checkpoint{RunID: "rot_newer", KeyID: w.keyB, Segments: make([]rekey.SegmentState, 1)}, true); err != nil {
					t.Errorf("take over: %v", err)
				}
			})
		}}
	}).Run(t.Context(), rekey.Options{})
	if !gateway.IsCode(err, gateway.CodeConflict) || first.Complete {
		t.Fatalf("run whose checkpoint was taken over: %+v, %v; want a conflict", first, err)
	}
	if first.Scanned >= len(gws) {
		t.Errorf("the replaced run went on to scan %d of %d gateways", first.Scanned, len(gws))
	}
	cp, ok, err := w.rekey.LoadCheckpoint(t.Context())
	if err != nil || !ok || cp.RunID != "rot_newer" {
		t.Errorf("checkpoint after the take-over: %+v %v %v; want the newer run's", cp, ok, err)
	}
}

func TestKMSOutageStopsWithoutMarking(t *testing.T) {
	emutest.Start(t) // DynamoDB Local; this test brings its own local-kms to stop
	dir := t.TempDir()
	proc, err := emulator.StartKMS(t.Context(), emulator.KMSOptions{DataPath: filepath.Join(dir, "kms"), Log: &lockedBuffer{}})
	if err != nil {
		if emutest.Required() {
			t.Fatal(err)
		}
		t.Skipf("local-kms: %v (run `make test`)", err)
	}
	t.Cleanup(func() { proc.Stop() })
	client := kms.NewFromConfig(emutest.AWSConfig(), func(o *kms.Options) {
		o.BaseEndpoint = aws.String(proc.Endpoint)
		o.RetryMaxAttempts = 2
	})
	w := newWorld(t, client)
	gws, creds := w.create(40)
	w.kms.beforeDecrypt = func(n int64) {
		if n == 10 {
			proc.Stop()
		}
	}
	cfg := rekey.Config{Segments: 2, Concurrency: 4, PageSize: 8}
	first, err := w.rotator(cfg, nil).Run(t.Context(), rekey.Options{})
	if !gateway.IsCode(err, gateway.CodeUnavailable) || first.Complete {
		t.Fatalf("run with KMS stopped: %+v, %v; want unavailable, incomplete", first, err)
	}
	for _, it := range w.items() {
		if it["rotationResult"] != nil && it["rotationResult"].(*types.AttributeValueMemberS).Value == "unreadable" {
			t.Errorf("an outage marked %v unreadable", it[dynamo.AttrPK])
		}
	}
	for _, g := range gws {
		if got := w.get(g.ID); got.Status != g.Status || got.LastError != "" {
			t.Errorf("gateway %s: status %s, lastError %q after an outage", g.ID, got.Status, got.LastError)
		}
	}
	if first.Unreadable != 0 || len(first.UnreadableGateways) != 0 || first.Failed != 0 {
		t.Errorf("outage counted as unreadable or failed: %+v", first)
	}

	// KMS back (same port, same keys): the run resumes and finishes.
	proc, err = emulator.StartKMS(t.Context(), emulator.KMSOptions{Port: proc.Port, DataPath: filepath.Join(dir, "kms"), Log: &lockedBuffer{}})
	if err != nil {
		t.Fatalf("restart local-kms: %v", err)
	}
	w.kms.beforeDecrypt = nil
	second, err := w.rotator(cfg, nil).Run(t.Context(), rekey.Options{Resume: true})
	if err != nil || !second.Complete || second.RunID != first.RunID || second.Reencrypted != 40 || second.Unreadable != 0 {
		t.Fatalf("resumed run: %+v, %v", second, err)
	}
	for _, g := range gws {
		after := w.get(g.ID)
		if after.Version != g.Version+1 {
			t.Errorf("gateway %s: version %d → %d, want +1", g.ID, g.Version, after.Version)
		}
		w.opens(after, creds[g.ID])
	}
}

// TestThroughput measures a rotation of 500 gateways against the
// emulators, and proves its KMS budget: one Decrypt and one
// GenerateDataKey per gateway, no data key reused.
func TestThroughput(t *testing.T) {
	env := emutest.Start(t)
	w := newWorld(t, env.KMSClient())
	const n = 500
	// The baseline, measured in the same run on the same emulators:
	// creating the gateways, which takes one GenerateDataKey and one
	// transaction each, 8 at a time.
	created := time.Now()
	gws, _ := w.create(n)
	createTook := time.Since(created)
	ddb := &countingDDB{Client: w.ddb}
	w.rekey = rekeydynamo.New(ddb, w.table)
	start := time.Now()
	sum, err := w.rotator(rekey.Config{}, nil).Run(t.Context(), rekey.Options{})
	elapsed := time.Since(start)
	if err != nil || !sum.Complete || sum.Reencrypted != n {
		t.Fatalf("Run: %+v, %v", sum, err)
	}
	if d, g := w.kms.decrypts.Load(), w.kms.generates.Load(); d != n || g != n {
		t.Errorf("KMS calls: %d Decrypt, %d GenerateDataKey for %d gateways; want one of each per gateway", d, g, n)
	}
	keys := map[string]bool{}
	for _, g := range gws {
		_, dk := blobKey(t, w.get(g.ID).SealedCredentials)
		keys[string(dk)] = true
	}
	if len(keys) != n {
		t.Errorf("%d distinct data keys for %d gateways", len(keys), n)
	}
	t.Logf("rotated %d gateways in %s: %.0f gateways/s (creating them: %.0f/s); per gateway %.2f KMS calls (%.2f Decrypt, %.2f GenerateDataKey), %.2f DynamoDB requests",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(n)/createTook.Seconds(),
		float64(w.kms.decrypts.Load()+w.kms.generates.Load())/n, float64(w.kms.decrypts.Load())/n, float64(w.kms.generates.Load())/n,
		float64(ddb.calls.Load())/n)
	kmsCalls := w.kms.decrypts.Load() + w.kms.generates.Load()
	t.Logf("mean latency: KMS call %.1f ms, DynamoDB transaction %.1f ms (16 in flight)",
		float64(w.kms.nanos.Load())/1e6/float64(kmsCalls), float64(ddb.txNanos.Load())/1e6/n)
}

// countingKMS counts the KMS calls an Envelope makes and the time they
// take, and can act before each Decrypt (to stop KMS mid-run).
// beforeDecrypt is set between runs.
type countingKMS struct {
	next          envelope.KMS
	decrypts      atomic.Int64
	generates     atomic.Int64
	nanos         atomic.Int64
	beforeDecrypt func(n int64)
}

func (c *countingKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	c.generates.Add(1)
	start := time.Now()
	defer func() { c.nanos.Add(int64(time.Since(start))) }()
	return c.next.GenerateDataKey(ctx, in, optFns...)
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	n := c.decrypts.Add(1)
	if c.beforeDecrypt != nil {
		c.beforeDecrypt(n)
	}
	start := time.Now()
	defer func() { c.nanos.Add(int64(time.Since(start))) }()
	return c.next.Decrypt(ctx, in, optFns...)
}

// countingDDB counts the DynamoDB requests of a Rekey store, and the time
// its transactions take.
type countingDDB struct {
	*dynamodb.Client
	calls   atomic.Int64
	txNanos atomic.Int64
}

func (c *countingDDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls.Add(1)
	return c.Client.GetItem(ctx, in, o...)
}

func (c *countingDDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.calls.Add(1)
	return c.Client.Query(ctx, in, o...)
}

func (c *countingDDB) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.calls.Add(1)
	return c.Client.Scan(ctx, in, o...)
}

func (c *countingDDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.calls.Add(1)
	return c.Client.PutItem(ctx, in, o...)
}

func (c *countingDDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	start := time.Now()
	defer func() { c.txNanos.Add(int64(time.Since(start))) }()
	return c.Client.TransactWriteItems(ctx, in, o...)
}

// lineLog keeps progress lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *lineLog) last() string {
	all := l.all()
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// setInfo writes a gateway's credentialInfo attribute directly, in the
// shape items had before its URLs were masked.
func (w *world) setInfo(id string, info map[string]types.AttributeValue) {
	w.t.Helper()
	if _, err := w.ddb.UpdateItem(w.t.Context(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(w.table),
		Key:                       map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: "GW#" + id}, dynamo.AttrSK: &types.AttributeValueMemberS{Value: "GATEWAY"}},
		UpdateExpression:          aws.String("SET credentialInfo = :i"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":i": &types.AttributeValueMemberM{Value: info}},
	}); err != nil {
		w.t.Fatal(err)
	}
}

// storedInfo reads a gateway's stored credentialInfo as it is, unmasked.
func (w *world) storedInfo(id string) map[string]string {
	w.t.Helper()
	out, err := w.ddb.GetItem(w.t.Context(), &dynamodb.GetItemInput{TableName: aws.String(w.table), Key: dynamo.GatewayKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		w.t.Fatal(err)
	}
	m, _ := out.Item["credentialInfo"].(*types.AttributeValueMemberM)
	got := map[string]string{}
	if m != nil {
		for k, v := range m.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				got[k] = s.Value
			}
		}
	}
	return got
}

// Items stored before credentialInfo's URLs were masked hold them whole:
// reads mask them, and a run stores them masked in the write it makes
// anyway, without an extra version; a dry run counts them and writes
// nothing.
func TestRunMasksStoredCredentialInfo(t *testing.T) {
	env := emutest.Start(t)
	w := newWorld(t, env.KMSClient())
	ctx := t.Context()
	gws, _ := w.create(4)
	const slack = "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/abcdefghijklmnopqrstuvwx"
	const azure = "https://res.openai.azure.com/openai?api-key=azure-key-0123456789"
	str := func(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
	w.setInfo(gws[0].ID, map[string]types.AttributeValue{"url": str(slack), "hasSigningSecret": &types.AttributeValueMemberBOOL{Value: true}})
	w.setInfo(gws[1].ID, map[string]types.AttributeValue{"provider": str("openai"), "baseUrl": str(azure)})
	w.setInfo(gws[2].ID, map[string]types.AttributeValue{"url": str("https://hooks.example.com/…")}) // already masked
	before := map[string]*gateway.Gateway{}
	for _, g := range gws {
		before[g.ID] = w.get(g.ID)
	}
	if got := before[gws[0].ID].CredentialInfo["url"]; got != "https://hooks.slack.com/…" {
		t.Errorf("old item read back with url %q, want it masked", got)
	}
	if got := before[gws[1].ID].CredentialInfo["baseUrl"]; got != "https://res.openai.azure.com/…" {
		t.Errorf("old item read back with baseUrl %q, want it masked", got)
	}

	items := w.items()
	dry, err := w.rotator(rekey.Config{}, nil).Run(ctx, rekey.Options{DryRun: true})
	if err != nil || dry.Masked != 2 {
		t.Fatalf("dry run: masked %d, %v; want 2", dry.Masked, err)
	}
	if !reflect.DeepEqual(w.items(), items) {
		t.Fatal("the dry run wrote to the table")
	}

	sum, err := w.rotator(rekey.Config{}, nil).Run(ctx, rekey.Options{})
	if err != nil || !sum.Complete || sum.Masked != 2 || sum.Reencrypted != 4 {
		t.Fatalf("Run: %+v, %v; want 4 re-encrypted, 2 masked", sum, err)
	}
	if !strings.Contains(w.lines.last(), ", 2 credentialInfo masked") {
		t.Errorf("last progress line %q does not say what was masked", w.lines.last())
	}
	wantStored := map[string]map[string]string{
		gws[0].ID: {"url": "https://hooks.slack.com/…"},
		gws[1].ID: {"provider": "openai", "baseUrl": "https://res.openai.azure.com/…"},
		gws[2].ID: {"url": "https://hooks.example.com/…"},
	}
	for id, want := range wantStored {
		if got := w.storedInfo(id); !reflect.DeepEqual(got, want) {
			t.Errorf("gateway %s: stored credentialInfo %v, want %v", id, got, want)
		}
		if got := w.get(id).Version; got != before[id].Version+1 {
			t.Errorf("gateway %s: version %d → %d, want +1 (the rotation's own)", id, before[id].Version, got)
		}
	}
	evs := w.audit(gws[0].ID, gateway.AuditCredentialsRotated)
	if len(evs) != 1 || !reflect.DeepEqual(evs[0].Changes, []string{"credentials", "credentialInfo"}) {
		t.Errorf("rotation audit of a masked gateway: %+v", evs)
	}
	if evs := w.audit(gws[2].ID, gateway.AuditCredentialsRotated); len(evs) != 1 || !reflect.DeepEqual(evs[0].Changes, []string{"credentials"}) {
		t.Errorf("rotation audit of a gateway already masked: %+v", evs)
	}
	said := w.logs.String() + strings.Join(w.lines.all(), "\n")
	if strings.Contains(said, "abcdefghijklmnopqrstuvwx") || strings.Contains(said, "azure-key-0123456789") {
		t.Error("a URL's secret was written to the log or the progress lines")
	}

	// Nothing is left to mask.
	again, err := w.rotator(rekey.Config{}, nil).Run(ctx, rekey.Options{DryRun: true})
	if err != nil || again.Masked != 0 {
		t.Errorf("dry run after the migration: masked %d, %v; want 0", again.Masked, err)
	}
}
