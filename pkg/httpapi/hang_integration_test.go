package httpapi_test

// A DynamoDB or KMS endpoint that takes the connection and never answers,
// as one behind a black-holed network path or a wedged load balancer does.
// Stopping an emulator (TestStoreOutage, TestKMSOutage) refuses connections
// at once; a hang is the other way a dependency fails, and without bounds
// it holds the request until Lambda stops the function, whose bare 503
// carries none of our problem+json, Retry-After or log line.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// hangProxy stands between the SDK and an emulator. It passes requests on,
// or takes them and answers nothing until the client gives up.
type hangProxy struct {
	url string
	// hang is how many of the next requests to hang; -1 hangs them all.
	hang atomic.Int32
	// hung and passed count the requests hung and passed on.
	hung, passed atomic.Int32
}

func newHangProxy(t *testing.T, target string) *hangProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &hangProxy{}
	stop := make(chan struct{})
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for {
			n := p.hang.Load()
			if n == 0 {
				break
			}
			if n < 0 || p.hang.CompareAndSwap(n, n-1) {
				p.hung.Add(1)
				select {
				case <-r.Context().Done(): // the client gave up
				case <-stop:
				}
				return
			}
		}
		p.passed.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	p.url = srv.URL
	return p
}

// TestAWSHang: while KMS or DynamoDB hangs, every request that needs it
// answers 503 problem+json with Retry-After before its function's deadline,
// with the reserve to spare, and writes nothing; an attempt that hangs is
// abandoned after the attempt timeout and retried, so a single hung
// connection costs a request time, not its answer.
func TestAWSHang(t *testing.T) {
	env := emutest.Start(t)
	kmsP := newHangProxy(t, env.KMS.Endpoint)
	ddbP := newHangProxy(t, env.DynamoDB.Endpoint)
	const attempt = 300 * time.Millisecond
	s := newFaultStack(t, ddbP.url, kmsP.url, func(c *bootstrap.Config) {
		c.Timeouts = bootstrap.Timeouts{AWSAttempt: attempt}
	})
	// fnTimeout is the function's timeout: each request's context carries
	// it as Lambda's does. The answer must come DeadlineReserve before it.
	const fnTimeout = 3 * time.Second
	answerBy := fnTimeout - edge.DeadlineReserve + 250*time.Millisecond
	for i := 200; i < 204; i++ {
		secretscan.Register(fmt.Sprintf("hang bot token %d", i), faultToken(i))
	}
	send := func(r faultReq) faultResult {
		r.timeout = fnTimeout
		return s.send(r)
	}
	create := func(name string, i int) faultReq {
		return faultReq{op: "create " + name, fn: httpapi.FnCreateGateway, method: "POST",
			headers: map[string]string{"Idempotency-Key": "hang-" + name}, body: createBody(name, faultToken(i))}
	}
	must := func(r faultResult, want int) faultResult {
		t.Helper()
		if r.status != want {
			t.Fatalf("%s: status %d, want %d: %s", r.op, r.status, want, r.body)
		}
		return r
	}
	a := idOf(must(send(create("a", 200)), http.StatusCreated))
	must(send(faultReq{op: "connect a", fn: httpapi.FnUpdateStatus, method: "PATCH", id: a, body: `{"status":"CONNECTED"}`}), http.StatusOK)
	hook, ok := s.tg.Webhook(faultToken(200))
	if !ok || hook.SecretToken == "" {
		t.Fatal("connecting a registered no webhook")
	}
	etag := must(send(faultReq{op: "get a", fn: httpapi.FnGetGateway, method: "GET", id: a}), http.StatusOK).headers["ETag"]
	webhook := faultReq{op: "webhook", fn: telegramhook.FnTelegramWebhook, method: "POST", id: a,
		headers: map[string]string{"X-Telegram-Bot-Api-Secret-Token": hook.SecretToken},
		body:    `{"update_id":7001,"message":{"message_id":1,"date":1700000000,"chat":{"id":42,"type":"private"},"text":"hi"}}`}

	// refused sends each request while p hangs every call and checks that
	// it answered 503 in time, that the hung attempts were retried, and
	// that the table did not change.
	refused := func(what string, p *hangProxy, reqs ...faultReq) {
		t.Helper()
		before := s.scan()
		p.hang.Store(-1)
		for _, r := range reqs {
			hung := p.hung.Load()
			res := send(r)
			took := res.end.Sub(res.start)
			for _, bad := range checkUnavailable(res) {
				t.Errorf("%s while %s hangs: %s", r.op, what, bad)
			}
			if took > answerBy {
				t.Errorf("%s while %s hangs: answered after %v, want by %v (the function's %v less the reserve)", r.op, what, took, answerBy, fnTimeout)
			}
			if n := p.hung.Load() - hung; n < 2 {
				t.Errorf("%s while %s hangs: %d attempts hung, want the first abandoned after %v and retried", r.op, what, n, attempt)
			}
			t.Logf("%s while %s hangs: 503 after %v, %d attempts abandoned", r.op, what, took.Round(time.Millisecond), p.hung.Load()-hung)
		}
		p.hang.Store(0)
		if after := s.scan(); !sameTable(before, after) {
			t.Errorf("a request refused while %s hung changed the table:\nbefore %v\nafter  %v", what, tableKeys(before), tableKeys(after))
		}
	}
	// recovered sends r while p hangs its first call only: the SDK abandons
	// that attempt and the retry is answered.
	recovered := func(what string, p *hangProxy, r faultReq, want int) {
		t.Helper()
		hung := p.hung.Load()
		p.hang.Store(1)
		res := send(r)
		p.hang.Store(0)
		if res.status != want {
			t.Errorf("%s with one hung %s attempt: status %d, want %d: %s", r.op, what, res.status, want, res.body)
		}
		if p.hung.Load() != hung+1 {
			t.Errorf("%s with one hung %s attempt: %d attempts hung, want 1", r.op, what, p.hung.Load()-hung)
		}
		t.Logf("%s with one hung %s attempt: %d after %v", r.op, what, res.status, res.end.Sub(res.start).Round(time.Millisecond))
	}

	refused("KMS", kmsP,
		create("b", 201),
		faultReq{op: "replace credentials", fn: httpapi.FnUpdateGateway, method: "PUT", id: a, headers: map[string]string{"If-Match": etag},
			body: `{"credentials":{"botToken":"` + faultToken(202) + `"}}`},
	)
	recovered("KMS", kmsP, create("c", 203), http.StatusCreated)

	refused("DynamoDB", ddbP,
		faultReq{op: "get", fn: httpapi.FnGetGateway, method: "GET", id: a},
		faultReq{op: "list", fn: httpapi.FnListGateways, method: "GET"},
		faultReq{op: "rename", fn: httpapi.FnUpdateGateway, method: "PUT", id: a, headers: map[string]string{"If-Match": etag}, body: `{"name":"a2"}`},
		webhook,
	)
	recovered("DynamoDB", ddbP, faultReq{op: "get", fn: httpapi.FnGetGateway, method: "GET", id: a}, http.StatusOK)
	recovered("DynamoDB", ddbP, webhook, http.StatusOK)

	// With attempts allowed longer than the function, the SDK never gives
	// up on its own: the request's deadline, the function's less the
	// reserve, is what ends the wait.
	patient := newFaultStack(t, ddbP.url, kmsP.url, func(c *bootstrap.Config) {
		c.Timeouts = bootstrap.Timeouts{AWSAttempt: time.Minute}
	})
	kmsP.hang.Store(-1)
	r := faultReq{op: "create d", fn: httpapi.FnCreateGateway, method: "POST", headers: map[string]string{"Idempotency-Key": "hang-d"},
		body: createBody("d", faultToken(201)), timeout: fnTimeout}
	res := patient.send(r)
	kmsP.hang.Store(0)
	took := res.end.Sub(res.start)
	for _, bad := range checkUnavailable(res) {
		t.Errorf("create while KMS hangs, attempts unbounded: %s", bad)
	}
	if want := fnTimeout - edge.DeadlineReserve; took < want-100*time.Millisecond || took > answerBy {
		t.Errorf("create while KMS hangs, attempts unbounded: answered after %v, want about %v (the function's %v less the reserve)", took, want, fnTimeout)
	}
	t.Logf("create while KMS hangs, attempts unbounded: 503 after %v, at the request's deadline", took.Round(time.Millisecond))
}
