package httpapi_test

// Fault injection against the real emulators: DynamoDB Local stopped while
// requests are in flight and started again on the same data, and local-kms
// stopped and started again. Each test builds the production assembly
// (bootstrap.New, with the abuse limiter and the telegram-webhook handler)
// over emulators of its own, reached the way production reaches AWS:
// through AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS, with the
// SDK's default retryer.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/infra/local"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// internalText are fragments that must never reach a client: addresses,
// SDK and network error wording, Go stack traces.
var internalText = []string{
	"127.0.0.1", "localhost", "dial tcp", "refused", "connection reset", "EOF",
	"operation error", "api error", "StatusCode", "RequestSend", "retry quota", "deadline",
	"DynamoDB", "dynamodb", "KMS", "kms", "amazonaws", "goroutine", ".go:", "panic",
}

// faultToken is the bot token of gateway i: each worker's gateway has its
// own bot, so the stand-in keeps one webhook secret per gateway.
func faultToken(i int) string {
	return fmt.Sprintf("%d:AAFaultFaultFaultFaultFault%05d", 700000000+i, i)
}

// faultStack is the production assembly over the given emulators.
type faultStack struct {
	t        *testing.T
	handlers map[string]httpapi.Handler
	table    string
	keyID    string
	tg       *telegramtest.Server
	// ddb reads the table for the test's own checks.
	ddb *dynamodb.Client
	// inFlight counts the requests being answered now.
	inFlight atomic.Int32
}

// newFaultStack points the SDK at ddbEndpoint and kmsEndpoint the way
// production is pointed at an endpoint (the AWS_ENDPOINT_URL_<SERVICE>
// variables, read by config.LoadDefaultConfig), creates the table and the
// key, and assembles every handler with bootstrap.New. t.Setenv makes the
// test sequential, which a test that stops emulators must be anyway. opts
// change the configuration before the assembly.
func newFaultStack(t *testing.T, ddbEndpoint, kmsEndpoint string, opts ...func(*bootstrap.Config)) *faultStack {
	t.Helper()
	ctx := context.Background()
	awsCfg := emulator.AWSConfig(emulator.Endpoints{"DynamoDB": ddbEndpoint, "KMS": kmsEndpoint})
	var err error
	s := &faultStack{t: t, table: emutest.UniqueName("fault")}
	if err := dynamo.EnsureTable(ctx, dynamodb.NewFromConfig(awsCfg), s.table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	if s.keyID, err = envelope.EnsureKey(ctx, kms.NewFromConfig(awsCfg, secretscan.KMSOption), "alias/"+emutest.UniqueName("fault")); err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	s.ddb = dynamodb.NewFromConfig(emutest.AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ddbEndpoint) })

	s.tg = telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	tgSrv := httptest.NewServer(s.tg)
	t.Cleanup(tgSrv.Close)
	cfg := bootstrap.Config{
		Table: s.table, KeyID: s.keyID, OrgsClaim: "orgs", PublicURL: "https://gatehouse.example.com",
		TelegramBaseURL: tgSrv.URL, AllowPrivateNetworks: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	// The limiter is on, as in production, and counts in the table that
	// goes down, but its limits are never reached by the test.
	settings := local.Settings{Limits: httpapi.Limits{TestsPerMinute: 1_000_000, ActionsPerMinute: 1_000_000, ValidationsPerMinute: 1_000_000}}
	log := slog.New(slog.NewJSONHandler(secretscan.Writer("fault stack"), nil))
	fn := bootstrap.New("fault stack", cfg, awsCfg, log)
	s.handlers = local.Handlers(fn, settings)
	if err := fn.Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secretscan.Check(t) })
	return s
}

// faultReq is one request to a handler.
type faultReq struct {
	op      string // what the test calls it: "create", "update", …
	fn      string
	method  string
	id      string // the {id} or {gatewayId} path parameter
	action  string
	headers map[string]string
	body    string
	// change marks a request that writes the gateway when it succeeds.
	change bool
	// timeout, when set, is the function's timeout: the handler's context
	// has the deadline Lambda gives it. Zero is no deadline.
	timeout time.Duration
	// path is the route's path template, for the routes function: it
	// becomes the event's route key. routeID is the {routeId} parameter.
	path    string
	routeID string
}

// faultResult is a request and its answer.
type faultResult struct {
	faultReq
	reqID      string
	status     int
	headers    map[string]string
	body       string
	start, end time.Time
}

var faultSeq counter

// send calls the handler of r.fn with an API Gateway event as alice.
func (s *faultStack) send(r faultReq) faultResult {
	headers := map[string]string{}
	if r.body != "" {
		headers["content-type"] = "application/json"
	}
	for k, v := range r.headers {
		headers[strings.ToLower(k)] = v
	}
	res := faultResult{faultReq: r, reqID: fmt.Sprintf("fault-%d", faultSeq.add())}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", Headers: headers, Body: r.body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: res.reqID,
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.method, SourceIP: "203.0.113.9", UserAgent: "fault/1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}},
			},
		},
	}
	switch {
	case r.fn == telegramhook.FnTelegramWebhook:
		ev.PathParameters = map[string]string{"gatewayId": r.id}
	case r.id != "":
		ev.PathParameters = map[string]string{"id": r.id}
		if r.action != "" {
			ev.PathParameters["action"] = r.action
		}
		if r.routeID != "" {
			ev.PathParameters["routeId"] = r.routeID
		}
	}
	if r.path != "" {
		ev.RouteKey = r.method + " " + r.path
	}
	h := s.handlers[r.fn]
	if h == nil {
		s.t.Errorf("no handler %q", r.fn) // workers call send: no Fatal here
		return res
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if r.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
	}
	s.inFlight.Add(1)
	res.start = time.Now()
	out, err := h(ctx, ev)
	res.end = time.Now()
	cancel()
	s.inFlight.Add(-1)
	if err != nil {
		s.t.Errorf("%s returned an error instead of a response: %v", r.fn, err)
		out.StatusCode = 0
	}
	secretscan.Response("fault "+r.fn, out.Body, out.Headers)
	res.status, res.headers, res.body = out.StatusCode, out.Headers, out.Body
	return res
}

func createBody(name string, token string) string {
	return `{"name":"` + name + `","type":"TELEGRAM_BOT","credentials":{"botToken":"` + token + `"}}`
}

// idOf reads the id of a gateway (or route) answer.
func idOf(r faultResult) string {
	var g httpapi.GatewayJSON
	_ = json.Unmarshal([]byte(r.body), &g)
	return g.ID
}

// checkUnavailable reports what is wrong with r as a 503 answer: it must
// be problem+json with a Retry-After of at least one second and no
// internal text.
func checkUnavailable(r faultResult) []string {
	var bad []string
	if r.status != http.StatusServiceUnavailable {
		return []string{fmt.Sprintf("status %d, want 503", r.status)}
	}
	if ct := r.headers["Content-Type"]; ct != "application/problem+json" {
		bad = append(bad, "Content-Type "+ct)
	}
	if n, err := strconv.Atoi(r.headers["Retry-After"]); err != nil || n < 1 {
		bad = append(bad, fmt.Sprintf("Retry-After %q", r.headers["Retry-After"]))
	}
	var p edge.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.Status != 503 || !strings.HasSuffix(p.Type, "/unavailable") || p.Detail == "" {
		bad = append(bad, "problem "+r.body)
	}
	for _, s := range internalText {
		if strings.Contains(r.body, s) {
			bad = append(bad, fmt.Sprintf("body holds %q: %s", s, r.body))
		}
	}
	return bad
}

// tableItems is the table's content by partition and sort key.
type tableItems map[string]map[string]map[string]types.AttributeValue

func (s *faultStack) scan() tableItems {
	s.t.Helper()
	items := tableItems{}
	p := dynamodb.NewScanPaginator(s.ddb, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			s.t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			pk, sk := attrS(it, "pk"), attrS(it, "sk")
			if items[pk] == nil {
				items[pk] = map[string]map[string]types.AttributeValue{}
			}
			items[pk][sk] = it
		}
	}
	return items
}

func attrS(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func attrN(it map[string]types.AttributeValue, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return -1
}

// trail is what the table holds of one gateway, or of one route.
type trail struct {
	item    map[string]types.AttributeValue // nil when deleted or never written
	actions []string                        // audit actions, oldest first
}

// trails groups the table by gateway and by route (a route's events are
// in its bot's trail, with details.routeId), and maps each request id to
// the audit actions it recorded.
func (items tableItems) trails() (map[string]*trail, map[string]*trail, map[string][]string) {
	byGateway := map[string]*trail{}
	byRoute := map[string]*trail{}
	routeTrail := func(id string) *trail {
		if byRoute[id] == nil {
			byRoute[id] = &trail{}
		}
		return byRoute[id]
	}
	byRequest := map[string][]string{}
	for pk, part := range items {
		id, ok := strings.CutPrefix(pk, "GW#")
		if !ok {
			continue
		}
		tr := &trail{}
		sks := make([]string, 0, len(part))
		for sk := range part {
			sks = append(sks, sk)
		}
		sort.Strings(sks) // AUDIT#<time>#<id>: oldest first
		for _, sk := range sks {
			it := part[sk]
			switch {
			case sk == "GATEWAY":
				tr.item = it
			case strings.HasPrefix(sk, "ROUTE#"):
				routeTrail(strings.TrimPrefix(sk, "ROUTE#")).item = it
			case strings.HasPrefix(sk, "AUDIT#"):
				action := attrS(it, "action")
				if details, ok := it["details"].(*types.AttributeValueMemberM); ok && strings.HasPrefix(action, "route.") {
					rt := routeTrail(attrS(details.Value, "routeId"))
					rt.actions = append(rt.actions, action)
				} else {
					tr.actions = append(tr.actions, action)
				}
				if actor, ok := it["actor"].(*types.AttributeValueMemberM); ok {
					rid := attrS(actor.Value, "requestId")
					byRequest[rid] = append(byRequest[rid], action)
				}
			}
		}
		if tr.item != nil || len(tr.actions) > 0 {
			byGateway[id] = tr
		}
	}
	return byGateway, byRoute, byRequest
}

// checkRoutesWhole fails t for every route that is half-written: a route
// is created, replaced and paused or resumed by one transaction that bumps
// its version and appends one audit event to its bot's trail (replays
// append one without a version), and deleted by one that removes it and
// appends route.deleted. Nothing of a deleted route — lanes, queue, dead
// letters, due markers, back-references — may be left behind.
func checkRoutesWhole(t *testing.T, items tableItems, byRoute map[string]*trail) {
	t.Helper()
	for id, tr := range byRoute {
		versioned := 0
		for _, a := range tr.actions {
			if a != "route.replayed" && a != "route.deleted" {
				versioned++
			}
		}
		deleted := slices.Contains(tr.actions, "route.deleted")
		switch {
		case tr.item == nil && len(tr.actions) > 0 && tr.actions[len(tr.actions)-1] != "route.deleted":
			t.Errorf("route %s has no item but its events %v do not end in its deletion", id, tr.actions)
		case tr.item != nil && deleted:
			t.Errorf("route %s still exists after its deletion was audited", id)
		case tr.item != nil && attrN(tr.item, "version") != int64(versioned):
			t.Errorf("route %s is at version %d with events %v: half-written", id, attrN(tr.item, "version"), tr.actions)
		}
	}
	for pk, part := range items {
		for sk := range part {
			var routeID string
			switch {
			case strings.HasPrefix(sk, "LANE#"), strings.HasPrefix(sk, "DLV#"), strings.HasPrefix(sk, "DEAD#"):
				routeID = strings.Split(sk, "#")[1]
			case strings.HasPrefix(sk, "ROUTEIN#"):
				routeID = strings.Split(sk, "#")[2]
			case strings.HasPrefix(pk, "DUE#"):
				routeID = strings.Split(sk, "#")[1]
			default:
				continue
			}
			if tr := byRoute[routeID]; tr == nil || tr.item == nil {
				t.Errorf("%s %s is left of route %s, which does not exist", pk, sk, routeID)
			}
		}
	}
}

// checkWhole fails t for every gateway that is half-written: every change
// of a gateway is one transaction that bumps its version and appends one
// audit event, so a live gateway's version is the number of its events,
// and a gateway without its item has "deleted" as its last event.
func checkWhole(t *testing.T, trails map[string]*trail) {
	t.Helper()
	for id, tr := range trails {
		switch {
		case tr.item == nil && (len(tr.actions) == 0 || tr.actions[len(tr.actions)-1] != "gateway.deleted"):
			t.Errorf("gateway %s has no item but its trail %v does not end in its deletion", id, tr.actions)
		case tr.item != nil && attrN(tr.item, "version") != int64(len(tr.actions)):
			t.Errorf("gateway %s is at version %d with %d audit events %v: half-written", id, attrN(tr.item, "version"), len(tr.actions), tr.actions)
		case tr.item != nil && slices.Contains(tr.actions, "gateway.deleted"):
			t.Errorf("gateway %s still exists after its deletion was audited", id)
		}
	}
}

// worker sends a cycle of requests over every route until stop is closed:
// reads, updates, connects and tests of its own gateway, and creates,
// disconnects and deletes of spare ones.
type worker struct {
	s     *faultStack
	n     int
	id    string // the worker's own gateway
	token string // its bot's
	// spareToken is the bot of the spares. Disconnecting a gateway
	// deletes its bot's webhook, so it must not be the worker's own.
	spareToken string
	version    int64        // of its own gateway, as last seen; 0 when unknown
	cycles     atomic.Int64 // finished
	spares     []string
	routes     []string // of its own gateway, oldest first
	seq        int
	results    []faultResult
}

func (w *worker) do(r faultReq) faultResult {
	res := w.s.send(r)
	w.results = append(w.results, res)
	return res
}

// track keeps the worker's idea of its gateway's version: an answer with
// an ETag gives it, a 412 makes it unknown. After a 503 the last version
// seen is kept, so that updates go on being sent while the store is down.
func (w *worker) track(r faultResult) {
	if v, err := strconv.ParseInt(strings.Trim(r.headers["ETag"], `"`), 10, 64); err == nil && r.status/100 == 2 {
		w.version = v
	} else if r.status == http.StatusPreconditionFailed {
		w.version = 0
	}
}

func (w *worker) cycle() {
	w.seq++
	id, n := w.id, w.seq
	w.do(faultReq{op: "list", fn: httpapi.FnListGateways, method: "GET"})
	key := fmt.Sprintf("w%d-%d", w.n, n)
	if r := w.do(faultReq{op: "create", fn: httpapi.FnCreateGateway, method: "POST", change: true,
		headers: map[string]string{"Idempotency-Key": key}, body: createBody("fault-"+key, w.spareToken)}); r.status == http.StatusCreated {
		w.spares = append(w.spares, idOf(r))
	}
	w.track(w.do(faultReq{op: "get", fn: httpapi.FnGetGateway, method: "GET", id: id}))
	if w.version == 0 {
		w.track(w.do(faultReq{op: "get", fn: httpapi.FnGetGateway, method: "GET", id: id}))
	}
	if w.version != 0 {
		w.track(w.do(faultReq{op: "update", fn: httpapi.FnUpdateGateway, method: "PUT", id: id, change: true,
			headers: map[string]string{"If-Match": fmt.Sprintf(`"%d"`, w.version)}, body: fmt.Sprintf(`{"name":"w%d-u%d"}`, w.n, n)}))
	}
	w.track(w.do(faultReq{op: "connect", fn: httpapi.FnUpdateStatus, method: "PATCH", id: id, change: true, body: `{"status":"CONNECTED"}`}))
	w.track(w.do(faultReq{op: "test", fn: httpapi.FnTestGateway, method: "POST", id: id, change: true}))
	w.do(faultReq{op: "action", fn: httpapi.FnGatewayAction, method: "POST", id: id, action: "getMe", body: `{}`})
	w.do(faultReq{op: "audit", fn: httpapi.FnGatewayAudit, method: "GET", id: id})
	w.do(faultReq{op: "health", fn: httpapi.FnHealthHistory, method: "GET", id: id})
	w.do(faultReq{op: "updates", fn: httpapi.FnListUpdates, method: "GET", id: id})
	w.do(faultReq{op: "providers", fn: httpapi.FnProviders, method: "GET"})
	w.routeCycle(n)
	if hook, _ := w.s.tg.Webhook(w.token); hook.SecretToken != "" {
		w.do(faultReq{op: "webhook", fn: telegramhook.FnTelegramWebhook, method: "POST", id: id,
			headers: map[string]string{"X-Telegram-Bot-Api-Secret-Token": hook.SecretToken},
			body:    fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`, w.n*1_000_000+n, n)})
	}
	if len(w.spares) > 0 {
		spare := w.spares[0]
		w.do(faultReq{op: "disconnect", fn: httpapi.FnUpdateStatus, method: "PATCH", id: spare, change: true, body: `{"status":"DISCONNECTED"}`})
		r := w.do(faultReq{op: "delete", fn: httpapi.FnDeleteGateway, method: "DELETE", id: spare, change: true})
		if r.status == http.StatusNoContent || r.status == http.StatusNotFound {
			w.spares = w.spares[1:]
		}
	}
}

// routeCycle calls every routes path on the worker's bot: it lists its
// routes, adds one, reads, pauses, resumes and replays the oldest (the
// bot's received updates go on its queue), reads its dead letters, and
// deletes it when there is another, or every third cycle (so deletes are
// sent while the store is down too).
func (w *worker) routeCycle(n int) {
	id := w.id
	w.do(faultReq{op: "routes", fn: httpapi.FnRoutes, method: "GET", path: routesPath, id: id})
	body := eventBridgeRoute
	if n%2 == 0 {
		body = `{"target":{"type":"EVENTBRIDGE"},"filters":{"chatIds":[42]}}`
	}
	if r := w.do(faultReq{op: "route create", fn: httpapi.FnRoutes, method: "POST", path: routesPath, id: id, change: true, body: body}); r.status == http.StatusCreated {
		w.routes = append(w.routes, idOf(r))
	}
	if len(w.routes) == 0 {
		return
	}
	rt := w.routes[0]
	on := func(op, method, path, body string, change bool) faultResult {
		return w.do(faultReq{op: op, fn: httpapi.FnRoutes, method: method, path: path, id: id, routeID: rt, change: change, body: body})
	}
	on("route get", "GET", routePath, "", false)
	on("route pause", "PATCH", routePath, `{"status":"PAUSED"}`, true)
	on("route resume", "PATCH", routePath, `{"status":"ACTIVE"}`, true)
	on("route replay", "POST", replayPath, `{"fromUpdateId":0}`, true)
	on("route dead letters", "GET", deadLettersPath, "", false)
	if len(w.routes) > 1 || n%3 == 0 {
		if r := on("route delete", "DELETE", routePath, "", true); r.status == http.StatusNoContent || r.status == http.StatusNotFound {
			w.routes = w.routes[1:]
		}
	}
}

// TestStoreOutage stops DynamoDB Local while every route is being called,
// keeps calling while it is down, starts it again on the same port and
// data, and checks what every answer promised: 503 problem+json with
// Retry-After and nothing internal while the store is down, never a 500,
// every 2xx change stored with its audit event, no gateway half-written,
// and every 503 create either absent or whole (sent again with its
// Idempotency-Key, it makes exactly one gateway).
func TestStoreOutage(t *testing.T) {
	const (
		workers = 5
		spares  = 3 // per worker, to disconnect and delete
		// pace is a worker's pause between cycles. While the store is down
		// every answer comes at once; without a pause the test would send
		// tens of thousands of requests, and then send every refused
		// create again.
		pace = 250 * time.Millisecond
	)
	env := emutest.Start(t) // KMS stays up; the shared DynamoDB is not touched
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(emutest.TempDir(t), "dynamodb")
	ddb, err := emulator.StartDynamoDB(t.Context(), emulator.DynamoDBOptions{Port: port, DBPath: dir})
	if err != nil {
		t.Fatalf("start DynamoDB Local: %v", err)
	}
	running := ddb
	t.Cleanup(func() { running.Stop() })
	s := newFaultStack(t, ddb.Endpoint, env.KMS.Endpoint)

	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = &worker{s: s, n: i, token: faultToken(i), spareToken: faultToken(workers + i)}
		secretscan.Register(fmt.Sprintf("fault bot token %d", i), ws[i].token)
		secretscan.Register(fmt.Sprintf("fault spare bot token %d", i), ws[i].spareToken)
		r := s.send(faultReq{fn: httpapi.FnCreateGateway, method: "POST", body: createBody(fmt.Sprintf("worker %d", i), ws[i].token)})
		if r.status != http.StatusCreated {
			t.Fatalf("seed gateway: %d %s", r.status, r.body)
		}
		ws[i].id = idOf(r)
		for j := range spares {
			r := s.send(faultReq{fn: httpapi.FnCreateGateway, method: "POST", body: createBody(fmt.Sprintf("worker %d spare %d", i, j), ws[i].spareToken)})
			if r.status != http.StatusCreated {
				t.Fatalf("spare gateway: %d %s", r.status, r.body)
			}
			ws[i].spares = append(ws[i].spares, idOf(r))
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				w.cycle()
				w.cycles.Add(1)
				select {
				case <-stop:
					return
				case <-time.After(pace):
				}
			}
		}()
	}
	var halted sync.Once
	halt := func() { halted.Do(func() { close(stop); wg.Wait() }) }
	defer halt()
	// phase lets the traffic go on for at least minimum and until every
	// worker has finished two more cycles, so one whole cycle, every
	// route, fell in the phase however slow the machine. The deadline
	// only guards against a stuck worker.
	phase := func(name string, minimum time.Duration) {
		from := make([]int64, len(ws))
		for i, w := range ws {
			from[i] = w.cycles.Load()
		}
		start := time.Now()
		for {
			done := time.Since(start) >= minimum
			for i, w := range ws {
				done = done && w.cycles.Load() >= from[i]+2
			}
			if done {
				return
			}
			if time.Since(start) > 3*time.Minute {
				halt()
				t.Fatalf("%s: the workers made no progress in 3 minutes", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Traffic before, during and after the outage. The stop lands while
	// requests are in flight: five workers never pause for long.
	phase("before the outage", time.Second)
	// Stop while requests are being answered; the workers pause between
	// cycles, so wait for a moment when two are (for a few seconds at most).
	for deadline := time.Now().Add(5 * time.Second); s.inFlight.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	stopAt := time.Now()
	if err := ddb.Stop(); err != nil {
		t.Errorf("stop DynamoDB Local: %v", err)
	}
	downAt := time.Now()
	phase("during the outage", 3*time.Second)
	restartAt := time.Now()
	running, err = emulator.StartDynamoDB(context.Background(), emulator.DynamoDBOptions{Port: port, DBPath: dir})
	upAt := time.Now()
	if err != nil {
		halt()
		t.Fatalf("restart DynamoDB Local: %v", err)
	}
	phase("after the restart", time.Second)
	halt()

	var all []faultResult
	for _, w := range ws {
		all = append(all, w.results...)
	}
	// During the outage: requests that began after the stop had ended and
	// ended before the restart began, so the store was down all along. (The
	// restarted emulator may accept connections a little before
	// StartDynamoDB sees it answer, so requests near upAt may succeed.)
	type tally struct{ n, unavailable, ok, other int }
	var during tally
	inFlight := 0 // requests that began before the stop and ended after it began
	firstOK := time.Duration(-1)
	statuses := map[string]map[int]int{}
	for _, r := range all {
		if statuses[r.op] == nil {
			statuses[r.op] = map[int]int{}
		}
		statuses[r.op][r.status]++
		if r.status >= 500 && r.status != http.StatusServiceUnavailable || r.status == 0 {
			t.Errorf("%s %s (%s): status %d, never acceptable: %s", r.op, r.id, r.reqID, r.status, r.body)
		}
		if r.status == http.StatusServiceUnavailable {
			for _, bad := range checkUnavailable(r) {
				t.Errorf("%s (%s) answered 503 badly: %s", r.op, r.reqID, bad)
			}
		}
		if r.start.Before(stopAt) && r.end.After(stopAt) {
			inFlight++
		}
		if r.start.After(upAt) && r.status/100 == 2 && r.op != "providers" && (firstOK < 0 || r.end.Sub(upAt) < firstOK) {
			firstOK = r.end.Sub(upAt)
		}
		if !r.start.After(downAt) || !r.end.Before(restartAt) {
			continue
		}
		during.n++
		switch {
		case r.op == "providers" && r.status == http.StatusOK:
			during.ok++ // the one route that needs no store
		case r.status == http.StatusServiceUnavailable:
			during.unavailable++
		default:
			during.other++
			t.Errorf("%s (%s) while the store was down: status %d, want 503: %s", r.op, r.reqID, r.status, r.body)
		}
	}
	if during.unavailable == 0 {
		t.Fatalf("no request was answered 503 while DynamoDB Local was down")
	}
	for _, op := range []string{"list", "create", "get", "connect", "test", "action", "audit", "health", "webhook", "disconnect",
		"routes", "route create", "route get", "route pause", "route resume", "route replay", "route dead letters", "route delete"} {
		if statuses[op][http.StatusServiceUnavailable] == 0 {
			t.Errorf("route %s was never answered 503 during the outage: %v", op, statuses[op])
		}
	}

	items := s.scan()
	trails, byRoute, byRequest := items.trails()
	checkWhole(t, trails)
	checkRoutesWhole(t, items, byRoute)
	// Pausing a paused route or resuming an active one changes nothing and
	// records nothing (its 200 is right), so those two may record no event;
	// so may connecting a gateway that is already CONNECTED (issue 16,
	// item 2: a no-op transition writes nothing).
	minEvents := map[string]int{"create": 1, "update": 1, "test": 1, "delete": 1,
		"route create": 1, "route replay": 1, "route delete": 1}
	landed := 0 // changes answered 503 whose write was stored whole
	for _, r := range all {
		if !r.change {
			continue
		}
		got := byRequest[r.reqID]
		if r.status == http.StatusServiceUnavailable && len(got) > 0 {
			landed++
		}
		switch {
		case r.status/100 == 2 && len(got) < minEvents[r.op]:
			t.Errorf("%s %s (%s) answered %d but recorded %v", r.op, r.id, r.reqID, r.status, got)
		case r.op == "create" && r.status == http.StatusCreated:
			if tr := trails[idOf(r)]; tr == nil || (tr.item == nil && !slices.Contains(tr.actions, "gateway.deleted")) {
				t.Errorf("gateway %s, created with 201, is gone without a deletion", idOf(r))
			}
		case r.op == "delete" && r.status == http.StatusNoContent:
			if tr := trails[r.id]; tr == nil || tr.item != nil {
				t.Errorf("gateway %s, deleted with 204, still exists", r.id)
			}
		}
	}

	// A create answered 503 left nothing, or all of it: sent again with
	// its key after the restart, it makes exactly one gateway.
	var resent int
	for _, r := range all {
		if r.op != "create" || r.status != http.StatusServiceUnavailable {
			continue
		}
		resent++
		again := s.send(r.faultReq)
		if again.status != http.StatusCreated {
			t.Errorf("create %s sent again after the restart: %d %s", r.headers["Idempotency-Key"], again.status, again.body)
		}
	}
	names := map[string]int{}
	for pk, part := range s.scan() {
		if it := part["GATEWAY"]; strings.HasPrefix(pk, "GW#") && it != nil {
			names[attrS(it, "name")]++
		}
	}
	for name, n := range names {
		if n != 1 {
			t.Errorf("%d gateways are named %q: a create was applied twice", n, name)
		}
	}
	t.Logf("store outage: %d requests, %d in flight when the stop began; DynamoDB Local down %v (restart took %v); %d requests while it was stopped and not yet restarting: %d answered 503, %d 2xx (providers), %d other; %d changes answered 503 were stored whole; first store-backed 2xx %v after the restart; %d creates answered 503 sent again",
		len(all), inFlight, upAt.Sub(downAt).Round(time.Millisecond), upAt.Sub(restartAt).Round(time.Millisecond),
		during.n, during.unavailable, during.ok, during.other, landed, firstOK.Round(time.Millisecond), resent)
	t.Logf("statuses by route: %v", statuses)
}

// TestKMSOutage stops local-kms: creating a gateway or replacing its
// credentials answers 503 with Retry-After and stores nothing, while
// everything that needs no decryption still works; started again, the same
// create succeeds.
func TestKMSOutage(t *testing.T) {
	env := emutest.Start(t) // DynamoDB stays up
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "kms")
	k, err := emulator.StartKMS(t.Context(), emulator.KMSOptions{Port: port, DataPath: dir})
	if err != nil {
		t.Fatalf("start local-kms: %v", err)
	}
	running := k
	t.Cleanup(func() { running.Stop() })
	s := newFaultStack(t, env.DynamoDB.Endpoint, k.Endpoint)
	for i := 100; i < 104; i++ {
		secretscan.Register(fmt.Sprintf("fault bot token %d", i), faultToken(i))
	}

	mustStatus := func(r faultResult, want int) faultResult {
		t.Helper()
		if r.status != want {
			t.Fatalf("%s: status %d, want %d: %s", r.op, r.status, want, r.body)
		}
		return r
	}
	create := func(name, token, key string) faultReq {
		return faultReq{op: "create " + name, fn: httpapi.FnCreateGateway, method: "POST",
			headers: map[string]string{"Idempotency-Key": key}, body: createBody(name, token)}
	}
	a := idOf(mustStatus(s.send(create("a", faultToken(100), "a")), http.StatusCreated))
	b := idOf(mustStatus(s.send(create("b", faultToken(101), "b")), http.StatusCreated))
	// a's credentials are opened once, which leaves its data key in the
	// envelope's cache; b's never are.
	mustStatus(s.send(faultReq{op: "test a", fn: httpapi.FnTestGateway, method: "POST", id: a}), http.StatusOK)

	getItem := func(id string) map[string]types.AttributeValue {
		t.Helper()
		out, err := s.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "GW#" + id}, "sk": &types.AttributeValueMemberS{Value: "GATEWAY"}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}

	if err := k.Stop(); err != nil {
		t.Fatalf("stop local-kms: %v", err)
	}
	before := s.scan()
	bBefore := getItem(b)

	refused := []faultReq{
		create("c", faultToken(102), "c"),
		{op: "replace credentials", fn: httpapi.FnUpdateGateway, method: "PUT", id: b, headers: map[string]string{"If-Match": `"1"`},
			body: `{"credentials":{"botToken":"` + faultToken(103) + `"}}`},
		{op: "test (needs the key KMS holds)", fn: httpapi.FnTestGateway, method: "POST", id: b},
		{op: "action (needs the key KMS holds)", fn: httpapi.FnGatewayAction, method: "POST", id: b, action: "getMe", body: `{}`},
	}
	for _, r := range refused {
		res := s.send(r)
		for _, bad := range checkUnavailable(res) {
			t.Errorf("%s while KMS is down: %s", r.op, bad)
		}
	}
	if after := s.scan(); !sameTable(before, after) {
		t.Errorf("a refused request changed the table:\nbefore %v\nafter  %v", tableKeys(before), tableKeys(after))
	}
	if got := getItem(b); !sameItem(got, bBefore) {
		t.Errorf("gateway b changed although its update was refused")
	}

	served := []faultReq{
		{op: "get", fn: httpapi.FnGetGateway, method: "GET", id: b},
		{op: "list", fn: httpapi.FnListGateways, method: "GET"},
		{op: "audit", fn: httpapi.FnGatewayAudit, method: "GET", id: b},
		{op: "health", fn: httpapi.FnHealthHistory, method: "GET", id: b},
		{op: "updates", fn: httpapi.FnListUpdates, method: "GET", id: b},
		{op: "providers", fn: httpapi.FnProviders, method: "GET"},
		{op: "rename (no credentials)", fn: httpapi.FnUpdateGateway, method: "PUT", id: b, headers: map[string]string{"If-Match": `"1"`}, body: `{"name":"b renamed"}`},
		{op: "test a (its data key is cached)", fn: httpapi.FnTestGateway, method: "POST", id: a},
		{op: "route create (opens no credentials)", fn: httpapi.FnRoutes, method: "POST", path: routesPath, id: b, body: eventBridgeRoute},
		{op: "routes", fn: httpapi.FnRoutes, method: "GET", path: routesPath, id: b},
	}
	for _, r := range served {
		if res := s.send(r); res.status/100 != 2 {
			t.Errorf("%s while KMS is down: status %d, want 2xx: %s", r.op, res.status, res.body)
		}
	}

	restartAt := time.Now()
	if running, err = emulator.StartKMS(context.Background(), emulator.KMSOptions{Port: port, DataPath: dir}); err != nil {
		t.Fatalf("restart local-kms: %v", err)
	}
	upAt := time.Now()
	r := mustStatus(s.send(create("c", faultToken(102), "c")), http.StatusCreated)
	if r.headers["Idempotent-Replayed"] != "" {
		t.Errorf("the create after the restart was a replay: the refused one stored its key")
	}
	mustStatus(s.send(faultReq{op: "replace credentials", fn: httpapi.FnUpdateGateway, method: "PUT", id: b, headers: map[string]string{"If-Match": `"2"`},
		body: `{"credentials":{"botToken":"` + faultToken(103) + `"}}`}), http.StatusOK)
	mustStatus(s.send(faultReq{op: "test b", fn: httpapi.FnTestGateway, method: "POST", id: b}), http.StatusOK)
	trails, _, _ := s.scan().trails()
	checkWhole(t, trails)
	t.Logf("KMS outage: %d requests refused with 503 and nothing stored, %d served; restart took %v",
		len(refused), len(served), upAt.Sub(restartAt).Round(time.Millisecond))
}

// sameTable reports whether two scans hold the same items, byte for byte
// in their DynamoDB JSON, apart from the abuse limiter's counters, which
// count refused requests too.
func sameTable(a, b tableItems) bool {
	norm := func(t tableItems) string {
		keys := tableKeys(t)
		var sb strings.Builder
		for _, k := range keys {
			pk, sk, _ := strings.Cut(k, " ")
			sb.WriteString(k + "=" + itemJSON(t[pk][sk]) + "\n")
		}
		return sb.String()
	}
	return norm(a) == norm(b)
}

// tableKeys lists "pk sk" of every item but the limiter's counters.
func tableKeys(t tableItems) []string {
	var keys []string
	for pk, part := range t {
		if strings.HasPrefix(pk, "RATE#") {
			continue
		}
		for sk := range part {
			keys = append(keys, pk+" "+sk)
		}
	}
	sort.Strings(keys)
	return keys
}

func sameItem(a, b map[string]types.AttributeValue) bool { return itemJSON(a) == itemJSON(b) }

// itemJSON renders an item canonically (map keys sorted), with binary
// values as their bytes, so two reads of an unchanged item are equal.
func itemJSON(it map[string]types.AttributeValue) string {
	var render func(v types.AttributeValue) any
	render = func(v types.AttributeValue) any {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			return map[string]any{"S": v.Value}
		case *types.AttributeValueMemberN:
			return map[string]any{"N": v.Value}
		case *types.AttributeValueMemberB:
			return map[string]any{"B": v.Value}
		case *types.AttributeValueMemberBOOL:
			return map[string]any{"BOOL": v.Value}
		case *types.AttributeValueMemberNULL:
			return map[string]any{"NULL": true}
		case *types.AttributeValueMemberSS:
			return map[string]any{"SS": v.Value}
		case *types.AttributeValueMemberL:
			l := make([]any, len(v.Value))
			for i, e := range v.Value {
				l[i] = render(e)
			}
			return map[string]any{"L": l}
		case *types.AttributeValueMemberM:
			m := map[string]any{}
			for k, e := range v.Value {
				m[k] = render(e)
			}
			return map[string]any{"M": m}
		}
		return fmt.Sprintf("%T", v)
	}
	m := map[string]any{}
	for k, v := range it {
		m[k] = render(v)
	}
	b, _ := json.Marshal(m) // encoding/json sorts map keys
	return string(b)
}
