// Command healthsweep benchmarks the health sweep (pkg/health): it seeds
// gateways whose health check is one call to a stand-in that answers after
// a fixed delay, runs sweeps in this process exactly as the local runner
// does, and prints each sweep's wall time beside the ideal
// (gateways × delay × calls per check ÷ total concurrency), with KMS and
// DynamoDB calls per gateway.
//
//	go run ./bench/healthsweep                       # 10,000 webhook gateways, 50 ms, 1 × 32
//	go run ./bench/healthsweep -segments 4           # 4 segments × 32 checks in flight
//	go run ./bench/healthsweep -kind telegram        # getMe + getWebhookInfo: 2 calls per check
//
// The table is an in-memory implementation of health.Store (memStore)
// that counts one DynamoDB request per store call, exactly the requests
// pkg/dynamo's Health makes; KMS is an in-memory fake behind the real
// envelope package and its data-key cache. Seeding 10,000 gateways into
// DynamoDB Local and KMS-sealing each through local-kms would measure the
// emulators more than the sweep. The providers, their HTTP clients (no
// keep-alive, as in Lambda) and the SSRF guard are the real ones.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

func main() {
	n := flag.Int("n", 10000, "gateways")
	delay := flag.Duration("delay", 50*time.Millisecond, "the stand-in's answer time per call")
	concurrency := flag.Int("concurrency", health.DefaultConcurrency, "checks in flight per segment")
	segments := flag.Int("segments", 1, "segments, each run with -concurrency checks in flight")
	kind := flag.String("kind", "webhook", "gateway type: webhook (1 call per check) or telegram (2 calls)")
	sweeps := flag.Int("sweeps", 2, "sweeps to run in the same process (the second is warm)")
	flag.Parse()
	if err := run(*n, *delay, *concurrency, *segments, *kind, *sweeps); err != nil {
		fmt.Fprintln(os.Stderr, "healthsweep:", err)
		os.Exit(1)
	}
}

func run(n int, delay time.Duration, concurrency, segments int, kind string, sweeps int) error {
	ctx := context.Background()
	fk := &fakeKMS{keys: map[string]fakeKey{}}
	seal := envelope.New(fk, "alias/bench", envelope.WithCache(0, 0))
	open := envelope.New(fk, "alias/bench", envelope.WithCache(envelope.DefaultCacheTTL, n+1000))
	store := newMemStore()
	registry := provider.NewRegistry()
	guard := ssrf.Guard{AllowPrivate: true}
	callsPerCheck := 1
	publicURL := "https://gatehouse.example.com"

	var standin http.Handler
	switch kind {
	case "webhook":
		standin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(delay)
			w.WriteHeader(http.StatusNoContent)
		})
	case "telegram":
		tg := telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
		tg.SetDelay(delay)
		standin, callsPerCheck = tg, 2
	default:
		return fmt.Errorf("unknown -kind %q", kind)
	}
	srv := httptest.NewServer(standin)
	defer srv.Close()
	if err := registry.Register(webhook.New(webhook.Options{Guard: guard}), false); err != nil {
		return err
	}
	if err := registry.Register(telegram.New(telegram.Options{BaseURL: srv.URL}), false); err != nil {
		return err
	}

	fmt.Printf("seeding %d %s gateways…\n", n, kind)
	created := time.Now().Add(-time.Hour).UTC()
	for i := range n {
		g := &gateway.Gateway{
			ID: fmt.Sprintf("gw_bench%018d", i), UserID: fmt.Sprintf("user%d", i%100), Name: fmt.Sprintf("gateway %d", i),
			Status: gateway.StatusConnected, Config: json.RawMessage(`{}`), CreatedAt: created, UpdatedAt: created,
			LastConnectedAt: &created, Version: 2,
		}
		var creds gateway.Credentials
		if kind == "webhook" {
			g.Type, creds = gateway.TypeWebhook, gateway.Credentials{URL: srv.URL + "/hook/" + g.ID}
		} else {
			g.Type, creds = gateway.TypeTelegramBot, gateway.Credentials{BotToken: fmt.Sprintf("%d:AAE%s", 100000+i, strings.Repeat("x", 32))}
		}
		plain, _ := json.Marshal(creds)
		blob, err := seal.Seal(ctx, plain, gateway.Binding(g))
		if err != nil {
			return err
		}
		g.SealedCredentials = blob
		if kind == "telegram" {
			standin.(*telegramtest.Server).AddBot(telegramtest.Bot{Token: creds.BotToken})
			standin.(*telegramtest.Server).SetWebhook(creds.BotToken, telegramtest.Webhook{URL: publicURL + telegram.WebhookPath + g.ID})
		}
		store.add(g)
	}

	cfg := health.Config{Concurrency: concurrency, Segments: segments, PublicURL: publicURL, Budget: time.Hour}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := health.NewWorker(store, gateway.NewService(nil, open), registry, cfg, health.WithLogger(quiet), health.WithWarmTTL(envelope.DefaultCacheTTL))
	total := concurrency * segments
	ideal := time.Duration(n*callsPerCheck) * delay / time.Duration(total)
	fmt.Printf("sweep of %d gateways, %d segment(s) × %d checks in flight = %d, %d call(s) of %v per check: ideal %v\n\n",
		n, segments, concurrency, total, callsPerCheck, delay, ideal.Round(time.Millisecond))
	fmt.Printf("%-6s %10s %8s %8s %12s %14s %12s  %s\n", "sweep", "wall", "ratio", "checked", "KMS/gateway", "DynamoDB/gw", "CPU ms/gw", "DynamoDB requests")
	for i := 1; i <= sweeps; i++ {
		store.resetCounts()
		kmsBefore := fk.decrypts.Load()
		cpuBefore := cpuTime()
		start := time.Now()
		rep, err := health.InProcess{Worker: w}.Run(ctx, health.Tasks(health.SweepID(start), segments))
		wall := time.Since(start)
		if err != nil {
			return err
		}
		if rep.Checked != n || rep.Errors != 0 {
			return fmt.Errorf("sweep %d: %+v", i, rep)
		}
		cpu := cpuTime() - cpuBefore
		calls, breakdown := store.counts()
		fmt.Printf("%-6d %10v %8.3f %8d %12.3f %14.3f %12.3f  %s\n", i, wall.Round(time.Millisecond), float64(wall)/float64(ideal), rep.Checked,
			float64(fk.decrypts.Load()-kmsBefore)/float64(n), float64(calls)/float64(n), float64(cpu.Microseconds())/1000/float64(n), breakdown)
	}
	fmt.Println("\nCPU includes the stand-in server, which runs in this process.")
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fakeKMS hands out random data keys whose "ciphertext" is a random handle,
// and checks the encryption context on Decrypt, as KMS does.
type fakeKMS struct {
	mu       sync.Mutex
	keys     map[string]fakeKey
	decrypts atomic.Int64
}

type fakeKey struct {
	plain   []byte
	context map[string]string
}

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	plain, handle := make([]byte, 32), make([]byte, 64)
	_, _ = rand.Read(plain)
	_, _ = rand.Read(handle)
	f.mu.Lock()
	f.keys[string(handle)] = fakeKey{plain: slices.Clone(plain), context: in.EncryptionContext}
	f.mu.Unlock()
	return &kms.GenerateDataKeyOutput{Plaintext: plain, CiphertextBlob: handle, KeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/bench")}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.decrypts.Add(1)
	f.mu.Lock()
	k, ok := f.keys[string(in.CiphertextBlob)]
	f.mu.Unlock()
	if !ok || fmt.Sprint(k.context) != fmt.Sprint(in.EncryptionContext) {
		return nil, fmt.Errorf("fake KMS: cannot decrypt")
	}
	return &kms.DecryptOutput{Plaintext: slices.Clone(k.plain)}, nil
}

// memStore is health.Store in memory. Each method stands for the one
// DynamoDB request pkg/dynamo's Health makes for it, which it counts.
type memStore struct {
	mu       sync.Mutex
	gateways map[string]*gateway.Gateway
	ids      []string // sorted
	segments map[string]health.SegmentState
	samples  int

	scan, query, update, put, transact atomic.Int64
}

func newMemStore() *memStore {
	return &memStore{gateways: map[string]*gateway.Gateway{}, segments: map[string]health.SegmentState{}}
}

func (m *memStore) add(g *gateway.Gateway) {
	m.gateways[g.ID] = g
	m.ids = append(m.ids, g.ID) // seeded in id order
}

func (m *memStore) resetCounts() {
	for _, c := range []*atomic.Int64{&m.scan, &m.query, &m.update, &m.put, &m.transact} {
		c.Store(0)
	}
}

func (m *memStore) counts() (int64, string) {
	s, q, u, p, t := m.scan.Load(), m.query.Load(), m.update.Load(), m.put.Load(), m.transact.Load()
	return s + q + u + p + t, fmt.Sprintf("Scan %d, Query %d, UpdateItem %d, PutItem %d, TransactWriteItems %d", s, q, u, p, t)
}

func segmentOf(id string, segments int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(segments))
}

func (m *memStore) ScanGateways(_ context.Context, seg, segments int, start health.Cursor, limit int) (health.GatewayPage, error) {
	m.scan.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	i := 0
	if start != nil {
		i, _ = slices.BinarySearch(m.ids, start["id"])
		i++
	}
	var page health.GatewayPage
	read := 0
	for ; i < len(m.ids) && read < limit; i++ {
		id := m.ids[i]
		if segmentOf(id, segments) != seg {
			continue
		}
		read++
		g := *m.gateways[id]
		if g.Status == gateway.StatusDisconnected {
			continue
		}
		page.Gateways = append(page.Gateways, &g)
		page.Keys = append(page.Keys, health.Cursor{"id": id})
	}
	if i < len(m.ids) {
		page.Next = health.Cursor{"id": m.ids[i-1]}
	}
	return page, nil
}

func (m *memStore) RecordCheck(_ context.Context, w health.CheckWrite) (bool, error) {
	if w.Status != "" {
		m.transact.Add(1)
	} else {
		m.update.Add(1)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.gateways[w.GatewayID]
	if !ok || g.Version != w.Version {
		return false, nil
	}
	c := *g
	c.LastCheckedAt, c.LastLatencyMs, c.ConsecutiveFailures = &w.CheckedAt, &w.LatencyMs, w.ConsecutiveFailures
	if w.LastConnectedAt != nil {
		c.LastConnectedAt = w.LastConnectedAt
	}
	if w.ClearLastError {
		c.LastError, c.LastErrorAt = "", nil
	}
	if w.LastError != nil {
		c.LastError, c.LastErrorAt = *w.LastError, w.LastErrorAt
	}
	if w.Status != "" {
		c.Status, c.Version, c.UpdatedAt = w.Status, c.Version+1, w.CheckedAt
	}
	m.gateways[w.GatewayID] = &c
	return true, nil
}

func (m *memStore) PutSample(context.Context, health.Sample) error {
	m.put.Add(1)
	m.mu.Lock()
	m.samples++
	m.mu.Unlock()
	return nil
}

func segKey(seg, segments int) string { return fmt.Sprintf("%d/%d", seg, segments) }

func (m *memStore) ListSegments(_ context.Context, segments int) ([]health.SegmentState, error) {
	m.query.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []health.SegmentState
	for i := range segments {
		if s, ok := m.segments[segKey(i, segments)]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memStore) ClaimSegment(_ context.Context, c health.Claim) (health.SegmentState, bool, error) {
	m.update.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	k := segKey(c.Segment, c.Segments)
	s := m.segments[k]
	if !s.Claimable(c.Sweep, c.Now) {
		return health.SegmentState{}, false, nil
	}
	s.Segment, s.Segments, s.Sweep, s.State, s.Owner, s.LeaseUntil, s.UpdatedAt = c.Segment, c.Segments, c.Sweep, health.StateRunning, c.Owner, c.LeaseUntil, c.Now
	m.segments[k] = s
	return s, true, nil
}

func (m *memStore) SaveSegment(_ context.Context, v health.SegmentSave) (bool, error) {
	m.update.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	k := segKey(v.Segment, v.Segments)
	s := m.segments[k]
	if s.Owner != v.Owner || s.State != health.StateRunning {
		return false, nil
	}
	s.State, s.Cursor, s.UpdatedAt = v.State, v.Cursor, v.Now
	m.segments[k] = s
	return true, nil
}
