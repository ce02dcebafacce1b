package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// Body is a named BadJSON answer.
type Body struct {
	Name string
	Body []byte
	// Want is the outcome the answer must have; "" means
	// provider.OutcomeProviderError, for a provider that reads the body.
	Want provider.Outcome
}

// Call is one call the API makes of a provider for a gateway, made through
// a Gateway the way the API makes it.
type Call struct {
	Name string
	// Requests is how many requests the call sends before a failure stops
	// it; 0 means 1. It bounds the call's time: Requests × the timeout.
	Requests int
	// Run makes the call and returns the outcome class of the provider's
	// result and the error the API answers with (nil for a 2xx). It
	// reports on t what else the call must have left behind, given the
	// outcome the test wants.
	Run func(t testing.TB, ctx context.Context, g *Gateway, want provider.Outcome) (provider.Outcome, error)
	// Upstream says the API answers a failure of this call with the
	// upstream error of its outcome (a 502 for unreachable or
	// provider_error); otherwise it answers 2xx and records the failure.
	Upstream bool
	// From is the status the gateway is in before the call; "" means
	// CONNECTED.
	From gateway.Status
}

// Suite is every fault against every call of one provider.
type Suite struct {
	// New returns the provider under test, sending to base through a
	// client with the given timeout, and credentials that point at base.
	New func(base string, timeout time.Duration) (provider.Provider, gateway.Credentials)
	// Config is the gateway's config; nil means {}.
	Config json.RawMessage
	// Bodies are the BadJSON answers to try: broken, too large, and
	// valid JSON of the wrong shape for this provider's success answers.
	Bodies []Body
	Calls  []Call
	// Outcomes overrides the outcome a transport mode must have; without
	// an entry it is provider.OutcomeUnreachable. A webhook, which only
	// needs the status, is delivered by a 200 whose body trickles.
	Outcomes map[Mode]provider.Outcome
	// Timeout is each request's timeout against a server that hangs or
	// trickles (0 means 300ms). Against the other faults, which answer at
	// once, requests keep provider.DefaultTimeout: a short one there could
	// turn a slow machine's 9 MB transfer into a timeout and the test
	// would check the wrong failure.
	Timeout time.Duration
	// Secrets must appear in no error text or message.
	Secrets []string
}

// margin is what a call may take beyond its timeouts before the test
// fails. It is a guard against a call that is not bounded at all (a hang,
// or a body read with no deadline), not a measure of speed: the tests run
// with -race on small shared machines.
const margin = 5 * time.Second

// UpstreamCode is the domain error code the API answers a failed provider
// call of outcome o with.
func UpstreamCode(o provider.Outcome) string {
	switch o {
	case provider.OutcomeInvalidCredentials:
		return gateway.CodeUpstreamRejected
	case provider.OutcomeRateLimited:
		return gateway.CodeUpstreamRateLimited
	case provider.OutcomeUnreachable:
		return gateway.CodeUpstreamUnreachable
	}
	return gateway.CodeUpstreamError
}

// Run runs every call of s against a Server in every mode, one subtest
// each, and checks that the call ends within its timeouts, that the
// failure is classified (unreachable when no usable HTTP answer came,
// provider_error for a 200 that is not the expected JSON) and answered as
// the API must, that no request is retried after a transport failure, that
// no secret shows in any error, and that no goroutine started by the
// subtest outlives it.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	if s.Timeout <= 0 {
		s.Timeout = 300 * time.Millisecond
	}
	type fault struct {
		name string
		mode Mode
		body []byte
		want provider.Outcome
	}
	var faults []fault
	for _, m := range TransportModes {
		want := provider.OutcomeUnreachable
		if o, ok := s.Outcomes[m]; ok {
			want = o
		}
		faults = append(faults, fault{name: string(m), mode: m, want: want})
	}
	for _, b := range s.Bodies {
		want := b.Want
		if want == "" {
			want = provider.OutcomeProviderError
		}
		faults = append(faults, fault{name: string(BadJSON) + "/" + b.Name, mode: BadJSON, body: b.Body, want: want})
	}
	for _, f := range faults {
		for _, c := range s.Calls {
			t.Run(f.name+"/"+c.Name, func(t *testing.T) {
				// Goroutines that exist now belong to other tests (paused
				// parallel ones, the test runner); only what this subtest
				// starts is checked.
				ignore := goleak.IgnoreCurrent()
				srv := NewServer(f.mode, Options{Body: f.body})
				defer srv.Close()

				timeout := provider.DefaultTimeout
				if f.mode == Hang || f.mode == SlowBody {
					timeout = s.Timeout
				}
				p, creds := s.New(srv.URL, timeout)
				ctx := context.Background()
				from := c.From
				if from == "" {
					from = gateway.StatusConnected
				}
				g, err := NewGateway(ctx, p, creds, s.Config, from)
				if err != nil {
					t.Fatalf("NewGateway: %v", err)
				}
				requests := max(c.Requests, 1)
				start := time.Now()
				outcome, apiErr := c.Run(t, ctx, g, f.want)
				elapsed := time.Since(start)

				answer := "2xx"
				if apiErr != nil {
					answer = gateway.ErrorMessage(apiErr)
				}
				t.Logf("%s in %v; API answer: %s", outcome, elapsed.Round(time.Millisecond), answer)
				if limit := time.Duration(requests)*timeout + margin; elapsed > limit {
					t.Errorf("took %v, more than %d × the %v timeout plus %v", elapsed, requests, timeout, margin)
				}
				if outcome != f.want {
					t.Errorf("outcome %q, want %q (API error: %v)", outcome, f.want, apiErr)
				}
				wantCode := ""
				if c.Upstream && f.want != provider.OutcomeOK {
					wantCode = UpstreamCode(f.want)
				}
				if got := gateway.ErrorCode(apiErr); got != wantCode {
					t.Errorf("API error code %q, want %q (%v)", got, wantCode, apiErr)
				}
				if got := srv.Requests(); got != requests {
					t.Errorf("the server read %d requests, want %d: a failure was retried or a call skipped", got, requests)
				}
				if apiErr != nil {
					checkSecrets(t, apiErr, s.Secrets)
				}
				// Checked while the server still holds its end of every
				// connection (a hanging server hangs on): the client must
				// have let go by itself when the call returned. The server's
				// own goroutines are the only ones not ours.
				goleak.VerifyNone(t, ignore,
					goleak.IgnoreAnyFunction("github.com/gatehouse/gatehouse/pkg/provider/faulttest.(*Server).accept"),
					goleak.IgnoreAnyFunction("github.com/gatehouse/gatehouse/pkg/provider/faulttest.(*Server).accept.func1"))
			})
		}
	}
}

// checkSecrets fails t when err's text, its user message or any error in
// its chain holds one of secrets.
func checkSecrets(t testing.TB, err error, secrets []string) {
	t.Helper()
	texts := []string{err.Error(), gateway.ErrorMessage(err), provider.Message(err), fmt.Sprintf("%+v", err)}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error())
	}
	for _, text := range texts {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("an error text holds a secret: %q", text)
			}
		}
	}
}

// The calls every provider has. Each checks what the API leaves behind.

// Validate is the live check of a create (POST /api/gateways) with the
// gateway's own credentials: the provider's ValidateCredentials classifies
// the failure, and the create itself still succeeds, with a failure
// recorded as the new gateway's lastError. It sends two requests: one for
// each.
func Validate() Call {
	return Call{Name: "validate", Requests: 2, Run: func(t testing.TB, ctx context.Context, g *Gateway, want provider.Outcome) (provider.Outcome, error) {
		p, creds := g.open(t, ctx)
		_, verr := p.ValidateCredentials(ctx, creds)
		created, err := g.Create(ctx, creds)
		if err == nil {
			if warned := strings.HasPrefix(created.LastError, "Credentials could not be verified"); warned != (want != provider.OutcomeOK) {
				t.Errorf("created with lastError %q after a check with outcome %s", created.LastError, want)
			}
		}
		return provider.Classify(verr), err
	}}
}

// Test is POST /api/gateways/{id}/test: a 200 whose result is the outcome,
// with a failed gateway moved to ERROR.
func Test() Call {
	return Call{Name: "test", Run: func(t testing.TB, ctx context.Context, g *Gateway, want provider.Outcome) (provider.Outcome, error) {
		res, err := g.Test(ctx)
		if err != nil {
			return "", err
		}
		if failed := want != provider.OutcomeOK; res.Success == failed || (res.Error != "") != failed {
			t.Errorf("test result %+v after a check with outcome %s", res, want)
		}
		wantStatus(t, ctx, g, statusAfter(want, gateway.StatusConnected))
		return res.Result, nil
	}}
}

// Connect is PATCH /api/gateways/{id}/status to CONNECTED of a
// disconnected gateway (connecting a connected one calls nothing): the
// upstream error, with a failed gateway moved to ERROR.
func Connect() Call {
	return Call{Name: "connect", Upstream: true, From: gateway.StatusDisconnected, Run: func(t testing.TB, ctx context.Context, g *Gateway, want provider.Outcome) (provider.Outcome, error) {
		_, err := g.Connect(ctx)
		wantStatus(t, ctx, g, statusAfter(want, gateway.StatusConnected))
		return provider.Classify(err), err
	}}
}

// statusAfter is the status a call leaves the gateway in: ERROR after a
// failure, ok otherwise.
func statusAfter(want provider.Outcome, ok gateway.Status) gateway.Status {
	if want != provider.OutcomeOK {
		return gateway.StatusError
	}
	return ok
}

// Disconnect is PATCH /api/gateways/{id}/status to DISCONNECTED for a
// provider that calls out to disconnect (Telegram): the user's intent wins,
// so the API answers 200 and the gateway is DISCONNECTED whatever the
// provider said. The outcome is that of the provider's Disconnect, made
// once more directly (so the call sends two requests).
func Disconnect() Call {
	return Call{Name: "disconnect", Requests: 2, Run: func(t testing.TB, ctx context.Context, g *Gateway, _ provider.Outcome) (provider.Outcome, error) {
		p, creds := g.open(t, ctx)
		stored, err := g.Stored(ctx)
		if err != nil {
			t.Fatal(err)
		}
		derr := p.Disconnect(ctx, provider.DisconnectRequest{GatewayID: stored.ID, Credentials: creds, Config: stored.Config})
		_, err = g.Disconnect(ctx)
		wantStatus(t, ctx, g, gateway.StatusDisconnected)
		return provider.Classify(derr), err
	}}
}

// Action is POST /api/gateways/{id}/actions/{name} with params: the
// upstream error.
func Action(name string, params string) Call {
	return Call{Name: "action:" + name, Upstream: true, Run: func(_ testing.TB, ctx context.Context, g *Gateway, _ provider.Outcome) (provider.Outcome, error) {
		_, err := g.Execute(ctx, name, json.RawMessage(params))
		return provider.Classify(err), err
	}}
}

func wantStatus(t testing.TB, ctx context.Context, g *Gateway, want gateway.Status) {
	t.Helper()
	stored, err := g.Stored(ctx)
	if err != nil {
		t.Fatalf("read the gateway back: %v", err)
	}
	if stored.Status != want {
		t.Errorf("gateway status %s, want %s", stored.Status, want)
	}
}

// open returns the gateway's provider and its credentials as stored.
func (g *Gateway) open(t testing.TB, ctx context.Context) (provider.Provider, gateway.Credentials) {
	t.Helper()
	p, err := g.life.Registry().Get(g.typ)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := g.Stored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := g.life.Gateways().Credentials(ctx, stored)
	if err != nil {
		t.Fatal(err)
	}
	return p, creds
}

// Scanned records err — its text and the message users see — for the
// secret scan a provider package's TestMain runs after its tests
// (secretscan.Main), and returns it.
func Scanned(t testing.TB, err error) error {
	if err != nil {
		secretscan.Error(t.Name(), err)
		secretscan.Error(t.Name()+" (user message)", errors.New(provider.Message(err)))
	}
	return err
}

// ScannedHealth records a health check's error and message as Scanned
// does, and returns h.
func ScannedHealth(t testing.TB, h provider.HealthResult) provider.HealthResult {
	Scanned(t, h.Err)
	if h.Error != "" {
		secretscan.Error(t.Name()+" (health message)", errors.New(h.Error))
	}
	return h
}
