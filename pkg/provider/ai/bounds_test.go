package ai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// checkAllocBound is what one health check of an AI gateway may allocate,
// whatever its base URL answers: five times the model list's cap
// (MaxModelListBytes), since json.Decoder doubles its buffer while one
// value grows (a single value near the cap costs about four times the cap
// in all) — far below the 8 MiB answer it is shown, and below the two
// copies of it that reading it whole and then unmarshalling it made.
const checkAllocBound = 5 * MaxModelListBytes

// hostileList returns an OpenAI-format model list of just under size
// bytes whose entries are entry(i): under the 8 MiB every answer was
// once allowed, so that only a cap per kind of answer refuses it.
func hostileList(size int, entry func(i int) string) []byte {
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(`{"object":"list","data":[`)
	for i := 0; ; i++ {
		e := entry(i)
		if b.Len()+len(e)+4 > size {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// deepValue is a value nested depth arrays deep, inside the decoder's
// nesting limit.
func deepValue(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// oldCap is what every answer was once allowed, whatever its kind.
const oldCap = 8 << 20

// hostileAnswer is a model list a base URL controlled by a tenant may
// answer.
type hostileAnswer struct {
	name string
	body []byte
}

// hostileAnswers are model lists large in every way JSON allows, built
// once, by the tests that use them.
var hostileAnswers = sync.OnceValue(func() []hostileAnswer {
	return []hostileAnswer{
		{name: "8 MiB of models", body: hostileList(oldCap-4096, func(i int) string {
			return fmt.Sprintf(`{"id":"model-%07d","object":"model","created":1700000000,"owned_by":"tenant"}`, i)
		})},
		{name: "8 MiB of empty models", body: hostileList(oldCap-4096, func(int) string { return `{}` })},
		{name: "one 8 MiB model id", body: []byte(`{"data":[{"id":"` + strings.Repeat("m", oldCap-4096) + `"}]}`)},
		{name: "an 8 MiB field beside the list", body: []byte(`{"pad":"` + strings.Repeat("p", oldCap-4096) + `","data":[{"id":"gpt-4o"}]}`)},
		{name: "models nested 5000 deep, 8 MiB", body: hostileList(oldCap-4096, func(i int) string {
			return `{"id":"m` + fmt.Sprint(i) + `","meta":` + deepValue(5000) + `}`
		})},
		{name: "16 MiB", body: []byte(`{"data":[{"id":"` + strings.Repeat("m", 2*oldCap) + `"}]}`)},
	}
})

// serve answers every request with body: with its Content-Length, which
// the client refuses at once when it is over the cap, or chunked, with no
// length announced, so that only reading tells how long it is.
func serve(t testing.TB, body []byte, chunked bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !chunked {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		for b := body; len(b) > 0; {
			n := min(len(b), 32<<10)
			if _, err := w.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// allocated runs f and returns the bytes allocated meanwhile, and the
// peak growth of the heap in use, sampled every millisecond.
func allocated(f func()) (total, peak uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var maxInuse atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > maxInuse.Load() {
				maxInuse.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if p := maxInuse.Load(); p > before.HeapInuse {
		peak = p - before.HeapInuse
	}
	return after.TotalAlloc - before.TotalAlloc, peak
}

func mib(n uint64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// TestHostileModelListIsBounded: a health check against a base URL that
// answers a hostile model list of up to 8 MiB (or more) is a
// provider_error — not healthy, and not an internal error — and
// allocates at most checkAllocBound, whatever the shape of the excess.
func TestHostileModelListIsBounded(t *testing.T) {
	p := newProvider()
	for _, tt := range hostileAnswers() {
		for _, chunked := range []bool{false, true} {
			name := tt.name + "/with length"
			if chunked {
				name = tt.name + "/chunked"
			}
			t.Run(name, func(t *testing.T) {
				creds := gateway.Credentials{Provider: "openai", APIKey: apiKey, BaseURL: serve(t, tt.body, chunked)}
				var res provider.HealthResult
				total, peak := allocated(func() { res = p.CheckHealth(context.Background(), creds, nil) })
				t.Logf("answer %s: %s (%s); allocated %s, heap peak +%s", mib(uint64(len(tt.body))), res.Outcome, res.Error, mib(total), mib(peak))
				if res.Healthy || res.Outcome != provider.OutcomeProviderError {
					t.Errorf("healthy %v, outcome %q (%s); want a provider_error", res.Healthy, res.Outcome, res.Error)
				}
				if total > checkAllocBound {
					t.Errorf("the check allocated %s, more than %s", mib(total), mib(checkAllocBound))
				}
			})
		}
	}
}

// TestModelListKeepsAtMostMaxModels: a list within the size cap but
// longer than MaxModels is healthy, with MaxModels models kept.
func TestModelListKeepsAtMostMaxModels(t *testing.T) {
	const maxModels = MaxModels
	body := hostileList(300<<10, func(i int) string { return fmt.Sprintf(`{"id":"m-%05d"}`, i) })
	creds := gateway.Credentials{Provider: "openai", APIKey: apiKey, BaseURL: serve(t, body, true)}
	res := newProvider().CheckHealth(context.Background(), creds, nil)
	if !res.Healthy || res.Details["modelCount"] != maxModels {
		t.Errorf("healthy %v (%s), modelCount %v; want healthy with %d", res.Healthy, res.Error, res.Details["modelCount"], maxModels)
	}
	out, err := newProvider().Execute(context.Background(), creds, nil, "listModels", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(map[string]any)["count"]; got != maxModels {
		t.Errorf("listModels count %v, want %d", got, maxModels)
	}
}

// TestHostileModelListsConcurrently: a health worker's 32 checks at once
// (HEALTH_CONCURRENCY) against the costliest hostile answer (one 8 MiB
// value, chunked so that each check reads up to the cap) grow the heap by
// at most 32 × checkAllocBound — 160 MiB of the worker's 512 MB — and
// every check is a provider_error.
func TestHostileModelListsConcurrently(t *testing.T) {
	const workers = 32
	p := newProvider()
	worst := hostileAnswers()[2].body // one 8 MiB model id
	creds := gateway.Credentials{Provider: "openai", APIKey: apiKey, BaseURL: serve(t, worst, true)}
	var failed atomic.Int64
	total, peak := allocated(func() {
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if res := p.CheckHealth(context.Background(), creds, nil); res.Outcome != provider.OutcomeProviderError {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
	})
	t.Logf("%d checks of an %s answer at once: allocated %s (%s a check), heap peak +%s",
		workers, mib(uint64(len(worst))), mib(total), mib(total/workers), mib(peak))
	if n := failed.Load(); n > 0 {
		t.Errorf("%d checks were not a provider_error", n)
	}
	if peak > workers*checkAllocBound {
		t.Errorf("the heap grew by %s, more than %d × %s", mib(peak), workers, mib(checkAllocBound))
	}
	if total > workers*checkAllocBound {
		t.Errorf("the checks allocated %s, more than %d × %s", mib(total), workers, mib(checkAllocBound))
	}
}
