package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
)

// kind is a kind of request, a row of the report.
type kind int

const (
	kindList kind = iota
	kindGet
	kindUpdate
	kindWebhook
	kindReread    // the GET after an update's 412
	kindRedeliver // a webhook request re-sending an acknowledged update
	numKinds
)

var kindNames = [numKinds]string{"list", "get", "update", "webhook", "reread", "redeliver"}

func (k kind) String() string { return kindNames[k] }

// mix is the weights of the kinds a worker draws: list, get, update and
// webhook (re-deliveries are a share of webhook, rereads follow 412s).
type mix [kindWebhook + 1]int

// parseMix reads "list=35,get=25,update=15,webhook=25"; kinds left out
// weigh 0.
func parseMix(s string) (mix, error) {
	var m mix
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		k := slices.Index(kindNames[:len(m)], name)
		if !ok || err != nil || n < 0 || k < 0 {
			return m, fmt.Errorf("-mix: %q is not one of list=N, get=N, update=N, webhook=N", part)
		}
		m[k] = n
		total += n
	}
	if total == 0 {
		return m, errors.New("-mix: the weights add up to 0")
	}
	return m, nil
}

func (m mix) pick(r *rand.Rand) kind {
	total := 0
	for _, w := range m {
		total += w
	}
	n := r.IntN(total)
	for k, w := range m {
		if n < w {
			return kind(k)
		}
		n -= w
	}
	panic("unreachable")
}

func (m mix) String() string {
	total := 0
	for _, w := range m {
		total += w
	}
	var parts []string
	for k, w := range m {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", kind(k), float64(w)*100/float64(total)))
	}
	return strings.Join(parts, " ")
}

// inboxLog is what the workers sent to one gateway's webhook. update_ids
// 1..next were sent once each as new updates.
type inboxLog struct {
	mu      sync.Mutex
	next    int64
	acked   []int64          // answered 200 on first delivery
	unacked map[int64]string // not answered 200 on first delivery: why
	resent  int              // re-deliveries sent
}

// chatID is the chat of every update sent to g: distinct per gateway.
func (g *gw) chatID() int64 {
	n, _ := strconv.ParseInt(strings.SplitN(g.botToken, ":", 2)[0], 10, 64)
	return n
}

// updateBody is the update with id for g; a re-delivery sends the same
// bytes, and the inbox must have stored exactly these.
func updateBody(g *gw, id int64) []byte {
	chat := g.chatID()
	return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Soak"},`+
		`"chat":{"id":%d,"first_name":"Soak","type":"private"},"date":1735732800,"text":"soak update %d"}}`, id, id, chat, chat, id)
}

// stats are one kind's results.
type stats struct {
	latencies []time.Duration
	statuses  map[int]int
	transport int      // requests without an answer
	bad       int      // answers with a status this kind must not get
	samples   []string // the first few problems
}

const maxSamples = 3

func (s *stats) sample(format string, args ...any) {
	if len(s.samples) < maxSamples {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
}

func (s *stats) merge(o *stats) {
	s.latencies = append(s.latencies, o.latencies...)
	if s.statuses == nil {
		s.statuses = map[int]int{}
	}
	for code, n := range o.statuses {
		s.statuses[code] += n
	}
	s.transport += o.transport
	s.bad += o.bad
	for _, m := range o.samples {
		s.sample("%s", m)
	}
}

// recorder is one worker's results; they are merged at the end, so
// recording takes no lock.
type recorder struct {
	kinds   [numKinds]stats
	checks  int // answers with a right status but wrong content
	samples []string
	live    *live
}

// live are the counters the progress lines read while the soak runs.
type live struct {
	requests, problems atomic.Int64
}

// add records one request of kind k and reports whether its status is one
// of want.
func (r *recorder) add(k kind, path string, rp reply, err error, want ...int) bool {
	s := &r.kinds[k]
	r.live.requests.Add(1)
	if err != nil {
		s.transport++
		s.sample("%s: %v", path, err)
		r.live.problems.Add(1)
		return false
	}
	s.latencies = append(s.latencies, rp.took)
	if s.statuses == nil {
		s.statuses = map[int]int{}
	}
	s.statuses[rp.status]++
	if !slices.Contains(want, rp.status) {
		s.bad++
		s.sample("%s: %d %s", path, rp.status, snippet(rp.body))
		r.live.problems.Add(1)
		return false
	}
	return true
}

func (r *recorder) check(format string, args ...any) {
	r.checks++
	r.live.problems.Add(1)
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, fmt.Sprintf(format, args...))
	}
}

// loadResult is the merged outcome of the run.
type loadResult struct {
	elapsed      time.Duration
	loadBefore   string // the host's 1-minute load average
	loadAfter    string
	runnerCPU    time.Duration // used by the runner and its emulators during the traffic
	ownCPU       time.Duration // used by this process (mostly the load generator)
	cpuKnown     bool
	kinds        [numKinds]stats
	checks       int
	checkSamples []string
}

// worker sends one request at a time until the deadline.
type worker struct {
	c    *client
	f    *fleet
	byID map[string]*gw
	cfg  config
	rng  *rand.Rand
	rec  *recorder
}

// runLoad runs the workers for cfg.duration, or until ctx ends. Requests
// in flight at the end are completed and counted, never cancelled: a
// cancelled webhook request would be an update of unknown fate.
func runLoad(ctx context.Context, c *client, f *fleet, cfg config) loadResult {
	byID := map[string]*gw{}
	for _, g := range f.gateways {
		byID[g.id] = g
	}
	lv := &live{}
	workers := make([]*worker, cfg.workers)
	for i := range workers {
		workers[i] = &worker{c: c, f: f, byID: byID, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.seed, uint64(i))), rec: &recorder{live: lv}}
	}
	before := loadAverage()
	start := time.Now()
	deadline := start.Add(cfg.duration)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				w.one()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	var last int64
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			n := lv.requests.Load()
			progress("%3.0fs  %6.0f req/s over the last 10 s  %d problems so far", time.Since(start).Seconds(), float64(n-last)/10, lv.problems.Load())
			last = n
		}
	}
	res := loadResult{elapsed: time.Since(start), loadBefore: before, loadAfter: loadAverage()}
	for _, w := range workers {
		for k := range res.kinds {
			res.kinds[k].merge(&w.rec.kinds[k])
		}
		res.checks += w.rec.checks
		for _, m := range w.rec.samples {
			if len(res.checkSamples) < maxSamples {
				res.checkSamples = append(res.checkSamples, m)
			}
		}
	}
	for k := range res.kinds {
		slices.Sort(res.kinds[k].latencies)
	}
	return res
}

// one sends one request of a kind drawn from the mix.
func (w *worker) one() {
	switch w.cfg.mix.pick(w.rng) {
	case kindList:
		w.list()
	case kindGet:
		w.get(w.f.gateways[w.rng.IntN(len(w.f.gateways))], kindGet)
	case kindUpdate:
		w.update(w.f.gateways[w.rng.IntN(len(w.f.gateways))])
	case kindWebhook:
		w.webhook(w.f.webhooks[w.rng.IntN(len(w.f.webhooks))])
	}
}

// bg is the context of every load request: see runLoad.
var bg = context.Background()

type listItem struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Version int64  `json:"version"`
}

// list reads one user's gateways, all pages, in one of three ways, and
// checks the pages against what the user owns.
func (w *worker) list() {
	u := w.f.users[w.rng.IntN(len(w.f.users))]
	var query, variant string
	switch w.rng.IntN(4) {
	case 0, 1:
		variant = "plain"
	case 2:
		variant, query = "filtered", "type=TELEGRAM_BOT&status=CONNECTED"
	default:
		variant, query = "paged", "limit=2"
	}
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/api/gateways"
		q := query
		if cursor != "" {
			q = strings.TrimPrefix(q+"&cursor="+url.QueryEscape(cursor), "&")
		}
		if q != "" {
			path += "?" + q
		}
		rp, err := w.c.do(bg, call{method: http.MethodGet, path: path, user: u})
		if !w.rec.add(kindList, "GET /api/gateways?"+query, rp, err, http.StatusOK) {
			return
		}
		var body struct {
			Items      []listItem `json:"items"`
			NextCursor *string    `json:"nextCursor"`
		}
		if err := json.Unmarshal(rp.body, &body); err != nil {
			w.rec.check("list %s: %v", variant, err)
			return
		}
		for _, it := range body.Items {
			got = append(got, it.ID)
			if g := w.byID[it.ID]; g != nil {
				g.seen(it.Version)
			}
			if variant == "filtered" && (it.Type != "TELEGRAM_BOT" || it.Status != "CONNECTED") {
				w.rec.check("list %s: %s is %s %s", variant, it.ID, it.Type, it.Status)
			}
		}
		if body.NextCursor == nil {
			break
		}
		if page > 2*len(u.gateways) {
			w.rec.check("list %s: more than %d pages", variant, page)
			return
		}
		cursor = *body.NextCursor
	}
	var want []string
	for _, g := range u.gateways {
		if variant != "filtered" || g.webhook {
			want = append(want, g.id)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		w.rec.check("list %s for %s: got ids %v, want %v", variant, u.sub, got, want)
	}
}

// get reads g and notes its version.
func (w *worker) get(g *gw, k kind) {
	path := "/api/gateways/" + g.id
	rp, err := w.c.do(bg, call{method: http.MethodGet, path: path, user: g.user})
	if !w.rec.add(k, "GET /api/gateways/{id}", rp, err, http.StatusOK) {
		return
	}
	var body listItem
	v, ok := parseETag(rp.header.Get("ETag"))
	if err := json.Unmarshal(rp.body, &body); err != nil || body.ID != g.id || !ok || body.Version != v {
		w.rec.check("GET %s: id %q version %d, ETag %q", path, body.ID, body.Version, rp.header.Get("ETag"))
		return
	}
	g.seen(v)
}

// update renames g, with If-Match the newest version seen. A 412 means
// another worker renamed it first: re-read it, as a client would.
func (w *worker) update(g *gw) {
	g.mu.Lock()
	v := g.version
	g.nameSeq++
	name := fmt.Sprintf("soak %s #%d", g.id[len(g.id)-6:], g.nameSeq)
	g.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"name": name})
	rp, err := w.c.do(bg, call{method: http.MethodPut, path: "/api/gateways/" + g.id, user: g.user, ifMatch: strconv.Quote(strconv.FormatInt(v, 10)), body: body})
	if !w.rec.add(kindUpdate, "PUT /api/gateways/{id}", rp, err, http.StatusOK, http.StatusPreconditionFailed) {
		return
	}
	if rp.status == http.StatusPreconditionFailed {
		w.get(g, kindReread)
		return
	}
	nv, ok := parseETag(rp.header.Get("ETag"))
	var out struct {
		Name    string `json:"name"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal(rp.body, &out); err != nil || !ok || out.Name != name || out.Version != nv || nv != v+1 {
		w.rec.check("PUT %s (If-Match %d): name %q version %d ETag %q", g.id, v, out.Name, out.Version, rp.header.Get("ETag"))
		return
	}
	g.mu.Lock()
	if _, dup := g.renames[nv]; dup {
		g.reused = append(g.reused, nv)
	} else {
		g.renames[nv] = name
	}
	g.version = max(g.version, nv)
	g.mu.Unlock()
}

// webhook delivers a new update to g, or re-delivers an acknowledged one.
func (w *worker) webhook(g *gw) {
	k, id := kindWebhook, int64(0)
	g.in.mu.Lock()
	if w.rng.Float64() < w.cfg.redeliver && len(g.in.acked) > 0 {
		k, id = kindRedeliver, g.in.acked[w.rng.IntN(len(g.in.acked))]
		g.in.resent++
	} else {
		g.in.next++
		id = g.in.next
	}
	g.in.mu.Unlock()
	rp, err := w.c.do(bg, call{method: http.MethodPost, path: telegram.WebhookPath + g.id, secret: g.secret, body: updateBody(g, id)})
	ok := w.rec.add(k, "POST /api/webhooks/telegram/{id}", rp, err, http.StatusOK)
	if k == kindRedeliver {
		return
	}
	g.in.mu.Lock()
	defer g.in.mu.Unlock()
	switch {
	case ok:
		g.in.acked = append(g.in.acked, id)
	case err != nil:
		g.in.unacked[id] = err.Error()
	default:
		g.in.unacked[id] = strconv.Itoa(rp.status)
	}
}

// parseETag reads a version from an ETag: "3" or W/"3".
func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	return v, err == nil
}

// loadAverage is the host's 1-minute load average, or "?" off Linux: the
// figures mean little if other work shared the CPUs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
