package httpapi_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"pgregory.net/rapid"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/ai/aitest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// The tenancy property: whatever a random sequence of users, organisations
// and operations does, nobody sees, changes, tests, runs an action on or
// deletes a gateway outside their scope, and "not yours" cannot be told
// apart from "does not exist".
//
// Each rapid run gets a fresh harness (its own table and KMS key), four
// users with random memberships in three organisations, and stand-ins for
// Telegram, an OpenAI-compatible API and webhook endpoints. Every
// credential a run makes is unique and remembered with the scope that made
// it, so every call a stand-in receives can be traced to a tenant.
//
// After every step it checks:
//   - the answer: an in-scope request succeeds or fails for a reason that
//     request may have; one aimed at another tenant's gateway, a deleted
//     one, a malformed id or one that never existed is a 404 identical —
//     status, headers, body, once request id and gateway id are blanked —
//     to the same request aimed at a fresh id; a caller naming an
//     organisation they are not in gets 403 and nothing else;
//   - the table, read straight from DynamoDB: the only partition that
//     changed is the in-scope target's (or the gateway the step created, in
//     the caller's scope), audit events are only added, owners never move;
//   - the stand-ins: every call they received carries a credential of the
//     caller's scope, and a refused request caused none;
//   - listings: walked page by page (random filters and limits) they return
//     exactly the scope's gateways, and another scope's cursor is refused;
//   - routes: a bot's routes are reached only through the bot, in its
//     scope (another tenant's bot is the 404 of a missing one, whatever
//     the route id); a WEBHOOK target must be a live WEBHOOK gateway of
//     the scope (else 422); a route step changes only its bot's partition,
//     the route's back-reference in its target's, and its bot's due
//     markers; a bot lists exactly the routes the run made on it.

// tenancyChecks is the default number of rapid runs: the suite's time
// budget, not rapid's default of 100. -rapid.checks (or RAPID_CHECKS)
// overrides it; -rapid.steps sets the average steps per run (default 30).
const tenancyChecks = 25

var (
	tenancyUsers = []string{"ana", "ben", "cat", "dan"}
	tenancyOrgs  = []string{"acme", "beta", "core"}
	// strayOrg is an organisation nobody belongs to.
	strayOrg = "zeta"
)

func TestTenancyProperty(t *testing.T) {
	set := config.FromOS().String("RAPID_CHECKS", "") != ""
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		setFlags(t, map[string]string{"rapid.checks": fmt.Sprint(tenancyChecks)})
	}
	var total tenancyStats
	start := time.Now()
	rapid.Check(t, tenancyProperty(t, nil, &total))
	t.Logf("tenancy: %d runs, %d steps, %d requests (%d out of scope compared with a missing id, %d refused as non-members, %d list pages), %d gateways, %d routes, %d stand-in calls traced, in %v",
		total.runs, total.steps, total.requests, total.compared, total.forbidden, total.pages, total.gateways, total.routes, total.traced, time.Since(start).Round(time.Millisecond))
}

// tenancyProperty is the property, over handlers changed by plant when it
// is not nil; it adds what each run did to total.
func tenancyProperty(t *testing.T, plant func(*tenancy), total *tenancyStats) func(*rapid.T) {
	return func(rt *rapid.T) {
		m := newTenancy(t, rt)
		if plant != nil {
			plant(m)
		}
		defer func() { total.add(m.stats) }()
		rt.Repeat(map[string]func(*rapid.T){
			"create":             m.create,
			"create again":       m.create, // twice as likely: the others need gateways
			"get":                m.get,
			"list":               m.list,
			"update":             m.update,
			"status":             m.setStatus,
			"test":               m.test,
			"action":             m.action,
			"audit":              m.audit,
			"health":             m.health,
			"updates":            m.updates,
			"delete":             m.delete,
			"route create":       m.routeCreate,
			"route create again": m.routeCreate,
			"route read":         m.routeRead,
			"route change":       m.routeChange,
		})
	}
}

// setFlags sets rapid's flags for one test and restores them after it.
func setFlags(t *testing.T, values map[string]string) {
	t.Helper()
	for name, v := range values {
		prev := flag.Lookup(name).Value.String()
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set(name, prev) })
	}
}

type tenancyStats struct {
	runs, steps, requests, compared, forbidden, pages, gateways, routes, traced int
}

func (s *tenancyStats) add(o tenancyStats) {
	s.runs++
	s.steps += o.steps
	s.requests += o.requests
	s.compared += o.compared
	s.forbidden += o.forbidden
	s.pages += o.pages
	s.gateways += o.gateways
	s.routes += o.routes
	s.traced += o.traced
}

// identity is who sends a request: a user, their orgs claim, and the
// organisation they pick, which may be one they are not in.
type identity struct {
	user string
	orgs []string
	org  string
}

func (i identity) member() bool { return i.org == "" || slices.Contains(i.orgs, i.org) }

// scope is the owner key the identity acts for; "" when it is refused.
func (i identity) scope() string {
	switch {
	case !i.member():
		return ""
	case i.org != "":
		return "ORG#" + i.org
	}
	return "USER#" + i.user
}

func (i identity) caller() caller { return caller{sub: i.user, orgs: i.orgs, org: i.org} }

func (i identity) String() string {
	if i.org == "" {
		return i.user
	}
	return i.user + "@" + i.org
}

// modelGateway is what the model knows of a gateway: never its state,
// which the table holds.
type modelGateway struct {
	id, owner string
	typ       gateway.Type
	deleted   bool
}

// modelRoute is what the model knows of a route.
type modelRoute struct {
	id, bot string
	target  string // its WEBHOOK target; "" for EventBridge
	deleted bool
}

// snapshot is the table: partition → sort key → item.
type snapshot map[string]map[string]map[string]types.AttributeValue

// allowed is what a step may change in the table.
type allowed struct {
	scope   string // the caller's scope; "" means nothing may change
	target  string // the existing in-scope gateway the step may change
	created string // the gateway the step created
	idem    bool   // an idempotency record of scope may appear
	// calls says the stand-ins may be called, with credentials of scope.
	calls bool
	// route is the route of bot target the step may change: its items in
	// the bot's partition, its back-reference in a target's, and the
	// bot's due markers.
	route string
}

type tenancy struct {
	t     *testing.T
	h     *harness
	tg    *telegramtest.Server
	ai    *aitest.Server
	hooks *hookRecorder
	aiURL string
	hook  string
	life  *lifecycle.Service
	reg   *provider.Registry

	users    []identity // each user with their orgs claim
	gateways []*modelGateway
	routes   []*modelRoute
	// credOwner maps every credential the run made (bot token, API key,
	// webhook path) to the scope that made it; "" for a refused caller.
	credOwner map[string]string
	creds     int
	idem      map[string]idemRecord // scope + "|" + key
	cursors   map[string]string     // a next cursor each scope was given
	state     snapshot
	seq       int
	stats     tenancyStats
}

type idemRecord struct{ body, id string }

// hookRecorder is the webhook endpoints: it answers 200 and remembers the
// path of every request.
type hookRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.paths = append(h.paths, r.URL.Path)
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (h *hookRecorder) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.paths)
}

func newTenancy(t *testing.T, rt *rapid.T) *tenancy {
	h := newHarness(t)
	m := &tenancy{t: t, h: h, credOwner: map[string]string{}, idem: map[string]idemRecord{}, cursors: map[string]string{}}
	m.tg = telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true})
	tgSrv := httptest.NewServer(m.tg)
	m.ai = aitest.NewServer(aitest.OpenAI, aitest.Options{}) // any key: each gateway has its own
	aiSrv := httptest.NewServer(m.ai)
	m.hooks = &hookRecorder{}
	hookSrv := httptest.NewTLSServer(m.hooks)
	rt.Cleanup(func() { tgSrv.Close(); aiSrv.Close(); hookSrv.Close() })
	m.aiURL, m.hook = aiSrv.URL+"/v1", hookSrv.URL+"/hook/"

	// The production providers; only the webhook client is told to trust
	// the endpoints' test certificate (webhook URLs must be https). It
	// still dials through the SSRF guard.
	guard := ssrf.Guard{AllowPrivate: true}
	hc := guard.Client()
	hc.Transport.(*http.Transport).TLSClientConfig = hookSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	reg := provider.NewRegistry()
	for _, p := range []provider.Provider{
		telegram.New(telegram.Options{BaseURL: tgSrv.URL}),
		ai.New(ai.Options{Guard: guard}),
		webhook.New(webhook.Options{Guard: guard, Client: provider.NewClient(hc)}),
	} {
		if err := reg.Register(p, false); err != nil {
			rt.Fatal(err)
		}
	}
	m.reg = reg
	m.life = lifecycle.New(h.svc, reg, lifecycle.WithPublicURL("https://gatehouse.example.com"), lifecycle.WithAllowPrivateNetworks(true))
	h.handlers = httpapi.New(m.life, httpapi.WithLogger(h.log), httpapi.WithHealthSamples(dynamo.NewHealth(h.ddb, h.table)),
		httpapi.WithUpdates(dynamo.NewInbox(h.ddb, h.table)), httpapi.WithRoutes(h.routeService())).Handlers()

	for _, u := range tenancyUsers {
		id := identity{user: u}
		for _, o := range tenancyOrgs {
			if rapid.Bool().Draw(rt, "member "+u+"@"+o) {
				id.orgs = append(id.orgs, o)
			}
		}
		m.users = append(m.users, id)
	}
	m.state = m.snapshot()
	return m
}

// drawIdentity picks a user and the organisation they act in: none (their
// personal gateways), one they belong to, or one they do not.
func (m *tenancy) drawIdentity(rt *rapid.T) identity {
	id := rapid.SampledFrom(m.users).Draw(rt, "user")
	switch mode := rapid.IntRange(0, 9).Draw(rt, "org mode"); {
	case mode >= 4 && mode <= 8 && len(id.orgs) > 0:
		id.org = rapid.SampledFrom(id.orgs).Draw(rt, "org")
	case mode == 9:
		var others []string
		for _, o := range append(slices.Clone(tenancyOrgs), strayOrg) {
			if !slices.Contains(id.orgs, o) {
				others = append(others, o)
			}
		}
		id.org = rapid.SampledFrom(others).Draw(rt, "foreign org")
	}
	return id
}

// drawTarget picks the id a request names: a gateway of the run (any
// scope, deleted or not), one that never existed, or a malformed one.
func (m *tenancy) drawTarget(rt *rapid.T) (string, *modelGateway) {
	switch kind := rapid.IntRange(0, 9).Draw(rt, "target kind"); {
	case kind < 7 && len(m.gateways) > 0:
		g := rapid.SampledFrom(m.gateways).Draw(rt, "gateway")
		return g.id, g
	case kind < 9:
		return gateway.NewID(), nil
	default:
		return rapid.SampledFrom([]string{"gw_nope", "../../etc/passwd", "GW#x", "gw_" + strings.Repeat("a", 26), strings.Repeat("g", 300)}).Draw(rt, "malformed id"), nil
	}
}

// inScope reports whether g is a live gateway of the identity's scope.
func inScope(id identity, g *modelGateway) bool {
	return g != nil && !g.deleted && id.scope() != "" && g.owner == id.scope()
}

// newCredentials returns a create/update credentials object of type typ
// made by scope, and registers its secret with the scanner.
func (m *tenancy) newCredentials(typ gateway.Type, scope string) string {
	m.creds++
	n := m.creds
	var key, secret, body string
	switch typ {
	case gateway.TypeTelegramBot:
		secret = fmt.Sprintf("%d:AATenancySecret%020d", 700000000+n, n)
		key, body = secret, `{"botToken":"`+secret+`"}`
	case gateway.TypeAI:
		secret = fmt.Sprintf("sk-tenancy-%06d-0123456789abcdef", n)
		key = secret
		body = `{"provider":"openai","apiKey":"` + secret + `","baseUrl":"` + m.aiURL + `","model":"gpt-4o-mini"}`
	default:
		secret = fmt.Sprintf("tenancy-signing-secret-%06d", n)
		key = fmt.Sprintf("/hook/%d", n)
		body = `{"url":"` + m.hook + fmt.Sprint(n) + `","signingSecret":"` + secret + `"}`
	}
	secretscan.Register(fmt.Sprintf("tenancy %s credential #%d", typ, n), secret)
	m.credOwner[key] = scope
	return body
}

// call sends one request as id and returns the answer and its request id.
func (m *tenancy) call(id identity, r req, action string) (resp, string) {
	m.seq++
	m.stats.requests++
	reqID := fmt.Sprintf("tenancy-%d", m.seq)
	out := m.h.doWith(id.caller(), r, func(ev *events.APIGatewayV2HTTPRequest) {
		ev.RequestContext.RequestID = reqID
		if action != "" {
			ev.PathParameters["action"] = action
		}
	})
	return out, reqID
}

// shape is an answer with what legitimately differs between two requests
// — the request id and the gateway id named — blanked.
type shape struct {
	Status  int
	Headers map[string]string
	Body    any
}

func shapeOf(r resp, reqID, gatewayID string) shape {
	blank := func(s string) string {
		s = strings.ReplaceAll(s, reqID, "<request-id>")
		if gatewayID != "" {
			s = strings.ReplaceAll(s, gatewayID, "<gateway-id>")
		}
		return s
	}
	sh := shape{Status: r.status, Headers: map[string]string{}}
	for k, v := range r.headers {
		sh.Headers[k] = blank(v)
	}
	if len(r.body) > 0 {
		var v any
		if json.Unmarshal(r.body, &v) != nil {
			v = string(r.body)
		}
		sh.Body = blankJSON(v, blank)
	}
	return sh
}

func blankJSON(v any, blank func(string) string) any {
	switch x := v.(type) {
	case string:
		return blank(x)
	case map[string]any:
		for k, e := range x {
			x[k] = blankJSON(e, blank)
		}
	case []any:
		for i, e := range x {
			x[i] = blankJSON(e, blank)
		}
	}
	return v
}

// request runs one step's request aimed at target and checks its answer
// against scope: it returns the answer and whether the target was in scope
// (the caller must then judge the answer itself). Out of scope, the same
// request aimed at a fresh id must be answered identically, with 404.
func (m *tenancy) request(rt *rapid.T, op string, id identity, target string, g *modelGateway, r req, action string) (resp, bool) {
	r.id = target
	out, reqID := m.call(id, r, action)
	switch {
	case id.scope() == "":
		m.stats.forbidden++
		m.expectProblem(rt, op, id, out, http.StatusForbidden)
		return out, false
	case inScope(id, g):
		return out, true
	}
	fresh := gateway.NewID()
	r.id = fresh
	other, otherID := m.call(id, r, action)
	m.stats.compared++
	got, want := shapeOf(out, reqID, target), shapeOf(other, otherID, fresh)
	if !reflect.DeepEqual(got, want) {
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		rt.Fatalf("%s by %s of %s (%s) is distinguishable from a missing gateway:\n got  %s\n want %s", op, id, target, describe(g), a, b)
	}
	m.expectProblem(rt, op, id, out, http.StatusNotFound)
	return out, false
}

func describe(g *modelGateway) string {
	switch {
	case g == nil:
		return "no such gateway"
	case g.deleted:
		return "deleted, of " + g.owner
	}
	return "of " + g.owner
}

func (m *tenancy) expectProblem(rt *rapid.T, op string, id identity, r resp, status int) {
	if r.status != status || r.headers["Content-Type"] != "application/problem+json" {
		rt.Fatalf("%s by %s: %d %s %s, want a %d problem", op, id, r.status, r.headers["Content-Type"], r.body, status)
	}
}

// expectStatus fails unless an in-scope answer has one of the statuses op
// may legitimately answer.
func expectStatus(rt *rapid.T, op string, id identity, r resp, ok ...int) {
	if !slices.Contains(ok, r.status) {
		rt.Fatalf("%s by %s on its own gateway: %d %s, want one of %v", op, id, r.status, r.body, ok)
	}
}

// expectGateway checks that a gateway in an answer is target and belongs
// to the identity's scope.
func expectGateway(rt *rapid.T, op string, id identity, target string, g httpapi.GatewayJSON) {
	org := ""
	if g.OrganizationID != nil {
		org = *g.OrganizationID
	}
	if (target != "" && g.ID != target) || org != id.org || (org == "" && g.UserID != id.user) {
		rt.Fatalf("%s by %s answered gateway %s of user %q org %q", op, id, g.ID, g.UserID, org)
	}
}

// step wraps one action: it records the stand-ins' calls and the table
// before, runs fn, and checks both afterwards against what fn says may
// have changed.
func (m *tenancy) step(rt *rapid.T, op string, id identity, fn func() allowed) {
	m.stats.steps++
	tgN, aiN, hookN := len(m.tg.Calls("")), len(m.ai.Requests()), len(m.hooks.all())
	before := m.state
	ok := fn()
	m.state = m.snapshot()
	m.checkTable(rt, op, id, before, m.state, ok)

	trace := func(kind, cred string) {
		m.stats.traced++
		owner, known := m.credOwner[cred]
		switch {
		case !ok.calls:
			rt.Fatalf("%s by %s, refused or out of scope, made a %s call with a credential of %q", op, id, kind, owner)
		case !known || owner != id.scope():
			rt.Fatalf("%s by %s made a %s call with a credential of %q (known %v); the caller's scope is %q", op, id, kind, owner, known, id.scope())
		}
	}
	for _, c := range m.tg.Calls("")[tgN:] {
		trace("Telegram "+c.Method, c.Token)
	}
	for _, r := range m.ai.Requests()[aiN:] {
		trace("AI "+r.Path, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	for _, p := range m.hooks.all()[hookN:] {
		trace("webhook", p)
	}
}

// snapshot reads the whole table.
func (m *tenancy) snapshot() snapshot {
	s := snapshot{}
	for _, it := range m.h.scan() {
		pk := it["pk"].(*types.AttributeValueMemberS).Value
		sk := it["sk"].(*types.AttributeValueMemberS).Value
		if s[pk] == nil {
			s[pk] = map[string]map[string]types.AttributeValue{}
		}
		s[pk][sk] = it
	}
	return s
}

func ownerOf(items map[string]map[string]types.AttributeValue) string {
	if g, ok := items["GATEWAY"]; ok {
		if o, ok := g[dynamo.AttrGSI1PK].(*types.AttributeValueMemberS); ok {
			return o.Value
		}
	}
	return ""
}

// checkTable fails unless every difference between before and after is
// one ok allows.
func (m *tenancy) checkTable(rt *rapid.T, op string, id identity, before, after snapshot, ok allowed) {
	pks := map[string]bool{}
	for pk := range before {
		pks[pk] = true
	}
	for pk := range after {
		pks[pk] = true
	}
	for pk := range pks {
		b, a := before[pk], after[pk]
		if reflect.DeepEqual(b, a) {
			continue
		}
		gwID, isGateway := strings.CutPrefix(pk, "GW#")
		routeIn := "ROUTEIN#" + ok.target + "#" + ok.route
		switch {
		case isGateway && ok.scope != "" && gwID == ok.target:
			if ownerOf(b) != ok.scope || (a["GATEWAY"] != nil && ownerOf(a) != ok.scope) {
				rt.Fatalf("%s by %s moved gateway %s from %q to %q", op, id, gwID, ownerOf(b), ownerOf(a))
			}
			for sk, item := range b {
				if sk != "GATEWAY" && !ofRoute(sk, ok.route) && !reflect.DeepEqual(item, a[sk]) {
					rt.Fatalf("%s by %s changed or removed audit item %s of gateway %s", op, id, sk, gwID)
				}
			}
		case isGateway && ok.scope != "" && ok.route != "" && onlyItem(b, a, routeIn) && (a[routeIn] == nil || ownerOf(a) == ok.scope):
			// The route's back-reference, added to an in-scope target's
			// partition or removed from its former target's.
		case strings.HasPrefix(pk, "DUE#") && ok.scope != "" && ok.route != "" && onlyPrefix(b, a, ok.target+"#"+ok.route+"#"):
		case isGateway && ok.scope != "" && gwID == ok.created:
			if b != nil || ownerOf(a) != ok.scope {
				rt.Fatalf("%s by %s created gateway %s owned by %q, want %q", op, id, gwID, ownerOf(a), ok.scope)
			}
		case strings.HasPrefix(pk, "BOT#") && ok.scope != "" && ok.target != "" && claimHolders(b, a, ok.target):
			// The bot claim of the gateway the step connected or
			// disconnected: taken for it, or let go by it, never another's.
		case strings.HasPrefix(pk, "IDEM#") && ok.idem && ok.scope != "" && strings.HasPrefix(pk, "IDEM#"+ok.scope+"#") && b == nil:
		default:
			owner := ownerOf(b)
			if owner == "" {
				owner = ownerOf(a)
			}
			rt.Fatalf("%s by %s (scope %q) changed partition %s (owner %q), which it may not touch", op, id, ok.scope, pk, owner)
		}
	}
}

// claimHolders reports whether a bot claim partition names no gateway but
// id before and after: a step may take or release its own gateway's
// claim, never touch another gateway's.
func claimHolders(before, after map[string]map[string]types.AttributeValue, id string) bool {
	for _, items := range []map[string]map[string]types.AttributeValue{before, after} {
		c, ok := items["CLAIM"]
		if !ok {
			continue
		}
		if g, ok := c["gatewayId"].(*types.AttributeValueMemberS); !ok || g.Value != id {
			return false
		}
	}
	return true
}

// ofRoute reports whether sk is an item of route routeID in its bot's
// partition: the route, its lanes, its queue, its dead letters.
func ofRoute(sk, routeID string) bool {
	if routeID == "" {
		return false
	}
	for _, p := range []string{"ROUTE#", "LANE#", "DLV#", "DEAD#"} {
		if strings.HasPrefix(sk, p+routeID) {
			return true
		}
	}
	return false
}

// onlyItem reports whether item sk is the only difference between b and a.
func onlyItem(b, a map[string]map[string]types.AttributeValue, sk string) bool {
	return onlyWhere(b, a, func(k string) bool { return k == sk })
}

// onlyPrefix reports whether items whose sort key starts with prefix are
// the only differences between b and a.
func onlyPrefix(b, a map[string]map[string]types.AttributeValue, prefix string) bool {
	return onlyWhere(b, a, func(k string) bool { return strings.HasPrefix(k, prefix) })
}

func onlyWhere(b, a map[string]map[string]types.AttributeValue, may func(string) bool) bool {
	for _, m := range []map[string]map[string]types.AttributeValue{b, a} {
		for k := range m {
			if !may(k) && !reflect.DeepEqual(b[k], a[k]) {
				return false
			}
		}
	}
	return true
}

// storedVersion is a gateway's version in the table, 0 when it has none.
func (m *tenancy) storedVersion(id string) int64 {
	item := m.state["GW#"+id]["GATEWAY"]
	if n, ok := item["version"].(*types.AttributeValueMemberN); ok {
		var v int64
		fmt.Sscan(n.Value, &v)
		return v
	}
	return 0
}

// drawIfMatch picks no If-Match, the target's version (even another
// tenant's: knowing it must not help), or a stale one.
func (m *tenancy) drawIfMatch(rt *rapid.T, target string) map[string]string {
	switch rapid.IntRange(0, 3).Draw(rt, "if-match") {
	case 1, 2:
		if v := m.storedVersion(target); v > 0 {
			return map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)}
		}
	case 3:
		return map[string]string{"If-Match": `"99"`}
	}
	return nil
}

func drawType(rt *rapid.T) gateway.Type {
	return rapid.SampledFrom([]gateway.Type{gateway.TypeTelegramBot, gateway.TypeAI, gateway.TypeWebhook}).Draw(rt, "type")
}

func (m *tenancy) create(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "create", id, func() allowed {
		typ := drawType(rt)
		body := fmt.Sprintf(`{"name":"gw-%d","type":"%s","credentials":%s}`, m.seq, typ, m.newCredentials(typ, id.scope()))
		var headers map[string]string
		key := ""
		if rapid.Bool().Draw(rt, "idempotent") {
			key = rapid.SampledFrom([]string{"k1", "k2"}).Draw(rt, "idempotency key")
			headers = map[string]string{"Idempotency-Key": key}
			if prev, ok := m.idem[id.scope()+"|"+key]; ok && rapid.Bool().Draw(rt, "retry") {
				body = prev.body
			}
		}
		out, _ := m.call(id, req{fn: httpapi.FnCreateGateway, method: "POST", body: body, headers: headers}, "")
		if id.scope() == "" {
			m.stats.forbidden++
			m.expectProblem(rt, "create", id, out, http.StatusForbidden)
			return allowed{}
		}
		prev, hadKey := m.idem[id.scope()+"|"+key]
		if out.status != http.StatusCreated {
			// A key reused with another body, or for a deleted gateway.
			if !hadKey || out.status != http.StatusUnprocessableEntity {
				rt.Fatalf("create by %s: %d %s", id, out.status, out.body)
			}
			return allowed{calls: true}
		}
		var g httpapi.GatewayJSON
		if err := json.Unmarshal(out.body, &g); err != nil {
			rt.Fatal(err)
		}
		expectGateway(rt, "create", id, "", g)
		if out.headers["Idempotent-Replayed"] == "true" {
			// Only the caller's own earlier request with this key can be
			// replayed, never another tenant's.
			if !hadKey || prev.id != g.ID || prev.body != body {
				rt.Fatalf("create by %s with key %q replayed %s; its own earlier request made %q", id, key, g.ID, prev.id)
			}
			return allowed{calls: true}
		}
		m.gateways = append(m.gateways, &modelGateway{id: g.ID, owner: id.scope(), typ: typ})
		m.stats.gateways++
		if key != "" {
			m.idem[id.scope()+"|"+key] = idemRecord{body: body, id: g.ID}
		}
		return allowed{scope: id.scope(), created: g.ID, idem: key != "", calls: true}
	})
}

func (m *tenancy) get(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "get", id, func() allowed {
		target, g := m.drawTarget(rt)
		out, mine := m.request(rt, "get", id, target, g, req{fn: httpapi.FnGetGateway, method: "GET"}, "")
		if mine {
			expectStatus(rt, "get", id, out, http.StatusOK)
			var j httpapi.GatewayJSON
			out.decode(m.t, &j)
			expectGateway(rt, "get", id, target, j)
		}
		return allowed{}
	})
}

func (m *tenancy) update(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "update", id, func() allowed {
		target, g := m.drawTarget(rt)
		typ := drawType(rt)
		if g != nil {
			typ = g.typ
		}
		body := fmt.Sprintf(`{"name":"renamed-%d"}`, m.seq)
		if rapid.Bool().Draw(rt, "new credentials") {
			body = `{"credentials":` + m.newCredentials(typ, id.scope()) + `}`
		}
		r := req{fn: httpapi.FnUpdateGateway, method: "PUT", body: body, headers: m.drawIfMatch(rt, target)}
		out, mine := m.request(rt, "update", id, target, g, r, "")
		if !mine {
			return allowed{}
		}
		expectStatus(rt, "update", id, out, http.StatusOK, http.StatusPreconditionFailed)
		if out.status == http.StatusOK {
			var j httpapi.GatewayJSON
			out.decode(m.t, &j)
			expectGateway(rt, "update", id, target, j)
		}
		return allowed{scope: id.scope(), target: target, calls: true}
	})
}

func (m *tenancy) setStatus(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "status", id, func() allowed {
		target, g := m.drawTarget(rt)
		st := rapid.SampledFrom([]string{"CONNECTED", "DISCONNECTED"}).Draw(rt, "status")
		r := req{fn: httpapi.FnUpdateStatus, method: "PATCH", body: `{"status":"` + st + `"}`, headers: m.drawIfMatch(rt, target)}
		out, mine := m.request(rt, "status "+st, id, target, g, r, "")
		if !mine {
			return allowed{}
		}
		expectStatus(rt, "status "+st, id, out, http.StatusOK, http.StatusPreconditionFailed, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusBadGateway)
		return allowed{scope: id.scope(), target: target, calls: true}
	})
}

func (m *tenancy) test(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "test", id, func() allowed {
		target, g := m.drawTarget(rt)
		out, mine := m.request(rt, "test", id, target, g, req{fn: httpapi.FnTestGateway, method: "POST"}, "")
		if !mine {
			return allowed{}
		}
		expectStatus(rt, "test", id, out, http.StatusOK)
		var res httpapi.TestResultJSON
		out.decode(m.t, &res)
		expectGateway(rt, "test", id, target, res.Gateway)
		return allowed{scope: id.scope(), target: target, calls: true}
	})
}

// actionParams are valid parameters of each action, and an action no
// type has.
var actionParams = map[string]string{
	"getWebhookInfo": "",
	"sendMessage":    `{"chat_id":42,"text":"hi"}`,
	"listModels":     "",
	"chat":           `{"messages":[{"role":"user","content":"hi"}]}`,
	"send":           `{"payload":{"n":1}}`,
	"launchRockets":  `{}`,
}

func (m *tenancy) action(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "action", id, func() allowed {
		target, g := m.drawTarget(rt)
		names := make([]string, 0, len(actionParams))
		for k := range actionParams {
			names = append(names, k)
		}
		sort.Strings(names)
		name := rapid.SampledFrom(names).Draw(rt, "action")
		out, mine := m.request(rt, "action "+name, id, target, g, req{fn: httpapi.FnGatewayAction, method: "POST", body: actionParams[name]}, name)
		if !mine {
			return allowed{}
		}
		// 404 here is "Unknown action" for this type, 409 "not connected".
		expectStatus(rt, "action "+name, id, out, http.StatusOK, http.StatusNotFound, http.StatusConflict,
			http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusBadGateway)
		if out.status == http.StatusNotFound && !strings.Contains(string(out.body), "Unknown action") {
			rt.Fatalf("action %s by %s on its own gateway: %s", name, id, out.body)
		}
		return allowed{scope: id.scope(), target: target, calls: true}
	})
}

func (m *tenancy) audit(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "audit", id, func() allowed {
		target, g := m.drawTarget(rt)
		if g != nil && g.deleted && id.scope() != "" && g.owner == id.scope() {
			// A trail outlives its gateway and stays its former owner's
			// (gateway.AuditRetention); anyone else still gets 404.
			out, _ := m.call(id, req{fn: httpapi.FnGatewayAudit, method: "GET", id: target, query: map[string]string{"limit": "5"}}, "")
			expectStatus(rt, "audit", id, out, http.StatusOK)
			return allowed{}
		}
		out, mine := m.request(rt, "audit", id, target, g, req{fn: httpapi.FnGatewayAudit, method: "GET", query: map[string]string{"limit": "5"}}, "")
		if mine {
			expectStatus(rt, "audit", id, out, http.StatusOK)
		}
		return allowed{}
	})
}

func (m *tenancy) health(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "health", id, func() allowed {
		target, g := m.drawTarget(rt)
		out, mine := m.request(rt, "health", id, target, g, req{fn: httpapi.FnHealthHistory, method: "GET"}, "")
		if mine {
			expectStatus(rt, "health", id, out, http.StatusOK)
		}
		return allowed{}
	})
}

func (m *tenancy) updates(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "updates", id, func() allowed {
		target, g := m.drawTarget(rt)
		out, mine := m.request(rt, "updates", id, target, g, req{fn: httpapi.FnListUpdates, method: "GET"}, "")
		switch {
		case mine && g.typ == gateway.TypeTelegramBot:
			expectStatus(rt, "updates", id, out, http.StatusOK)
		case mine:
			expectStatus(rt, "updates", id, out, http.StatusConflict)
		}
		return allowed{}
	})
}

func (m *tenancy) delete(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "delete", id, func() allowed {
		target, g := m.drawTarget(rt)
		r := req{fn: httpapi.FnDeleteGateway, method: "DELETE", headers: m.drawIfMatch(rt, target)}
		out, mine := m.request(rt, "delete", id, target, g, r, "")
		if !mine {
			return allowed{}
		}
		expectStatus(rt, "delete", id, out, http.StatusNoContent, http.StatusPreconditionFailed)
		if out.status == http.StatusNoContent {
			g.deleted = true
		}
		return allowed{scope: id.scope(), target: target, calls: true}
	})
}

// gatewayOf returns the model's gateway id, nil when the run made none.
func (m *tenancy) gatewayOf(id string) *modelGateway {
	for _, g := range m.gateways {
		if g.id == id {
			return g
		}
	}
	return nil
}

// drawBot picks who sends a route step and the gateway it names: mostly a
// live bot of the run and one of the identities of its scope (or route
// steps would hardly ever reach a route), else what drawIdentity and
// drawTarget pick.
func (m *tenancy) drawBot(rt *rapid.T) (identity, string, *modelGateway) {
	var bots []*modelGateway
	for _, g := range m.gateways {
		if !g.deleted && g.typ == gateway.TypeTelegramBot {
			bots = append(bots, g)
		}
	}
	if len(bots) > 0 && rapid.IntRange(0, 9).Draw(rt, "a bot's own identity") < 6 {
		g := rapid.SampledFrom(bots).Draw(rt, "bot")
		var ids []identity
		for _, u := range m.users {
			if g.owner == "USER#"+u.user {
				ids = append(ids, u)
			}
			for _, o := range u.orgs {
				if g.owner == "ORG#"+o {
					id := u
					id.org = o
					ids = append(ids, id)
				}
			}
		}
		if len(ids) > 0 {
			return rapid.SampledFrom(ids).Draw(rt, "bot's identity"), g.id, g
		}
	}
	id := m.drawIdentity(rt)
	bot, g := m.drawTarget(rt)
	return id, bot, g
}

// drawHook picks a route target: EventBridge (""), a live WEBHOOK gateway
// of the identity's scope, a gateway of the run (any scope, type or
// state) or one that never existed.
func (m *tenancy) drawHook(rt *rapid.T, id identity) (string, string) {
	var own []*modelGateway
	for _, g := range m.gateways {
		if m.validHook(id, g.id) {
			own = append(own, g)
		}
	}
	switch kind := rapid.IntRange(0, 9).Draw(rt, "route target kind"); {
	case kind < 3:
		return "", `{"target":{"type":"EVENTBRIDGE"}}`
	case kind < 6 && len(own) > 0:
		g := rapid.SampledFrom(own).Draw(rt, "own route target")
		return g.id, `{"target":` + webhookTarget(g.id) + `}`
	case kind < 9 && len(m.gateways) > 0:
		g := rapid.SampledFrom(m.gateways).Draw(rt, "route target")
		return g.id, `{"target":` + webhookTarget(g.id) + `}`
	default:
		id := gateway.NewID()
		return id, `{"target":` + webhookTarget(id) + `}`
	}
}

// validHook reports whether id may be a WEBHOOK target of the identity's
// routes: a live WEBHOOK gateway of its scope.
func (m *tenancy) validHook(id identity, hook string) bool {
	g := m.gatewayOf(hook)
	return inScope(id, g) && g.typ == gateway.TypeWebhook
}

// drawRoute picks the route id a request names: mostly one of bot's, else
// a route of the run (of any bot, deleted or not), one that never
// existed, or a malformed one.
func (m *tenancy) drawRoute(rt *rapid.T, bot string) (string, *modelRoute) {
	var own []*modelRoute
	for _, r := range m.routes {
		if r.bot == bot {
			own = append(own, r)
		}
	}
	switch kind := rapid.IntRange(0, 9).Draw(rt, "route kind"); {
	case kind < 5 && len(own) > 0:
		r := rapid.SampledFrom(own).Draw(rt, "bot's route")
		return r.id, r
	case kind < 7 && len(m.routes) > 0:
		r := rapid.SampledFrom(m.routes).Draw(rt, "route")
		return r.id, r
	case kind < 9:
		return route.NewID(), nil
	default:
		return rapid.SampledFrom([]string{"rt_nope", "../x", "ROUTE#x", strings.Repeat("r", 300)}).Draw(rt, "malformed route id"), nil
	}
}

// expectRouteProblem fails unless r is a problem of status, naming field
// when one is given.
func expectRouteProblem(rt *rapid.T, op string, id identity, r resp, status int, field string) {
	if r.status != status || r.headers["Content-Type"] != "application/problem+json" || (field != "" && !strings.Contains(string(r.body), `"field":"`+field+`"`)) {
		rt.Fatalf("%s by %s: %d %s, want a %d problem naming %q", op, id, r.status, r.body, status, field)
	}
}

func (m *tenancy) routeCreate(rt *rapid.T) {
	id, bot, g := m.drawBot(rt)
	m.step(rt, "route create", id, func() allowed {
		hook, body := m.drawHook(rt, id)
		out, mine := m.request(rt, "route create", id, bot, g, routeReq(http.MethodPost, routesPath, "", "", body), "")
		switch {
		case !mine:
			return allowed{}
		case g.typ != gateway.TypeTelegramBot:
			expectRouteProblem(rt, "route create", id, out, http.StatusConflict, "")
			return allowed{}
		case hook != "" && !m.validHook(id, hook):
			expectRouteProblem(rt, "route create to "+describe(m.gatewayOf(hook)), id, out, http.StatusUnprocessableEntity, "target.gatewayId")
			return allowed{}
		}
		expectStatus(rt, "route create", id, out, http.StatusCreated, http.StatusConflict) // 409: ten routes already
		if out.status != http.StatusCreated {
			return allowed{}
		}
		var j httpapi.RouteJSON
		out.decode(m.t, &j)
		if j.GatewayID != bot || j.Target.GatewayID != hook {
			rt.Fatalf("route create by %s on %s to %q answered %+v", id, bot, hook, j)
		}
		m.routes = append(m.routes, &modelRoute{id: j.ID, bot: bot, target: hook})
		m.stats.routes++
		return allowed{scope: id.scope(), target: bot, route: j.ID}
	})
}

func (m *tenancy) routeRead(rt *rapid.T) {
	id, bot, g := m.drawBot(rt)
	m.step(rt, "route read", id, func() allowed {
		routeID, r := m.drawRoute(rt, bot)
		kind := rapid.SampledFrom([]string{"list", "get", "dead letters"}).Draw(rt, "route read")
		rq := routeReq(http.MethodGet, routePath, "", routeID, "")
		switch kind {
		case "list":
			rq = routeReq(http.MethodGet, routesPath, "", "", "")
		case "dead letters":
			rq = routeReq(http.MethodGet, deadLettersPath, "", routeID, "")
		}
		op := "route " + kind
		out, mine := m.request(rt, op, id, bot, g, rq, "")
		switch {
		case !mine:
		case g.typ != gateway.TypeTelegramBot:
			expectRouteProblem(rt, op, id, out, http.StatusConflict, "")
		case kind == "list":
			expectStatus(rt, op, id, out, http.StatusOK)
			var l routeList
			out.decode(m.t, &l)
			var got, want []string
			for _, j := range l.Items {
				if j.GatewayID != bot {
					rt.Fatalf("%s by %s of %s answered a route of %s", op, id, bot, j.GatewayID)
				}
				got = append(got, j.ID)
			}
			for _, r := range m.routes {
				if r.bot == bot && !r.deleted {
					want = append(want, r.id)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				rt.Fatalf("%s by %s of %s: %v, the run made %v", op, id, bot, got, want)
			}
		case r == nil || r.bot != bot || r.deleted:
			expectRouteProblem(rt, op, id, out, http.StatusNotFound, "")
		default:
			expectStatus(rt, op, id, out, http.StatusOK)
			if kind == "get" {
				var j httpapi.RouteJSON
				out.decode(m.t, &j)
				if j.ID != routeID || j.GatewayID != bot {
					rt.Fatalf("%s by %s of %s/%s answered %s/%s", op, id, bot, routeID, j.GatewayID, j.ID)
				}
			}
		}
		return allowed{}
	})
}

func (m *tenancy) routeChange(rt *rapid.T) {
	id, bot, g := m.drawBot(rt)
	m.step(rt, "route change", id, func() allowed {
		routeID, r := m.drawRoute(rt, bot)
		kind := rapid.SampledFrom([]string{"replace", "pause", "resume", "delete", "replay"}).Draw(rt, "route change")
		var rq req
		hook := ""
		switch kind {
		case "replace":
			var body string
			hook, body = m.drawHook(rt, id)
			rq = routeReq(http.MethodPut, routePath, "", routeID, body)
		case "pause", "resume":
			st := map[string]string{"pause": "PAUSED", "resume": "ACTIVE"}[kind]
			rq = routeReq(http.MethodPatch, routePath, "", routeID, `{"status":"`+st+`"}`)
		case "delete":
			rq = routeReq(http.MethodDelete, routePath, "", routeID, "")
		case "replay":
			rq = routeReq(http.MethodPost, replayPath, "", routeID, rapid.SampledFrom([]string{`{"fromUpdateId":0}`, `{"deadLetters":true}`}).Draw(rt, "replay"))
		}
		stale := (kind == "replace" || kind == "pause" || kind == "resume") && rapid.IntRange(0, 4).Draw(rt, "stale If-Match") == 0
		if stale {
			rq.headers = map[string]string{"If-Match": `"99"`}
		}
		op := "route " + kind
		out, mine := m.request(rt, op, id, bot, g, rq, "")
		switch {
		case !mine:
			return allowed{}
		case g.typ != gateway.TypeTelegramBot:
			expectRouteProblem(rt, op, id, out, http.StatusConflict, "")
			return allowed{}
		case r == nil || r.bot != bot || r.deleted:
			expectRouteProblem(rt, op, id, out, http.StatusNotFound, "")
			return allowed{}
		case stale:
			expectRouteProblem(rt, op, id, out, http.StatusPreconditionFailed, "")
			return allowed{}
		case kind == "replace" && hook != "" && !m.validHook(id, hook):
			expectRouteProblem(rt, op+" to "+describe(m.gatewayOf(hook)), id, out, http.StatusUnprocessableEntity, "target.gatewayId")
			return allowed{}
		case kind == "resume" && r.target != "" && !m.validHook(id, r.target):
			expectRouteProblem(rt, op+" towards "+describe(m.gatewayOf(r.target)), id, out, http.StatusUnprocessableEntity, "target.gatewayId")
			return allowed{}
		}
		switch kind {
		case "replace":
			expectStatus(rt, op, id, out, http.StatusOK)
			r.target = hook
		case "pause", "resume":
			expectStatus(rt, op, id, out, http.StatusOK)
		case "delete":
			expectStatus(rt, op, id, out, http.StatusNoContent)
			r.deleted = true
		case "replay":
			expectStatus(rt, op, id, out, http.StatusAccepted)
		}
		return allowed{scope: id.scope(), target: bot, route: routeID}
	})
}

// list walks every page of a random listing and compares it with the
// table; now and then it sends another scope's cursor instead.
func (m *tenancy) list(rt *rapid.T) {
	id := m.drawIdentity(rt)
	m.step(rt, "list", id, func() allowed {
		q := map[string]string{"limit": fmt.Sprint(rapid.IntRange(1, 4).Draw(rt, "limit"))}
		if rapid.Bool().Draw(rt, "type filter") {
			q["type"] = string(drawType(rt))
		}
		if rapid.Bool().Draw(rt, "status filter") {
			q["status"] = rapid.SampledFrom([]string{"CONNECTED", "DISCONNECTED", "ERROR", "CONNECTING"}).Draw(rt, "status filter value")
		}
		var foreign []string
		for scope, c := range m.cursors {
			if scope != id.scope() {
				foreign = append(foreign, c)
			}
		}
		sort.Strings(foreign)
		if len(foreign) > 0 && rapid.IntRange(0, 4).Draw(rt, "foreign cursor") == 0 {
			q["cursor"] = rapid.SampledFrom(foreign).Draw(rt, "cursor")
			out, _ := m.call(id, req{fn: httpapi.FnListGateways, method: "GET", query: q}, "")
			if id.scope() == "" {
				m.stats.forbidden++
				m.expectProblem(rt, "list", id, out, http.StatusForbidden)
				return allowed{}
			}
			m.expectProblem(rt, "list with another scope's cursor", id, out, http.StatusBadRequest)
			if !strings.Contains(string(out.body), `"field":"cursor"`) {
				rt.Fatalf("list by %s with another scope's cursor: %s", id, out.body)
			}
			return allowed{}
		}
		got := map[string]bool{}
		for pages := 0; ; pages++ {
			if pages > 100 {
				rt.Fatalf("list by %s: over 100 pages", id)
			}
			out, _ := m.call(id, req{fn: httpapi.FnListGateways, method: "GET", query: q}, "")
			m.stats.pages++
			if id.scope() == "" {
				m.stats.forbidden++
				m.expectProblem(rt, "list", id, out, http.StatusForbidden)
				return allowed{}
			}
			expectStatus(rt, "list", id, out, http.StatusOK)
			var page struct {
				Items      []httpapi.GatewayJSON `json:"items"`
				NextCursor *string               `json:"nextCursor"`
			}
			out.decode(m.t, &page)
			for _, g := range page.Items {
				expectGateway(rt, "list", id, "", g)
				if got[g.ID] {
					rt.Fatalf("list by %s returned %s twice", id, g.ID)
				}
				got[g.ID] = true
			}
			if page.NextCursor == nil {
				break
			}
			m.cursors[id.scope()] = *page.NextCursor
			q["cursor"] = *page.NextCursor
		}
		want := map[string]bool{}
		for pk, items := range m.state {
			gw, ok := items["GATEWAY"]
			if !strings.HasPrefix(pk, "GW#") || !ok || ownerOf(items) != id.scope() {
				continue
			}
			if t := q["type"]; t != "" && gw["type"].(*types.AttributeValueMemberS).Value != t {
				continue
			}
			if s := q["status"]; s != "" && gw["status"].(*types.AttributeValueMemberS).Value != s {
				continue
			}
			want[strings.TrimPrefix(pk, "GW#")] = true
		}
		for _, g := range m.gateways {
			if got[g.id] && (g.deleted || g.owner != id.scope()) {
				rt.Fatalf("list by %s returned %s (%s)", id, g.id, describe(g))
			}
		}
		if !reflect.DeepEqual(got, want) {
			rt.Fatalf("list by %s with %v returned %v, the table holds %v", id, q, keysOf(got), keysOf(want))
		}
		return allowed{}
	})
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// failRecorder is the rapid.TB of a property expected to fail: it keeps
// the failure instead of failing the test.
type failRecorder struct {
	name   string
	failed bool
	msgs   []string
}

func (f *failRecorder) Helper()                   {}
func (f *failRecorder) Name() string              { return f.name }
func (f *failRecorder) Logf(string, ...any)       {}
func (f *failRecorder) Log(...any)                {}
func (f *failRecorder) Skipf(string, ...any)      {}
func (f *failRecorder) Skip(...any)               {}
func (f *failRecorder) SkipNow()                  {}
func (f *failRecorder) Error(args ...any)         { f.fail(fmt.Sprint(args...)) }
func (f *failRecorder) Errorf(s string, a ...any) { f.fail(fmt.Sprintf(s, a...)) }
func (f *failRecorder) Fatal(args ...any)         { f.fail(fmt.Sprint(args...)) }
func (f *failRecorder) Fatalf(s string, a ...any) { f.fail(fmt.Sprintf(s, a...)) }
func (f *failRecorder) FailNow()                  { f.failed = true }
func (f *failRecorder) Fail()                     { f.failed = true }
func (f *failRecorder) Failed() bool              { return f.failed }
func (f *failRecorder) fail(msg string)           { f.failed, f.msgs = true, append(f.msgs, msg) }

// foreignGateway returns the stored gateway an answer of 404 hid, if the id
// names one: what a tenancy bug would reveal or touch.
func (m *tenancy) foreignGateway(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) *gateway.Gateway {
	if out.StatusCode != http.StatusNotFound || !gateway.ValidID(ev.PathParameters["id"]) {
		return nil
	}
	g, err := m.h.store.GetGateway(ctx, ev.PathParameters["id"])
	if err != nil {
		return nil
	}
	return g
}

func ownerActor(g *gateway.Gateway) gateway.Actor {
	return gateway.Actor{UserID: g.UserID, OrganizationID: g.OrganizationID}
}

// wrap replaces handler fn by bug(inner answer, event).
func (m *tenancy) wrap(fn string, bug func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse) {
	inner := m.h.handlers[fn]
	m.h.handlers[fn] = func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		out, err := inner(ctx, ev)
		return bug(ctx, out, ev), err
	}
}

// tenancyBugs are planted tenancy bugs, each with the words of the check
// that must catch it. Four answer exactly as a correct API would and are
// caught only by the table or the stand-ins.
var tenancyBugs = []struct {
	name, caughtBy string
	plant          func(*tenancy)
}{
	{"get shows another tenant's gateway", "distinguishable from a missing gateway", func(m *tenancy) {
		m.wrap(httpapi.FnGetGateway, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			if g := m.foreignGateway(ctx, out, ev); g != nil {
				body, _ := json.Marshal(httpapi.ToJSON(g))
				out.StatusCode, out.Body = http.StatusOK, string(body)
				out.Headers = map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "ETag": fmt.Sprintf(`"%d"`, g.Version)}
			}
			return out
		})
	}},
	{"a 404 that tells another tenant's gateway from a missing one by a header", "distinguishable from a missing gateway", func(m *tenancy) {
		m.wrap(httpapi.FnGatewayAudit, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			if m.foreignGateway(ctx, out, ev) != nil {
				out.Headers["Vary"] = "Authorization"
			}
			return out
		})
	}},
	{"test of another tenant's gateway records its result, answering 404", "which it may not touch", func(m *tenancy) {
		m.wrap(httpapi.FnTestGateway, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			if g := m.foreignGateway(ctx, out, ev); g != nil {
				_, _ = m.life.Test(ctx, ownerActor(g), g.ID)
			}
			return out
		})
	}},
	{"action on another tenant's gateway calls its provider, answering 404", "refused or out of scope, made a", func(m *tenancy) {
		m.wrap(httpapi.FnGatewayAction, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			if g := m.foreignGateway(ctx, out, ev); g != nil {
				if creds, err := m.h.svc.Credentials(ctx, g); err == nil {
					if p, err := m.reg.Get(g.Type); err == nil {
						p.CheckHealth(ctx, creds, g.Config)
					}
				}
			}
			return out
		})
	}},
	{"a route step on another tenant's bot tells it exists", "distinguishable from a missing gateway", func(m *tenancy) {
		m.wrap(httpapi.FnRoutes, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			if m.foreignGateway(ctx, out, ev) != nil {
				out.Body = strings.Replace(out.Body, "Gateway not found.", "Route not found.", 1)
			}
			return out
		})
	}},
	{"a route created on another tenant's bot, answering 404", "which it may not touch", func(m *tenancy) {
		m.wrap(httpapi.FnRoutes, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			// Any routes request on another tenant's bot plants it, so
			// 20 runs meet it (a POST alone came up too rarely).
			if g := m.foreignGateway(ctx, out, ev); g != nil && g.Type == gateway.TypeTelegramBot {
				_, _ = m.h.routeService().Create(ctx, ownerActor(g), g.ID, route.Spec{Target: route.Target{Type: route.TargetEventBridge}})
			}
			return out
		})
	}},
	{"list shows another scope's gateway", "list by", func(m *tenancy) {
		m.wrap(httpapi.FnListGateways, func(ctx context.Context, out events.APIGatewayV2HTTPResponse, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			if out.StatusCode != http.StatusOK || len(m.gateways) < 2 {
				return out
			}
			g, err := m.h.store.GetGateway(ctx, m.gateways[0].id)
			if err != nil {
				return out
			}
			var page map[string]any
			_ = json.Unmarshal([]byte(out.Body), &page)
			items, _ := page["items"].([]any)
			page["items"] = append(items, httpapi.ToJSON(g))
			body, _ := json.Marshal(page)
			out.Body = string(body)
			return out
		})
	}},
}

// TestTenancyPropertyCatchesPlantedBugs proves the property has teeth:
// with each planted bug it fails, and by the check meant to catch it.
func TestTenancyPropertyCatchesPlantedBugs(t *testing.T) {
	for _, bug := range tenancyBugs {
		t.Run(bug.name, func(t *testing.T) {
			setFlags(t, map[string]string{"rapid.checks": "20", "rapid.shrinktime": "1ms", "rapid.nofailfile": "true"})
			rec := &failRecorder{name: t.Name()}
			var total tenancyStats
			rapid.Check(rec, tenancyProperty(t, bug.plant, &total))
			if !rec.failed {
				t.Fatalf("the property passed %d runs (%d steps) with the bug planted", total.runs, total.steps)
			}
			if all := strings.Join(rec.msgs, "\n"); !strings.Contains(all, bug.caughtBy) {
				t.Errorf("caught, but not by the check that says %q:\n%s", bug.caughtBy, all)
			}
		})
	}
}
