package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/health/healthlambda"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// TestMain runs the sweep tests under secretscan: the sweep's and the
// history route's log lines, the history answers, every gateway's lastError
// and every sample's error (text users see) are scanned for the bot tokens,
// API key and KMS data keys the tests use.
func TestMain(m *testing.M) {
	secretscan.Register("aiKey", aiKey)
	secretscan.Main(m, emutest.Stop)
}

const (
	publicURL = "https://gatehouse.example.com"
	aiKey     = "sk-test-0123456789abcdefghijklmnop"
)

var alice = gateway.Actor{UserID: "alice"}

// countingKMS counts Decrypt calls on the way to local-kms.
type countingKMS struct {
	envelope.KMS
	decrypts atomic.Int64
}

func (k *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	k.decrypts.Add(1)
	return k.KMS.Decrypt(ctx, in, optFns...)
}

// hooks is a stand-in for webhook endpoints: /hook/<name> answers the
// status set for <name> (200 by default) and counts its pings.
type hooks struct {
	mu     sync.Mutex
	status map[string]int
	pings  map[string]int
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/hook/")
	h.mu.Lock()
	h.pings[name]++
	code := h.status[name]
	h.mu.Unlock()
	if code == 0 {
		code = http.StatusOK
	}
	w.WriteHeader(code)
}

func (h *hooks) set(name string, code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status[name] = code
}

func (h *hooks) count(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pings[name]
}

// recorder is a health.Publisher that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	changes []health.StatusChange
}

func (r *recorder) StatusChanged(_ context.Context, c health.StatusChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	return nil
}

func (r *recorder) all() []health.StatusChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// beforeCheck wraps a provider so a test can act while a check is running.
type beforeCheck struct {
	provider.Provider
	fn func(creds gateway.Credentials)
}

func (b beforeCheck) CheckHealth(ctx context.Context, creds gateway.Credentials, cfg json.RawMessage) provider.HealthResult {
	b.fn(creds)
	return b.Provider.CheckHealth(ctx, creds, cfg)
}

type env struct {
	t        *testing.T
	clock    *fakeclock.Clock
	svc      *gateway.Service // seeds and inspects, without a key cache
	store    *dynamo.Store
	hs       *dynamo.Health
	kms      *countingKMS
	opener   *gateway.Service // the sweep's, with the key cache
	registry *provider.Registry
	tg       *telegramtest.Server
	hooks    *hooks
	hookURL  string
	aiURL    string
	events   *recorder
	sweeps   int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	emu := emutest.Start(t)
	ctx := t.Context()
	client := emu.DynamoDBClient()
	table := emutest.UniqueName("health")
	if err := dynamo.EnsureTable(ctx, client, table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	kmsClient := emu.KMSClient(secretscan.KMSOption)
	keyID, err := envelope.EnsureKey(ctx, kmsClient, "alias/"+emutest.UniqueName("health"))
	if err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	e := &env{t: t, clock: fakeclock.New(time.Now().UTC().Truncate(time.Second)), events: &recorder{},
		hooks: &hooks{status: map[string]int{}, pings: map[string]int{}}}
	e.store = dynamo.New(client, table)
	e.hs = dynamo.NewHealth(client, table)
	e.svc = gateway.NewService(e.store, envelope.New(kmsClient, keyID, envelope.WithCache(0, 0)), gateway.WithClock(e.clock.Now))
	e.kms = &countingKMS{KMS: kmsClient}
	e.opener = gateway.NewService(e.store, envelope.New(e.kms, keyID, envelope.WithCache(15*time.Minute, 1000), envelope.WithClock(e.clock.Now)))

	e.tg = telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	tgSrv := httptest.NewServer(e.tg)
	aiSrv := httptest.NewServer(aitest.NewServer(aitest.OpenAI, aitest.Options{APIKey: aiKey}))
	hookSrv := httptest.NewServer(e.hooks)
	t.Cleanup(func() { tgSrv.Close(); aiSrv.Close(); hookSrv.Close() })
	e.hookURL, e.aiURL = hookSrv.URL+"/hook/", aiSrv.URL+"/v1"

	// No retries: a failure the stand-in is told to give is the answer.
	noRetry := func(hc *http.Client) *provider.Client {
		c := provider.NewClient(hc)
		c.MaxRetries = 0
		return c
	}
	guard := ssrf.Guard{AllowPrivate: true}
	e.registry = provider.NewRegistry()
	for _, p := range []provider.Provider{
		telegram.New(telegram.Options{BaseURL: tgSrv.URL, Client: noRetry(nil)}),
		ai.New(ai.Options{Guard: guard, Client: noRetry(guard.Client())}),
		webhook.New(webhook.Options{Guard: guard, Client: noRetry(guard.Client())}),
	} {
		if err := e.registry.Register(p, false); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) worker(cfg health.Config, opts ...health.Option) *health.Worker {
	cfg.PublicURL = publicURL
	if cfg.Segments == 0 {
		cfg.Segments = 2
	}
	logger := secretscan.Logger("health worker")
	// The opener caches data keys for 15 minutes; the worker is told so.
	base := []health.Option{health.WithClock(e.clock.Now), health.WithEvents(e.events), health.WithLogger(logger), health.WithWarmTTL(15 * time.Minute)}
	return health.NewWorker(e.hs, e.opener, e.registry, cfg, append(base, opts...)...)
}

// sweep runs one sweep, five minutes after the last, on w in this process.
func (e *env) sweep(w *health.Worker) health.Report {
	e.t.Helper()
	e.clock.Advance(5 * time.Minute)
	e.sweeps++
	rep, err := health.InProcess{Worker: w}.Run(e.t.Context(), health.Tasks(health.SweepID(e.clock.Now()), w.Config().Segments))
	if err != nil {
		e.t.Fatalf("sweep %d: %v", e.sweeps, err)
	}
	return rep
}

func (e *env) create(name string, t gateway.Type, creds gateway.Credentials, status gateway.Status) *gateway.Gateway {
	e.t.Helper()
	ctx := e.t.Context()
	g, _, err := e.svc.Create(ctx, alice, gateway.CreateRequest{Name: name, Type: t, Credentials: creds, Config: json.RawMessage(`{}`)}, "")
	if err != nil {
		e.t.Fatalf("Create(%s): %v", name, err)
	}
	switch status {
	case gateway.StatusDisconnected:
	case gateway.StatusError: // never connected
		g, err = setStatus(ctx, e.svc, alice, g.ID, gateway.StatusError, "earlier failure", nil)
	default:
		if g, err = setStatus(ctx, e.svc, alice, g.ID, gateway.StatusConnected, "", nil); err == nil && status != gateway.StatusConnected {
			g, err = setStatus(ctx, e.svc, alice, g.ID, status, "", nil)
		}
	}
	if err != nil {
		e.t.Fatalf("SetStatus(%s): %v", name, err)
	}
	return g
}

func (e *env) hook(name string, status gateway.Status) *gateway.Gateway {
	return e.create(name, gateway.TypeWebhook, gateway.Credentials{URL: e.hookURL + name}, status)
}

func (e *env) bot(n int, status gateway.Status) (*gateway.Gateway, string) {
	token := fmt.Sprintf("%d:AAE%s", 100000+n, strings.Repeat("x", 32))
	secretscan.Register(fmt.Sprintf("bot token %d", n), token)
	e.tg.AddBot(telegramtest.Bot{Token: token})
	g := e.create(fmt.Sprintf("bot %d", n), gateway.TypeTelegramBot, gateway.Credentials{BotToken: token}, status)
	e.tg.SetWebhook(token, telegramtest.Webhook{URL: publicURL + telegram.WebhookPath + g.ID})
	return g, token
}

func (e *env) get(id string) *gateway.Gateway {
	e.t.Helper()
	g, err := e.store.GetGateway(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("GetGateway(%s): %v", id, err)
	}
	if g.LastError != "" {
		secretscan.Error("lastError of "+g.Name, errors.New(g.LastError))
	}
	return g
}

func (e *env) samples(id string) []health.Sample {
	e.t.Helper()
	s, err := e.hs.ListSamples(e.t.Context(), id, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, sample := range s {
		if sample.Error != "" {
			secretscan.Error("health sample of "+id, errors.New(sample.Error))
		}
	}
	return s
}

// TestStatusTransitions runs three sweeps over gateways that answer with
// every outcome class, then a fourth after they all recover.
func TestStatusTransitions(t *testing.T) {
	e := newEnv(t)
	type want struct {
		status   gateway.Status
		failures int
	}
	cases := []struct {
		name   string
		code   int
		result health.Outcome
		after  []want // after sweeps 1, 2
	}{
		{"ok", 200, health.OutcomeOK, []want{{gateway.StatusConnected, 0}, {gateway.StatusConnected, 0}}},
		{"rejected", 401, health.OutcomeInvalidCredentials, []want{{gateway.StatusError, 1}, {gateway.StatusError, 2}}},
		{"ratelimited", 429, health.OutcomeRateLimited, []want{{gateway.StatusConnected, 0}, {gateway.StatusConnected, 0}}},
		{"down", 503, health.OutcomeUnreachable, []want{{gateway.StatusConnected, 1}, {gateway.StatusError, 2}}},
		{"broken", 400, health.OutcomeProviderError, []want{{gateway.StatusConnected, 1}, {gateway.StatusError, 2}}},
	}
	ids := map[string]*gateway.Gateway{}
	for _, c := range cases {
		ids[c.name] = e.hook(c.name, gateway.StatusConnected)
		e.hooks.set(c.name, c.code)
	}
	aiGW := e.create("ai", gateway.TypeAI, gateway.Credentials{Provider: "openai", APIKey: aiKey, BaseURL: e.aiURL}, gateway.StatusConnected)
	off := e.hook("off", gateway.StatusDisconnected)
	neverConnected := e.hook("never", gateway.StatusError)
	connecting := e.hook("connecting", gateway.StatusConnecting) // a connect in progress
	w := e.worker(health.Config{StuckConnecting: time.Hour})

	for sweep := range 2 {
		rep := e.sweep(w)
		if rep.Errors != 0 || rep.Conflicts != 0 {
			t.Fatalf("sweep %d: %+v", sweep+1, rep)
		}
		for _, c := range cases {
			g := e.get(ids[c.name].ID)
			if w := c.after[sweep]; g.Status != w.status || g.ConsecutiveFailures != w.failures {
				t.Errorf("sweep %d, %s: %s with %d failures, want %s with %d", sweep+1, c.name, g.Status, g.ConsecutiveFailures, w.status, w.failures)
			}
			if g.LastCheckedAt == nil || !g.LastCheckedAt.Equal(e.clock.Now()) {
				t.Errorf("sweep %d, %s: lastCheckedAt = %v", sweep+1, c.name, g.LastCheckedAt)
			}
			if s := e.samples(g.ID); len(s) != sweep+1 || s[0].Outcome != c.result {
				t.Errorf("sweep %d, %s: samples %+v", sweep+1, c.name, s)
			}
		}
	}
	if g := e.get(aiGW.ID); g.Status != gateway.StatusConnected || !g.LastConnectedAt.Equal(e.clock.Now()) || g.LastLatencyMs == nil {
		t.Errorf("AI gateway: %+v", g)
	}
	if e.hooks.count("off") != 0 || len(e.samples(off.ID)) != 0 || e.get(off.ID).Version != off.Version {
		t.Error("a DISCONNECTED gateway was checked")
	}
	if e.hooks.count("connecting") != 0 || e.get(connecting.ID).Status != gateway.StatusConnecting {
		t.Error("a gateway that is connecting right now was checked")
	}
	if g := e.get(neverConnected.ID); g.Status != gateway.StatusDisconnected {
		t.Errorf("a never-connected ERROR gateway that passes is %s, want DISCONNECTED", g.Status)
	}
	rejected := e.get(ids["rejected"].ID)
	if rejected.Version != ids["rejected"].Version+1 || !strings.Contains(rejected.LastError, "refused the signed ping") {
		t.Errorf("rejected: version %d, lastError %q", rejected.Version, rejected.LastError)
	}
	if ok := e.get(ids["ok"].ID); ok.Version != ids["ok"].Version {
		t.Errorf("bookkeeping bumped the version: %d -> %d", ids["ok"].Version, ok.Version)
	}
	audit, err := e.svc.Audit(t.Context(), alice, ids["down"].ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := audit.Events[0]; ev.Action != gateway.AuditStatusChanged || ev.Actor.System != health.Actor || ev.Details["to"] != "ERROR" || ev.Details["result"] != "unreachable" {
		t.Errorf("audit event of the threshold: %+v", ev)
	}

	// A connect stuck for longer than StuckConnecting is checked.
	e.clock.Advance(time.Hour)
	for _, c := range cases {
		e.hooks.set(c.name, 200)
	}
	rep := e.sweep(w)
	for _, c := range cases {
		if g := e.get(ids[c.name].ID); g.Status != gateway.StatusConnected || g.ConsecutiveFailures != 0 {
			t.Errorf("recovery, %s: %s with %d failures", c.name, g.Status, g.ConsecutiveFailures)
		}
	}
	if g := e.get(connecting.ID); g.Status != gateway.StatusConnected {
		t.Errorf("stuck CONNECTING webhook that passes: %s", g.Status)
	}

	changes := e.events.all()
	type key struct {
		id       string
		from, to gateway.Status
	}
	got := map[key]string{}
	for _, c := range changes {
		got[key{c.GatewayID, c.OldStatus, c.NewStatus}] = c.Reason
		if c.UserID != "alice" || c.Sweep == "" || c.At.IsZero() {
			t.Errorf("event %+v", c)
		}
	}
	for _, k := range []key{
		{ids["rejected"].ID, gateway.StatusConnected, gateway.StatusError},
		{ids["down"].ID, gateway.StatusConnected, gateway.StatusError},
		{ids["broken"].ID, gateway.StatusConnected, gateway.StatusError},
		{neverConnected.ID, gateway.StatusError, gateway.StatusDisconnected},
		{ids["rejected"].ID, gateway.StatusError, gateway.StatusConnected},
		{ids["down"].ID, gateway.StatusError, gateway.StatusConnected},
		{ids["broken"].ID, gateway.StatusError, gateway.StatusConnected},
		{connecting.ID, gateway.StatusConnecting, gateway.StatusConnected},
	} {
		if reason, ok := got[k]; !ok || reason == "" {
			t.Errorf("no event %+v with a reason (events: %+v)", k, changes)
		}
	}
	if len(changes) != 8 || rep.StatusChanges != 4 {
		t.Errorf("%d events, last sweep %d changes; want 8 and 4", len(changes), rep.StatusChanges)
	}
}

// TestFlapping: failures below the threshold never reach the badge or the
// event bus, and a passed check forgets them.
func TestFlapping(t *testing.T) {
	e := newEnv(t)
	g := e.hook("flaky", gateway.StatusConnected)
	w := e.worker(health.Config{FailureThreshold: 3})
	for i, code := range []int{503, 503, 200, 500, 200, 503, 503} {
		e.hooks.set("flaky", code)
		e.sweep(w)
		got := e.get(g.ID)
		if got.Status != gateway.StatusConnected {
			t.Fatalf("sweep %d (%d): %s", i+1, code, got.Status)
		}
	}
	if got := e.get(g.ID); got.ConsecutiveFailures != 2 || got.Version != g.Version || got.LastError != "" {
		t.Errorf("after the blips: %+v", got)
	}
	if ev := e.events.all(); len(ev) != 0 {
		t.Errorf("blips emitted events: %+v", ev)
	}
	e.sweep(w)
	if got := e.get(g.ID); got.Status != gateway.StatusError {
		t.Errorf("third failure in a row: %s", got.Status)
	}
}

// TestUserChangeDuringSweepWins: a user who disconnects or edits a gateway
// while its check runs keeps their change.
func TestUserChangeDuringSweepWins(t *testing.T) {
	e := newEnv(t)
	victim := e.hook("victim", gateway.StatusConnected)
	renamed := e.hook("renamed", gateway.StatusConnected)
	e.hooks.set("victim", 401) // the check would move it to ERROR
	wh, _ := e.registry.Get(gateway.TypeWebhook)
	ctx := t.Context()
	hook := beforeCheck{Provider: wh, fn: func(creds gateway.Credentials) {
		var err error
		switch {
		case strings.HasSuffix(creds.URL, "/victim"):
			_, err = setStatus(ctx, e.svc, alice, victim.ID, gateway.StatusDisconnected, "", nil)
		case strings.HasSuffix(creds.URL, "/renamed"):
			name := "new name"
			_, err = e.svc.Update(ctx, alice, renamed.ID, gateway.UpdateRequest{Name: &name}, nil)
		}
		if err != nil {
			t.Errorf("user change: %v", err)
		}
	}}
	if err := e.registry.Register(hook, true); err != nil {
		t.Fatal(err)
	}
	rep := e.sweep(e.worker(health.Config{}))
	if rep.Conflicts != 2 || rep.StatusChanges != 0 || rep.Written != 0 {
		t.Errorf("report %+v", rep)
	}
	if g := e.get(victim.ID); g.Status != gateway.StatusDisconnected || g.Version != victim.Version+1 || g.LastCheckedAt != nil {
		t.Errorf("the disconnected gateway was overwritten: %+v", g)
	}
	if g := e.get(renamed.ID); g.Name != "new name" || g.Version != renamed.Version+1 {
		t.Errorf("the renamed gateway was overwritten: %+v", g)
	}
	if ev := e.events.all(); len(ev) != 0 {
		t.Errorf("events for changes that were not written: %+v", ev)
	}
	audit, _ := e.svc.Audit(ctx, alice, victim.ID, 10, "")
	for _, ev := range audit.Events {
		if ev.Actor.System == health.Actor {
			t.Errorf("the sweep audited a change it did not make: %+v", ev)
		}
	}
}

// TestDeadlineCutoffAndResume: each check takes a minute of the test
// clock; a run with room for three stops, and the next sweep resumes
// after them.
func TestDeadlineCutoffAndResume(t *testing.T) {
	e := newEnv(t)
	var names []string
	for i := range 7 {
		name := fmt.Sprintf("h%d", i)
		names = append(names, name)
		e.hook(name, gateway.StatusConnected)
	}
	wh, _ := e.registry.Get(gateway.TypeWebhook)
	if err := e.registry.Register(beforeCheck{Provider: wh, fn: func(gateway.Credentials) { e.clock.Advance(time.Minute) }}, true); err != nil {
		t.Fatal(err)
	}
	cfg := health.Config{Segments: 1, Concurrency: 1, CheckTimeout: 10 * time.Second, Margin: 5 * time.Second}
	w := e.worker(cfg)
	run := func(room time.Duration) health.Report {
		e.clock.Advance(5 * time.Minute)
		deadline := e.clock.Now().Add(cfg.CheckTimeout + cfg.Margin + room)
		rep, err := health.InProcess{Worker: w, Deadline: deadline}.Run(t.Context(), health.Tasks(health.SweepID(e.clock.Now()), 1))
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	counts := func() (total int, each []int) {
		for _, n := range names {
			each = append(each, e.hooks.count(n))
			total += e.hooks.count(n)
		}
		return
	}

	rep := run(150 * time.Second) // checks start at +0, +1m, +2m; +3m is past the stop
	if rep.Checked != 3 || rep.Paused != 1 {
		t.Fatalf("first run: %+v", rep)
	}
	states, err := e.hs.ListSegments(t.Context(), 1)
	if err != nil || len(states) != 1 || states[0].State != health.StatePaused || states[0].Cursor == nil {
		t.Fatalf("segment after the cut-off: %+v, %v", states, err)
	}
	rep = run(time.Hour)
	if rep.Checked != 4 || rep.Paused != 0 {
		t.Fatalf("resumed run: %+v", rep)
	}
	if total, each := counts(); total != 7 || slices.Contains(each, 0) || slices.Contains(each, 2) {
		t.Fatalf("after two runs, checks per gateway %v, want each once", each)
	}
	rep = run(time.Hour) // the next sweep starts from the top
	if rep.Checked != 7 {
		t.Fatalf("fresh run: %+v", rep)
	}
	if _, each := counts(); slices.ContainsFunc(each, func(n int) bool { return n != 2 }) {
		t.Fatalf("after three runs, checks per gateway %v, want each twice", each)
	}
}

// fakeLambda stands in for asynchronous invokes: each invoke runs the
// payload on the next of several "containers" (Workers), concurrently.
type fakeLambda struct {
	containers []*health.Handler
	next       atomic.Int64
	wg         sync.WaitGroup
	mu         sync.Mutex
	errs       []error
}

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	if in.InvocationType != lambdatypes.InvocationTypeEvent || *in.FunctionName != "worker" {
		return nil, fmt.Errorf("unexpected invoke %+v", in)
	}
	h := f.containers[int(f.next.Add(1))%len(f.containers)]
	payload := slices.Clone(in.Payload)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if _, err := h.Handle(context.WithoutCancel(ctx), payload); err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, err)
			f.mu.Unlock()
		}
	}()
	return &lambda.InvokeOutput{StatusCode: 202}, nil
}

// TestFanoutCoversEveryGatewayOnce runs sweeps the way AWS does: the
// schedule's event reaches the coordinator, which invokes the worker once
// per segment; three containers share the invokes.
func TestFanoutCoversEveryGatewayOnce(t *testing.T) {
	e := newEnv(t)
	var names []string
	for i := range 24 {
		name := fmt.Sprintf("g%02d", i)
		status := gateway.StatusConnected
		if i%6 == 0 {
			status = gateway.StatusDisconnected
		} else {
			names = append(names, name)
		}
		e.hook(name, status)
	}
	cfg := health.Config{Segments: 5, Concurrency: 3}
	fake := &fakeLambda{}
	for range 3 {
		fake.containers = append(fake.containers, health.NewHandler(nil, e.worker(cfg), nil))
	}
	coord := health.NewHandler(health.NewCoordinator(healthlambda.LambdaFanout{Client: fake, Function: "worker"}, cfg.Segments), nil, nil)
	for sweep := 1; sweep <= 2; sweep++ {
		e.clock.Advance(5 * time.Minute)
		ev := fmt.Sprintf(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","time":%q,"detail":{}}`, e.clock.Now().Format(time.RFC3339))
		rep, err := coord.Handle(t.Context(), json.RawMessage(ev))
		if err != nil || rep.Dispatched != 5 {
			t.Fatalf("coordinator: %+v, %v", rep, err)
		}
		fake.wg.Wait()
		if len(fake.errs) > 0 {
			t.Fatalf("workers: %v", fake.errs)
		}
		for _, n := range names {
			if got := e.hooks.count(n); got != sweep {
				t.Errorf("sweep %d: %s checked %d times", sweep, n, got)
			}
		}
		states, err := e.hs.ListSegments(t.Context(), 5)
		if err != nil || len(states) != 5 {
			t.Fatalf("segments: %+v, %v", states, err)
		}
		for _, s := range states {
			if s.State != health.StateDone || s.Sweep != health.SweepID(e.clock.Now()) {
				t.Errorf("segment %+v", s)
			}
		}
	}
	// The same sweep delivered again (a duplicate invoke) does nothing.
	rep, err := fake.containers[0].Handle(t.Context(), json.RawMessage(fmt.Sprintf(`{"sweep":%q,"segment":1,"segments":5}`, health.SweepID(e.clock.Now()))))
	if err != nil || rep.Checked != 0 || len(rep.Segments) != 0 {
		t.Errorf("repeated task: %+v, %v", rep, err)
	}
	if e.hooks.count("g00") != 0 {
		t.Error("a DISCONNECTED gateway was checked")
	}
}

// TestTelegramWebhookRules: a webhook taken over, a missing webhook, a
// recent delivery error, and pending updates in the samples.
func TestTelegramWebhookRules(t *testing.T) {
	if health.WebhookErrorPrefix != inbox.WebhookErrorPrefix {
		t.Fatalf("health.WebhookErrorPrefix %q differs from inbox's %q", health.WebhookErrorPrefix, inbox.WebhookErrorPrefix)
	}
	e := newEnv(t)
	takenOver, tok1 := e.bot(1, gateway.StatusConnected)
	removed, tok2 := e.bot(2, gateway.StatusConnected)
	failing, tok3 := e.bot(3, gateway.StatusConnected)
	healthy, tok4 := e.bot(4, gateway.StatusConnected)
	stuck, _ := e.bot(5, gateway.StatusConnecting)
	e.tg.SetWebhook(tok1, telegramtest.Webhook{URL: "https://other.example.org/bot/secret-path"})
	e.tg.SetWebhook(tok2, telegramtest.Webhook{})
	recentErr := func() {
		e.tg.SetWebhook(tok3, telegramtest.Webhook{URL: publicURL + telegram.WebhookPath + failing.ID, PendingUpdateCount: 12,
			LastErrorDate: e.clock.Now().Add(-time.Minute).Unix(), LastErrorMessage: "Wrong response from the webhook: 502 Bad Gateway"})
	}
	e.tg.SetWebhook(tok4, telegramtest.Webhook{URL: publicURL + telegram.WebhookPath + healthy.ID, PendingUpdateCount: 3,
		LastErrorDate: e.clock.Now().Add(-time.Hour).Unix(), LastErrorMessage: "an old error"})
	w := e.worker(health.Config{})

	e.clock.Advance(health.DefaultStuckConnecting)
	recentErr()
	e.sweep(w)
	for _, g := range []*gateway.Gateway{takenOver, removed} {
		got := e.get(g.ID)
		if got.Status != gateway.StatusError || !strings.HasPrefix(got.LastError, health.MsgWebhookTakenOver) {
			t.Errorf("%s: %s %q", g.Name, got.Status, got.LastError)
		}
		if strings.Contains(got.LastError, "secret-path") {
			t.Errorf("the other webhook's path leaked: %q", got.LastError)
		}
	}
	if s := e.samples(takenOver.ID); len(s) != 1 || s[0].Outcome != health.OutcomeWebhookTakenOver || s[0].Status != gateway.StatusError {
		t.Errorf("taken over sample: %+v", s)
	}
	if got := e.get(failing.ID); got.Status != gateway.StatusConnected || got.ConsecutiveFailures != 1 {
		t.Errorf("first delivery error: %s, %d failures", got.Status, got.ConsecutiveFailures)
	}
	if got := e.get(stuck.ID); got.Status != gateway.StatusError || !strings.Contains(got.LastError, "did not finish") {
		t.Errorf("stuck Telegram connect: %s %q", got.Status, got.LastError)
	}
	recentErr()
	e.sweep(w)
	got := e.get(failing.ID)
	if got.Status != gateway.StatusError || got.LastError != "webhook delivery: Wrong response from the webhook: 502 Bad Gateway" {
		t.Errorf("second delivery error: %s %q", got.Status, got.LastError)
	}
	s := e.samples(failing.ID)
	if len(s) != 2 || s[0].Outcome != health.OutcomeWebhookError || s[0].PendingUpdateCount == nil || *s[0].PendingUpdateCount != 12 {
		t.Errorf("delivery error samples: %+v", s)
	}
	if got := e.get(healthy.ID); got.Status != gateway.StatusConnected || got.ConsecutiveFailures != 0 {
		t.Errorf("an old delivery error counted: %+v", got)
	}
	if s := e.samples(healthy.ID); s[0].PendingUpdateCount == nil || *s[0].PendingUpdateCount != 3 {
		t.Errorf("pending updates not recorded: %+v", s[0])
	}

	// Invalid credentials are immediate for Telegram too.
	e.tg.Fail(telegramtest.Failure{Method: "getMe", ErrorCode: 401, Times: -1})
	e.sweep(w)
	if got := e.get(healthy.ID); got.Status != gateway.StatusError || !strings.Contains(got.LastError, "rejected the bot token") {
		t.Errorf("401 from getMe: %s %q", got.Status, got.LastError)
	}
}

// TestKMSDecryptsWarmProcess counts Decrypt calls: one per gateway in the
// first sweep, none in the second of the same process, and one per
// gateway again once the cached keys have expired.
func TestKMSDecryptsWarmProcess(t *testing.T) {
	e := newEnv(t)
	const n = 6
	for i := range n {
		e.hook(fmt.Sprintf("k%d", i), gateway.StatusConnected)
	}
	w := e.worker(health.Config{Segments: 3})
	want := []int64{n, 0, 0, n}
	for i, wantCalls := range want {
		if i == 3 {
			e.clock.Advance(envelope.DefaultCacheTTL)
		}
		before := e.kms.decrypts.Load()
		rep := e.sweep(w)
		if got := e.kms.decrypts.Load() - before; got != wantCalls || rep.Checked != n {
			t.Errorf("sweep %d: %d Decrypt calls for %d checks, want %d", i+1, got, rep.Checked, wantCalls)
		}
	}
}

// TestHistoryRoute reads the samples through GET /api/gateways/{id}/health.
func TestHistoryRoute(t *testing.T) {
	e := newEnv(t)
	g := e.hook("hist", gateway.StatusConnected)
	w := e.worker(health.Config{})
	e.sweep(w)
	e.hooks.set("hist", 503)
	e.sweep(w)
	e.sweep(w)

	life := lifecycle.New(e.svc, e.registry)
	logger := secretscan.Logger("health history route")
	handler := httpapi.New(life, httpapi.WithLogger(logger), httpapi.WithHealthSamples(e.hs)).Handlers()[httpapi.FnHealthHistory]
	call := func(sub, id string, q map[string]string) (int, []httpapi.HealthSampleJSON) {
		t.Helper()
		ev := events.APIGatewayV2HTTPRequest{
			RouteKey: "GET /api/gateways/{id}/health", PathParameters: map[string]string{"id": id}, QueryStringParameters: q,
			RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub}}}},
		}
		resp, err := handler(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		secretscan.Response("health-history "+id, resp.Body, resp.Headers)
		var body struct {
			Items []httpapi.HealthSampleJSON `json:"items"`
		}
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("%s: %v", resp.Body, err)
			}
		}
		return resp.StatusCode, body.Items
	}
	status, items := call("alice", g.ID, nil)
	if status != 200 || len(items) != 3 {
		t.Fatalf("history: %d %+v", status, items)
	}
	if !items[0].At.After(items[1].At) || !items[1].At.After(items[2].At) {
		t.Errorf("not newest first: %+v", items)
	}
	if items[0].Healthy || items[0].Outcome != health.OutcomeUnreachable || items[0].Error == "" || !items[2].Healthy || items[2].Outcome != health.OutcomeOK {
		t.Errorf("samples: %+v", items)
	}
	if items[0].Status != gateway.StatusError || items[1].Status != gateway.StatusConnected {
		t.Errorf("statuses: %+v", items)
	}
	if status, items := call("alice", g.ID, map[string]string{"limit": "1"}); status != 200 || len(items) != 1 {
		t.Errorf("limit 1: %d %+v", status, items)
	}
	for _, tc := range []struct {
		sub, id string
		q       map[string]string
		want    int
	}{
		{"mallory", g.ID, nil, 404},
		{"alice", "gw_" + strings.Repeat("a", 26), nil, 404},
		{"alice", g.ID, map[string]string{"limit": "0"}, 400},
		{"alice", g.ID, map[string]string{"colour": "red"}, 400},
		{"", g.ID, nil, 401},
	} {
		if status, _ := call(tc.sub, tc.id, tc.q); status != tc.want {
			t.Errorf("%+v: status %d", tc, status)
		}
	}
	noSource := httpapi.New(life, httpapi.WithLogger(logger)).Handlers()[httpapi.FnHealthHistory]
	resp, _ := noSource(t.Context(), events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"id": g.ID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}}}})
	if resp.StatusCode != 503 {
		t.Errorf("without a sample source: %d", resp.StatusCode)
	}
}

// setStatus moves a gateway to status as a user's status change would:
// CONNECTED sets lastConnectedAt, ERROR records errMsg, each audited.
func setStatus(ctx context.Context, svc *gateway.Service, actor gateway.Actor, id string, status gateway.Status, errMsg string, ifMatch *int64) (*gateway.Gateway, error) {
	return svc.Modify(ctx, actor, id, ifMatch, func(g *gateway.Gateway) (gateway.Change, error) {
		if g.Status == status && status != gateway.StatusError {
			return gateway.Change{}, nil
		}
		details := map[string]string{"from": string(g.Status), "to": string(status)}
		now := time.Now().UTC()
		switch status {
		case gateway.StatusConnected:
			g.LastConnectedAt = &now
		case gateway.StatusError:
			g.LastError, g.LastErrorAt = errMsg, &now
		}
		g.Status = status
		return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}, Details: details}, nil
	})
}
