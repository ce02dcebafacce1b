package telegramhook

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/api/apitest"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// TestStatusNeedsTheSecret: without the gateway's secret, GET answers an
// existing gateway exactly as one that never existed — status, headers and
// body, byte for byte — so the public route tells nobody which ids are
// gateways or whether their bots are connected. With the secret it answers
// the status.
func TestStatusNeedsTheSecret(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	disconnected := gateway.NewID()
	st.set(&inbox.Gateway{ID: disconnected, Type: gateway.TypeTelegramBot, Status: gateway.StatusDisconnected, WebhookSecretHash: hashOf(otherSecret)})
	h := newHandler(st)
	get := func(id, secretToken string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		resp, err := h.Handle(context.Background(), request(http.MethodGet, id, secretToken, ""))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	never := gateway.NewID()
	want := get(never, "")
	wantStatus(t, "GET of an id that never existed", want, 404)
	for _, tt := range []struct {
		name, id, secret string
	}{
		{name: "connected, no secret", id: gw1},
		{name: "connected, wrong secret", id: gw1, secret: otherSecret},
		{name: "connected, secret one character short", id: gw1, secret: secret[:len(secret)-1]},
		{name: "disconnected, no secret", id: disconnected},
		{name: "disconnected, another gateway's secret", id: disconnected, secret: secret},
		{name: "never existed, with a secret", id: never, secret: secret},
		{name: "never existed, another id", id: gateway.NewID(), secret: secret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := get(tt.id, tt.secret)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GET %s answered\n%d %v %s\nbut an id that never existed\n%d %v %s", tt.name,
					got.StatusCode, got.Headers, got.Body, want.StatusCode, want.Headers, want.Body)
			}
		})
	}

	for _, tt := range []struct {
		id, secret, status string
	}{
		{id: gw1, secret: secret, status: "CONNECTED"},
		{id: disconnected, secret: otherSecret, status: "DISCONNECTED"},
	} {
		resp := get(tt.id, tt.secret)
		wantStatus(t, "GET with the secret", resp, 200)
		if want := fmt.Sprintf(`{"id":%q,"type":"TELEGRAM_BOT","status":%q}`, tt.id, tt.status); resp.Body != want {
			t.Errorf("GET with the secret: %s, want %s", resp.Body, want)
		}
	}
}

// TestPostTellsNothingEither: POST without the right secret answers an
// existing gateway exactly as an id that never existed, one that is not a
// Telegram gateway and one that cannot be an id, so GET's silence is not
// undone by POST.
func TestPostTellsNothingEither(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	ai := gateway.NewID()
	st.set(&inbox.Gateway{ID: ai, Type: gateway.TypeAI, Status: gateway.StatusConnected, WebhookSecretHash: hashOf(secret)})
	h := newHandler(st)
	want := post(t, h, gateway.NewID(), secret, updateBody(1))
	wantStatus(t, "POST to an id that never existed", want, 401)
	for _, tt := range []struct {
		name, id, secret string
	}{
		{name: "existing, no secret", id: gw1},
		{name: "existing, wrong secret", id: gw1, secret: otherSecret},
		{name: "never existed, no secret", id: gateway.NewID()},
		{name: "an AI gateway, its secret", id: ai, secret: secret},
		{name: "not an id", id: "gw_../../etc", secret: secret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, h, tt.id, tt.secret, updateBody(1)); !reflect.DeepEqual(got, want) {
				t.Errorf("POST %s answered\n%d %v %s\nbut an id that never existed\n%d %v %s", tt.name,
					got.StatusCode, got.Headers, got.Body, want.StatusCode, want.Headers, want.Body)
			}
		})
	}
}

// TestJunkCostsBoundedReads floods the webhook with made-up ids (repeated
// and all different) and with wrong secrets for a real gateway, and counts
// the reads: at most MissBurst plus one per MissRefill for the ids, one per
// SecretRecheckInterval for the secrets, not one per request. Valid updates
// sent during the flood are stored, and GETs keep answering alike.
func TestJunkCostsBoundedReads(t *testing.T) {
	const junk = 3000
	st := newFakeStore()
	st.add(gw1, secret)
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now))
	wantStatus(t, "first update", post(t, h, gw1, secret, updateBody(1)), 200)
	start := clk.Now()
	readsBefore, _, _, _ := st.counts()

	repeated := make([]string, 50)
	for i := range repeated {
		repeated[i] = gateway.NewID()
	}
	statuses := map[string]map[int]int{"unknown id": {}, "repeated unknown id": {}, "wrong secret": {}}
	valid := 0
	for i := range junk {
		clk.Advance(10 * time.Millisecond) // 100 junk requests a second
		var what string
		var resp events.APIGatewayV2HTTPResponse
		switch i % 3 {
		case 0:
			what, resp = "unknown id", post(t, h, gateway.NewID(), secret, updateBody(2))
		case 1:
			what, resp = "repeated unknown id", post(t, h, repeated[i%len(repeated)], secret, updateBody(2))
		default:
			what, resp = "wrong secret", post(t, h, gw1, fmt.Sprintf("wrong-%d", i), updateBody(2))
		}
		statuses[what][resp.StatusCode]++
		if i%100 == 0 {
			valid++
			wantStatus(t, "a valid update during the flood", post(t, h, gw1, secret, updateBody(int64(100+i))), 200)
		}
	}
	elapsed := clk.Now().Sub(start)
	reads, _, _, _ := st.counts()
	reads -= readsBefore
	bound := MissBurst + int(elapsed/MissRefill) + 1 + // made-up ids
		int(elapsed/SecretRecheckInterval) + 1 + // wrong secrets
		int(elapsed/DefaultCacheTTL) + 1 // the cache's own refreshes
	t.Logf("%d junk requests over %s (simulated): %d gateway reads (%.4f a request; bound %d); answers %v; %d valid updates stored during the flood",
		junk, elapsed, reads, float64(reads)/junk, bound, statuses, valid)
	if reads > bound {
		t.Errorf("%d reads for %d junk requests over %s; want at most %d", reads, junk, elapsed, bound)
	}
	if n := len(st.stored(gw1)); n != valid+1 {
		t.Errorf("%d updates stored, want %d", n, valid+1)
	}
	for what, by := range statuses {
		for status := range by {
			if status != 401 && status != 503 {
				t.Errorf("%s answered %d", what, status)
			}
		}
	}
}

// TestRotationDuringAFlood: wrong secrets flooding a gateway neither make
// its right secret fail nor keep a secret rotated in refused for more than
// SecretRecheckInterval.
func TestRotationDuringAFlood(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now))
	wantStatus(t, "first update", post(t, h, gw1, secret, updateBody(1)), 200)
	for i := range 50 {
		clk.Advance(100 * time.Millisecond)
		wantStatus(t, "wrong secret", post(t, h, gw1, fmt.Sprintf("wrong-%d", i), updateBody(2)), 401)
		wantStatus(t, "right secret during the flood", post(t, h, gw1, secret, updateBody(int64(10+i))), 200)
	}
	st.add(gw1, otherSecret) // a reconnect rotates the secret
	rotated := clk.Now()
	id := int64(100)
	for {
		clk.Advance(100 * time.Millisecond)
		id++
		_ = post(t, h, gw1, fmt.Sprintf("wrong-%d", id), updateBody(id))
		if post(t, h, gw1, otherSecret, updateBody(id)).StatusCode == 200 {
			break
		}
		if clk.Now().Sub(rotated) > SecretRecheckInterval {
			t.Fatalf("the new secret is still refused %s after rotation", clk.Now().Sub(rotated))
		}
	}
	t.Logf("new secret accepted %s after rotation, under a flood of wrong secrets", clk.Now().Sub(rotated))
}

// TestAbsentIsForgotten: an id answered 404 from memory is read again after
// NegativeTTL.
func TestAbsentIsForgotten(t *testing.T) {
	st := newFakeStore()
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now))
	id := gateway.NewID()
	wantStatus(t, "unknown", post(t, h, id, secret, updateBody(1)), 401)
	wantStatus(t, "unknown, remembered", post(t, h, id, secret, updateBody(1)), 401)
	if reads, _, _, _ := st.counts(); reads != 1 {
		t.Fatalf("%d reads, want 1", reads)
	}
	st.add(id, secret)
	clk.Advance(NegativeTTL)
	wantStatus(t, "after NegativeTTL", post(t, h, id, secret, updateBody(1)), 200)
}

// TestSourceRanges: with ranges set, updates from other addresses are
// refused with 403 before any read; the address is API Gateway's peer,
// never a header the sender writes.
func TestSourceRanges(t *testing.T) {
	st := newFakeStore()
	st.add(gw1, secret)
	ranges := []netip.Prefix{netip.MustParsePrefix("149.154.160.0/20"), netip.MustParsePrefix("91.108.4.0/22")}
	h := newHandler(st, WithSourceRanges(ranges))
	for _, tt := range []struct {
		name, source, forwarded string
		want                    int
	}{
		{name: "Telegram", source: "149.154.167.220", want: 200},
		{name: "Telegram, second range", source: "91.108.6.66", want: 200},
		{name: "Telegram as an IPv4-mapped IPv6 address", source: "::ffff:149.154.161.1", want: 200},
		{name: "elsewhere", source: "203.0.113.9", want: 403},
		{name: "just outside", source: "149.154.176.1", want: 403},
		{name: "elsewhere, claiming Telegram in X-Forwarded-For", source: "203.0.113.9", forwarded: "149.154.167.220", want: 403},
		{name: "no address", source: "", want: 403},
		{name: "not an address", source: "localhost", want: 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			readsBefore, _, _, _ := st.counts()
			ev := request(http.MethodPost, gw1, secret, updateBody(int64(len(tt.name))))
			ev.RequestContext.HTTP.SourceIP = tt.source
			if tt.forwarded != "" {
				ev.Headers["x-forwarded-for"] = tt.forwarded
			}
			resp, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, tt.name, resp, tt.want)
			if reads, _, _, _ := st.counts(); tt.want == 403 && reads != readsBefore {
				t.Errorf("a refused sender cost %d reads", reads-readsBefore)
			}
		})
	}
	// Without ranges every address is accepted, as before.
	open := newHandler(st)
	ev := request(http.MethodPost, gw1, secret, updateBody(99))
	ev.RequestContext.HTTP.SourceIP = "203.0.113.9"
	resp, _ := open.Handle(context.Background(), ev)
	wantStatus(t, "no ranges", resp, 200)
}

// TestNewAnswersMatchTheContract: the answers this file adds — 403 from
// outside the source ranges, GET's 404 without the secret, 503 for an id
// met while the miss budget is spent — are those api/openapi.json documents.
func TestNewAnswersMatchTheContract(t *testing.T) {
	contract, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStore()
	st.add(gw1, secret)
	clk := newClock()
	h := newHandler(st, WithClock(clk.Now), WithSourceRanges([]netip.Prefix{netip.MustParsePrefix("149.154.160.0/20")}))
	const path = "/api/webhooks/telegram/{gatewayId}"
	check := func(what, method string, ev events.APIGatewayV2HTTPRequest, want int) {
		t.Helper()
		resp, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, what, resp, want)
		if err := contract.CheckEvent(method, path, resp); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	from := func(ev events.APIGatewayV2HTTPRequest, ip string) events.APIGatewayV2HTTPRequest {
		ev.RequestContext.HTTP.SourceIP = ip
		return ev
	}
	check("outside the ranges", http.MethodPost, from(request(http.MethodPost, gw1, secret, updateBody(1)), "203.0.113.9"), 403)
	check("GET without the secret", http.MethodGet, request(http.MethodGet, gw1, "", ""), 404)
	check("GET with the secret", http.MethodGet, request(http.MethodGet, gw1, secret, ""), 200)
	for range MissBurst {
		_, _ = h.Handle(context.Background(), from(request(http.MethodPost, gateway.NewID(), secret, updateBody(1)), "149.154.167.220"))
	}
	check("budget spent", http.MethodPost, from(request(http.MethodPost, gateway.NewID(), secret, updateBody(1)), "149.154.167.220"), 503)
}
