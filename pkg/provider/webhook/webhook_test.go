package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// TestMain runs the tests under secretscan: every error they record (see
// scanned) is scanned for the signing secrets, in every common encoding.
func TestMain(m *testing.M) {
	for _, s := range []string{"whsec_c3VwZXItc2VjcmV0LXNpZ25pbmcta2V5", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		secretscan.Register("signing secret", s)
	}
	secretscan.Main(m)
}

// receiver is a user's endpoint: it records each delivery and answers the
// next status of its script (200 once the script is used up).
type receiver struct {
	mu         sync.Mutex
	deliveries []delivery
	statuses   []int
	retryAfter string
	delay      time.Duration
}

type delivery struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.deliveries = append(rc.deliveries, delivery{r.Header.Clone(), body})
	status := http.StatusOK
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	delay := rc.delay
	rc.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if rc.retryAfter != "" {
		w.Header().Set("Retry-After", rc.retryAfter)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "echo %s", body)
}

func (rc *receiver) all() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.deliveries...)
}

type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := m[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

var testGuard = ssrf.Guard{
	Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	Resolver: mapResolver{"hooks.internal.example": {netip.MustParseAddr("192.168.1.20")}},
}

var fixedNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, rc *receiver) (*Provider, string) {
	t.Helper()
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c := provider.NewClient(testGuard.Client())
	c.Backoff = 5 * time.Millisecond
	return New(Options{Guard: testGuard, Client: c, Now: func() time.Time { return fixedNow }}), srv.URL + "/hooks/gatehouse"
}

// verify checks a delivery's signature the way a receiver would, with its
// own HMAC code.
func verify(t *testing.T, d delivery, key []byte) {
	t.Helper()
	id, ts := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(d.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := d.header.Get("webhook-signature"); got != want {
		t.Errorf("webhook-signature %q, want %q", got, want)
	}
}

func TestSendSigned(t *testing.T) {
	t.Parallel()
	rawKey := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name    string
		secret  string
		key     []byte
		params  string
		wantTyp string
	}{
		{"whsec secret is base64 decoded", "whsec_" + base64.StdEncoding.EncodeToString(rawKey), rawKey, `{"payload": {"order": 42}, "type": "order.created"}`, "order.created"},
		{"plain secret is raw bytes", "my-plain-secret", []byte("my-plain-secret"), `{"payload": {"order": 42}}`, DefaultEventType},
		{"no secret is unsigned", "", nil, `{"payload": [1, 2, 3]}`, DefaultEventType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{}
			p, url := setup(t, rc)
			res, err := p.Execute(context.Background(), gateway.Credentials{URL: url, SigningSecret: tt.secret}, nil, "send", json.RawMessage(tt.params))
			faulttest.Scanned(t, err)
			if err != nil {
				t.Fatal(err)
			}
			d := rc.all()
			if len(d) != 1 {
				t.Fatalf("%d deliveries, want 1", len(d))
			}
			got := res.(Delivery)
			if got.Status != 200 || got.WebhookID != d[0].header.Get("webhook-id") || !strings.HasPrefix(got.WebhookID, "msg_") {
				t.Errorf("delivery %+v, header id %q", got, d[0].header.Get("webhook-id"))
			}
			if ts := d[0].header.Get("webhook-timestamp"); ts != strconv.FormatInt(fixedNow.Unix(), 10) {
				t.Errorf("webhook-timestamp %q", ts)
			}
			if ct := d[0].header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var ev struct {
				Type      string          `json:"type"`
				Timestamp string          `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(d[0].body, &ev); err != nil {
				t.Fatal(err)
			}
			var params struct{ Payload json.RawMessage }
			_ = json.Unmarshal([]byte(tt.params), &params)
			if ev.Type != tt.wantTyp || ev.Timestamp != "2025-03-01T12:00:00Z" || string(ev.Data) != strings.ReplaceAll(string(params.Payload), " ", "") {
				t.Errorf("event %+v (data %s)", ev, ev.Data)
			}
			if tt.key == nil {
				if s := d[0].header.Get("webhook-signature"); s != "" {
					t.Errorf("unsigned delivery has webhook-signature %q", s)
				}
				return
			}
			verify(t, d[0], tt.key)
		})
	}
}

func TestSignKnownVector(t *testing.T) {
	// The example of the Standard Webhooks specification.
	key, err := SigningKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestHealthAndOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rc         *receiver
		secret     string
		timeout    time.Duration
		want       provider.Outcome
		wantCalls  int
		wantWait   time.Duration
		wantStatus any
	}{
		{name: "2xx healthy", rc: &receiver{statuses: []int{204}}, want: provider.OutcomeOK, wantCalls: 1, wantStatus: 204},
		{name: "5xx retried then healthy", rc: &receiver{statuses: []int{502, 200}}, want: provider.OutcomeOK, wantCalls: 2, wantStatus: 200},
		{name: "5xx three times unreachable", rc: &receiver{statuses: []int{500, 500, 500}}, want: provider.OutcomeUnreachable, wantCalls: 3, wantStatus: 500},
		{name: "401 invalid credentials", rc: &receiver{statuses: []int{401}}, secret: "s3cret-signing", want: provider.OutcomeInvalidCredentials, wantCalls: 1, wantStatus: 401},
		{name: "429 beyond deadline", rc: &receiver{statuses: []int{429, 429, 429}, retryAfter: "30"}, timeout: time.Second,
			want: provider.OutcomeRateLimited, wantCalls: 1, wantWait: 30 * time.Second, wantStatus: 429},
		{name: "404 provider error", rc: &receiver{statuses: []int{404}}, want: provider.OutcomeProviderError, wantCalls: 1, wantStatus: 404},
		{name: "timeout", rc: &receiver{delay: 2 * time.Second}, timeout: 200 * time.Millisecond, want: provider.OutcomeUnreachable, wantCalls: 1, wantStatus: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, url := setup(t, tt.rc)
			if tt.timeout > 0 {
				p.client.Timeout = tt.timeout
			}
			start := time.Now()
			h := faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), gateway.Credentials{URL: url, SigningSecret: tt.secret}, nil))
			if h.Outcome != tt.want || h.Healthy != (tt.want == provider.OutcomeOK) {
				t.Errorf("health %+v, want %s", h, tt.want)
			}
			if time.Since(start) > 1500*time.Millisecond {
				t.Errorf("took %v", time.Since(start))
			}
			d := tt.rc.all()
			if len(d) != tt.wantCalls {
				t.Fatalf("%d deliveries, want %d", len(d), tt.wantCalls)
			}
			if h.Details["status"] != tt.wantStatus {
				t.Errorf("details %v, want status %v", h.Details, tt.wantStatus)
			}
			if got := time.Duration(h.RetryAfterSeconds) * time.Second; got != tt.wantWait {
				t.Errorf("retry after %v, want %v", got, tt.wantWait)
			}
			var ev Event
			_ = json.Unmarshal(d[0].body, &ev)
			if ev.Type != PingType {
				t.Errorf("health check sent a %q event, want %q", ev.Type, PingType)
			}
			if len(d) > 1 && d[0].header.Get("webhook-id") != d[1].header.Get("webhook-id") {
				t.Error("a retry changed the webhook-id; receivers could not de-duplicate")
			}
			if tt.want == provider.OutcomeInvalidCredentials {
				var ice *provider.InvalidCredentialsError
				if !errors.As(h.Err, &ice) || ice.Field != "credentials.signingSecret" {
					t.Errorf("error %v, want InvalidCredentialsError on credentials.signingSecret", h.Err)
				}
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	p, url := setup(t, rc)
	creds := gateway.Credentials{URL: url, SigningSecret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("k"))}
	if _, err := p.ValidateCredentials(context.Background(), creds); err != nil {
		t.Fatal(err)
	}
	res, err := p.Connect(context.Background(), provider.ConnectRequest{GatewayID: "g", Credentials: creds})
	faulttest.Scanned(t, err)
	if err != nil || res.Details["status"] != 200 {
		t.Fatalf("Connect = %+v, %v", res, err)
	}
	if err := p.Disconnect(context.Background(), provider.DisconnectRequest{GatewayID: "g", Credentials: creds}); err != nil {
		t.Error(err)
	}
	if n := len(rc.all()); n != 2 {
		t.Errorf("%d deliveries (validate and connect pings), want 2", n)
	}
}

func TestCredentialAndParamErrors(t *testing.T) {
	t.Parallel()
	p := New(Options{}) // the default guard: nothing private
	tests := []struct {
		name      string
		creds     gateway.Credentials
		wantField string
	}{
		{"no url", gateway.Credentials{}, "credentials.url"},
		{"not http", gateway.Credentials{URL: "ftp://example.com/x"}, "credentials.url"},
		{"bad whsec", gateway.Credentials{URL: "https://example.com/hook", SigningSecret: "whsec_not base64!"}, "credentials.signingSecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.ValidateCredentials(context.Background(), tt.creds)
			faulttest.Scanned(t, err)
			var ice *provider.InvalidCredentialsError
			if !errors.As(err, &ice) || ice.Field != tt.wantField {
				t.Errorf("error %v, want InvalidCredentialsError on %s", err, tt.wantField)
			}
		})
	}
	// Destinations the SSRF policy refuses are unreachable by policy, with
	// a clear message; they are not the credentials' fault.
	for _, url := range []string{"http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data/",
		"https://10.0.0.8/hook", "http://[::1]/hook", "http://localhost:3000/hook"} {
		_, err := p.ValidateCredentials(context.Background(), gateway.Credentials{URL: url})
		faulttest.Scanned(t, err)
		if provider.Classify(err) != provider.OutcomeUnreachable || !strings.Contains(provider.Message(err), "not allowed") {
			t.Errorf("%s: error %v, want unreachable (not allowed)", url, err)
		}
	}
	creds := gateway.Credentials{URL: "https://example.com/hook"}
	if _, err := p.Execute(context.Background(), creds, nil, "send", json.RawMessage(`{"type": "x"}`)); !errors.As(err, new(*provider.InvalidParamsError)) {
		t.Errorf("send without payload: %v", err)
	}
	if _, err := p.Execute(context.Background(), creds, nil, "receive", nil); !errors.As(err, new(*provider.UnsupportedActionError)) {
		t.Errorf("unknown action: %v", err)
	}
}

func TestSSRFAtDialTime(t *testing.T) {
	t.Parallel()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	p, _ := setup(t, &receiver{})
	tests := []struct {
		url  string
		want string
	}{
		{"http://hooks.internal.example/hook", "destination address is not allowed: private network"},
		{redirector.URL + "/hook", "destination address is not allowed: link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := p.Execute(context.Background(), gateway.Credentials{URL: tt.url}, nil, "send", json.RawMessage(`{"payload": 1}`))
			faulttest.Scanned(t, err)
			if provider.Classify(err) != provider.OutcomeUnreachable || provider.Message(err) != tt.want {
				t.Errorf("error %v, want unreachable %q", err, tt.want)
			}
		})
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	t.Parallel()
	const secret = "whsec_c3VwZXItc2VjcmV0LXNpZ25pbmcta2V5"
	rc := &receiver{statuses: []int{401, 500, 500, 500, 400}}
	p, url := setup(t, rc)
	creds := gateway.Credentials{URL: url, SigningSecret: secret}
	var errs []error
	_, err := p.ValidateCredentials(context.Background(), creds)
	faulttest.Scanned(t, err)
	errs = append(errs, err)
	errs = append(errs, faulttest.ScannedHealth(t, p.CheckHealth(context.Background(), creds, nil)).Err)
	_, err = p.Execute(context.Background(), creds, nil, "send", json.RawMessage(`{"payload": "`+secret+`"}`))
	faulttest.Scanned(t, err)
	errs = append(errs, err)
	_, err = p.ValidateCredentials(context.Background(), gateway.Credentials{URL: url, SigningSecret: "whsec_" + "!!" + secret[6:]})
	faulttest.Scanned(t, err)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected every call to fail")
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			for _, s := range []string{e.Error(), provider.Message(e), fmt.Sprintf("%+v", e)} {
				if strings.Contains(s, secret[6:]) {
					t.Errorf("the signing secret leaked: %q", s)
				}
			}
		}
	}
}
