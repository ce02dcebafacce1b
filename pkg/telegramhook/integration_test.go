package telegramhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/infra/local"
	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/receiver"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/inbox/inboxtest"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// TestMain runs the tests under secretscan: every log line the webhook
// and the runner write here, every response the tests look at, and
// slog.Default, are scanned for the webhook secrets the tests use.
func TestMain(m *testing.M) { secretscan.Main(m, emutest.Stop) }

// calls counts AWS operations, by "<service>.<operation>", with SDK
// middleware: what the webhook costs, measured where the SDK sends it.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func newCalls() *calls { return &calls{n: map[string]int{}} }

// register is an aws.Config APIOptions entry: every client built from the
// configuration, whatever its service, counts into c.
func (c *calls) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("gatehouse-test-count",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.n[awsmiddleware.GetServiceID(ctx)+"."+awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// snapshot returns the counts so far.
func (c *calls) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// since returns the counts since an earlier snapshot, without zeros.
func (c *calls) since(before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range c.snapshot() {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// kms sums the calls to KMS: the webhook must make none.
func (c *calls) kms() int {
	n := 0
	for k, v := range c.snapshot() {
		if strings.HasPrefix(strings.ToLower(k), "kms.") {
			n += v
		}
	}
	return n
}

// env is a table in a DynamoDB Local and the webhook over it, assembled by
// the function's own assembly (pkg/bootstrap/receiver) with an AWS
// configuration whose calls are counted.
type env struct {
	table   string
	plain   *dynamodb.Client // for setup and checks; not counted
	store   *dynamo.Store
	inbox   *dynamo.Inbox
	calls   *calls
	handler *telegramhook.Handler
}

type envOptions struct {
	endpoint string
	retryer  func() aws.Retryer
	opts     []telegramhook.Option
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.endpoint == "" {
		o.endpoint = emutest.Start(t).DynamoDB.Endpoint
	}
	cfg := emutest.AWSConfig()
	cfg.BaseEndpoint = aws.String(o.endpoint)
	plain := dynamodb.NewFromConfig(cfg)
	table := emutest.UniqueName("inbox")
	if err := dynamo.EnsureTable(t.Context(), plain, table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	e := &env{table: table, plain: plain, store: dynamo.New(plain, table), inbox: dynamo.NewInbox(plain, table), calls: newCalls()}
	counted := cfg.Copy()
	counted.APIOptions = append(counted.APIOptions, e.calls.register)
	if o.retryer != nil {
		counted.Retryer = o.retryer
	}
	// The function's own assembly: KMS calls would be counted too.
	fn := bootstrap.New(telegramhook.FnTelegramWebhook, bootstrap.Config{Table: table}, counted, secretscan.Logger("inbox webhook"))
	e.handler = receiver.Handler(fn, inbox.DefaultUpdateTTL, o.opts...)
	if err := fn.Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// addGateway creates a CONNECTED Telegram gateway whose secret is secret.
func (e *env) addGateway(t *testing.T, secret string, mutate ...func(*gateway.Gateway)) *gateway.Gateway {
	t.Helper()
	secretscan.Register("webhook secret", secret)
	now := time.Now().UTC()
	g := &gateway.Gateway{
		ID: gateway.NewID(), UserID: "alice", Name: "bot", Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected,
		Config: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now, Version: 1, WebhookSecretHash: hashOf(secret),
	}
	for _, m := range mutate {
		m(g)
	}
	ev := gateway.AuditEvent{ID: gateway.NewID(), GatewayID: g.ID, Action: gateway.AuditCreated, Actor: gateway.Actor{UserID: "alice"}, At: now}
	if err := e.store.CreateGateway(t.Context(), g, ev, nil); err != nil {
		t.Fatalf("CreateGateway: %v", err)
	}
	return g
}

// rotate gives gateway id a new secret, as a reconnect does.
func (e *env) rotate(t *testing.T, id, secret string) {
	t.Helper()
	g, err := e.store.GetGateway(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	prev := g.Version
	secretscan.Register("rotated webhook secret", secret)
	g.WebhookSecretHash, g.Version, g.UpdatedAt = hashOf(secret), prev+1, time.Now().UTC()
	ev := gateway.AuditEvent{ID: gateway.NewID(), GatewayID: id, Action: gateway.AuditStatusChanged, Actor: gateway.Actor{UserID: "alice"}, At: g.UpdatedAt}
	if err := e.store.UpdateGateway(t.Context(), g, prev, ev); err != nil {
		t.Fatalf("UpdateGateway: %v", err)
	}
}

// stored reads every update id stored for gateway id, checking that each
// appears once.
func (e *env) stored(t *testing.T, id string) []int64 {
	t.Helper()
	var ids []int64
	after := int64(-1)
	for {
		page, err := e.inbox.ListUpdates(t.Context(), id, after, dynamo.MaxLimit)
		if err != nil {
			t.Fatalf("ListUpdates: %v", err)
		}
		if len(page) == 0 {
			return ids
		}
		for _, u := range page {
			ids = append(ids, u.UpdateID)
		}
		after = page[len(page)-1].UpdateID
	}
}

// server serves the template's routes with the webhook's handler, as the
// local runner does.
func (e *env) server(t *testing.T) *httptest.Server {
	t.Helper()
	tpl, err := template.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var public []template.Route
	for _, r := range routes {
		if r.Function == telegramhook.FnTelegramWebhook {
			if r.Auth {
				t.Errorf("template.yaml: %s needs a token; Telegram sends none", r.Key())
			}
			public = append(public, r)
		}
	}
	if len(public) != 2 {
		t.Fatalf("template.yaml: telegram-webhook has %d routes, want POST and GET", len(public))
	}
	srv := local.NewServer(routes, map[string]httpapi.Handler{telegramhook.FnTelegramWebhook: e.handler.Handle},
		make([]byte, local.KeySize), local.WithLogger(secretscan.Logger("local router")))
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	ts.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	return ts
}

// send posts body as Telegram would and returns the status.
func send(ctx context.Context, c *http.Client, base, id, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/webhooks/telegram/"+id, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telegramhook.SecretHeader, secret)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// getStatus asks GET /api/webhooks/telegram/{id} with secret (none when
// empty).
func getStatus(ctx context.Context, c *http.Client, base, id, secret string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/webhooks/telegram/"+id, nil)
	if err != nil {
		return nil, err
	}
	if secret != "" {
		req.Header.Set(telegramhook.SecretHeader, secret)
	}
	return c.Do(req)
}

// fixtures are the testdata updates; bodyOf makes update_id id of the
// fixture n, so that the load is of every type.
var fixtures = func() []map[string]json.RawMessage {
	files, _ := filepath.Glob(filepath.Join(inboxtest.Dir(), "*.json"))
	var out []map[string]json.RawMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	return out
}()

func bodyOf(n int, id int64) []byte {
	src := fixtures[n%len(fixtures)]
	m := make(map[string]json.RawMessage, len(src))
	for k, v := range src {
		m[k] = v
	}
	m["update_id"] = json.RawMessage(fmt.Sprint(id))
	b, _ := json.Marshal(m)
	return b
}

// TestAWSCallsPerUpdate counts what one update costs: one GetItem (none on
// a cache hit) and one PutItem, an UpdateItem at most once a minute, and
// never a KMS call.
func TestAWSCallsPerUpdate(t *testing.T) {
	clk := fakeclock.New(time.Now())
	for _, tt := range []struct {
		name  string
		ttl   time.Duration
		reads func(i int) int
	}{
		{"no cache", 0, func(int) int { return 1 }},
		{"cache", telegramhook.DefaultCacheTTL, func(i int) int {
			if i == 0 {
				return 1
			}
			return 0
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{opts: []telegramhook.Option{telegramhook.WithCacheTTL(tt.ttl), telegramhook.WithClock(clk.Now)}})
			g := e.addGateway(t, "secret-a")
			post := func(secret string, id int64) (int, map[string]int) {
				before := e.calls.snapshot()
				ev := webhookEvent(g.ID, secret, bodyOf(int(id), id))
				resp, err := e.handler.Handle(t.Context(), ev)
				if err != nil {
					t.Fatal(err)
				}
				secretscan.Response("telegram-webhook "+g.ID, resp.Body, resp.Headers)
				return resp.StatusCode, e.calls.since(before)
			}
			for i := range 10 {
				status, got := post("secret-a", int64(1000+i))
				want := map[string]int{"DynamoDB.PutItem": 1}
				if r := tt.reads(i); r > 0 {
					want["DynamoDB.GetItem"] = r
				}
				if i == 0 { // never connected before: the minute's refresh
					want["DynamoDB.UpdateItem"] = 1
				}
				if status != 200 || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("update %d: status %d, calls %v; want 200, %v", i, status, got, want)
				}
				clk.Advance(time.Second)
			}
			status, got := post("secret-a", 1000) // a duplicate
			if want := map[string]int{"DynamoDB.PutItem": 1}; status != 200 || (tt.ttl > 0 && fmt.Sprint(got) != fmt.Sprint(want)) {
				t.Fatalf("duplicate: status %d, calls %v", status, got)
			}
			status, got = post("secret-b", 2000) // wrong: one (fresh) read, no write
			if want := map[string]int{"DynamoDB.GetItem": 1}; status != 401 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("wrong secret: status %d, calls %v; want 401, %v", status, got, want)
			}
			if n := e.calls.kms(); n != 0 {
				t.Fatalf("%d KMS calls", n)
			}
		})
	}
}

func webhookEvent(id, secret string, body []byte) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /api/webhooks/telegram/{gatewayId}",
		RawPath:  "/api/webhooks/telegram/" + id,
		Headers:  map[string]string{"content-type": "application/json", "x-telegram-bot-api-secret-token": secret},
		Body:     string(body), PathParameters: map[string]string{"gatewayId": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "test", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost}},
	}
}

// TestSecretRotationDynamo: after a reconnect stores a new secret's hash,
// the old secret is refused within 60 s — here within the cache's 30 s —
// and the new one is accepted at once.
func TestSecretRotationDynamo(t *testing.T) {
	clk := fakeclock.New(time.Now())
	e := newEnv(t, envOptions{opts: []telegramhook.Option{telegramhook.WithClock(clk.Now)}})
	g := e.addGateway(t, "old-secret")
	post := func(secret string, id int64) int {
		resp, err := e.handler.Handle(t.Context(), webhookEvent(g.ID, secret, bodyOf(0, id)))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if s := post("old-secret", 1); s != 200 {
		t.Fatalf("before rotation: %d", s)
	}
	e.rotate(t, g.ID, "new-secret")
	rotated := clk.Now()
	refusedAt := time.Duration(-1)
	for id := int64(2); clk.Now().Sub(rotated) <= 60*time.Second; id++ {
		if post("old-secret", id) == 401 {
			refusedAt = clk.Now().Sub(rotated)
			break
		}
		clk.Advance(5 * time.Second)
	}
	if refusedAt < 0 || refusedAt > telegramhook.DefaultCacheTTL {
		t.Fatalf("old secret refused %s after rotation; want within %s", refusedAt, telegramhook.DefaultCacheTTL)
	}
	t.Logf("old secret refused %s after rotation", refusedAt)
	if s := post("new-secret", 100); s != 200 {
		t.Fatalf("new secret: %d", s)
	}
	before := len(e.stored(t, g.ID))
	if s := post("old-secret", 101); s != 401 || len(e.stored(t, g.ID)) != before {
		t.Fatalf("old secret after rotation: %d, stored %d → %d", s, before, len(e.stored(t, g.ID)))
	}

	// A new secret also works at once while the old one is still cached.
	g2 := e.addGateway(t, "old-secret")
	if resp, _ := e.handler.Handle(t.Context(), webhookEvent(g2.ID, "old-secret", bodyOf(0, 1))); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	e.rotate(t, g2.ID, "new-secret")
	if resp, _ := e.handler.Handle(t.Context(), webhookEvent(g2.ID, "new-secret", bodyOf(0, 2))); resp.StatusCode != 200 {
		t.Fatalf("new secret right after rotation: %d", resp.StatusCode)
	}
}

// TestRecoveryDynamo: a gateway in ERROR because of webhook delivery is
// CONNECTED again after an update, with a new version and an audit event;
// a gateway in ERROR for another reason stays.
func TestRecoveryDynamo(t *testing.T) {
	e := newEnv(t, envOptions{})
	hook := e.addGateway(t, "s", func(g *gateway.Gateway) {
		g.Status, g.LastError = gateway.StatusError, inbox.WebhookErrorPrefix+"Connection timed out"
	})
	token := e.addGateway(t, "s", func(g *gateway.Gateway) {
		g.Status, g.LastError = gateway.StatusError, "getMe: 401 Unauthorized"
	})
	for _, g := range []*gateway.Gateway{hook, token} {
		resp, _ := e.handler.Handle(t.Context(), webhookEvent(g.ID, "s", bodyOf(0, 1)))
		if resp.StatusCode != 200 {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	got, err := e.store.GetGateway(t.Context(), hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != gateway.StatusConnected || got.Version != hook.Version+1 || got.LastConnectedAt == nil {
		t.Fatalf("recovered gateway: status %s version %d lastConnectedAt %v", got.Status, got.Version, got.LastConnectedAt)
	}
	trail, err := e.store.ListAudit(t.Context(), hook.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := trail.Events[0]; ev.Action != gateway.AuditStatusChanged || ev.Actor.System != telegramhook.FnTelegramWebhook {
		t.Fatalf("newest audit event %+v", ev)
	}
	if got, _ := e.store.GetGateway(t.Context(), token.ID); got.Status != gateway.StatusError || got.Version != token.Version {
		t.Fatalf("token-error gateway: %s version %d", got.Status, got.Version)
	}
}

// job is one request of a load: an update of a gateway. A job with a
// barrier waits until its twin is also about to be sent, so that the two
// copies of an update race each other.
type job struct {
	gw      int
	id      int64
	n       int
	barrier *sync.WaitGroup
}

type key struct {
	gw int
	id int64
}

// plan makes the jobs of unique updates spread over gateways, of which a
// fifth are sent again: half of those as a concurrent pair, the others
// twice more, later and from other senders. Jobs are shuffled, twins kept
// adjacent.
func plan(unique, gateways int, rnd *rand.Rand) (jobs []job, dups int) {
	var groups [][]job
	var later []job
	for i := range unique {
		j := job{gw: i % gateways, id: int64(100000 + i/gateways), n: i}
		switch {
		case i%10 == 0: // 10%: a concurrent pair
			b := &sync.WaitGroup{}
			b.Add(2)
			j.barrier = b
			groups = append(groups, []job{j, j})
			dups++
		case i%10 == 5: // 10%: two more copies, later
			groups = append(groups, []job{j})
			later = append(later, j, j)
			dups++
		default:
			groups = append(groups, []job{j})
		}
	}
	rnd.Shuffle(len(groups), func(a, b int) { groups[a], groups[b] = groups[b], groups[a] })
	rnd.Shuffle(len(later), func(a, b int) { later[a], later[b] = later[b], later[a] })
	for i, g := range groups {
		jobs = append(jobs, g...)
		// Interleave the later copies over the second half of the run.
		if i >= len(groups)/2 && len(later) > 0 {
			jobs = append(jobs, later[0])
			later = later[1:]
		}
	}
	return append(jobs, later...), dups
}

// result is what one request got.
type result struct {
	job    job
	status int
	err    error
}

// run sends jobs with senders goroutines through the HTTP server and
// returns every result. After each answer that is not a 200, a sender
// waits backoff, as Telegram does.
func run(ctx context.Context, ts *httptest.Server, ids []string, secrets []string, jobs []job, senders int, backoff time.Duration, progress func(done int)) []result {
	ch := make(chan job)
	results := make([]result, 0, len(jobs))
	var mu sync.Mutex
	var done atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if j.barrier != nil {
					j.barrier.Done()
					j.barrier.Wait()
				}
				status, err := send(ctx, ts.Client(), ts.URL, ids[j.gw], secrets[j.gw], bodyOf(j.n, j.id))
				mu.Lock()
				results = append(results, result{job: j, status: status, err: err})
				mu.Unlock()
				if progress != nil {
					progress(int(done.Add(1)))
				}
				if status != http.StatusOK {
					time.Sleep(backoff)
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return results
}

// setupLoad creates gateways and returns their ids and secrets.
func (e *env) setupLoad(t *testing.T, n int) (ids, secrets []string) {
	for i := range n {
		secret := fmt.Sprintf("secret-%d-%s", i, strings.Repeat("x", 30))
		ids = append(ids, e.addGateway(t, secret).ID)
		secrets = append(secrets, secret)
	}
	return ids, secrets
}

// checkInbox asserts that the inbox holds exactly want, per gateway.
func (e *env) checkInbox(t *testing.T, ids []string, want map[key]bool) {
	t.Helper()
	perGateway := make([][]int64, len(ids))
	for k := range want {
		perGateway[k.gw] = append(perGateway[k.gw], k.id)
	}
	for gw, id := range ids {
		got := e.stored(t, id)
		slices.Sort(perGateway[gw])
		if !slices.Equal(got, perGateway[gw]) {
			t.Errorf("gateway %d: %d updates stored, want %d (exactly the unique set)", gw, len(got), len(perGateway[gw]))
		}
	}
}

// TestLoad sends 5,000 unique updates over 4 gateways from 16 concurrent
// senders through the local runner's HTTP path, a fifth of them more than
// once (half of those concurrently). Every request must get 200 and the
// inbox must hold exactly the unique updates.
func TestLoad(t *testing.T) {
	const unique, gateways, senders = 5000, 4, 16
	// A DynamoDB Local of its own, in memory: the shared one keeps its data
	// on disk and syncs every write, which would make this test measure the
	// disk. TestFault covers durability across a restart.
	ddb := startDynamoDB(t, 0, "")
	e := newEnv(t, envOptions{endpoint: ddb.Endpoint})
	ts := e.server(t)
	ids, secrets := e.setupLoad(t, gateways)
	jobs, dups := plan(unique, gateways, rand.New(rand.NewPCG(1, 2)))

	// The runner's refusals on the same path.
	if s, _ := send(t.Context(), ts.Client(), ts.URL, ids[0], "wrong", bodyOf(0, 1)); s != 401 {
		t.Fatalf("wrong secret through the runner: %d", s)
	}
	if s, _ := send(t.Context(), ts.Client(), ts.URL, gateway.NewID(), secrets[0], bodyOf(0, 1)); s != 401 {
		t.Fatalf("unknown gateway through the runner: %d", s)
	}
	resp, err := getStatus(t.Context(), ts.Client(), ts.URL, ids[0], secrets[0])
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET through the runner: %v %v", resp, err)
	}
	resp.Body.Close()

	before := e.calls.snapshot()
	start := time.Now()
	results := run(t.Context(), ts, ids, secrets, jobs, senders, 0, nil)
	elapsed := time.Since(start)

	want := map[key]bool{}
	bad := 0
	for _, r := range results {
		want[key{r.job.gw, r.job.id}] = true
		if r.status != 200 {
			if bad++; bad <= 5 {
				t.Errorf("update %d of gateway %d: status %d, error %v", r.job.id, r.job.gw, r.status, r.err)
			}
		}
	}
	if len(results) != len(jobs) || len(want) != unique || bad > 0 {
		t.Fatalf("%d results for %d jobs, %d unique; %d not 200", len(results), len(jobs), len(want), bad)
	}
	e.checkInbox(t, ids, want)

	got := e.calls.since(before)
	if got["DynamoDB.PutItem"] != len(jobs) || e.calls.kms() != 0 {
		t.Errorf("calls %v for %d requests: want one PutItem each and no KMS", got, len(jobs))
	}
	// The cache's 30 s and the minute between refreshes bound the rest.
	// Before the first read of a gateway is cached, every sender may miss.
	periods := int(elapsed/telegramhook.DefaultCacheTTL) + 1
	if got["DynamoDB.GetItem"] > gateways*periods+senders || got["DynamoDB.UpdateItem"] > gateways*(periods+1) {
		t.Errorf("calls %v in %s: too many gateway reads or refreshes", got, elapsed)
	}
	t.Logf("load: %d requests (%d unique updates, %d sent more than once) over %d gateways from %d senders in %s (%.0f req/s); calls %v",
		len(jobs), unique, dups, gateways, senders, elapsed.Round(time.Millisecond), float64(len(jobs))/elapsed.Seconds(), got)
}

// startDynamoDB starts a DynamoDB Local of the test's own on port (0: any)
// keeping its data in dir ("" for memory), and stops it at the end. It
// skips or fails as emutest does when the emulator cannot start.
func startDynamoDB(t *testing.T, port int, dir string) *emulator.Process {
	t.Helper()
	emutest.Start(t) // skips outside make test when the emulators are missing
	p, err := emulator.StartDynamoDB(t.Context(), emulator.DynamoDBOptions{Port: port, DBPath: dir})
	if err != nil {
		t.Fatalf("start DynamoDB Local: %v", err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// TestFault stops DynamoDB Local part-way through a load and starts it
// again on the same port and data. Every update answered 200 must be in the
// inbox, every other answer must be a 5xx, and sending those again must
// complete the set without duplicates.
func TestFault(t *testing.T) {
	const unique, gateways, senders = 1500, 3, 16
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := emutest.TempDir(t)
	ddb := startDynamoDB(t, port, dir)
	// Fail fast while the store is down: two attempts, short backoff. The
	// SDK's defaults (three attempts, up to 20 s backoff) are for Lambda.
	e := newEnv(t, envOptions{endpoint: ddb.Endpoint, retryer: func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.MaxBackoff = 50 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	}})
	ts := e.server(t)
	ids, secrets := e.setupLoad(t, gateways)
	jobs, dups := plan(unique, gateways, rand.New(rand.NewPCG(3, 4)))

	var (
		stopOnce              sync.Once
		restarted             = make(chan struct{})
		downAt, upAt          time.Time
		restartErr            error
		restartedProc         *emulator.Process
		stoppedAfter, upAfter atomic.Int64
	)
	progress := func(done int) {
		if done < len(jobs)/3 {
			return
		}
		stopOnce.Do(func() {
			go func() {
				defer close(restarted)
				stoppedAfter.Store(int64(done))
				ddb.Stop()
				downAt = time.Now()
				time.Sleep(500 * time.Millisecond)
				restartedProc, restartErr = emulator.StartDynamoDB(context.Background(), emulator.DynamoDBOptions{Port: port, DBPath: dir})
				upAt = time.Now()
			}()
		})
	}
	start := time.Now()
	results := run(t.Context(), ts, ids, secrets, jobs, senders, 100*time.Millisecond, func(done int) {
		progress(done)
		select {
		case <-restarted:
			upAfter.CompareAndSwap(0, int64(done))
		default:
		}
	})
	<-restarted
	if restartErr != nil {
		t.Fatalf("restart DynamoDB Local: %v", restartErr)
	}
	t.Cleanup(func() { restartedProc.Stop() })
	elapsed := time.Since(start)

	ok := map[key]bool{}
	all := map[key]bool{}
	failed, refused := 0, 0
	for _, r := range results {
		k := key{r.job.gw, r.job.id}
		all[k] = true
		switch {
		case r.status == 200:
			ok[k] = true
		case r.status >= 500:
			failed++
		default:
			if refused++; refused <= 5 {
				t.Errorf("update %d of gateway %d: status %d (error %v), want 200 or 5xx", r.job.id, r.job.gw, r.status, r.err)
			}
		}
	}
	if failed == 0 {
		t.Fatalf("no request failed while DynamoDB Local was down (%s to %s)", downAt.Sub(start), upAt.Sub(start))
	}
	// Every 200 is stored; what failed may or may not be (its write may
	// have landed before the answer was lost).
	stored := map[key]bool{}
	for gw, id := range ids {
		for _, u := range e.stored(t, id) {
			stored[key{gw, u}] = true
		}
	}
	lost := 0
	for k := range ok {
		if !stored[k] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d updates answered 200 are not in the inbox", lost)
	}

	// Telegram sends again what it did not get a 200 for.
	var again []job
	for _, r := range results {
		if k := (key{r.job.gw, r.job.id}); !ok[k] {
			ok[k] = true // once each
			r.job.barrier = nil
			again = append(again, r.job)
		}
	}
	// Telegram keeps resending until it gets a 200. Right after the restart
	// a loaded machine may still time a few out (5xx), which a later round
	// must then store; anything but 200 or 5xx fails at once.
	resent := len(again)
	for round := 1; len(again) > 0; round++ {
		var still []job
		for _, r := range run(t.Context(), ts, ids, secrets, again, senders, 0, nil) {
			switch {
			case r.status == 200:
			case r.status >= 500 && round < 5:
				still = append(still, r.job)
			default:
				t.Fatalf("resend %d of update %d of gateway %d: %d (%v)", round, r.job.id, r.job.gw, r.status, r.err)
			}
		}
		again = still
	}
	e.checkInbox(t, ids, all)
	t.Logf("fault: %d requests (%d unique, %d sent more than once) in %s; DynamoDB Local stopped after %d answers, down %s; %d answered 5xx, %d stored before their 200 was lost; %d resent until each got a 200",
		len(jobs), unique, dups, elapsed.Round(time.Millisecond), stoppedAfter.Load(), upAt.Sub(downAt).Round(time.Millisecond),
		failed, len(stored)-countTrue(results, stored), resent)
}

// countTrue counts the keys in stored that got a 200 in results.
func countTrue(results []result, stored map[key]bool) int {
	seen := map[key]bool{}
	for _, r := range results {
		if k := (key{r.job.gw, r.job.id}); r.status == 200 && stored[k] {
			seen[k] = true
		}
	}
	return len(seen)
}

// TestRunnerHandlers: the local runner's handler map, local.Handlers, serves
// the webhook under its function name, so `make run` answers Telegram on
// the template's public routes.
func TestRunnerHandlers(t *testing.T) {
	e := newEnv(t, envOptions{})
	g := e.addGateway(t, "runner-secret")
	cfg := emutest.AWSConfig()
	cfg.BaseEndpoint = aws.String(emutest.Start(t).DynamoDB.Endpoint)
	fn := bootstrap.New("local", bootstrap.Config{Table: e.table, KeyID: "alias/unused", OrgsClaim: "orgs"}, cfg, slog.New(slog.DiscardHandler))
	handlers := local.Handlers(fn, local.Settings{})
	if _, ok := handlers[telegramhook.FnTelegramWebhook]; !ok {
		t.Fatalf("local.Handlers has no %q", telegramhook.FnTelegramWebhook)
	}
	tpl, err := template.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	srv := local.NewServer(routes, handlers, make([]byte, local.KeySize), local.WithLogger(slog.New(slog.DiscardHandler)))
	if missing := srv.Unhandled(); len(missing) > 0 {
		t.Errorf("template functions without a handler in Deps.Handlers: %v", missing)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	if s, err := send(t.Context(), ts.Client(), ts.URL, g.ID, "runner-secret", bodyOf(0, 42)); s != 200 {
		t.Fatalf("POST through the runner: %d %v", s, err)
	}
	if got := e.stored(t, g.ID); !slices.Equal(got, []int64{42}) {
		t.Fatalf("stored %v", got)
	}
	resp, err := getStatus(t.Context(), ts.Client(), ts.URL, g.ID, "runner-secret")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 ||
		body["id"] != g.ID || body["type"] != "TELEGRAM_BOT" || body["status"] != "CONNECTED" || len(body) != 3 {
		t.Fatalf("GET through the runner: %d %v %v", resp.StatusCode, body, err)
	}
}
