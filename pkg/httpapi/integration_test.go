package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtelegram"
)

// TestMain registers the secrets every test here uses and runs the tests
// under secretscan: every log line, response and recorded error of the
// package — harness loggers, slog.Default, the log package — is scanned
// for them (and for every KMS data key the harness's KMS client sees) after
// each harness test and once more at the end.
func TestMain(m *testing.M) {
	for name, value := range map[string]string{
		"botToken": botToken, "botToken (secret part)": botToken[10:],
		"botToken2": botToken2, "botToken2 (secret part)": botToken2[10:],
		"apiKey": apiKey, "signing": signing,
	} {
		secretscan.Register(name, value)
	}
	secretscan.Main(m, emutest.Stop)
}

const (
	botToken  = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
	botToken2 = "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDxyz9"
	apiKey    = "sk-proj-SECRETSECRETSECRET0000abcd"
	signing   = "whsec-0123456789-SIGNING-SECRET"
)

// harness is the real stack: handlers → service → DynamoDB Local and local-kms.
type harness struct {
	t        *testing.T
	tg       *telegramtest.Server
	openai   *aitest.Server
	aiURL    string
	life     *lifecycle.Service
	handlers map[string]httpapi.Handler
	svc      *gateway.Service
	store    *dynamo.Store
	ddb      *dynamodb.Client
	table    string
	keyID    string // the KMS key of the harness's credentials
	sealer   gateway.Sealer
	logs     *syncBuffer
	// log writes to logs and to secretscan; handlers a test builds itself
	// should use it.
	log *slog.Logger
	// tgURL is the Telegram stand-in's address; links the file links.
	tgURL string
	links *dynamo.FileLinks
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env := emutest.Start(t)
	ctx := context.Background()
	h := &harness{t: t, ddb: env.DynamoDBClient(), table: emutest.UniqueName("gw"), logs: &syncBuffer{}}
	if err := dynamo.EnsureTable(ctx, h.ddb, h.table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	// Every plaintext data key KMS hands out becomes a secret to look for.
	kmsClient := env.KMSClient(secretscan.KMSOption)
	keyID, err := envelope.EnsureKey(ctx, kmsClient, "alias/"+emutest.UniqueName("gatehouse"))
	if err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	h.keyID = keyID
	h.store = dynamo.New(h.ddb, h.table)
	h.sealer = envelope.New(kmsClient, keyID)
	h.svc = gateway.NewService(h.store, h.sealer)
	// Stand-ins for Telegram and an OpenAI-compatible provider, on loopback:
	// user-supplied URLs may reach private addresses here, as under make run.
	h.tg = telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	tgSrv := httptest.NewServer(h.tg)
	h.openai = aitest.NewServer(aitest.OpenAI, aitest.Options{APIKey: apiKey})
	aiSrv := httptest.NewServer(h.openai)
	t.Cleanup(func() { tgSrv.Close(); aiSrv.Close() })
	h.aiURL = aiSrv.URL + "/v1"
	cfg := bootstrap.Config{TelegramBaseURL: tgSrv.URL, AllowPrivateNetworks: true, PublicURL: "https://gatehouse.example.com"}
	h.tgURL = tgSrv.URL
	h.links = dynamo.NewFileLinks(h.ddb, h.table)
	h.life = lifecycle.New(h.svc, providers.Registry(cfg), lifecycle.WithPublicURL(cfg.PublicURL), lifecycle.WithAllowPrivateNetworks(true),
		lifecycle.WithFileLinks(filelink.NewMinter(h.links, cfg.PublicURL, 0)))
	h.log = slog.New(slog.NewJSONHandler(io.MultiWriter(h.logs, secretscan.Writer("httpapi harness")), &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.handlers = httpapi.New(h.life, httpapi.WithLogger(h.log), httpapi.WithRoutes(h.routeService()),
		httpapi.WithMessages(send.NewService(dynamo.NewSendJobs(h.ddb, h.table), h.svc, sendtelegram.Check))).Handlers()
	h.handlers[download.FnFiles] = download.New(h.links, h.svc, tgSrv.URL, download.WithLogger(h.log)).Handle
	t.Cleanup(func() { secretscan.Check(t) })
	return h
}

// routeService is the routes service over the harness's table, as
// storeroutes assembles it.
func (h *harness) routeService() *route.Service {
	return route.NewService(h.svc, dynamo.NewRoutes(h.ddb, h.table), dynamo.NewInbox(h.ddb, h.table))
}

// caller is who sends a request.
type caller struct {
	sub  string
	orgs []string
	org  string // X-Organization-Id
}

func user(sub string, orgs ...string) caller { return caller{sub: sub, orgs: orgs} }
func (c caller) in(org string) caller        { c.org = org; return c }

type req struct {
	fn      string
	method  string
	id      string
	query   map[string]string
	headers map[string]string
	body    string
	// path is the route's path template, for a function that serves
	// several (routes): it becomes the event's route key, as API Gateway
	// sets it. routeID is the {routeId} (or {jobId}) path parameter.
	path    string
	routeID string
}

type resp struct {
	status  int
	headers map[string]string
	body    []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (h *harness) do(c caller, r req) resp {
	h.t.Helper()
	return h.doWith(c, r, nil)
}

func (h *harness) doWith(c caller, r req, mutate func(*events.APIGatewayV2HTTPRequest)) resp {
	h.t.Helper()
	headers := map[string]string{}
	if r.body != "" {
		headers["content-type"] = "application/json"
	}
	if c.org != "" {
		headers["x-organization-id"] = c.org
	}
	for k, v := range r.headers {
		headers[strings.ToLower(k)] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", Headers: headers, QueryStringParameters: r.query, Body: r.body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: fmt.Sprintf("req-%d", reqSeq.add()),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.method, SourceIP: "203.0.113.7", UserAgent: "itest/1"},
		},
	}
	if r.id != "" {
		ev.PathParameters = map[string]string{"id": r.id}
	}
	if r.path != "" {
		ev.RouteKey = r.method + " " + r.path
		if strings.Contains(r.path, "{routeId}") {
			if ev.PathParameters == nil {
				ev.PathParameters = map[string]string{}
			}
			ev.PathParameters["routeId"] = r.routeID
		}
		if strings.Contains(r.path, "{jobId}") {
			ev.PathParameters["jobId"] = r.routeID
		}
	}
	if c.sub != "" {
		claims := map[string]string{"sub": c.sub}
		if len(c.orgs) > 0 {
			// As API Gateway passes an array claim: flattened, with the
			// token it verified (whose payload settles the list) in the
			// Authorization header.
			claims["orgs"] = "[" + strings.Join(c.orgs, " ") + "]"
			if _, ok := headers["authorization"]; !ok {
				payload, _ := json.Marshal(map[string]any{"sub": c.sub, "orgs": c.orgs})
				headers["authorization"] = "Bearer e30." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
			}
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	if mutate != nil {
		mutate(&ev)
	}
	handler := h.handlers[r.fn]
	if handler == nil {
		h.t.Fatalf("no handler %q", r.fn)
	}
	out, err := handler(context.Background(), ev)
	secretscan.Error(r.fn+" "+ev.RequestContext.RequestID, err)
	if err != nil {
		h.t.Fatalf("%s returned error %v", r.fn, err)
	}
	secretscan.Response(r.fn+" "+ev.RequestContext.RequestID, out.Body, out.Headers)
	if leaked := secretscan.Find(out.Body); len(leaked) > 0 {
		h.t.Fatalf("%s response contains secrets %v", r.fn, leaked)
	}
	h.checkContract(r, out)
	return resp{status: out.StatusCode, headers: out.Headers, body: []byte(out.Body)}
}

func (h *harness) create(c caller, body string) httpapi.GatewayJSON {
	h.t.Helper()
	r := h.do(c, req{fn: httpapi.FnCreateGateway, method: "POST", body: body})
	if r.status != http.StatusCreated {
		h.t.Fatalf("create: status %d: %s", r.status, r.body)
	}
	var g httpapi.GatewayJSON
	r.decode(h.t, &g)
	return g
}

func telegramBody(name string) string {
	return `{"name":"` + name + `","type":"TELEGRAM_BOT","credentials":{"botToken":"` + botToken + `"}}`
}

// aiBody names no baseUrl: the default (the real OpenAI) cannot be reached
// here, which makes the live validation inconclusive but not fatal.
func aiBody(name string) string {
	return `{"name":"` + name + `","type":"AI","credentials":{"provider":"openai","apiKey":"` + apiKey + `","model":"gpt-4o-mini"},"config":{"temperature":0.5}}`
}

func webhookBody(name string) string {
	return `{"name":"` + name + `","type":"WEBHOOK","credentials":{"url":"https://hooks.example.com/in","signingSecret":"` + signing + `"}}`
}

// scan returns every item of the table.
func (h *harness) scan() []map[string]types.AttributeValue {
	h.t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(h.ddb, &dynamodb.ScanInput{TableName: aws.String(h.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			h.t.Fatalf("scan: %v", err)
		}
		items = append(items, page.Items...)
	}
	return items
}

func problem(t *testing.T, r resp, status int) edge.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.headers["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p edge.Problem
	r.decode(t, &p)
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("problem %+v is incomplete", p)
	}
	return p
}

func TestCRUD(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")

	g := h.create(alice, telegramBody("  Support bot "))
	if g.Name != "Support bot" || g.Type != gateway.TypeTelegramBot || g.Status != gateway.StatusDisconnected || g.Version != 1 {
		t.Errorf("created %+v", g)
	}
	if g.OrganizationID != nil || g.UserID != "alice" {
		t.Errorf("owner = %v/%v", g.UserID, g.OrganizationID)
	}
	if g.CredentialInfo["botId"] != "123456789" || g.CredentialInfo["tokenLast4"] != "saw0" {
		t.Errorf("credentialInfo = %v", g.CredentialInfo)
	}

	r := h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: g.ID})
	if r.status != 200 || r.headers["ETag"] != `"1"` {
		t.Fatalf("get: %d %v %s", r.status, r.headers, r.body)
	}
	var raw map[string]any
	r.decode(t, &raw)
	for _, k := range []string{"id", "name", "type", "status", "config", "credentialInfo", "organizationId", "lastConnectedAt", "lastErrorAt", "lastError", "createdAt", "updatedAt", "version"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("response lacks %q", k)
		}
	}
	if _, ok := raw["credentials"]; ok {
		t.Errorf("response has credentials")
	}

	// Update name, config and credentials at once.
	r = h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, headers: map[string]string{"If-Match": `"1"`},
		body: `{"name":"Renamed","config":{"allowedUpdates":["message"]},"credentials":{"botToken":"` + botToken2 + `"}}`})
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	var u httpapi.GatewayJSON
	r.decode(t, &u)
	if u.Name != "Renamed" || u.Version != 2 || string(u.Config) != `{"allowedUpdates":["message"]}` || u.CredentialInfo["botId"] != "987654321" {
		t.Errorf("updated %+v", u)
	}
	if r.headers["ETag"] != `"2"` {
		t.Errorf("ETag = %q", r.headers["ETag"])
	}
	stored, err := h.svc.Get(context.Background(), gateway.Actor{UserID: "alice"}, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := h.svc.Credentials(context.Background(), stored)
	if err != nil || creds.BotToken != botToken2 {
		t.Errorf("credentials after update: %v (err %v)", creds.BotToken == botToken2, err)
	}

	r = h.do(alice, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.ID, body: `{"status":"CONNECTED"}`})
	if r.status != 200 {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	r.decode(t, &u)
	// Connecting went through CONNECTING: two audited writes.
	if u.Status != gateway.StatusConnected || u.LastConnectedAt == nil || u.Version != 4 {
		t.Errorf("after status: %+v", u)
	}

	// An update that changes nothing writes nothing.
	r = h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"name":"Renamed"}`})
	r.decode(t, &u)
	if r.status != 200 || u.Version != 4 {
		t.Errorf("no-op update: %d version %d", r.status, u.Version)
	}

	r = h.do(alice, req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID})
	var audit struct {
		Items      []httpapi.AuditEventJSON `json:"items"`
		NextCursor *string                  `json:"nextCursor"`
	}
	r.decode(t, &audit)
	var actions []string
	for _, e := range audit.Items {
		actions = append(actions, e.Action)
		if e.Actor.UserID != "alice" || e.Actor.SourceIP != "203.0.113.7" || e.Actor.UserAgent != "itest/1" || e.Actor.RequestID == "" {
			t.Errorf("audit actor %+v", e.Actor)
		}
	}
	want := []string{gateway.AuditStatusChanged, gateway.AuditStatusChanged, gateway.AuditUpdated, gateway.AuditCreated}
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("audit = %v, want %v", actions, want)
	}
	if len(audit.Items) == 4 {
		if got := audit.Items[2].Changes; fmt.Sprint(got) != "[name config credentials]" {
			t.Errorf("update changes = %v", got)
		}
		if got := audit.Items[1].Details["to"] + ">" + audit.Items[0].Details["to"]; got != "CONNECTING>CONNECTED" {
			t.Errorf("status transitions = %s", got)
		}
	}

	r = h.do(alice, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: g.ID})
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	problem(t, h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: g.ID}), 404)
	problem(t, h.do(alice, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: g.ID}), 404)
	// The trail outlives the gateway, for its owner only (issue 15, item 4).
	r = h.do(alice, req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"action":"gateway.deleted"`) {
		t.Errorf("the owner's audit after delete: %d %s", r.status, r.body)
	}
	problem(t, h.do(user("bob"), req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID}), 404)
}

func TestPaginationWithFilters(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	ctx := context.Background()
	type entry struct{ id, typ, status string }
	var all []entry
	// Each bot its own token: a bot is CONNECTED in one gateway at a time.
	ownBot := func(name string) string {
		token := fmt.Sprintf("%d:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD%s", 600000000+len(all), name[len(name)-2:]+"00")
		return `{"name":"` + name + `","type":"TELEGRAM_BOT","credentials":{"botToken":"` + token + `"}}`
	}
	bodies := []func(string) string{ownBot, aiBody, webhookBody}
	for i := 0; i < 45; i++ {
		g := h.create(alice, bodies[i%3](fmt.Sprintf("gw-%02d", i)))
		status := "DISCONNECTED"
		if i%4 == 0 {
			if _, err := h.svc.Modify(ctx, gateway.Actor{UserID: "alice"}, g.ID, nil, func(g *gateway.Gateway) (gateway.Change, error) {
				g.Status = gateway.StatusConnected
				return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			status = "CONNECTED"
		}
		all = append(all, entry{g.ID, string(g.Type), status})
	}
	// Another tenant's gateways never show up.
	for i := 0; i < 5; i++ {
		h.create(user("bob"), telegramBody("bob"))
		h.create(user("alice", "acme").in("acme"), aiBody("org"))
	}

	filters := []map[string]string{{}, {"type": "AI"}, {"status": "CONNECTED"}, {"type": "TELEGRAM_BOT", "status": "DISCONNECTED"}, {"type": "WEBHOOK"}}
	for _, f := range filters {
		for _, limit := range []int{1, 7, 20} {
			t.Run(fmt.Sprintf("%v/limit=%d", f, limit), func(t *testing.T) {
				var want []string
				for i := len(all) - 1; i >= 0; i-- { // newest first
					e := all[i]
					if (f["type"] == "" || f["type"] == e.typ) && (f["status"] == "" || f["status"] == e.status) {
						want = append(want, e.id)
					}
				}
				var got []string
				cursor, pages := "", 0
				for {
					q := map[string]string{"limit": fmt.Sprint(limit)}
					for k, v := range f {
						q[k] = v
					}
					if cursor != "" {
						q["cursor"] = cursor
					}
					r := h.do(alice, req{fn: httpapi.FnListGateways, method: "GET", query: q})
					if r.status != 200 {
						t.Fatalf("list: %d %s", r.status, r.body)
					}
					var page struct {
						Items      []httpapi.GatewayJSON `json:"items"`
						NextCursor *string               `json:"nextCursor"`
					}
					r.decode(t, &page)
					if len(page.Items) > limit {
						t.Fatalf("page of %d items, limit %d", len(page.Items), limit)
					}
					for _, g := range page.Items {
						got = append(got, g.ID)
					}
					pages++
					if page.NextCursor == nil {
						break
					}
					cursor = *page.NextCursor
					if pages > 100 {
						t.Fatal("too many pages")
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("got %d ids %v\nwant %d ids %v", len(got), got, len(want), want)
				}
				if limit < len(want) && pages < 3 && limit == 7 && len(want) > 14 {
					t.Errorf("only %d pages", pages)
				}
			})
		}
	}

	r := h.do(alice, req{fn: httpapi.FnListGateways, method: "GET"})
	var page struct {
		Items      []httpapi.GatewayJSON `json:"items"`
		NextCursor *string               `json:"nextCursor"`
	}
	r.decode(t, &page)
	if len(page.Items) != httpapi.DefaultLimit || page.NextCursor == nil {
		t.Fatalf("default page: %d items", len(page.Items))
	}
	// A cursor is bound to its tenant.
	p := problem(t, h.do(user("bob"), req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"cursor": *page.NextCursor}}), 400)
	if len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
		t.Errorf("foreign cursor: %+v", p)
	}
}

func TestTenantIsolation(t *testing.T) {
	h := newHarness(t)
	alice, bob, carol := user("alice", "acme"), user("bob", "acme", "beta"), user("carol", "beta")

	personal := h.create(alice, telegramBody("alice personal"))
	shared := h.create(alice.in("acme"), aiBody("acme shared"))
	if shared.OrganizationID == nil || *shared.OrganizationID != "acme" {
		t.Fatalf("org gateway: %+v", shared.OrganizationID)
	}

	list := func(c caller) []string {
		r := h.do(c, req{fn: httpapi.FnListGateways, method: "GET"})
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var page struct{ Items []httpapi.GatewayJSON }
		r.decode(t, &page)
		var ids []string
		for _, g := range page.Items {
			ids = append(ids, g.ID)
		}
		return ids
	}
	if got := list(alice); fmt.Sprint(got) != fmt.Sprint([]string{personal.ID}) {
		t.Errorf("alice personal list = %v", got)
	}
	if got := list(alice.in("acme")); fmt.Sprint(got) != fmt.Sprint([]string{shared.ID}) {
		t.Errorf("alice acme list = %v", got)
	}
	if got := list(bob.in("acme")); fmt.Sprint(got) != fmt.Sprint([]string{shared.ID}) {
		t.Errorf("bob acme list = %v (org members share)", got)
	}
	if got := list(bob); len(got) != 0 {
		t.Errorf("bob personal list = %v", got)
	}
	// A member of acme changes the shared gateway.
	r := h.do(bob.in("acme"), req{fn: httpapi.FnUpdateGateway, method: "PUT", id: shared.ID, body: `{"name":"bob was here"}`})
	if r.status != 200 {
		t.Errorf("bob update shared: %d %s", r.status, r.body)
	}
	// Non-members are refused outright.
	problem(t, h.do(carol.in("acme"), req{fn: httpapi.FnListGateways, method: "GET"}), 403)
	problem(t, h.do(user("dave").in("acme"), req{fn: httpapi.FnGetGateway, method: "GET", id: shared.ID}), 403)

	// Another tenant's gateway is 404 on every route, like a missing one.
	foreign := []struct {
		c  caller
		id string
	}{{bob, personal.ID}, {bob.in("beta"), shared.ID}, {carol, personal.ID}, {alice, shared.ID}, {bob.in("acme"), personal.ID}}
	for _, f := range foreign {
		for _, rq := range []req{
			{fn: httpapi.FnGetGateway, method: "GET"},
			{fn: httpapi.FnUpdateGateway, method: "PUT", body: `{"name":"x"}`},
			{fn: httpapi.FnUpdateStatus, method: "PATCH", body: `{"status":"CONNECTED"}`},
			{fn: httpapi.FnDeleteGateway, method: "DELETE"},
			{fn: httpapi.FnGatewayAudit, method: "GET"},
		} {
			rq.id = f.id
			missing := rq
			missing.id = gateway.NewID()
			a, b := h.do(f.c, rq), h.do(f.c, missing)
			problem(t, a, 404)
			var pa, pb edge.Problem
			a.decode(t, &pa)
			b.decode(t, &pb)
			pa.Instance, pb.Instance = "", ""
			if pa.Type != pb.Type || pa.Title != pb.Title || pa.Status != pb.Status || pa.Detail != pb.Detail || len(pa.Errors) != 0 {
				t.Errorf("%s on a foreign gateway %+v differs from a missing one %+v", rq.fn, pa, pb)
			}
		}
	}
	// Nothing changed: both still at their versions.
	for _, id := range []string{personal.ID} {
		r := h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: id})
		if r.status != 200 || r.headers["ETag"] != `"1"` {
			t.Errorf("personal gateway changed: %d %v", r.status, r.headers)
		}
	}
	problem(t, h.do(caller{}, req{fn: httpapi.FnListGateways, method: "GET"}), 401)
}

func TestIfMatchAndConcurrentUpdates(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	g := h.create(alice, aiBody("conc"))

	r := h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, headers: map[string]string{"If-Match": `"1"`}, body: `{"name":"first"}`})
	if r.status != 200 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	// The same stale ETag again: 412, nothing written.
	problem(t, h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, headers: map[string]string{"If-Match": `"1"`}, body: `{"name":"stale"}`}), 412)
	problem(t, h.do(alice, req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.ID, headers: map[string]string{"If-Match": `"1"`}, body: `{"status":"CONNECTED"}`}), 412)
	problem(t, h.do(alice, req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: g.ID, headers: map[string]string{"If-Match": `"1"`}}), 412)
	problem(t, h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, headers: map[string]string{"If-Match": `abc`}, body: `{"name":"x"}`}), 400)

	// Concurrent updates without If-Match: none is lost.
	const n = 8
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: fmt.Sprintf(`{"config":{"maxTokens":%d}}`, i+1)})
			if r.status != 200 {
				t.Errorf("concurrent update %d: %d %s", i, r.status, r.body)
			}
		}(i)
	}
	wg.Wait()
	r = h.do(alice, req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID, query: map[string]string{"limit": "100"}})
	var audit struct{ Items []httpapi.AuditEventJSON }
	r.decode(t, &audit)
	updates := 0
	for _, e := range audit.Items {
		if e.Action == gateway.AuditUpdated {
			updates++
		}
	}
	// Two writers may pick the same config value only if i repeats; here each differs,
	// so each of the n updates is a real change recorded once.
	if updates != n+1 {
		t.Errorf("audit has %d updates, want %d", updates, n+1)
	}
	r = h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: g.ID})
	var final httpapi.GatewayJSON
	r.decode(t, &final)
	if final.Version != int64(2+n) {
		t.Errorf("version = %d, want %d", final.Version, 2+n)
	}
}

func TestIdempotentCreate(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	key := map[string]string{"Idempotency-Key": "create-123"}
	first := h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", headers: key, body: aiBody("idem")})
	second := h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", headers: key, body: aiBody("idem")})
	if first.status != 201 || second.status != 201 {
		t.Fatalf("statuses %d %d: %s", first.status, second.status, second.body)
	}
	var a, b httpapi.GatewayJSON
	first.decode(t, &a)
	second.decode(t, &b)
	if a.ID != b.ID || second.headers["Idempotent-Replayed"] != "true" {
		t.Errorf("replay gave %s (first %s), headers %v", b.ID, a.ID, second.headers)
	}
	problem(t, h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", headers: key, body: aiBody("other")}), 422)
	// The same key in another tenant is another key.
	other := h.do(user("bob"), req{fn: httpapi.FnCreateGateway, method: "POST", headers: key, body: aiBody("idem")})
	if other.status != 201 || other.headers["Idempotent-Replayed"] != "" {
		t.Errorf("bob with alice's key: %d %v", other.status, other.headers)
	}

	// Concurrent retries with one key make one gateway.
	ck := map[string]string{"Idempotency-Key": "concurrent"}
	ids := make(chan string, 6)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do(alice, req{fn: httpapi.FnCreateGateway, method: "POST", headers: ck, body: telegramBody("race")})
			if r.status == 201 {
				var g httpapi.GatewayJSON
				r.decode(t, &g)
				ids <- g.ID
			} else if r.status != 409 {
				t.Errorf("concurrent create: %d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("concurrent creates made %d gateways", len(seen))
	}
	r := h.do(alice, req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"type": "TELEGRAM_BOT"}})
	var page struct{ Items []httpapi.GatewayJSON }
	r.decode(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("%d telegram gateways stored, want 1", len(page.Items))
	}
}

func TestCiphertextSwapDoesNotDecrypt(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	alice := gateway.Actor{UserID: "alice"}
	a := h.create(user("alice"), aiBody("a"))
	b := h.create(user("alice"), telegramBody("b"))
	key := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "GW#" + id}, "sk": &types.AttributeValueMemberS{Value: "GATEWAY"}}
	}
	itemA, err := h.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(h.table), Key: key(a.ID)})
	if err != nil {
		t.Fatal(err)
	}
	blob, ok := itemA.Item["credentials"]
	if !ok {
		t.Fatalf("item has no credentials attribute: %v", keys(itemA.Item))
	}
	if _, err := h.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(h.table), Key: key(b.ID),
		UpdateExpression:          aws.String("SET credentials = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": blob},
	}); err != nil {
		t.Fatal(err)
	}
	gb, err := h.svc.Get(ctx, alice, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.Credentials(ctx, gb)
	// The error wraps KMS's refusal: it must not quote the key or the plaintext.
	secretscan.Error("Credentials of a swapped ciphertext", err)
	if errors.Unwrap(err) != nil {
		secretscan.Error("Credentials of a swapped ciphertext (cause)", errors.Unwrap(err))
	}
	if got := gateway.ErrorCode(err); got != gateway.CodeCredentialsUnreadable {
		t.Fatalf("swapped ciphertext: code %q (%v), want %q", got, err, gateway.CodeCredentialsUnreadable)
	}
	if msg := gateway.ErrorMessage(err); strings.Contains(msg, "Invalid") || strings.Contains(msg, "kms") {
		t.Errorf("user message leaks internals: %q", msg)
	}
	ga, _ := h.svc.Get(ctx, alice, a.ID)
	if c, err := h.svc.Credentials(ctx, ga); err != nil || c.APIKey != apiKey {
		t.Errorf("original still opens: %v", err)
	}
}

func TestNoPlaintextInTable(t *testing.T) {
	h := newHarness(t)
	h.create(user("alice"), telegramBody("t"))
	h.create(user("alice"), aiBody("a"))
	h.create(user("alice", "acme").in("acme"), webhookBody("w"))
	items := h.scan()
	if len(items) < 6 {
		t.Fatalf("scan found %d items", len(items))
	}
	dump := fmt.Sprintf("%#v", items)
	for _, s := range []string{botToken, botToken[10:], apiKey, apiKey[8:], signing, "SIGNING-SECRET"} {
		if strings.Contains(dump, s) {
			t.Errorf("table scan contains secret fragment %q", s[:6]+"…")
		}
	}
	// And no raw byte attribute holds it either.
	for _, it := range items {
		for _, v := range it {
			if bv, ok := v.(*types.AttributeValueMemberB); ok {
				for _, s := range []string{botToken, apiKey, signing} {
					if strings.Contains(string(bv.Value), s) {
						t.Errorf("binary attribute holds a secret")
					}
				}
			}
		}
	}
}

// TestMalformedRequests sends requests that must all be refused with a 4xx
// problem+json and leave the table exactly as it was.
func TestMalformedRequests(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	g := h.create(alice, telegramBody("target"))
	before := len(h.scan())
	big := `{"name":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`
	tg := `"type":"TELEGRAM_BOT","credentials":{"botToken":"` + botToken + `"}`
	cases := []struct {
		name    string
		r       req
		c       *caller
		status  int
		fields  []string
		ctype   string // overrides content-type; "-" removes it
		b64body bool
	}{
		{name: "no body", r: req{fn: httpapi.FnCreateGateway, method: "POST"}, status: 415},
		{name: "empty json body", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: " "}, status: 400},
		{name: "text/plain", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("x")}, ctype: "text/plain", status: 415},
		{name: "form", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: "name=x"}, ctype: "application/x-www-form-urlencoded", status: 415},
		{name: "no content type", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("x")}, ctype: "-", status: 415},
		{name: "latin1 charset", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("x")}, ctype: "application/json; charset=latin1", status: 415},
		{name: "too large", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: big}, status: 413},
		{name: "malformed json", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":`}, status: 400},
		{name: "json array", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `[1,2]`}, status: 400},
		{name: "json string", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `"gateway"`}, status: 400},
		{name: "json null", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `null`}, status: 400},
		{name: "two objects", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a"}{"name":"b"}`}, status: 400},
		{name: "bad base64", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: "%%%"}, b64body: true, status: 400},
		{name: "empty object", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{}`}, status: 400, fields: []string{"name", "type", "credentials"}},
		{name: "unknown top field", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a",` + tg + `,"owner":"bob"}`}, status: 400, fields: []string{"owner"}},
		{name: "status in create", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a",` + tg + `,"status":"CONNECTED"}`}, status: 400, fields: []string{"status"}},
		{name: "bad type", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"SMS","credentials":{}}`}, status: 400, fields: []string{"type"}},
		{name: "lowercase type", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"telegram_bot","credentials":{"botToken":"x"}}`}, status: 400, fields: []string{"type"}},
		{name: "name too long", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"` + strings.Repeat("n", 101) + `",` + tg + `}`}, status: 400, fields: []string{"name"}},
		{name: "name whitespace", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":" \t ",` + tg + `}`}, status: 400, fields: []string{"name"}},
		{name: "name number", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":1,` + tg + `}`}, status: 400, fields: []string{"name"}},
		{name: "credentials string", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"TELEGRAM_BOT","credentials":"` + botToken + `"}`}, status: 400, fields: []string{"credentials"}},
		{name: "bot token shape", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"12:short"}}`}, status: 400, fields: []string{"credentials.botToken"}},
		{name: "telegram with api key", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"TELEGRAM_BOT","credentials":{"botToken":"` + botToken + `","apiKey":"x"}}`}, status: 400, fields: []string{"credentials.apiKey"}},
		{name: "ai no provider", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"AI","credentials":{"apiKey":"sk-1"}}`}, status: 400, fields: []string{"credentials.provider"}},
		{name: "ai unknown provider", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"AI","credentials":{"provider":"cohere","apiKey":"sk-1"}}`}, status: 400, fields: []string{"credentials.provider"}},
		{name: "ai missing key", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"AI","credentials":{"provider":"groq"}}`}, status: 400, fields: []string{"credentials.apiKey"}},
		{name: "ai base url not url", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk-1","baseUrl":"not a url"}}`}, status: 400, fields: []string{"credentials.baseUrl"}},
		{name: "ollama no base url", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"AI","credentials":{"provider":"ollama"}}`}, status: 400, fields: []string{"credentials.baseUrl"}},
		// (http is allowed here: these tests allow private networks, as make run does; see pkg/provider/webhook)
		{name: "webhook ftp url", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"WEBHOOK","credentials":{"url":"ftp://hooks.example.com"}}`}, status: 400, fields: []string{"credentials.url"}},
		{name: "webhook short secret", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"WEBHOOK","credentials":{"url":"https://hooks.example.com","signingSecret":"abc"}}`}, status: 400, fields: []string{"credentials.signingSecret"}},
		{name: "config array", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a",` + tg + `,"config":[]}`}, status: 400, fields: []string{"config"}},
		{name: "config too big", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a",` + tg + `,"config":{"k":"` + strings.Repeat("v", 17000) + `"}}`}, status: 400, fields: []string{"config"}},
		{name: "config unknown key", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a",` + tg + `,"config":{"colour":"red"}}`}, status: 400, fields: []string{"config.colour"}},
		{name: "config wrong type and range", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a",` + tg + `,"config":{"maxConnections":500,"allowedUpdates":["message","telepathy"]}}`}, status: 400, fields: []string{"config.allowedUpdates", "config.maxConnections"}},
		{name: "ai config out of range", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"AI","credentials":{"provider":"openai","apiKey":"sk-proj-0123456789abcdef"},"config":{"temperature":7}}`}, status: 400, fields: []string{"config.temperature"}},
		{name: "webhook takes no config", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"a","type":"WEBHOOK","credentials":{"url":"https://hooks.example.com"},"config":{"retries":3}}`}, status: 400, fields: []string{"config.retries"}},
		{name: "update config unknown key", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"config":{"writer":1}}`}, status: 400, fields: []string{"config.writer"}},
		{name: "several at once", r: req{fn: httpapi.FnCreateGateway, method: "POST", body: `{"name":"","type":"AI","credentials":{"provider":"x"},"config":1}`}, status: 400, fields: []string{"name", "credentials.provider", "credentials.apiKey", "config"}},
		{name: "bad idempotency key", r: req{fn: httpapi.FnCreateGateway, method: "POST", headers: map[string]string{"Idempotency-Key": ""}, body: telegramBody("x")}, status: 400, fields: []string{"Idempotency-Key"}},
		{name: "update unknown field", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"type":"AI"}`}, status: 400, fields: []string{"type"}},
		{name: "update empty", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{}`}, status: 400},
		{name: "update bad token", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"credentials":{"botToken":"nope"}}`}, status: 400, fields: []string{"credentials.botToken"}},
		{name: "update null credentials", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"credentials":null}`}, status: 400, fields: []string{"credentials"}},
		{name: "update bad if-match", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, headers: map[string]string{"If-Match": "W/x"}, body: `{"name":"x"}`}, status: 400, fields: []string{"If-Match"}},
		{name: "update stale if-match", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, headers: map[string]string{"If-Match": `"7"`}, body: `{"name":"x"}`}, status: 412},
		{name: "update text/plain", r: req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"name":"x"}`}, ctype: "text/plain", status: 415},
		{name: "status unknown", r: req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.ID, body: `{"status":"ONLINE"}`}, status: 400, fields: []string{"status"}},
		{name: "status error not settable", r: req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.ID, body: `{"status":"ERROR"}`}, status: 400, fields: []string{"status"}},
		{name: "status missing", r: req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.ID, body: `{"state":"CONNECTED"}`}, status: 400, fields: []string{"state", "status"}},
		{name: "status malformed", r: req{fn: httpapi.FnUpdateStatus, method: "PATCH", id: g.ID, body: `{`}, status: 400},
		{name: "get bad id", r: req{fn: httpapi.FnGetGateway, method: "GET", id: "../../etc/passwd"}, status: 404},
		{name: "get unknown id", r: req{fn: httpapi.FnGetGateway, method: "GET", id: gateway.NewID()}, status: 404},
		{name: "delete bad id", r: req{fn: httpapi.FnDeleteGateway, method: "DELETE", id: "GW#x"}, status: 404},
		{name: "list limit zero", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"limit": "0"}}, status: 400, fields: []string{"limit"}},
		{name: "list limit 101", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"limit": "101"}}, status: 400, fields: []string{"limit"}},
		{name: "list limit text", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"limit": "ten"}}, status: 400, fields: []string{"limit"}},
		{name: "list bad type and status", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"type": "SMS", "status": "UP"}}, status: 400, fields: []string{"type", "status"}},
		{name: "list unknown param", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"owner": "bob"}}, status: 400, fields: []string{"owner"}},
		{name: "list garbage cursor", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"cursor": "!!!not-a-cursor"}}, status: 400, fields: []string{"cursor"}},
		{name: "list forged cursor", r: req{fn: httpapi.FnListGateways, method: "GET", query: map[string]string{"cursor": "eyJvIjoiVVNFUiNib2IifQ"}}, status: 400, fields: []string{"cursor"}},
		{name: "audit bad limit", r: req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID, query: map[string]string{"limit": "-1"}}, status: 400, fields: []string{"limit"}},
		{name: "audit garbage cursor", r: req{fn: httpapi.FnGatewayAudit, method: "GET", id: g.ID, query: map[string]string{"cursor": "zzz"}}, status: 400, fields: []string{"cursor"}},
		{name: "org not a member", c: &caller{sub: "alice", org: "evil"}, r: req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("x")}, status: 403},
		{name: "no identity", c: &caller{}, r: req{fn: httpapi.FnCreateGateway, method: "POST", body: telegramBody("x")}, status: 401},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := alice
			if tc.c != nil {
				c = *tc.c
			}
			r := tc.r
			if r.headers == nil {
				r.headers = map[string]string{}
			}
			if tc.ctype != "" && tc.ctype != "-" {
				r.headers["content-type"] = tc.ctype
			}
			ev := r
			if tc.ctype == "-" {
				ev.headers["content-type"] = ""
			}
			var out resp
			if tc.b64body {
				out = h.doBase64(c, ev)
			} else {
				out = h.do(c, ev)
			}
			p := problem(t, out, tc.status)
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Field)
				if f.Message == "" {
					t.Errorf("field %q has no message", f.Field)
				}
			}
			sort.Strings(got)
			want := append([]string(nil), tc.fields...)
			sort.Strings(want)
			if tc.fields != nil && fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("fields = %v, want %v", got, want)
			}
		})
	}
	after := h.scan()
	if len(after) != before {
		t.Errorf("table had %d items, now %d: a refused request wrote something", before, len(after))
	}
	r := h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: g.ID})
	if r.headers["ETag"] != `"1"` {
		t.Errorf("target gateway changed: ETag %s", r.headers["ETag"])
	}
}

func (h *harness) doBase64(c caller, r req) resp {
	h.t.Helper()
	// Mark the body as base64 (as API Gateway does for binary media types).
	return h.doWith(c, r, func(ev *events.APIGatewayV2HTTPRequest) { ev.IsBase64Encoded = true })
}

func keys(m map[string]types.AttributeValue) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add() int { c.mu.Lock(); defer c.mu.Unlock(); c.n++; return c.n }

var reqSeq counter

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSecretScanSeesEverything proves the scan's wiring has teeth: secrets
// planted in the harness's log, in slog.Default and in the log package,
// and a KMS data key fresh from local-kms, are each found by name. Drain
// consumes the plants, so the package's scan stays clean.
func TestSecretScanSeesEverything(t *testing.T) {
	h := newHarness(t)
	before := secretscan.Default.Counts().Secrets
	h.create(user("alice"), aiBody("keys"))
	if after := secretscan.Default.Counts().Secrets; after <= before {
		t.Errorf("creating a gateway registered no KMS data key (%d secrets before, %d after)", before, after)
	}
	out, err := emutest.Start(t).KMSClient(secretscan.KMSOption).GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{
		KeyId: aws.String(h.keyID), KeySpec: kmstypes.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	h.log.Info("planted", "credential", apiKey)
	slog.Info("planted", "token", hex.EncodeToString([]byte(botToken)))
	log.Printf("planted %s", url.QueryEscape(signing))
	h.log.Debug("planted", "dataKey", base64.StdEncoding.EncodeToString(out.Plaintext))

	var got []string
	for _, l := range secretscan.Default.Drain() {
		got = append(got, l.Secret+" in "+l.Where)
		if secretscan.Find(l.String()) != nil {
			t.Errorf("the report of %s shows a secret", l.Secret)
		}
	}
	sort.Strings(got)
	want := []string{"KMS data key #", "apiKey in httpapi harness", "botToken (secret part) in slog.Default", "botToken in slog.Default", "signing in slog.Default"}
	if len(got) != len(want) || !strings.HasPrefix(got[0], want[0]) || fmt.Sprint(got[1:]) != fmt.Sprint(want[1:]) {
		t.Errorf("found %q, want %q", got, want)
	}
}
