package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// TestMain runs the tests under secretscan: the errors of calls whose URL
// carries a token are scanned for it in every common encoding (a
// *url.Error quotes its URL escaped).
func TestMain(m *testing.M) {
	secretscan.Register("token in the URL", "botSECRET-TOKEN")
	secretscan.Main(m)
}

// scripted answers each request with the next of its statuses (repeating
// the last), setting Retry-After when retryAfter is not empty.
type scripted struct {
	statuses   []int
	retryAfter string
	delay      time.Duration
	calls      atomic.Int32
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1)) - 1
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			return
		}
	}
	status := s.statuses[min(n, len(s.statuses)-1)]
	if s.retryAfter != "" && status != http.StatusOK {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d}`, status)
}

func testClient() *Client {
	c := NewClient(nil)
	c.Backoff = 5 * time.Millisecond
	return c
}

func TestClientRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		statuses     []int
		retryAfter   string
		timeout      time.Duration
		wantStatus   int
		wantAttempts int
		minElapsed   time.Duration
		maxElapsed   time.Duration
	}{
		{name: "ok first time", statuses: []int{200}, wantStatus: 200, wantAttempts: 1},
		{name: "5xx then ok", statuses: []int{503, 200}, wantStatus: 200, wantAttempts: 2},
		{name: "at most two retries", statuses: []int{500}, wantStatus: 500, wantAttempts: 3},
		{name: "429 then ok", statuses: []int{429, 429, 200}, wantStatus: 200, wantAttempts: 3},
		{name: "400 never retried", statuses: []int{400, 200}, wantStatus: 400, wantAttempts: 1},
		{name: "401 never retried", statuses: []int{401, 200}, wantStatus: 401, wantAttempts: 1},
		{name: "404 never retried", statuses: []int{404, 200}, wantStatus: 404, wantAttempts: 1},
		{name: "Retry-After honoured", statuses: []int{429, 200}, retryAfter: "1", wantStatus: 200, wantAttempts: 2, minElapsed: time.Second},
		{name: "Retry-After beyond deadline not awaited", statuses: []int{429, 200}, retryAfter: "5", timeout: 2 * time.Second,
			wantStatus: 429, wantAttempts: 1, maxElapsed: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &scripted{statuses: tt.statuses, retryAfter: tt.retryAfter}
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := testClient()
			if tt.timeout > 0 {
				c.Timeout = tt.timeout
			}
			start := time.Now()
			resp, err := c.Do(context.Background(), Request{Method: http.MethodPost, URL: srv.URL, Body: []byte(`{}`)})
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus || resp.Attempts != tt.wantAttempts {
				t.Errorf("got status %d after %d attempts, want %d after %d", resp.Status, resp.Attempts, tt.wantStatus, tt.wantAttempts)
			}
			if got := int(h.calls.Load()); got != tt.wantAttempts {
				t.Errorf("server saw %d requests, want %d", got, tt.wantAttempts)
			}
			if elapsed < tt.minElapsed {
				t.Errorf("took %v, want at least %v", elapsed, tt.minElapsed)
			}
			if tt.maxElapsed > 0 && elapsed > tt.maxElapsed {
				t.Errorf("took %v, want at most %v", elapsed, tt.maxElapsed)
			}
		})
	}
}

func TestClientRetryAfterHook(t *testing.T) {
	t.Parallel()
	h := &scripted{statuses: []int{429, 200}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var seen int
	resp, err := testClient().Do(context.Background(), Request{
		Method: http.MethodGet, URL: srv.URL,
		RetryAfter: func(r *Response) time.Duration {
			seen = r.Status
			return 10 * time.Millisecond
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || seen != 429 {
		t.Errorf("status %d, hook saw %d; want 200 and 429", resp.Status, seen)
	}
}

func TestClientTimeouts(t *testing.T) {
	t.Parallel()
	h := &scripted{statuses: []int{200}, delay: 2 * time.Second}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		timeout  time.Duration
		deadline time.Duration
	}{
		{"client timeout", 150 * time.Millisecond, 0},
		{"shorter context deadline wins", 10 * time.Second, 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testClient()
			c.Timeout = tt.timeout
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := c.Do(ctx, Request{Method: http.MethodGet, URL: srv.URL + "/botSECRET-TOKEN/getMe"})
			secretscan.Error(t.Name(), err)
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("took %v, want about 150ms", elapsed)
			}
			if got := Classify(err); got != OutcomeUnreachable {
				t.Errorf("outcome %q, want unreachable (%v)", got, err)
			}
			if !strings.Contains(err.Error(), "timed out") {
				t.Errorf("message %q does not say it timed out", err)
			}
			if strings.Contains(err.Error(), "SECRET-TOKEN") || strings.Contains(fmt.Sprintf("%+v", errors.Unwrap(err)), "SECRET-TOKEN") {
				t.Errorf("error %q leaks the URL", err)
			}
		})
	}
}

func TestClientTransportErrors(t *testing.T) {
	t.Parallel()
	// A listener that is closed at once gives a port nobody answers on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	guarded := testClient()
	guarded.HTTP = ssrf.Guard{Resolver: noNames{}}.Client()

	tests := []struct {
		name   string
		client *Client
		url    string
		reason string
	}{
		{"connection refused", testClient(), closedURL + "/botSECRET-TOKEN/getMe", "refused"},
		{"ssrf refusal", guarded, "http://169.254.169.254/botSECRET-TOKEN/getMe", "destination address is not allowed: link-local"},
		{"dns failure", guarded, "http://nowhere.invalid/botSECRET-TOKEN/getMe", "does not resolve"},
		{"bad url", testClient(), "http://[::1/botSECRET-TOKEN", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.client.Do(context.Background(), Request{Method: http.MethodGet, URL: tt.url})
			secretscan.Error(t.Name(), err)
			secretscan.Error(t.Name()+" (user message)", errors.New(Message(err)))
			if got := Classify(err); got != OutcomeUnreachable {
				t.Errorf("outcome %q, want unreachable (%v)", got, err)
			}
			if !strings.Contains(Message(err), tt.reason) {
				t.Errorf("message %q, want it to contain %q", Message(err), tt.reason)
			}
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), "SECRET-TOKEN") {
					t.Errorf("error chain leaks the URL: %q", e)
				}
			}
		})
	}
}

type noNames struct{}

func (noNames) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestRetryAfterHeader(t *testing.T) {
	tests := []struct {
		header, value string
		want          time.Duration
	}{
		{"Retry-After", "2", 2 * time.Second},
		{"Retry-After", "0.5", 500 * time.Millisecond},
		{"Retry-After", "0", 0},
		{"Retry-After", "soon", 0},
		{"Retry-After-Ms", "250", 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.header+"="+tt.value, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			if got := RetryAfterHeader(h); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	h := http.Header{}
	h.Set("Retry-After", time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))
	if got := RetryAfterHeader(h); got < time.Second || got > 3*time.Second {
		t.Errorf("HTTP-date: got %v, want about 2-3s", got)
	}
}

// apiErr stands for a provider API error in classification tests.
type apiErr struct {
	outcome Outcome
	wait    time.Duration
}

func (e apiErr) Error() string             { return "api said no" }
func (e apiErr) Outcome() Outcome          { return e.outcome }
func (e apiErr) RetryDelay() time.Duration { return e.wait }

func TestClassifyAndMessage(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    Outcome
		message string
	}{
		{"nil", nil, OutcomeOK, ""},
		{"classified", apiErr{outcome: OutcomeRateLimited}, OutcomeRateLimited, "api said no"},
		{"wrapped classified", fmt.Errorf("op: %w", apiErr{outcome: OutcomeInvalidCredentials}), OutcomeInvalidCredentials, "api said no"},
		{"invalid credentials wins over its cause", &InvalidCredentialsError{Message: "bad token", Err: apiErr{outcome: OutcomeProviderError}}, OutcomeInvalidCredentials, "invalid credentials: bad token"},
		{"ssrf", &ssrf.BlockedError{Category: ssrf.CategoryPrivate}, OutcomeUnreachable, "destination address is not allowed: private network"},
		{"deadline", context.DeadlineExceeded, OutcomeUnreachable, "The provider call failed unexpectedly."},
		{"dns", &net.DNSError{Err: "x", Name: "h"}, OutcomeUnreachable, "The provider call failed unexpectedly."},
		{"unknown", errors.New("internal detail"), OutcomeProviderError, "The provider call failed unexpectedly."},
		{"gateway error", gateway.Errorf(gateway.CodeInvalid, "Bad."), OutcomeProviderError, "Bad."},
		{"unsupported action", &UnsupportedActionError{Type: gateway.TypeAI, Action: "fly"}, OutcomeProviderError, `AI gateways have no action "fly"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify = %q, want %q", got, tt.want)
			}
			if got := Message(tt.err); got != tt.message {
				t.Errorf("Message = %q, want %q", got, tt.message)
			}
		})
	}
	if got := RetryAfter(fmt.Errorf("x: %w", apiErr{wait: 3 * time.Second})); got != 3*time.Second {
		t.Errorf("RetryAfter = %v, want 3s", got)
	}
}

func TestNewHealthResult(t *testing.T) {
	h := NewHealthResult(1500*time.Millisecond, nil, apiErr{outcome: OutcomeRateLimited, wait: 1200 * time.Millisecond})
	if h.Healthy || h.Outcome != OutcomeRateLimited || h.RetryAfterSeconds != 2 || h.LatencyMs != 1500 || h.Error != "api said no" {
		t.Errorf("got %+v", h)
	}
	ok := NewHealthResult(time.Millisecond, map[string]any{"k": 1}, nil)
	if !ok.Healthy || ok.Outcome != OutcomeOK || ok.Error != "" {
		t.Errorf("got %+v", ok)
	}
}

func TestRedact(t *testing.T) {
	got := Redact("key sk-abcdef rejected; token 123:XYZ", "sk-abcdef", "123:XYZ", "")
	if want := "key [REDACTED] rejected; token [REDACTED]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestNoGoroutineOutlivesACall checks that the default and the guarded
// clients keep no connection (and so no goroutine) once a call returns:
// a Lambda may be frozen right after. It does not run in parallel, so the
// goroutine count is its own.
func TestNoGoroutineOutlivesACall(t *testing.T) {
	srv := httptest.NewServer(&scripted{statuses: []int{200}})
	defer srv.Close()
	guarded := testClient()
	guarded.HTTP = ssrf.Guard{AllowPrivate: true}.Client()
	for name, c := range map[string]*Client{"default": testClient(), "guarded": guarded} {
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			for range 3 {
				if _, err := c.Do(context.Background(), Request{Method: http.MethodGet, URL: srv.URL}); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if after := runtime.NumGoroutine(); after > before {
				t.Errorf("%d goroutines after the calls, %d before", after, before)
			}
		})
	}
}

// TestClientAnswerCaps: a 2xx answer is read up to its Request.MaxBytes
// (DefaultMaxResponseBytes when unset) and refused past it, announced or
// not; Decode reads it as it arrives and its own error comes back as it
// is; an error answer keeps its first MaxErrorBytes and is never refused
// for its size, so its status still classifies it.
func TestClientAnswerCaps(t *testing.T) {
	errMine := errors.New("not the shape I want")
	tests := []struct {
		name     string
		status   int
		size     int
		chunked  bool
		maxBytes int64
		decode   bool
		decodeTo error

		wantTooLarge bool
		wantErr      error
		wantBody     int // bytes kept in Response.Body
	}{
		{name: "at the default cap", status: 200, size: DefaultMaxResponseBytes, wantBody: DefaultMaxResponseBytes},
		{name: "over the default cap", status: 200, size: DefaultMaxResponseBytes + 1, wantTooLarge: true},
		{name: "over the default cap, chunked", status: 200, size: DefaultMaxResponseBytes + 1, chunked: true, wantTooLarge: true},
		{name: "within a request's cap", status: 200, size: 2 << 20, maxBytes: 2 << 20, wantBody: 2 << 20},
		{name: "over a request's cap", status: 200, size: 1000, maxBytes: 999, wantTooLarge: true},
		{name: "decoded within the cap", status: 200, size: 1000, maxBytes: 1000, decode: true},
		{name: "decoded over the cap, chunked", status: 200, size: 5000, maxBytes: 1000, chunked: true, decode: true, wantTooLarge: true},
		{name: "decode's own error", status: 200, size: 10, decode: true, decodeTo: errMine, wantErr: errMine},
		{name: "error answer cut at MaxErrorBytes", status: 503, size: 10 << 20, wantBody: MaxErrorBytes},
		{name: "error answer not decoded", status: 401, size: 10, decode: true, wantBody: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(strings.Repeat("a", tt.size))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			c := testClient()
			c.MaxRetries = 0
			req := Request{Method: http.MethodGet, URL: srv.URL, MaxBytes: tt.maxBytes}
			decoded := -1
			if tt.decode {
				req.Decode = func(r io.Reader) error {
					b, err := io.ReadAll(r)
					if err != nil {
						return err
					}
					decoded = len(b)
					return tt.decodeTo
				}
			}
			resp, err := c.Do(context.Background(), req)
			var re *ResponseError
			if got := errors.As(err, &re) && re.Reason == "the response is too large"; got != tt.wantTooLarge {
				t.Fatalf("error %v, want too large %v", err, tt.wantTooLarge)
			}
			if tt.wantTooLarge {
				return
			}
			if tt.wantErr != nil {
				if err != tt.wantErr {
					t.Fatalf("error %v, want Decode's own %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Body) != tt.wantBody {
				t.Errorf("kept %d bytes of the body, want %d", len(resp.Body), tt.wantBody)
			}
			if tt.decode && tt.status == 200 && decoded != tt.size {
				t.Errorf("Decode read %d bytes, want %d", decoded, tt.size)
			}
		})
	}
}
