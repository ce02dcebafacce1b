package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/filelink/filelinktest"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/route/routetest"
	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
	"github.com/gatehouse/gatehouse/pkg/send/sendtest"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// The fuzz input's route byte indexes this list. New routes go at its end,
// so that the corpus's entries keep naming the route they were found on.
// A path with {routeId} takes it from the input's action (see
// fzPickRouteID).
var fzRoutes = []struct {
	fn, method, path string
	hasID, hasAction bool
}{
	{httpapi.FnListGateways, "GET", "/api/gateways", false, false},
	{httpapi.FnCreateGateway, "POST", "/api/gateways", false, false},
	{httpapi.FnGetGateway, "GET", "/api/gateways/{id}", true, false},
	{httpapi.FnUpdateGateway, "PUT", "/api/gateways/{id}", true, false},
	{httpapi.FnUpdateStatus, "PATCH", "/api/gateways/{id}/status", true, false},
	{httpapi.FnDeleteGateway, "DELETE", "/api/gateways/{id}", true, false},
	{httpapi.FnGatewayAudit, "GET", "/api/gateways/{id}/audit", true, false},
	{httpapi.FnTestGateway, "POST", "/api/gateways/{id}/test", true, false},
	{httpapi.FnGatewayAction, "POST", "/api/gateways/{id}/actions/{action}", true, true},
	{httpapi.FnProviders, "GET", "/api/providers", false, false},
	{httpapi.FnHealthHistory, "GET", "/api/gateways/{id}/health", true, false},
	{httpapi.FnListUpdates, "GET", "/api/gateways/{id}/updates", true, false},
	{httpapi.FnRoutes, "POST", "/api/gateways/{id}/routes", true, false},
	{httpapi.FnRoutes, "GET", "/api/gateways/{id}/routes", true, false},
	{httpapi.FnRoutes, "GET", "/api/gateways/{id}/routes/{routeId}", true, false},
	{httpapi.FnRoutes, "PUT", "/api/gateways/{id}/routes/{routeId}", true, false},
	{httpapi.FnRoutes, "PATCH", "/api/gateways/{id}/routes/{routeId}", true, false},
	{httpapi.FnRoutes, "DELETE", "/api/gateways/{id}/routes/{routeId}", true, false},
	{httpapi.FnRoutes, "GET", "/api/gateways/{id}/routes/{routeId}/dead-letters", true, false},
	{httpapi.FnRoutes, "POST", "/api/gateways/{id}/routes/{routeId}/replay", true, false},
	{download.FnFiles, "GET", "/api/files/{linkId}", false, false},
	{httpapi.FnMessages, "POST", "/api/gateways/{id}/messages", true, false},
	{httpapi.FnMessages, "GET", "/api/gateways/{id}/messages/{jobId}", true, false},
}

// Route indexes, for seeds.
const (
	fzList uint8 = iota
	fzCreate
	fzGet
	fzUpdate
	fzStatus
	fzDelete
	fzAudit
	fzTest
	fzAction
	fzProviders
	fzHealth
	fzUpdates
	fzCreateRoute
	fzListRoutes
	fzGetRoute
	fzPutRoute
	fzPatchRoute
	fzDeleteRoute
	fzDeadLetters
	fzReplay
	fzFiles
	fzSendMessages
	fzGetJob
)

// Seeded secrets. None of them is in a seed input, so the fuzzer has no way
// to echo one back through a field that is meant to be echoed (a name).
const (
	fzTokenAlice    = "5550001:AAAliceAliceAliceAliceAliceAliceAli"
	fzTokenAcme     = "5550002:AAAcmeAcmeAcmeAcmeAcmeAcmeAcmeAcme"
	fzTokenBob      = "5550003:AABobBobBobBobBobBobBobBobBobBobBob"
	fzTokenBroken   = "5550004:AABrokenBrokenBrokenBrokenBrokenBr"
	fzAIKey         = "sk-fuzz-SEEDED-KEY-0123456789abcdef"
	fzSigning       = "whsec-fuzz-SEEDED-SIGNING-0123456789"
	fzWebhookSecret = "tg-webhook-secret-SEEDED-0123456789abcdef"
)

// fzID makes a gateway id (gw_ and 26 of [a-z2-7]) from a name.
func fzID(name string) string { return "gw_" + (name + strings.Repeat("a", 26))[:26] }

// Seeded gateways. Seeds reach them by an id of one byte (see fzPickID).
var (
	fzAliceBot     = fzID("alicebot")
	fzAliceAI      = fzID("aliceai")
	fzAliceHook    = fzID("alicehook")
	fzAliceBroken  = fzID("alicebroken")
	fzAcmeBot      = fzID("acmebot")
	fzBobBot       = fzID("bobbot")
	fzSeededIDs    = []string{fzAliceBot, fzAliceAI, fzAliceHook, fzAliceBroken, fzAcmeBot, fzBobBot}
	fzSeededAt     = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	fzIdemKeyAlice = "idem-alice-1"
)

// fzPickID lets the fuzzer name a seeded gateway with one byte; any other
// string is used as the id itself.
func fzPickID(id string) string {
	if len(id) == 1 {
		return fzSeededIDs[int(id[0])%len(fzSeededIDs)]
	}
	return id
}

// fzRouteID makes a route id (rt_ and 26 of [a-z2-7]) from a name.
func fzRouteID(name string) string { return "rt_" + (name + strings.Repeat("a", 26))[:26] }

// Seeded routes: alice's bot has a WEBHOOK route to her hook (with queued
// updates and dead letters) and an EventBridge one; her organisation's
// bot and bob's have one each. Seeds reach them by an id of one byte.
var (
	fzAliceHookRoute = fzRouteID("alicehookroute")
	fzAliceBusRoute  = fzRouteID("alicebusroute")
	fzAcmeRoute      = fzRouteID("acmeroute")
	fzBobRoute       = fzRouteID("bobroute")
	fzSeededRoutes   = []string{fzAliceHookRoute, fzAliceBusRoute, fzAcmeRoute, fzBobRoute}
)

// fzPickRouteID is fzPickID for routes.
func fzPickRouteID(id string) string {
	if len(id) == 1 {
		return fzSeededRoutes[int(id[0])%len(fzSeededRoutes)]
	}
	return id
}

// memSamples serves two health samples for any gateway.
type memSamples struct{}

func (memSamples) ListSamples(_ context.Context, gatewayID string, limit int) ([]health.Sample, error) {
	latency := int64(3)
	out := []health.Sample{
		{GatewayID: gatewayID, At: fzSeededAt.Add(time.Minute), Outcome: health.OutcomeOK, LatencyMs: 12, Status: gateway.StatusConnected, PendingUpdateCount: &latency},
		{GatewayID: gatewayID, At: fzSeededAt, Outcome: health.OutcomeUnreachable, LatencyMs: 10000, Status: gateway.StatusError, Error: "timeout"},
	}
	return out[:min(limit, len(out))], nil
}

// memUpdates is the fuzz world's inbox: every Telegram gateway has updates
// 1 to 5, read as ReadUpdates reads them (filters, limit, position).
type memUpdates struct{}

func (memUpdates) ReadUpdates(_ context.Context, gatewayID string, q inbox.UpdateQuery) (inbox.UpdatePage, error) {
	page := inbox.UpdatePage{Last: q.After}
	for id := int64(1); id <= 5 && len(page.Updates) < q.Limit; id++ {
		if id <= q.After {
			continue
		}
		chat, date := int64(100*id), fzSeededAt
		u := inbox.Update{GatewayID: gatewayID, UpdateID: id, Type: "message", ChatID: &chat, MessageDate: &date,
			ReceivedAt: fzSeededAt, Raw: []byte(fmt.Sprintf(`{"update_id":%d,"message":{"chat":{"id":%d}}}`, id, chat))}
		page.Last = id
		if (q.Type == "" || q.Type == u.Type) && (q.ChatID == nil || *q.ChatID == chat) {
			page.Updates = append(page.Updates, u)
		}
	}
	return page, nil
}

// hookReceiver is the webhook stand-in: it answers 204 and records the type
// of every event delivered.
type hookReceiver struct {
	mu    sync.Mutex
	types []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Type string `json:"type"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = json.Unmarshal(b, &ev)
	h.mu.Lock()
	h.types = append(h.types, ev.Type)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// deliveries returns and forgets the event types delivered so far.
func (h *hookReceiver) deliveries() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.types
	h.types = nil
	return out
}

// fzWorld is everything one fuzz process serves requests with.
type fzWorld struct {
	handlers map[string]httpapi.Handler
	store    *gatewaytest.Store
	seeded   *gatewaytest.Store
	// routes and seededRoutes are the routes of store and seeded.
	routes       *routetest.Store
	seededRoutes *routetest.Store
	tg           *telegramtest.Server
	openai       *aitest.Server
	hook         *hookReceiver
	logs         *bytes.Buffer
	secrets      []string
	// links are getFile's links; every input starts with none.
	links *filelinktest.Store
	// jobs are message jobs; every input starts with none.
	jobs *sendtest.Store
}

// loopbackOnly returns an HTTP client that reaches the stand-ins' addresses
// and nothing else, whatever URL a fuzzed request names: no DNS, no other
// port, no network beyond loopback. A refused dial fails at once, so a
// fuzzed URL costs no timeout.
func loopbackOnly(roots *x509.CertPool, addrs ...string) (*provider.Client, *http.Transport) {
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !slices.Contains(addrs, addr) {
				return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("the fuzz harness reaches only its stand-ins")}
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}
	c := provider.NewClient(&http.Client{Transport: tr, Timeout: 5 * time.Second})
	c.MaxRetries = 0
	c.Timeout = 5 * time.Second
	return c, tr
}

func newFzWorld(tb testing.TB) *fzWorld {
	tb.Helper()
	w := &fzWorld{
		store: gatewaytest.NewStore(), seeded: gatewaytest.NewStore(), hook: &hookReceiver{}, logs: &bytes.Buffer{}, links: filelinktest.NewStore(),
		jobs:   sendtest.NewStore(),
		tg:     telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true}),
		openai: aitest.NewServer(aitest.OpenAI, aitest.Options{APIKey: fzAIKey}),
	}
	tgSrv, aiSrv, hookSrv := httptest.NewServer(w.tg), httptest.NewServer(w.openai), httptest.NewTLSServer(w.hook)
	tb.Cleanup(func() { tgSrv.Close(); aiSrv.Close(); hookSrv.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(hookSrv.Certificate())
	host := func(u string) string { p, _ := url.Parse(u); return p.Host }
	client, tr := loopbackOnly(roots, host(tgSrv.URL), host(aiSrv.URL), host(hookSrv.URL))
	tb.Cleanup(tr.CloseIdleConnections)

	// The real providers, as bootstrap.Registry builds them, but dialling
	// through the loopback-only client.
	reg := provider.NewRegistry()
	guard := ssrf.Guard{AllowPrivate: true}
	for _, p := range []provider.Provider{
		telegram.New(telegram.Options{BaseURL: tgSrv.URL, Client: client}),
		ai.New(ai.Options{Guard: guard, Client: client}),
		webhook.New(webhook.Options{Guard: guard, Client: client}),
	} {
		if err := reg.Register(p, false); err != nil {
			tb.Fatal(err)
		}
	}
	sealer := gatewaytest.NewSealer()
	svc := gateway.NewService(w.store, sealer)
	life := lifecycle.New(svc, reg, lifecycle.WithPublicURL("https://gatehouse.example.com"), lifecycle.WithAllowPrivateNetworks(true),
		lifecycle.WithFileLinks(filelink.NewMinter(w.links, "https://gatehouse.example.com", 0)))
	logger := slog.New(slog.NewJSONHandler(w.logs, nil))
	w.routes, w.seededRoutes = routetest.NewStore(w.store), routetest.NewStore(w.seeded)
	w.handlers = httpapi.New(life, httpapi.WithLogger(logger), httpapi.WithHealthSamples(memSamples{}),
		httpapi.WithUpdates(memUpdates{}), httpapi.WithUpdatePolling(time.Millisecond),
		httpapi.WithRoutes(route.NewService(svc, w.routes, memUpdates{})),
		httpapi.WithMessages(send.NewService(w.jobs, svc, sendtelegram.Check))).Handlers()
	w.handlers[download.FnFiles] = download.New(w.links, svc, tgSrv.URL, download.WithClient(client), download.WithLogger(logger)).Handle

	// The seeded world: alice's gateways of each type (one whose sealed
	// credentials do not open), one of her organisation's, one of bob's.
	seal := func(g *gateway.Gateway, c gateway.Credentials) {
		plain, _ := json.Marshal(c)
		g.SealedCredentials, _ = sealer.Seal(context.Background(), plain, gateway.Binding(g))
		g.CredentialInfo = reg.CredentialInfo(g.Type, c)
	}
	connectedAt := fzSeededAt.Add(time.Hour)
	secretHash := sha256.Sum256([]byte(fzWebhookSecret))
	mk := func(id, user, org, name string, t gateway.Type, st gateway.Status, c gateway.Credentials) {
		g := &gateway.Gateway{ID: id, UserID: user, OrganizationID: org, Name: name, Type: t, Status: st,
			Config: json.RawMessage(`{}`), CreatedAt: fzSeededAt, UpdatedAt: fzSeededAt, Version: 1}
		seal(g, c)
		if st == gateway.StatusConnected {
			g.LastConnectedAt = &connectedAt
			if t == gateway.TypeTelegramBot {
				g.WebhookSecretHash = secretHash[:]
			}
		}
		ev := gateway.AuditEvent{ID: "ev" + id, GatewayID: id, Action: gateway.AuditCreated, Actor: gateway.Actor{UserID: user, OrganizationID: org}, At: fzSeededAt,
			Details: map[string]string{"type": string(t), "name": name}}
		if err := w.seeded.CreateGateway(context.Background(), g, ev, nil); err != nil {
			tb.Fatal(err)
		}
	}
	mk(fzAliceBot, "alice", "", "Alice bot", gateway.TypeTelegramBot, gateway.StatusConnected, gateway.Credentials{BotToken: fzTokenAlice})
	mk(fzAliceAI, "alice", "", "Alice GPT", gateway.TypeAI, gateway.StatusConnected,
		gateway.Credentials{Provider: "openai", APIKey: fzAIKey, BaseURL: aiSrv.URL + "/v1", Model: "gpt-4o-mini"})
	mk(fzAliceHook, "alice", "", "Alice hook", gateway.TypeWebhook, gateway.StatusConnected,
		gateway.Credentials{URL: hookSrv.URL + "/hook", SigningSecret: fzSigning})
	mk(fzAliceBroken, "alice", "", "Alice broken", gateway.TypeTelegramBot, gateway.StatusError, gateway.Credentials{BotToken: fzTokenBroken})
	broken, err := w.seeded.GetGateway(context.Background(), fzAliceBroken)
	if err != nil {
		tb.Fatal(err)
	}
	broken.SealedCredentials, _ = sealer.Seal(context.Background(), []byte(`{}`), map[string]string{"gatewayId": "elsewhere"})
	w.seeded.MustPut(tb, broken)
	mk(fzAcmeBot, "alice", "acme", "Acme bot", gateway.TypeTelegramBot, gateway.StatusDisconnected, gateway.Credentials{BotToken: fzTokenAcme})
	mk(fzBobBot, "bob", "", "Bob bot", gateway.TypeTelegramBot, gateway.StatusConnected, gateway.Credentials{BotToken: fzTokenBob})
	w.seeded.PutIdempotency(gateway.Idempotency{
		Owner: gateway.Owner{UserID: "alice"}, Key: fzIdemKeyAlice, RequestHash: "0000", GatewayID: fzAliceBot, ExpiresAt: fzSeededAt.Add(24 * time.Hour)})
	w.secrets = []string{fzTokenAlice, fzTokenAcme, fzTokenBob, fzTokenBroken, fzAIKey, fzSigning, fzWebhookSecret}
	w.seedRoutes(tb)
	return w
}

// seedRoutes adds the seeded routes; alice's WEBHOOK route has delivery
// state, queued updates and dead letters.
func (w *fzWorld) seedRoutes(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	mk := func(id, bot, owner string, target route.Target, f route.Filters) *route.Route {
		r := &route.Route{ID: id, GatewayID: bot, Owner: owner, Target: target, Filters: f, Status: route.StatusActive,
			CreatedAt: fzSeededAt, UpdatedAt: fzSeededAt, Version: 1}
		w.seededRoutes.MustPut(tb, r)
		return r
	}
	hook := mk(fzAliceHookRoute, fzAliceBot, "USER#alice", route.Target{Type: route.TargetWebhook, GatewayID: fzAliceHook},
		route.Filters{UpdateTypes: []string{"message"}, ChatIDs: []int64{100, 300}, CommandPrefix: "/start"})
	mk(fzAliceBusRoute, fzAliceBot, "USER#alice", route.Target{Type: route.TargetEventBridge}, route.Filters{})
	mk(fzAcmeRoute, fzAcmeBot, "ORG#acme", route.Target{Type: route.TargetEventBridge}, route.Filters{ChatIDs: []int64{-100}})
	mk(fzBobRoute, fzBobBot, "USER#bob", route.Target{Type: route.TargetEventBridge}, route.Filters{})
	page, _ := memUpdates{}.ReadUpdates(ctx, fzAliceBot, inbox.UpdateQuery{After: -1, Limit: 5})
	var queued []route.Queued
	for _, u := range page.Updates {
		queued = append(queued, route.Queued{Update: u})
	}
	if err := w.seededRoutes.Enqueue(ctx, hook, queued); err != nil {
		tb.Fatal(err)
	}
	failed := fzSeededAt.Add(2 * time.Hour)
	for _, u := range page.Updates[2:] {
		if err := w.seededRoutes.DeadLetter(ctx, hook, u, failed, 12, "the target answered 500"); err != nil {
			tb.Fatal(err)
		}
	}
	hook, err := w.seededRoutes.GetRoute(ctx, fzAliceBot, fzAliceHookRoute)
	if err != nil {
		tb.Fatal(err)
	}
	delivered, lag := int64(2), int64(40)
	hook.LastDeliveredUpdateID, hook.LastDeliveredAt, hook.LastLagMs = &delivered, &failed, &lag
	hook.Status, hook.StatusReason = route.StatusError, "The target failed 5 deliveries in a row; they are being retried."
	hook.ConsecutiveFailures, hook.LastError, hook.LastErrorAt = 5, "the target answered 500", &failed
	w.seededRoutes.MustPut(tb, hook)
}

// snapshot is the whole world's stored content: gateways, trails,
// idempotency records, routes, queues and dead letters.
func (w *fzWorld) snapshot(tb testing.TB) []byte {
	tb.Helper()
	return append(append(w.store.Snapshot(tb), w.routes.Snapshot(tb)...), w.jobs.Snapshot(tb)...)
}

// reset returns the world to its seeded state.
func (w *fzWorld) reset() {
	w.store.Restore(w.seeded)
	w.routes.Restore(w.seededRoutes)
	w.tg.Reset()
	w.links.Reset()
	w.jobs.Reset()
	w.openai.Reset()
	w.hook.deliveries()
	w.logs.Reset()
}

// fzInput is one fuzzed request. action is the {action} path parameter,
// or the {routeId} one.
type fzInput struct {
	route                uint8
	body, headers, query string
	id, action           string
	b64                  bool
	sub, orgs            string
}

// event builds the API Gateway event of in. headers holds "Name: value"
// lines (names as sent: API Gateway lower-cases them, other callers may
// not); query is a raw query string, repeated names joined by commas as
// API Gateway does.
func (in fzInput) event() (events.APIGatewayV2HTTPRequest, string) {
	rt := fzRoutes[int(in.route)%len(fzRoutes)]
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.method + " " + rt.path, Body: in.body, IsBase64Encoded: in.b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "fuzz-req",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: rt.method, Path: rt.path, SourceIP: "203.0.113.7", UserAgent: "fuzz/1"},
		},
	}
	for _, line := range strings.Split(in.headers, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			if ev.Headers == nil {
				ev.Headers = map[string]string{}
			}
			ev.Headers[name] = strings.TrimLeft(value, " ")
		}
	}
	if in.query != "" {
		ev.RawQueryString = in.query
		q, _ := url.ParseQuery(in.query) // what parses, as API Gateway would pass it
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if strings.Contains(rt.path, "{linkId}") {
		ev.PathParameters = map[string]string{"linkId": in.id}
	}
	if rt.hasID {
		ev.PathParameters = map[string]string{"id": fzPickID(in.id)}
		if rt.hasAction {
			ev.PathParameters["action"] = in.action
		}
		if strings.Contains(rt.path, "{routeId}") {
			ev.PathParameters["routeId"] = fzPickRouteID(in.action)
		}
		if strings.Contains(rt.path, "{jobId}") {
			ev.PathParameters["jobId"] = in.action
		}
	}
	if in.sub != "" || in.orgs != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": in.sub, "orgs": in.orgs}},
		}
	}
	return ev, rt.fn
}

// changingCalls lists the calls of this input that change something at a
// provider: webhook registration, messages, chats, event deliveries. Free
// checks (getMe, getWebhookInfo, model lists, pings) are not changes.
func (w *fzWorld) changingCalls() []string {
	var out []string
	for _, c := range w.tg.Calls("") {
		switch strings.ToLower(c.Method) {
		case "setwebhook", "deletewebhook", "sendmessage", "editmessagetext", "deletemessage", "answercallbackquery",
			"sendchataction", "sendphoto", "senddocument", "sendmessagedraft":
			out = append(out, "telegram "+c.Method)
		}
	}
	for _, r := range w.openai.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, "ai "+r.Method+" "+r.Path)
		}
	}
	for _, typ := range w.hook.deliveries() {
		if typ != webhook.PingType {
			out = append(out, "webhook "+typ)
		}
	}
	return out
}

// secretsOf returns the secrets to look for: the seeded ones and the
// webhook secret this input made Telegram register, except any the input
// itself holds (a secret sent as a gateway's name is echoed as its name).
func (w *fzWorld) secretsOf(in fzInput) []string {
	all := slices.Clone(w.secrets)
	for _, c := range w.tg.Calls("setWebhook") {
		if s, ok := c.Params["secret_token"].(string); ok && s != "" {
			all = append(all, s)
		}
	}
	raw := strings.Join([]string{in.body, in.headers, in.query, in.id, in.action, in.sub, in.orgs}, "\x00")
	if b, err := base64.StdEncoding.DecodeString(in.body); err == nil {
		raw += "\x00" + string(b)
	}
	var out []string
	for _, s := range all {
		if !strings.Contains(raw, s) {
			out = append(out, s)
		}
	}
	return out
}

func (w *fzWorld) serve(t *testing.T, in fzInput) {
	w.reset()
	before := w.snapshot(t)
	ev, fn := in.event()
	resp, err := w.handlers[fn](context.Background(), ev)
	if err != nil {
		t.Fatalf("%s returned an error: %v", fn, err)
	}
	st := resp.StatusCode
	if st == http.StatusInternalServerError {
		t.Fatalf("%s answered 500 (logs: %s)", fn, w.logs)
	}

	problemType := ""
	if st < 200 || st > 299 {
		if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
			t.Fatalf("%s: %d with Content-Type %q", fn, st, ct)
		}
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
			t.Fatalf("%s: problem %q is not JSON: %v", fn, resp.Body, err)
		}
		problemType = p.Type
		if p.Status != st || !strings.HasPrefix(p.Type, edge.ProblemTypeBase) || p.Title == "" {
			t.Fatalf("%s: HTTP %d with problem %s", fn, st, resp.Body)
		}
		for _, f := range p.Errors {
			if f.Field == "" || len(f.Field) > 100 || strings.IndexFunc(f.Field, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 || f.Message == "" {
				t.Fatalf("%s: %d names field %q (%q): empty, long or unprintable", fn, st, f.Field, f.Message)
			}
		}
	} else if resp.Body != "" && !json.Valid([]byte(resp.Body)) {
		t.Fatalf("%s: %d body %q is not JSON", fn, st, resp.Body)
	}
	if st >= 500 {
		t.Fatalf("%s answered %d %s", fn, st, resp.Body)
	}

	provided := strings.HasPrefix(problemType, edge.ProblemTypeBase+"upstream_")
	changes := w.changingCalls()
	if st >= 400 && st < 500 && !provided {
		if after := w.snapshot(t); !bytes.Equal(after, before) {
			t.Fatalf("%s refused with %d but changed the store: %s", fn, st, resp.Body)
		}
		if len(changes) > 0 {
			t.Fatalf("%s refused with %d (%s) but made provider calls that change things: %v", fn, st, resp.Body, changes)
		}
	}

	secrets := w.secretsOf(in)
	after := string(w.snapshot(t))
	var hdrs strings.Builder
	for k, v := range resp.Headers {
		hdrs.WriteString(k + ": " + v + "\n")
	}
	for _, s := range secrets {
		switch {
		case strings.Contains(resp.Body, s):
			t.Fatalf("%s: a secret is in the answer: %s", fn, resp.Body)
		case strings.Contains(hdrs.String(), s):
			t.Fatalf("%s: a secret is in a header: %s", fn, hdrs.String())
		case strings.Contains(w.logs.String(), s):
			t.Fatalf("%s: a secret is in the logs: %s", fn, w.logs)
		case strings.Contains(after, s):
			t.Fatalf("%s: a secret is stored unsealed", fn)
		}
	}
}

const (
	fzJSON  = "content-type: application/json"
	fzAlice = "alice"
	fzOrgs  = "[acme beta]"
)

// fzSeeds are meaningful requests of every route: valid ones, and the
// near misses TestMalformedRequests sends to the real stack.
var fzSeeds = []fzInput{
	{route: fzList, query: "limit=2&type=TELEGRAM_BOT"},
	{route: fzList, query: "limit=0"},
	{route: fzList, query: "cursor=!!!not-a-cursor"},
	{route: fzList, query: "owner=bob&status=UP"},
	{route: fzList, headers: "X-Organization-Id: acme"},
	{route: fzList, headers: "x-organization-id: evil"},
	{route: fzCreate, headers: fzJSON, body: `{"name":"Bot","type":"TELEGRAM_BOT","credentials":{"botToken":"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}}`},
	{route: fzCreate, headers: fzJSON + "\nidempotency-key: " + fzIdemKeyAlice, body: `{"name":"GPT","type":"AI","credentials":{"provider":"openai","apiKey":"sk-user-supplied-000","baseUrl":"http://127.0.0.1:9/v1"}}`},
	{route: fzCreate, headers: fzJSON + "\nIdempotency-Key: ", body: `{"name":"Hook","type":"WEBHOOK","credentials":{"url":"https://hooks.example.com/in","signingSecret":"whsec-user-supplied-0123456789"}}`},
	{route: fzCreate, headers: "content-type: text/plain", body: `{}`},
	{route: fzCreate, headers: "content-type: application/json; charset=latin1", body: `{}`},
	{route: fzCreate, headers: fzJSON, body: "%%%", b64: true},
	{route: fzCreate, headers: fzJSON, body: `{"name":"a","type":"SMS","credentials":{},"owner":"bob","":1}`},
	{route: fzGet, id: "\x00"},
	{route: fzGet, id: "../../etc/passwd"},
	{route: fzGet, id: "\x05"},
	{route: fzUpdate, id: "\x00", headers: fzJSON + "\nif-match: \"1\"", body: `{"name":"Renamed","config":{"allowedUpdates":["message"]}}`},
	{route: fzUpdate, id: "\x00", headers: fzJSON + "\nIf-Match: \"7\"", body: `{"name":"x"}`},
	{route: fzUpdate, id: "\x01", headers: fzJSON, body: `{"credentials":{"provider":"openai","apiKey":"sk-user-supplied-000"}}`},
	{route: fzUpdate, id: "\x00", headers: fzJSON, body: `{"credentials":null,"type":"AI"}`},
	{route: fzStatus, id: "\x04", headers: fzJSON + "\nx-organization-id: acme", body: `{"status":"CONNECTED"}`},
	{route: fzStatus, id: "\x00", headers: fzJSON, body: `{"status":"DISCONNECTED"}`},
	{route: fzStatus, id: "\x00", headers: fzJSON + "\nif-match: W/\"9\"", body: `{"status":"DISCONNECTED"}`},
	{route: fzStatus, id: "\x00", headers: fzJSON, body: `{"status":"ERROR"}`},
	{route: fzDelete, id: "\x00", headers: "if-match: \"2\""},
	{route: fzDelete, id: "\x03"},
	{route: fzDelete, id: "\x05"},
	{route: fzAudit, id: "\x00", query: "limit=1"},
	{route: fzAudit, id: "\x00", query: "cursor=zzz&limit=-1"},
	{route: fzTest, id: "\x01"},
	{route: fzTest, id: "\x02"},
	{route: fzTest, id: "\x03"},
	{route: fzAction, id: "\x00", action: "sendMessage", headers: fzJSON, body: `{"chat_id":42,"text":"hi"}`},
	{route: fzAction, id: "\x00", action: "getWebhookInfo"},
	{route: fzAction, id: "\x00", action: "sendMessage", headers: fzJSON, body: `{"chat_id":42,"text":"pick","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"},{"text":"B","url":"https://example.com"}]]},"reply_parameters":{"message_id":1},"link_preview_options":{"is_disabled":true}}`},
	{route: fzAction, id: "\x00", action: "sendMessage", headers: fzJSON, body: `{"chat_id":"42x","text":"","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"` + strings.Repeat("x", 65) + `"}]]}}`},
	{route: fzAction, id: "\x00", action: "editMessageText", headers: fzJSON, body: `{"chat_id":42,"message_id":1,"text":"edited"}`},
	{route: fzAction, id: "\x00", action: "deleteMessage", headers: fzJSON, body: `{"chat_id":42,"message_id":1}`},
	{route: fzAction, id: "\x00", action: "answerCallbackQuery", headers: fzJSON, body: `{"callback_query_id":"q1","text":"ok"}`},
	{route: fzAction, id: "\x00", action: "sendChatAction", headers: fzJSON, body: `{"chat_id":42,"action":"typing"}`},
	{route: fzAction, id: "\x00", action: "sendPhoto", headers: fzJSON, body: `{"chat_id":42,"photo":"https://example.com/cat.jpg","caption":"cat"}`},
	{route: fzAction, id: "\x00", action: "sendDocument", headers: fzJSON, body: `{"chat_id":42,"document":"http://169.254.169.254/latest/meta-data"}`},
	{route: fzAction, id: "\x00", action: "sendMessageDraft", headers: fzJSON, body: `{"chat_id":42,"draft_id":1,"text":"Thinking"}`},
	{route: fzAction, id: "\x00", action: "getFile", headers: fzJSON, body: `{"file_id":"BQACAgIAAxkBAAIBfile"}`},
	{route: fzFiles, id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
	{route: fzFiles, id: "../../etc/passwd"},
	{route: fzSendMessages, id: "\x00", headers: fzJSON, body: `{"messages":[{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"Go","callback_data":"go"}]]}}]}`},
	{route: fzSendMessages, id: "\x00", headers: fzJSON + "\nidempotency-key: k1", body: `{"broadcast":{"chatIds":[1,2,"@news",2],"message":{"text":"**hi**","format":"markdown"}}}`},
	{route: fzSendMessages, id: "\x00", headers: fzJSON, body: `{"messages":[{"chat_id":true,"text":""},{"text":"x","format":"html"}]}`},
	{route: fzSendMessages, id: "\x00", headers: fzJSON, body: `{"messages":[],"broadcast":{}}`},
	{route: fzSendMessages, id: "\x00", headers: fzJSON, body: `{"broadcast":{"chatIds":[1],"message":{"chat_id":1,"text":"x"}}}`},
	{route: fzGetJob, id: "\x00", action: "job_aaaaaaaaaaaaaaaaaaaaaaaaaa", query: "limit=5"},
	{route: fzGetJob, id: "\x00", action: "../x", query: "cursor=%00"},
	{route: fzAction, id: "\x00", action: "sendMessage", headers: fzJSON, body: `{"text":5,"colour":"red"}`},
	{route: fzAction, id: "\x01", action: "chat", headers: fzJSON, body: `{"messages":[{"role":"user","content":"Say hi"}]}`},
	{route: fzAction, id: "\x01", action: "listModels"},
	{route: fzAction, id: "\x02", action: "send", headers: fzJSON, body: `{"type":"order.created","payload":{"id":1}}`},
	{route: fzAction, id: "\x04", action: "launchRockets", headers: fzJSON + "\nx-organization-id: acme", body: `{}`},
	{route: fzProviders},
	{route: fzHealth, id: "\x00", query: "limit=1"},
	{route: fzHealth, id: "\x05"},
	{route: fzUpdates, id: "\x00", query: "limit=2&chatId=300"},
	{route: fzCreateRoute, id: "\x00", headers: fzJSON,
		body: `{"target":{"type":"WEBHOOK","gatewayId":"` + fzAliceHook + `"},"filters":{"updateTypes":["message"],"chatIds":[100],"commandPrefix":"/start"}}`},
	{route: fzCreateRoute, id: "\x00", headers: fzJSON, body: fzEventBridge},
	{route: fzCreateRoute, id: "\x00", headers: fzJSON, body: `{"target":{"type":"WEBHOOK","gatewayId":"` + fzAliceAI + `"}}`},
	{route: fzCreateRoute, id: "\x04", headers: fzJSON + "\nx-organization-id: acme", body: `{"target":{"type":"WEBHOOK","gatewayId":"` + fzAliceHook + `"}}`},
	{route: fzCreateRoute, id: "\x05", headers: fzJSON, body: fzEventBridge},
	{route: fzCreateRoute, id: "\x02", headers: fzJSON, body: fzEventBridge},
	{route: fzCreateRoute, id: "\x00", headers: fzJSON,
		body: `{"target":{"type":"EVENTBRIDGE","gatewayId":"x"},"filters":{"chatIds":["7",0],"updateTypes":["Message"],"commandPrefix":""},"owner":"bob"}`},
	{route: fzListRoutes, id: "\x00"},
	{route: fzListRoutes, id: "\x04", headers: "x-organization-id: acme"},
	{route: fzListRoutes, id: "\x00", query: "cursor=x"},
	{route: fzGetRoute, id: "\x00", action: "\x00"},
	{route: fzGetRoute, id: "\x00", action: "\x02"},
	{route: fzGetRoute, id: "\x00", action: "rt_nope"},
	{route: fzPutRoute, id: "\x00", action: "\x00", headers: fzJSON + "\nif-match: \"1\"", body: `{"target":{"type":"EVENTBRIDGE"},"filters":{"chatIds":[5]}}`},
	{route: fzPutRoute, id: "\x00", action: "\x01", headers: fzJSON + "\nIf-Match: \"9\"", body: fzEventBridge},
	{route: fzPatchRoute, id: "\x00", action: "\x00", headers: fzJSON, body: `{"status":"ACTIVE"}`},
	{route: fzPatchRoute, id: "\x00", action: "\x01", headers: fzJSON, body: `{"status":"PAUSED"}`},
	{route: fzPatchRoute, id: "\x00", action: "\x01", headers: fzJSON, body: `{"status":"ERROR"}`},
	{route: fzDeleteRoute, id: "\x00", action: "\x00"},
	{route: fzDeleteRoute, id: "\x05", action: "\x03"},
	{route: fzDeadLetters, id: "\x00", action: "\x00", query: "limit=1"},
	{route: fzDeadLetters, id: "\x00", action: "\x00", query: "limit=2&cursor=3"},
	{route: fzDeadLetters, id: "\x00", action: "\x00", query: "limit=51&cursor=-1&offset=2"},
	{route: fzReplay, id: "\x00", action: "\x00", headers: fzJSON, body: `{"fromUpdateId":0}`},
	{route: fzReplay, id: "\x00", action: "\x01", headers: fzJSON, body: `{"from":"2025-01-02T03:04:05Z"}`},
	{route: fzReplay, id: "\x00", action: "\x00", headers: fzJSON, body: `{"deadLetters":true}`},
	{route: fzReplay, id: "\x00", action: "\x00", headers: fzJSON, body: `{}`},
	{route: fzReplay, id: "\x00", action: "\x00", headers: fzJSON, body: `{"fromUpdateId":"1","deadLetters":true}`},
}

const fzEventBridge = `{"target":{"type":"EVENTBRIDGE"}}`

// FuzzRoutes drives every API route with fuzzed requests against the real
// handlers, lifecycle, service, validation and providers, over an in-memory
// store and sealer (fast, so the fuzzer gets many executions; the DynamoDB
// path is covered by TestMalformedRequests) and stand-ins for Telegram, an
// OpenAI-compatible API and a webhook receiver, all on loopback. The world
// is reset before every input.
//
// Invariants, per input:
//   - the handler returns no error and no 500 (a panic becomes a 500);
//   - no 5xx at all: a provider refusing the caller's own parameters is
//     422 upstream_refused;
//   - every non-2xx answer is problem+json whose JSON parses, whose status
//     is the HTTP status and whose type is under edge.ProblemTypeBase;
//     every field it names is non-empty, printable and at most 100 bytes;
//   - every 2xx body is JSON;
//   - a 4xx (other than a provider's refusal, which is recorded) leaves the
//     store byte-identical and made no call that changes anything at a
//     provider (setWebhook, deleteWebhook, sendMessage, a chat, a delivery);
//   - no secret (bot tokens, API key, signing secret, webhook secrets) is in
//     any answer, header, log line or unsealed in the store.
func FuzzRoutes(f *testing.F) {
	for _, s := range fzSeeds {
		f.Add(s.route, s.body, s.headers, s.query, s.id, s.action, s.b64, fzAlice, fzOrgs)
	}
	f.Add(fzCreate, `{"name":"x"}`, fzJSON, "", "", "", false, "", "") // no identity
	f.Add(fzList, "", "", "", "", "", false, "bob", `["acme"]`)        // JSON array claim
	f.Add(fzGet, "", "X-Organization-Id: acme", "", "\x04", "", false, "mallory", "acme,beta")

	w := newFzWorld(f)
	f.Fuzz(func(t *testing.T, route uint8, body, headers, query, id, action string, b64 bool, sub, orgs string) {
		w.serve(t, fzInput{route: route, body: body, headers: headers, query: query, id: id, action: action, b64: b64, sub: sub, orgs: orgs})
	})
}

// TestFuzzRoutesHarness checks that the harness can fail: a store write on
// a refused request and a secret in an answer are both caught.
func TestFuzzRoutesHarness(t *testing.T) {
	w := newFzWorld(t)
	w.reset()
	before := w.snapshot(t)
	g, err := w.store.GetGateway(t.Context(), fzAliceBot)
	if err != nil {
		t.Fatal(err)
	}
	g.Name = "changed"
	w.store.MustPut(t, g)
	if bytes.Equal(before, w.snapshot(t)) {
		t.Error("the snapshot does not see a changed name")
	}
	w.reset()
	r, err := w.routes.GetRoute(t.Context(), fzAliceBot, fzAliceBusRoute)
	if err != nil {
		t.Fatal(err)
	}
	r.Filters.ChatIDs = []int64{7}
	w.routes.MustPut(t, r)
	if bytes.Equal(before, w.snapshot(t)) {
		t.Error("the snapshot does not see a changed route")
	}
	w.reset()
	if !bytes.Equal(before, w.snapshot(t)) {
		t.Error("reset does not restore the seeded routes")
	}
	in := fzInput{route: fzCreate, headers: fzJSON, body: `{"name":"` + fzAIKey + `"}`, sub: fzAlice}
	if s := w.secretsOf(in); slices.Contains(s, fzAIKey) {
		t.Error("a secret the input holds is still looked for")
	}
	if got := fzPickID("\x07"); got != fzSeededIDs[1] {
		t.Errorf("fzPickID = %q, want %q", got, fzSeededIDs[1])
	}
	ev, fn := fzInput{route: fzDeadLetters, id: "\x00", action: "\x05"}.event()
	if fn != httpapi.FnRoutes || ev.RouteKey != "GET /api/gateways/{id}/routes/{routeId}/dead-letters" ||
		ev.PathParameters["id"] != fzAliceBot || ev.PathParameters["routeId"] != fzAliceBusRoute {
		t.Errorf("route event = %s %s %v", fn, ev.RouteKey, ev.PathParameters)
	}
	for _, id := range fzSeededRoutes {
		if !route.ValidID(id) {
			t.Errorf("seeded route id %q is not valid", id)
		}
	}
	ev, fn = fzInput{route: fzList, query: "a=1&a=2&b", headers: "X-A: 1\nbad line\nx-b:2"}.event()
	if fn != httpapi.FnListGateways || ev.QueryStringParameters["a"] != "1,2" || ev.Headers["X-A"] != "1" || ev.Headers["x-b"] != "2" || len(ev.Headers) != 2 {
		t.Errorf("event = %s %+v %+v", fn, ev.QueryStringParameters, ev.Headers)
	}
}
