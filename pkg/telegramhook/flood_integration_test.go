package telegramhook_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// TestJunkFloodDynamo floods the webhook, through the local runner and over
// DynamoDB Local, with made-up ids and wrong secrets for a real gateway, and
// counts the GetItems the function makes: within the bound of the
// package comment, not one per request, while the real gateway's updates
// sent during the flood are stored.
func TestJunkFloodDynamo(t *testing.T) {
	const (
		junk    = 2000
		senders = 8
	)
	e := newEnv(t, envOptions{})
	g := e.addGateway(t, "flood-real-secret")
	ts := e.server(t)
	if s, err := send(t.Context(), ts.Client(), ts.URL, g.ID, "flood-real-secret", bodyOf(0, 1)); s != 200 {
		t.Fatalf("first update: %d %v", s, err)
	}
	repeated := make([]string, 20)
	for i := range repeated {
		repeated[i] = gateway.NewID()
	}

	before := e.calls.snapshot()
	start := time.Now()
	var mu sync.Mutex
	answers := map[string]map[int]int{"unknown id": {}, "repeated unknown id": {}, "wrong secret": {}}
	next := make(chan int)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				what, id, secret := "wrong secret", g.ID, fmt.Sprintf("wrong-secret-%d", i)
				switch i % 3 {
				case 0:
					what, id, secret = "unknown id", gateway.NewID(), "flood-real-secret"
				case 1:
					what, id, secret = "repeated unknown id", repeated[i%len(repeated)], "flood-real-secret"
				}
				s, err := send(t.Context(), ts.Client(), ts.URL, id, secret, bodyOf(i, int64(i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				answers[what][s]++
				mu.Unlock()
			}
		}()
	}
	valid := 0
	for i := range junk {
		next <- i
		if i%200 == 0 {
			valid++
			if s, err := send(t.Context(), ts.Client(), ts.URL, g.ID, "flood-real-secret", bodyOf(i, int64(10_000+i))); s != 200 {
				t.Fatalf("a valid update during the flood: %d %v", s, err)
			}
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	got := e.calls.since(before)
	reads := got["DynamoDB.GetItem"]
	bound := telegramhook.MissBurst + int(elapsed/telegramhook.MissRefill) + 1 + senders - 1 + // made-up ids (the refill, and concurrent reads)
		int(elapsed/telegramhook.SecretRecheckInterval) + 1 + // wrong secrets
		int(elapsed/telegramhook.DefaultCacheTTL) + 1 // the cache's own refreshes
	t.Logf("%d junk requests in %s from %d senders: %d GetItem (%.4f a request; bound %d), calls %v; answers %v; %d valid updates stored during the flood",
		junk, elapsed.Round(time.Millisecond), senders, reads, float64(reads)/junk, bound, got, answers, valid)
	if reads > bound {
		t.Errorf("%d GetItem for %d junk requests in %s; want at most %d", reads, junk, elapsed, bound)
	}
	if n := len(e.stored(t, g.ID)); n != valid+1 {
		t.Errorf("%d updates stored, want %d", n, valid+1)
	}
	for what, by := range answers {
		for s := range by {
			if s != 401 && s != 503 {
				t.Errorf("%s answered %d", what, s)
			}
		}
	}
}

// TestSourceRangesThroughTheRunner: the runner reports the TCP peer as
// requestContext.http.sourceIp, as API Gateway does, so the source ranges
// are checked against the real sender (127.0.0.1 here) and an
// X-Forwarded-For the sender wrote changes nothing.
func TestSourceRangesThroughTheRunner(t *testing.T) {
	for _, tt := range []struct {
		name, ranges string
		want         int
	}{
		{name: "loopback allowed", ranges: "127.0.0.0/8", want: 200},
		{name: "only Telegram's", ranges: "149.154.160.0/20,91.108.4.0/22", want: 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var prefixes []netip.Prefix
			for _, r := range strings.Split(tt.ranges, ",") {
				prefixes = append(prefixes, netip.MustParsePrefix(r))
			}
			e := newEnv(t, envOptions{opts: []telegramhook.Option{telegramhook.WithSourceRanges(prefixes)}})
			g := e.addGateway(t, "ranges-secret")
			ts := e.server(t)
			before := e.calls.snapshot()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/api/webhooks/telegram/"+g.ID, strings.NewReader(string(bodyOf(0, 7))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(telegramhook.SecretHeader, "ranges-secret")
			req.Header.Set("X-Forwarded-For", "149.154.167.220")
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := e.calls.since(before); tt.want == 403 && len(got) != 0 {
				t.Errorf("a refused sender cost %v", got)
			}
			if ct := resp.Header.Get("Content-Type"); tt.want == 403 && ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
