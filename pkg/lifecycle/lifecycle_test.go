package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// The tests of this file drive lifecycle.Service over gatewaytest's
// in-memory store and sealer and a fakeProvider, so that every status
// transition and every class of provider outcome is checked in
// milliseconds, with no network and no emulator.

var t0 = time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)

var (
	alice = gateway.Actor{UserID: "alice", RequestID: "req-1"}
	bob   = gateway.Actor{UserID: "bob"}
)

const (
	botToken  = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
	publicURL = "https://gatehouse.example.com"
)

// call is one call a fakeProvider received.
type call struct {
	method string
	creds  gateway.Credentials
	// gatewayID, publicURL and stored (the gateway's stored status while
	// the provider works) are of Connect and Disconnect.
	gatewayID string
	publicURL string
	stored    gateway.Status
	action    string // Execute
}

// fakeProvider is a provider.Provider whose answers the test sets and which
// records every call. Each call takes a second on the world's clock, as a
// remote call takes time, so that what the lifecycle writes before and
// after it is apart in the audit trail.
type fakeProvider struct {
	typ   gateway.Type
	clock *fakeclock.Clock
	store *gatewaytest.Store

	// The answers.
	validateErr   error
	learned       map[string]any
	connectErr    error
	connectRes    provider.ConnectResult
	disconnectErr error
	executeErr    error
	executeOut    any
	health        provider.HealthResult
	// cancel, when set, is called during Connect, as if the request's
	// deadline passed while the provider was working.
	cancel context.CancelFunc

	mu    sync.Mutex
	calls []call
}

var _ provider.Provider = (*fakeProvider)(nil)

func (f *fakeProvider) record(c call) {
	f.clock.Advance(time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// methods lists the methods called, in order.
func (f *fakeProvider) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.method)
	}
	return out
}

func (f *fakeProvider) Type() gateway.Type { return f.typ }

// Info declares one config key, mode, which is "a" or "b".
func (f *fakeProvider) Info() provider.Info {
	return provider.Info{Type: f.typ, Name: "Fake", Actions: f.Actions(),
		Config: []provider.Param{{Name: "mode", Type: provider.ParamString, Enum: []string{"a", "b"}}}}
}

// Actions are ping, which any gateway may run, and send, which needs a
// connected one.
func (f *fakeProvider) Actions() []provider.Action {
	return []provider.Action{
		{Name: "ping"},
		{Name: "send", RequiresConnection: true, Params: []provider.Param{{Name: "text", Type: provider.ParamString, Required: true}}},
	}
}

func (f *fakeProvider) ValidateCredentials(_ context.Context, creds gateway.Credentials) (provider.Validation, error) {
	f.record(call{method: "ValidateCredentials", creds: creds})
	return provider.Validation{CredentialInfo: f.learned}, f.validateErr
}

func (f *fakeProvider) Connect(ctx context.Context, req provider.ConnectRequest) (provider.ConnectResult, error) {
	stored := gateway.Status("")
	if g, err := f.store.GetGateway(ctx, req.GatewayID); err == nil {
		stored = g.Status
	}
	f.record(call{method: "Connect", creds: req.Credentials, gatewayID: req.GatewayID, publicURL: req.PublicURL, stored: stored})
	if f.cancel != nil {
		f.cancel()
		return provider.ConnectResult{}, ctx.Err()
	}
	return f.connectRes, f.connectErr
}

func (f *fakeProvider) Disconnect(_ context.Context, req provider.DisconnectRequest) error {
	f.record(call{method: "Disconnect", creds: req.Credentials, gatewayID: req.GatewayID})
	return f.disconnectErr
}

func (f *fakeProvider) Execute(_ context.Context, creds gateway.Credentials, _ json.RawMessage, action string, _ json.RawMessage) (any, error) {
	f.record(call{method: "Execute", creds: creds, action: action})
	return f.executeOut, f.executeErr
}

func (f *fakeProvider) CheckHealth(_ context.Context, creds gateway.Credentials, _ json.RawMessage) provider.HealthResult {
	f.record(call{method: "CheckHealth", creds: creds})
	return f.health
}

// fakeError is a provider error of any outcome class, with the HTTP status
// and the Retry-After a remote system answered.
type fakeError struct {
	outcome provider.Outcome
	status  int
	retry   time.Duration
	msg     string
}

func (e *fakeError) Error() string             { return e.msg }
func (e *fakeError) Outcome() provider.Outcome { return e.outcome }
func (e *fakeError) HTTPStatus() int           { return e.status }
func (e *fakeError) RetryDelay() time.Duration { return e.retry }

// The provider failures, one per outcome class, and a refusal of the
// request itself (a 4xx about its parameters).
var (
	errRejected    = &provider.InvalidCredentialsError{Field: "credentials.botToken", Message: "Unauthorized"}
	errRateLimited = &fakeError{outcome: provider.OutcomeRateLimited, status: 429, retry: 3 * time.Second, msg: "too many requests"}
	errUnreachable = &provider.UnreachableError{Host: "api.example.com", Reason: "timeout"}
	errProvider    = &provider.ResponseError{Provider: "fake", Reason: "not JSON"}
	errRefused     = &fakeError{outcome: provider.OutcomeProviderError, status: 400, msg: "chat not found"}
)

// world is a lifecycle over fresh fakes, with one fakeProvider.
type world struct {
	store  *gatewaytest.Store
	sealer *gatewaytest.Sealer
	clock  *fakeclock.Clock
	fake   *fakeProvider
	life   *lifecycle.Service
}

// newWorld returns a world whose fakeProvider serves typ.
func newWorld(tb testing.TB, typ gateway.Type, opts ...lifecycle.Option) *world {
	tb.Helper()
	clock := fakeclock.New(t0)
	st := gatewaytest.NewStore(gatewaytest.WithClock(clock.Now))
	se := gatewaytest.NewSealer()
	fake := &fakeProvider{typ: typ, clock: clock, store: st}
	reg := provider.NewRegistry()
	if err := reg.Register(fake, false); err != nil {
		tb.Fatal(err)
	}
	svc := gateway.NewService(st, se, gateway.WithClock(clock.Now))
	opts = append([]lifecycle.Option{lifecycle.WithClock(clock.Now), lifecycle.WithPublicURL(publicURL + "/")}, opts...)
	return &world{store: st, sealer: se, clock: clock, fake: fake, life: lifecycle.New(svc, reg, opts...)}
}

// seed describes a stored gateway of alice's, in a state the lifecycle
// would take several calls to reach.
type seed struct {
	status          gateway.Status
	webhook         bool // holds a webhook secret: Telegram delivers to it
	connectedBefore bool
	failures        int
	unreadable      bool // its credentials were sealed for another gateway
	lastError       string
}

// put stores s's gateway, without an audit event, so that the trail holds
// only what the lifecycle writes.
func (w *world) put(tb testing.TB, s seed) *gateway.Gateway {
	tb.Helper()
	g := &gateway.Gateway{ID: gateway.NewID(), UserID: alice.UserID, Name: "bot", Type: w.fake.typ,
		Status: s.status, Config: json.RawMessage(`{}`), CredentialInfo: map[string]any{"botId": "123456789"},
		CreatedAt: t0, UpdatedAt: t0, Version: 1, ConsecutiveFailures: s.failures}
	if s.webhook {
		g.WebhookSecretHash = bytes.Repeat([]byte{7}, 32)
	}
	if s.connectedBefore {
		g.LastConnectedAt = ptr(t0.Add(-time.Hour))
	}
	if s.lastError != "" {
		g.LastError, g.LastErrorAt = s.lastError, ptr(t0.Add(-time.Minute))
	}
	binding := gateway.Binding(g)
	if s.unreadable {
		binding = map[string]string{"gatewayId": gateway.NewID(), "owner": g.Owner().Key()}
	}
	plain, _ := json.Marshal(gateway.Credentials{BotToken: botToken})
	var err error
	if g.SealedCredentials, err = w.sealer.Seal(context.Background(), plain, binding); err != nil {
		tb.Fatal(err)
	}
	w.store.MustPut(tb, g)
	return g
}

func (w *world) stored(tb testing.TB, id string) *gateway.Gateway {
	tb.Helper()
	g, err := w.store.GetGateway(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetGateway(%s): %v", id, err)
	}
	return g
}

// trail summarises gateway id's audit trail, oldest first: the action
// without its "gateway." prefix and, for a change of status, "from>to".
func (w *world) trail(id string) []string {
	var out []string
	evs := w.store.Trail(id)
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		s := strings.TrimPrefix(ev.Action, "gateway.")
		if from, ok := ev.Details["from"]; ok {
			s += " " + from + ">" + ev.Details["to"]
		}
		out = append(out, s)
	}
	return out
}

// newest is the newest event of gateway id's trail.
func (w *world) newest(tb testing.TB, id string) gateway.AuditEvent {
	tb.Helper()
	evs := w.store.Trail(id)
	if len(evs) == 0 {
		tb.Fatalf("gateway %s has no audit event", id)
	}
	return evs[0]
}

func ptr[T any](v T) *T { return &v }

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := gateway.ErrorCode(err); got != code {
		tb.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func fieldNames(err error) []string {
	var e *gateway.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func retryAfter(err error) int {
	var e *gateway.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func TestCreate(t *testing.T) {
	tgCreds := gateway.Credentials{BotToken: botToken}
	tests := []struct {
		name         string
		typ          gateway.Type
		provider     gateway.Type // the type the fake serves; typ when empty
		creds        gateway.Credentials
		config       string
		allowPrivate bool
		ports        []uint16 // OUTBOUND_PORTS; nil is the default
		validateErr  error

		wantCode    string
		wantFields  []string
		wantCalls   []string
		wantLastErr string
	}{
		{name: "ok: what the check learnt is kept", typ: gateway.TypeTelegramBot, creds: tgCreds, wantCalls: []string{"ValidateCredentials"}},
		{name: "invalid_credentials refuses", typ: gateway.TypeTelegramBot, creds: tgCreds, validateErr: errRejected,
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.botToken"}, wantCalls: []string{"ValidateCredentials"}},
		{name: "rate_limited is a warning", typ: gateway.TypeTelegramBot, creds: tgCreds, validateErr: errRateLimited,
			wantCalls: []string{"ValidateCredentials"}, wantLastErr: "Credentials could not be verified: too many requests"},
		{name: "unreachable is a warning", typ: gateway.TypeTelegramBot, creds: tgCreds, validateErr: errUnreachable,
			wantCalls: []string{"ValidateCredentials"}, wantLastErr: "Credentials could not be verified: could not reach api.example.com: timeout"},
		{name: "provider_error is a warning", typ: gateway.TypeTelegramBot, creds: tgCreds, validateErr: errProvider,
			wantCalls: []string{"ValidateCredentials"}, wantLastErr: "Credentials could not be verified: fake returned an unexpected response: not JSON"},
		{name: "a config the provider refuses is refused before any call", typ: gateway.TypeTelegramBot, creds: tgCreds, config: `{"mode":"c","extra":1}`,
			wantCode: gateway.CodeInvalid, wantFields: []string{"config.mode", "config.extra"}},
		{name: "a private URL is refused before any call", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "http://127.0.0.1:9/hook"},
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.url"}},
		{name: "a private URL where allowed", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "http://127.0.0.1:9/hook"}, allowPrivate: true,
			wantCalls: []string{"ValidateCredentials"}},
		{name: "loopback spelled in hex is refused before any call", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "http://0x7f000001/hook"},
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.url"}},
		{name: "loopback spelled in decimal is refused before any call", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "http://2130706433/hook"},
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.url"}},
		{name: "a port not allowed is refused before any call", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "https://hooks.example.com:8080/in"},
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.url"}},
		{name: "a port the operator allows", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "https://hooks.example.com:8443/in"}, ports: []uint16{443, 8443},
			wantCalls: []string{"ValidateCredentials"}},
		{name: "any port where private networks are allowed", typ: gateway.TypeWebhook, creds: gateway.Credentials{URL: "https://hooks.example.com:8080/in"}, allowPrivate: true,
			wantCalls: []string{"ValidateCredentials"}},
		{name: "a webhook's rejection names its signing secret", typ: gateway.TypeWebhook, validateErr: errRejected,
			creds:    gateway.Credentials{URL: "https://hooks.example.com/in", SigningSecret: "whsec-0123456789abcdefghijklmn"},
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.signingSecret"}, wantCalls: []string{"ValidateCredentials"}},
		{name: "a type without a provider", typ: gateway.TypeAI, provider: gateway.TypeTelegramBot,
			creds: gateway.Credentials{Provider: "openai", APIKey: "sk-0123456789"}, wantCode: gateway.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served := tt.provider
			if served == "" {
				served = tt.typ
			}
			w := newWorld(t, served, lifecycle.WithAllowPrivateNetworks(tt.allowPrivate), lifecycle.WithOutboundPorts(tt.ports))
			w.fake.validateErr, w.fake.learned = tt.validateErr, map[string]any{"botUsername": "fake_bot"}
			config := tt.config
			if config == "" {
				config = `{"mode":"a"}`
			}
			before := w.store.Snapshot(t)

			req := gateway.CreateRequest{Name: "gw", Type: tt.typ, Credentials: tt.creds, Config: json.RawMessage(config)}
			g, _, err := w.life.Create(t.Context(), alice, req, "")
			wantCode(t, "Create", err, tt.wantCode)
			if got := fieldNames(err); !slices.Equal(got, tt.wantFields) {
				t.Errorf("field errors %v, want %v", got, tt.wantFields)
			}
			if got := w.fake.methods(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("provider calls %v, want %v", got, tt.wantCalls)
			}
			if err != nil {
				if !bytes.Equal(w.store.Snapshot(t), before) {
					t.Error("a refused create wrote to the store")
				}
				return
			}
			if len(w.fake.calls) > 0 && w.fake.calls[0].creds != tt.creds {
				t.Error("the provider validated other credentials")
			}
			stored := w.stored(t, g.ID)
			if stored.LastError != tt.wantLastErr || stored.Status != gateway.StatusDisconnected {
				t.Errorf("stored lastError %q, status %s; want %q, DISCONNECTED", stored.LastError, stored.Status, tt.wantLastErr)
			}
			if tt.validateErr == nil && stored.CredentialInfo["botUsername"] != "fake_bot" {
				t.Errorf("credentialInfo %v lacks what the check learnt", stored.CredentialInfo)
			}
			if got, want := w.trail(g.ID), []string{"created"}; !slices.Equal(got, want) {
				t.Errorf("trail %v, want %v", got, want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	newCreds := &gateway.Credentials{BotToken: "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDzzz9"}
	tests := []struct {
		name        string
		req         gateway.UpdateRequest
		ifMatch     *int64
		validateErr error

		wantCode    string
		wantFields  []string
		wantCalls   []string
		wantLastErr string
		wantWrite   bool
	}{
		{name: "a rename calls no provider", req: gateway.UpdateRequest{Name: ptr("renamed")}, wantWrite: true},
		{name: "new credentials are checked live", req: gateway.UpdateRequest{Credentials: newCreds},
			wantCalls: []string{"ValidateCredentials"}, wantWrite: true},
		{name: "new credentials the provider rejects", req: gateway.UpdateRequest{Name: ptr("renamed"), Credentials: newCreds}, validateErr: errRejected,
			wantCode: gateway.CodeInvalid, wantFields: []string{"credentials.botToken"}, wantCalls: []string{"ValidateCredentials"}},
		{name: "new credentials whose check is inconclusive", req: gateway.UpdateRequest{Credentials: newCreds}, validateErr: errUnreachable,
			wantCalls: []string{"ValidateCredentials"}, wantLastErr: "Credentials could not be verified: could not reach api.example.com: timeout", wantWrite: true},
		{name: "a config the provider refuses", req: gateway.UpdateRequest{Config: json.RawMessage(`{"mode":"z"}`), Credentials: newCreds},
			wantCode: gateway.CodeInvalid, wantFields: []string{"config.mode"}},
		{name: "a config it accepts", req: gateway.UpdateRequest{Config: json.RawMessage(`{"mode":"b"}`)}, wantWrite: true},
		{name: "stale If-Match", req: gateway.UpdateRequest{Name: ptr("renamed")}, ifMatch: ptr(int64(7)), wantCode: gateway.CodeVersionMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, seed{status: gateway.StatusConnected})
			w.fake.validateErr = tt.validateErr
			before := w.store.Snapshot(t)

			_, err := w.life.Update(t.Context(), alice, g, tt.req, tt.ifMatch)
			wantCode(t, "Update", err, tt.wantCode)
			if got := fieldNames(err); !slices.Equal(got, tt.wantFields) {
				t.Errorf("field errors %v, want %v", got, tt.wantFields)
			}
			if got := w.fake.methods(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("provider calls %v, want %v", got, tt.wantCalls)
			}
			if wrote := !bytes.Equal(w.store.Snapshot(t), before); wrote != tt.wantWrite {
				t.Fatalf("wrote %v, want %v", wrote, tt.wantWrite)
			}
			if got := w.stored(t, g.ID).LastError; got != tt.wantLastErr {
				t.Errorf("lastError %q, want %q", got, tt.wantLastErr)
			}
		})
	}
}

func TestConnect(t *testing.T) {
	tests := []struct {
		name       string
		seed       seed
		actor      gateway.Actor
		ifMatch    *int64
		connectErr error
		cancel     bool // the request's context ends while the provider works

		wantCode       string
		wantRetryAfter int
		wantCalls      []string
		wantStatus     gateway.Status
		wantLastErr    string
		wantTrail      []string
		wantResult     string // the result the audit event records for a failure
	}{
		{name: "from DISCONNECTED", seed: seed{status: gateway.StatusDisconnected, failures: 2},
			wantCalls: []string{"Connect"}, wantStatus: gateway.StatusConnected,
			wantTrail: []string{"status_changed DISCONNECTED>CONNECTING", "status_changed CONNECTING>CONNECTED"}},
		{name: "from ERROR", seed: seed{status: gateway.StatusError},
			wantCalls: []string{"Connect"}, wantStatus: gateway.StatusConnected,
			wantTrail: []string{"status_changed ERROR>CONNECTING", "status_changed CONNECTING>CONNECTED"}},
		// Issue 16, item 2: asking for the status it has writes nothing and
		// calls nothing (the gateway is returned as it is).
		{name: "again from CONNECTED is a no-op", seed: seed{status: gateway.StatusConnected, webhook: true},
			wantStatus: gateway.StatusConnected},
		{name: "from CONNECTING the first transition is a no-op", seed: seed{status: gateway.StatusConnecting},
			wantCalls: []string{"Connect"}, wantStatus: gateway.StatusConnected,
			wantTrail: []string{"status_changed CONNECTING>CONNECTED"}},
		{name: "invalid_credentials", seed: seed{status: gateway.StatusDisconnected}, connectErr: errRejected,
			wantCode: gateway.CodeUpstreamRejected, wantCalls: []string{"Connect"}, wantStatus: gateway.StatusError,
			wantLastErr: "invalid credentials: Unauthorized", wantResult: "invalid_credentials",
			wantTrail: []string{"status_changed DISCONNECTED>CONNECTING", "status_changed CONNECTING>ERROR"}},
		{name: "rate_limited", seed: seed{status: gateway.StatusDisconnected}, connectErr: errRateLimited,
			wantCode: gateway.CodeUpstreamRateLimited, wantRetryAfter: 3, wantCalls: []string{"Connect"}, wantStatus: gateway.StatusError,
			wantLastErr: "too many requests", wantResult: "rate_limited",
			wantTrail: []string{"status_changed DISCONNECTED>CONNECTING", "status_changed CONNECTING>ERROR"}},
		{name: "unreachable", seed: seed{status: gateway.StatusError, webhook: true}, connectErr: errUnreachable,
			wantCode: gateway.CodeUpstreamUnreachable, wantCalls: []string{"Connect"}, wantStatus: gateway.StatusError,
			wantLastErr: "could not reach api.example.com: timeout", wantResult: "unreachable",
			wantTrail: []string{"status_changed ERROR>CONNECTING", "status_changed CONNECTING>ERROR"}},
		{name: "provider_error", seed: seed{status: gateway.StatusError}, connectErr: errProvider,
			wantCode: gateway.CodeUpstreamError, wantCalls: []string{"Connect"}, wantStatus: gateway.StatusError,
			wantLastErr: "fake returned an unexpected response: not JSON", wantResult: "provider_error",
			wantTrail: []string{"status_changed ERROR>CONNECTING", "status_changed CONNECTING>ERROR"}},
		// Only an action's request can be refused for its parameters.
		{name: "a 4xx refusal is a provider error", seed: seed{status: gateway.StatusDisconnected}, connectErr: errRefused,
			wantCode: gateway.CodeUpstreamError, wantCalls: []string{"Connect"}, wantStatus: gateway.StatusError,
			wantLastErr: "chat not found", wantResult: "provider_error",
			wantTrail: []string{"status_changed DISCONNECTED>CONNECTING", "status_changed CONNECTING>ERROR"}},
		{name: "the outcome is recorded after the request's context ends", seed: seed{status: gateway.StatusDisconnected}, cancel: true,
			wantCode: gateway.CodeUpstreamUnreachable, wantCalls: []string{"Connect"}, wantStatus: gateway.StatusError,
			wantLastErr: "The provider call failed unexpectedly.", wantResult: "unreachable",
			wantTrail: []string{"status_changed DISCONNECTED>CONNECTING", "status_changed CONNECTING>ERROR"}},
		{name: "stale If-Match is refused before any call", seed: seed{status: gateway.StatusDisconnected}, ifMatch: ptr(int64(0)),
			wantCode: gateway.CodeVersionMismatch, wantStatus: gateway.StatusDisconnected},
		{name: "current If-Match", seed: seed{status: gateway.StatusDisconnected}, ifMatch: ptr(int64(1)),
			wantCalls: []string{"Connect"}, wantStatus: gateway.StatusConnected,
			wantTrail: []string{"status_changed DISCONNECTED>CONNECTING", "status_changed CONNECTING>CONNECTED"}},
		{name: "unreadable credentials", seed: seed{status: gateway.StatusDisconnected, unreadable: true},
			wantCode: gateway.CodeCredentialsUnreadable, wantStatus: gateway.StatusDisconnected},
		{name: "another user's gateway", seed: seed{status: gateway.StatusDisconnected}, actor: bob,
			wantCode: gateway.CodeNotFound, wantStatus: gateway.StatusDisconnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			secretHash := bytes.Repeat([]byte{9}, 32)
			w.fake.connectErr = tt.connectErr
			w.fake.connectRes = provider.ConnectResult{WebhookSecretHash: secretHash,
				CredentialInfo: map[string]any{"botUsername": "fake_bot"}, Details: map[string]any{"webhookUrl": w.life.WebhookURL(g.ID)}}
			ctx := t.Context()
			if tt.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				w.fake.cancel = cancel
			}
			actor := alice
			if tt.actor.UserID != "" {
				actor = tt.actor
			}

			got, err := w.life.Connect(ctx, actor, g.ID, tt.ifMatch)
			wantCode(t, "Connect", err, tt.wantCode)
			if r := retryAfter(err); r != tt.wantRetryAfter {
				t.Errorf("RetryAfter %d, want %d", r, tt.wantRetryAfter)
			}
			if calls := w.fake.methods(); !slices.Equal(calls, tt.wantCalls) {
				t.Fatalf("provider calls %v, want %v", calls, tt.wantCalls)
			}
			stored := w.stored(t, g.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", stored.Status, tt.wantStatus)
			}
			if trail := w.trail(g.ID); !slices.Equal(trail, tt.wantTrail) {
				t.Errorf("trail %v, want %v", trail, tt.wantTrail)
			}
			if tt.wantCalls == nil {
				if tt.wantCode == "" && (got.Version != g.Version || !reflect.DeepEqual(got, stored)) {
					t.Errorf("a no-op connect returned\n%+v\nstored\n%+v\nseeded at version %d", got, stored, g.Version)
				}
				return
			}
			c := w.fake.calls[0]
			if c.stored != gateway.StatusConnecting || c.gatewayID != g.ID || c.publicURL != publicURL || c.creds.BotToken != botToken {
				t.Errorf("the provider was called with %+v; want the gateway CONNECTING, its id, its credentials and %s", c, publicURL)
			}
			// A failed connect still returns the gateway, as recorded.
			if !reflect.DeepEqual(got, stored) {
				t.Errorf("Connect returned\n%+v\nstored\n%+v", got, stored)
			}
			now := t0.Add(time.Second) // the provider's call took one
			ev := w.newest(t, g.ID)
			if tt.wantCode == "" {
				if !stored.LastConnectedAt.Equal(now) || !bytes.Equal(stored.WebhookSecretHash, secretHash) ||
					stored.ConsecutiveFailures != 0 || stored.CredentialInfo["botUsername"] != "fake_bot" || stored.CredentialInfo["botId"] != "123456789" {
					t.Errorf("stored after connecting: %+v", stored)
				}
				if !slices.Equal(ev.Changes, []string{"status", "webhookSecret"}) || ev.Details["webhookUrl"] != publicURL+"/api/webhooks/telegram/"+g.ID {
					t.Errorf("audit event %+v, want the webhook secret and URL", ev)
				}
				return
			}
			if stored.LastError != tt.wantLastErr || stored.LastErrorAt == nil || !stored.LastErrorAt.Equal(now) {
				t.Errorf("lastError %q at %v, want %q at %v", stored.LastError, stored.LastErrorAt, tt.wantLastErr, now)
			}
			if ev.Details["result"] != tt.wantResult || ev.Details["error"] != tt.wantLastErr {
				t.Errorf("audit details %v, want result %s and the error", ev.Details, tt.wantResult)
			}
			if !bytes.Equal(stored.WebhookSecretHash, g.WebhookSecretHash) {
				t.Error("a failed connect changed the webhook secret")
			}
		})
	}
}

func TestDisconnect(t *testing.T) {
	outage := gateway.Errorf(gateway.CodeUnavailable, "KMS is down.")
	tests := []struct {
		name          string
		seed          seed
		ifMatch       *int64
		disconnectErr error
		sealerErr     error

		wantCode    string
		wantCalls   []string
		wantStatus  gateway.Status
		wantTrail   []string
		wantWarning string // in the audit event
	}{
		{name: "from CONNECTED", seed: seed{status: gateway.StatusConnected, webhook: true},
			wantCalls: []string{"Disconnect"}, wantStatus: gateway.StatusDisconnected, wantTrail: []string{"status_changed CONNECTED>DISCONNECTED"}},
		{name: "from ERROR", seed: seed{status: gateway.StatusError},
			wantCalls: []string{"Disconnect"}, wantStatus: gateway.StatusDisconnected, wantTrail: []string{"status_changed ERROR>DISCONNECTED"}},
		{name: "from CONNECTING", seed: seed{status: gateway.StatusConnecting},
			wantCalls: []string{"Disconnect"}, wantStatus: gateway.StatusDisconnected, wantTrail: []string{"status_changed CONNECTING>DISCONNECTED"}},
		{name: "a disconnected gateway that still holds a webhook secret", seed: seed{status: gateway.StatusDisconnected, webhook: true},
			wantCalls: []string{"Disconnect"}, wantStatus: gateway.StatusDisconnected, wantTrail: []string{"status_changed DISCONNECTED>DISCONNECTED"}},
		// A webhook someone set up outside Gatehouse is never removed.
		{name: "already disconnected: no call, no write", seed: seed{status: gateway.StatusDisconnected},
			wantStatus: gateway.StatusDisconnected},
		{name: "the user's intent wins over a failing provider", seed: seed{status: gateway.StatusConnected, webhook: true}, disconnectErr: errUnreachable,
			wantCalls: []string{"Disconnect"}, wantStatus: gateway.StatusDisconnected, wantTrail: []string{"status_changed CONNECTED>DISCONNECTED"},
			wantWarning: "The provider could not be told: could not reach api.example.com: timeout"},
		{name: "unreadable credentials: no call, still disconnected", seed: seed{status: gateway.StatusConnected, webhook: true, unreadable: true},
			wantStatus: gateway.StatusDisconnected, wantTrail: []string{"status_changed CONNECTED>DISCONNECTED"},
			wantWarning: "The provider could not be told: The stored credentials of this gateway cannot be decrypted; replace them."},
		{name: "a sealer outage changes nothing", seed: seed{status: gateway.StatusConnected, webhook: true}, sealerErr: outage,
			wantCode: gateway.CodeUnavailable, wantStatus: gateway.StatusConnected},
		{name: "stale If-Match is refused before any call", seed: seed{status: gateway.StatusConnected, webhook: true}, ifMatch: ptr(int64(3)),
			wantCode: gateway.CodeVersionMismatch, wantStatus: gateway.StatusConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			w.fake.disconnectErr = tt.disconnectErr
			w.sealer.Fail(tt.sealerErr)

			_, err := w.life.Disconnect(t.Context(), alice, g.ID, tt.ifMatch)
			wantCode(t, "Disconnect", err, tt.wantCode)
			if calls := w.fake.methods(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("provider calls %v, want %v", calls, tt.wantCalls)
			}
			stored := w.stored(t, g.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", stored.Status, tt.wantStatus)
			}
			if trail := w.trail(g.ID); !slices.Equal(trail, tt.wantTrail) {
				t.Fatalf("trail %v, want %v", trail, tt.wantTrail)
			}
			if tt.wantTrail == nil {
				return
			}
			if stored.WebhookSecretHash != nil {
				t.Error("the webhook secret is kept after a disconnect")
			}
			if got := w.newest(t, g.ID).Details["warning"]; got != tt.wantWarning {
				t.Errorf("audit warning %q, want %q", got, tt.wantWarning)
			}
		})
	}
}

func TestTest(t *testing.T) {
	healthy := provider.HealthResult{Healthy: true, Outcome: provider.OutcomeOK, LatencyMs: 42, Details: map[string]any{"botUsername": "fake_bot"}}
	unhealthy := func(err error) provider.HealthResult {
		return provider.NewHealthResult(7*time.Millisecond, nil, err)
	}
	tests := []struct {
		name   string
		seed   seed
		health provider.HealthResult

		wantCode       string
		wantStatus     gateway.Status
		wantFailures   int
		wantTrail      []string
		wantConnected  bool // lastConnectedAt is now
		wantLastErr    string
		wantRetryAfter int
	}{
		{name: "healthy and CONNECTED", seed: seed{status: gateway.StatusConnected, connectedBefore: true, failures: 2}, health: healthy,
			wantStatus: gateway.StatusConnected, wantTrail: []string{"tested"}, wantConnected: true},
		{name: "healthy after an ERROR of a gateway that was connected", seed: seed{status: gateway.StatusError, connectedBefore: true, failures: 3}, health: healthy,
			wantStatus: gateway.StatusConnected, wantTrail: []string{"tested ERROR>CONNECTED"}, wantConnected: true},
		{name: "healthy after an ERROR of a gateway never connected", seed: seed{status: gateway.StatusError, failures: 1}, health: healthy,
			wantStatus: gateway.StatusDisconnected, wantTrail: []string{"tested ERROR>DISCONNECTED"}},
		{name: "healthy and DISCONNECTED", seed: seed{status: gateway.StatusDisconnected}, health: healthy,
			wantStatus: gateway.StatusDisconnected, wantTrail: []string{"tested"}},
		{name: "invalid_credentials", seed: seed{status: gateway.StatusConnected, connectedBefore: true}, health: unhealthy(errRejected),
			wantStatus: gateway.StatusError, wantFailures: 1, wantTrail: []string{"tested CONNECTED>ERROR"}, wantLastErr: "invalid credentials: Unauthorized"},
		{name: "rate_limited", seed: seed{status: gateway.StatusConnected, connectedBefore: true}, health: unhealthy(errRateLimited),
			wantStatus: gateway.StatusError, wantFailures: 1, wantTrail: []string{"tested CONNECTED>ERROR"}, wantLastErr: "too many requests", wantRetryAfter: 3},
		{name: "unreachable", seed: seed{status: gateway.StatusDisconnected}, health: unhealthy(errUnreachable),
			wantStatus: gateway.StatusError, wantFailures: 1, wantTrail: []string{"tested DISCONNECTED>ERROR"}, wantLastErr: "could not reach api.example.com: timeout"},
		{name: "provider_error again", seed: seed{status: gateway.StatusError, failures: 4}, health: unhealthy(errProvider),
			wantStatus: gateway.StatusError, wantFailures: 5, wantTrail: []string{"tested"}, wantLastErr: "fake returned an unexpected response: not JSON"},
		{name: "unreadable credentials", seed: seed{status: gateway.StatusConnected, unreadable: true}, health: healthy,
			wantCode: gateway.CodeCredentialsUnreadable, wantStatus: gateway.StatusConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			w.fake.health = tt.health

			res, err := w.life.Test(t.Context(), alice, g.ID)
			wantCode(t, "Test", err, tt.wantCode)
			stored := w.stored(t, g.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", stored.Status, tt.wantStatus)
			}
			if trail := w.trail(g.ID); !slices.Equal(trail, tt.wantTrail) {
				t.Errorf("trail %v, want %v", trail, tt.wantTrail)
			}
			if err != nil {
				if calls := w.fake.methods(); calls != nil {
					t.Errorf("provider calls %v, want none", calls)
				}
				return
			}
			now := t0.Add(time.Second)
			wantRes := lifecycle.TestResult{Success: tt.health.Healthy, LatencyMs: tt.health.LatencyMs, Result: tt.health.Outcome,
				Error: tt.wantLastErr, RetryAfterSeconds: tt.wantRetryAfter, Details: tt.health.Details, Gateway: stored}
			if wantRes.Details == nil {
				wantRes.Details = map[string]any{}
			}
			if !reflect.DeepEqual(res, wantRes) {
				t.Errorf("Test =\n%+v\nwant\n%+v", res, wantRes)
			}
			if stored.ConsecutiveFailures != tt.wantFailures || !stored.LastCheckedAt.Equal(now) || *stored.LastLatencyMs != tt.health.LatencyMs {
				t.Errorf("failures %d, checked %v, latency %d; want %d, %v, %d",
					stored.ConsecutiveFailures, stored.LastCheckedAt, *stored.LastLatencyMs, tt.wantFailures, now, tt.health.LatencyMs)
			}
			if connected := stored.LastConnectedAt != nil && stored.LastConnectedAt.Equal(now); connected != tt.wantConnected {
				t.Errorf("lastConnectedAt %v; want now: %v", stored.LastConnectedAt, tt.wantConnected)
			}
			if stored.LastError != tt.wantLastErr && tt.wantLastErr != "" {
				t.Errorf("lastError %q, want %q", stored.LastError, tt.wantLastErr)
			}
			if tt.health.Healthy && stored.CredentialInfo["botUsername"] != "fake_bot" {
				t.Errorf("credentialInfo %v lacks what the check learnt", stored.CredentialInfo)
			}
			ev := w.newest(t, g.ID)
			if ev.Details["result"] != string(tt.health.Outcome) || ev.Details["error"] != tt.wantLastErr {
				t.Errorf("audit details %v, want result %s, error %q", ev.Details, tt.health.Outcome, tt.wantLastErr)
			}
		})
	}
}

// TestSuccessClearsLastError: an error that no longer applies must not sit
// beside a green badge (issue 15, item 2). A successful connect or test
// clears lastError and lastErrorAt in its one write; the error stays in
// the audit trail; a failure keeps or replaces it.
func TestSuccessClearsLastError(t *testing.T) {
	const old = "Credentials could not be verified: could not reach api.telegram.org"
	healthy := provider.HealthResult{Healthy: true, Outcome: provider.OutcomeOK, LatencyMs: 5}
	tests := []struct {
		name    string
		seed    seed
		do      string // "connect" or "test"
		health  provider.HealthResult
		connErr error

		wantLastErr string
		wantChanges []string // of the newest audit event
	}{
		{name: "connect after a create that could not verify", seed: seed{status: gateway.StatusDisconnected, lastError: old},
			do: "connect", wantChanges: []string{"status", "lastError"}},
		{name: "connect from ERROR", seed: seed{status: gateway.StatusError, lastError: old},
			do: "connect", wantChanges: []string{"status", "lastError"}},
		{name: "test of a DISCONNECTED gateway with an old warning", seed: seed{status: gateway.StatusDisconnected, lastError: old},
			do: "test", health: healthy, wantChanges: []string{"lastCheckedAt", "lastError"}},
		{name: "test recovering from ERROR", seed: seed{status: gateway.StatusError, connectedBefore: true, lastError: old},
			do: "test", health: healthy, wantChanges: []string{"lastCheckedAt", "lastError", "status"}},
		{name: "test without an old error changes nothing else", seed: seed{status: gateway.StatusConnected, connectedBefore: true},
			do: "test", health: healthy, wantChanges: []string{"lastCheckedAt"}},
		{name: "a failed connect replaces it", seed: seed{status: gateway.StatusDisconnected, lastError: old},
			do: "connect", connErr: errUnreachable, wantLastErr: "could not reach api.example.com: timeout", wantChanges: []string{"status"}},
		{name: "a failed test replaces it", seed: seed{status: gateway.StatusError, lastError: old},
			do: "test", health: provider.NewHealthResult(time.Millisecond, nil, errProvider),
			wantLastErr: "fake returned an unexpected response: not JSON", wantChanges: []string{"lastCheckedAt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			w.fake.health, w.fake.connectErr = tt.health, tt.connErr
			var err error
			if tt.do == "connect" {
				_, err = w.life.Connect(t.Context(), alice, g.ID, nil)
			} else {
				_, err = w.life.Test(t.Context(), alice, g.ID)
			}
			if (err != nil) != (tt.connErr != nil) {
				t.Fatalf("%s: %v", tt.do, err)
			}
			stored := w.stored(t, g.ID)
			if stored.LastError != tt.wantLastErr || (stored.LastErrorAt == nil) != (tt.wantLastErr == "") {
				t.Errorf("lastError %q at %v, want %q", stored.LastError, stored.LastErrorAt, tt.wantLastErr)
			}
			if got := w.newest(t, g.ID).Changes; !slices.Equal(got, tt.wantChanges) {
				t.Errorf("audit changes %v, want %v", got, tt.wantChanges)
			}
		})
	}
}

// TestConnectBotInUse: a bot is connected in one gateway at a time (issue
// 15, item 3). A second connect is CodeConflict before the provider is
// called, so the first gateway's webhook is never taken over; a
// disconnect or delete of the first lets the second connect.
func TestConnectBotInUse(t *testing.T) {
	for _, release := range []string{"disconnect", "delete"} {
		t.Run(release, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			first, second := w.put(t, seed{status: gateway.StatusDisconnected}), w.put(t, seed{status: gateway.StatusDisconnected})
			if _, err := w.life.Connect(t.Context(), alice, first.ID, nil); err != nil {
				t.Fatalf("first connect: %v", err)
			}
			_, err := w.life.Connect(t.Context(), alice, second.ID, nil)
			wantCode(t, "second connect", err, gateway.CodeConflict)
			if msg := gateway.ErrorMessage(err); msg != gateway.MsgBotInUse {
				t.Errorf("message %q", msg)
			}
			if calls := w.fake.methods(); !slices.Equal(calls, []string{"Connect"}) {
				t.Errorf("provider calls %v, want the first Connect only", calls)
			}
			if got := w.stored(t, second.ID); got.Status != gateway.StatusDisconnected || got.Version != second.Version {
				t.Errorf("the refused gateway was written: %s v%d", got.Status, got.Version)
			}
			if release == "disconnect" {
				_, err = w.life.Disconnect(t.Context(), alice, first.ID, nil)
			} else {
				err = w.life.Delete(t.Context(), alice, first.ID, nil)
			}
			if err != nil {
				t.Fatalf("%s: %v", release, err)
			}
			if _, err := w.life.Connect(t.Context(), alice, second.ID, nil); err != nil {
				t.Fatalf("connect after the %s: %v", release, err)
			}
			if got := w.store.ClaimHolder("123456789"); got != second.ID {
				t.Errorf("claim held by %q, want %s", got, second.ID)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	badParams := &provider.InvalidParamsError{Action: "send", Fields: []gateway.FieldError{{Field: "params.text", Message: "is required"}}}
	tests := []struct {
		name       string
		seed       seed
		actor      gateway.Actor
		action     string
		executeErr error

		wantCode       string
		wantFields     []string
		wantRetryAfter int
		wantCalls      []string
		wantStatus     gateway.Status
		wantTrail      []string
	}{
		{name: "an action of a connected gateway", seed: seed{status: gateway.StatusConnected}, action: "send",
			wantCalls: []string{"Execute"}, wantStatus: gateway.StatusConnected},
		{name: "an action that needs no connection", seed: seed{status: gateway.StatusDisconnected}, action: "ping",
			wantCalls: []string{"Execute"}, wantStatus: gateway.StatusDisconnected},
		{name: "an action that needs a connection", seed: seed{status: gateway.StatusError}, action: "send",
			wantCode: gateway.CodeNotConnected, wantStatus: gateway.StatusError},
		{name: "an action the type does not have", seed: seed{status: gateway.StatusConnected}, action: "launch",
			wantCode: gateway.CodeUnsupportedAction, wantStatus: gateway.StatusConnected},
		{name: "parameters the provider refuses", seed: seed{status: gateway.StatusConnected}, action: "send", executeErr: badParams,
			wantCode: gateway.CodeInvalid, wantFields: []string{"params.text"}, wantCalls: []string{"Execute"}, wantStatus: gateway.StatusConnected},
		{name: "invalid_credentials moves the gateway to ERROR", seed: seed{status: gateway.StatusConnected}, action: "send", executeErr: errRejected,
			wantCode: gateway.CodeUpstreamRejected, wantCalls: []string{"Execute"}, wantStatus: gateway.StatusError,
			wantTrail: []string{"status_changed CONNECTED>ERROR"}},
		{name: "rate_limited", seed: seed{status: gateway.StatusConnected}, action: "send", executeErr: errRateLimited,
			wantCode: gateway.CodeUpstreamRateLimited, wantRetryAfter: 3, wantCalls: []string{"Execute"}, wantStatus: gateway.StatusConnected},
		{name: "unreachable", seed: seed{status: gateway.StatusConnected}, action: "send", executeErr: errUnreachable,
			wantCode: gateway.CodeUpstreamUnreachable, wantCalls: []string{"Execute"}, wantStatus: gateway.StatusConnected},
		{name: "provider_error", seed: seed{status: gateway.StatusConnected}, action: "send", executeErr: errProvider,
			wantCode: gateway.CodeUpstreamError, wantCalls: []string{"Execute"}, wantStatus: gateway.StatusConnected},
		{name: "a refusal of the request's parameters", seed: seed{status: gateway.StatusConnected}, action: "send", executeErr: errRefused,
			wantCode: gateway.CodeUpstreamRefused, wantCalls: []string{"Execute"}, wantStatus: gateway.StatusConnected},
		{name: "unreadable credentials", seed: seed{status: gateway.StatusConnected, unreadable: true}, action: "send",
			wantCode: gateway.CodeCredentialsUnreadable, wantStatus: gateway.StatusConnected},
		{name: "another user's gateway", seed: seed{status: gateway.StatusConnected}, actor: bob, action: "send",
			wantCode: gateway.CodeNotFound, wantStatus: gateway.StatusConnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			w.fake.executeErr, w.fake.executeOut = tt.executeErr, map[string]any{"ok": true}
			actor := alice
			if tt.actor.UserID != "" {
				actor = tt.actor
			}

			out, err := w.life.Execute(t.Context(), actor, g.ID, tt.action, []byte(`{"text":"hi"}`))
			wantCode(t, "Execute", err, tt.wantCode)
			if got := fieldNames(err); !slices.Equal(got, tt.wantFields) {
				t.Errorf("field errors %v, want %v", got, tt.wantFields)
			}
			if r := retryAfter(err); r != tt.wantRetryAfter {
				t.Errorf("RetryAfter %d, want %d", r, tt.wantRetryAfter)
			}
			if calls := w.fake.methods(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("provider calls %v, want %v", calls, tt.wantCalls)
			}
			if err == nil && !reflect.DeepEqual(out, w.fake.executeOut) {
				t.Errorf("Execute = %v, want the provider's answer", out)
			}
			if tt.wantCalls != nil && (w.fake.calls[0].action != tt.action || w.fake.calls[0].creds.BotToken != botToken) {
				t.Errorf("the provider ran %q with other credentials", w.fake.calls[0].action)
			}
			stored := w.stored(t, g.ID)
			if stored.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", stored.Status, tt.wantStatus)
			}
			if trail := w.trail(g.ID); !slices.Equal(trail, tt.wantTrail) {
				t.Errorf("trail %v, want %v", trail, tt.wantTrail)
			}
			if tt.wantStatus == gateway.StatusError && tt.seed.status != gateway.StatusError {
				ev := w.newest(t, g.ID)
				if stored.LastError != "invalid credentials: Unauthorized" || ev.Details["action"] != tt.action || ev.Details["error"] != stored.LastError {
					t.Errorf("lastError %q, audit details %v", stored.LastError, ev.Details)
				}
			}
		})
	}
}

func TestDelete(t *testing.T) {
	outage := gateway.Errorf(gateway.CodeUnavailable, "KMS is down.")
	tests := []struct {
		name          string
		seed          seed
		ifMatch       *int64
		disconnectErr error
		sealerErr     error

		wantCode    string
		wantCalls   []string
		wantDeleted bool
		wantOpens   int // credentials opened
	}{
		{name: "a connected bot's webhook is removed first", seed: seed{status: gateway.StatusConnected, webhook: true},
			wantCalls: []string{"Disconnect"}, wantDeleted: true, wantOpens: 1},
		{name: "a failing removal does not block the delete", seed: seed{status: gateway.StatusConnected, webhook: true}, disconnectErr: errUnreachable,
			wantCalls: []string{"Disconnect"}, wantDeleted: true, wantOpens: 1},
		// Nothing to remove: the credentials are not opened, so KMS being
		// down does not matter.
		{name: "without a webhook, even while KMS is down", seed: seed{status: gateway.StatusError}, sealerErr: outage,
			wantDeleted: true},
		{name: "unreadable credentials: no call, deleted", seed: seed{status: gateway.StatusConnected, webhook: true, unreadable: true},
			wantDeleted: true, wantOpens: 1},
		{name: "a webhook while KMS is down", seed: seed{status: gateway.StatusConnected, webhook: true}, sealerErr: outage,
			wantCode: gateway.CodeUnavailable, wantOpens: 1},
		{name: "stale If-Match is refused before anything", seed: seed{status: gateway.StatusConnected, webhook: true}, ifMatch: ptr(int64(2)),
			wantCode: gateway.CodeVersionMismatch},
		{name: "current If-Match", seed: seed{status: gateway.StatusConnected, webhook: true}, ifMatch: ptr(int64(1)),
			wantCalls: []string{"Disconnect"}, wantDeleted: true, wantOpens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			w.fake.disconnectErr = tt.disconnectErr
			w.sealer.Fail(tt.sealerErr)
			_, opensBefore := w.sealer.Calls()

			err := w.life.Delete(t.Context(), alice, g.ID, tt.ifMatch)
			wantCode(t, "Delete", err, tt.wantCode)
			if calls := w.fake.methods(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("provider calls %v, want %v", calls, tt.wantCalls)
			}
			if _, opens := w.sealer.Calls(); opens-opensBefore != tt.wantOpens {
				t.Errorf("credentials opened %d times, want %d", opens-opensBefore, tt.wantOpens)
			}
			_, gerr := w.store.GetGateway(t.Context(), g.ID)
			if deleted := gateway.IsCode(gerr, gateway.CodeNotFound); deleted != tt.wantDeleted {
				t.Fatalf("deleted %v, want %v", deleted, tt.wantDeleted)
			}
			if trail := w.trail(g.ID); tt.wantDeleted != slices.Equal(trail, []string{"deleted"}) {
				t.Errorf("trail %v", trail)
			}
		})
	}
}

// TestUpdateRebinds: new credentials on a gateway holding a webhook secret
// remove the old webhook with the old credentials, then register the new
// ones (issue 16, item 6); a gateway without one is only updated. A
// failing removal is recorded and does not stop the registration; a
// failing registration leaves ERROR with lastError and no secret.
func TestUpdateRebinds(t *testing.T) {
	newCreds := &gateway.Credentials{BotToken: "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDzzz9"}
	tests := []struct {
		name          string
		seed          seed
		req           gateway.UpdateRequest
		disconnectErr error
		connectErr    error

		wantCalls   []string
		wantStatus  gateway.Status
		wantSecret  bool
		wantTrail   []string
		wantOldHook string // the final event's oldWebhook detail
	}{
		{name: "connected bot, new token", seed: seed{status: gateway.StatusConnected, webhook: true}, req: gateway.UpdateRequest{Credentials: newCreds},
			wantCalls: []string{"ValidateCredentials", "Disconnect", "Connect"}, wantStatus: gateway.StatusConnected, wantSecret: true,
			wantTrail: []string{"updated CONNECTED>CONNECTING", "status_changed CONNECTING>CONNECTED"}, wantOldHook: "removed"},
		{name: "the old webhook cannot be removed", seed: seed{status: gateway.StatusConnected, webhook: true}, req: gateway.UpdateRequest{Credentials: newCreds},
			disconnectErr: errRejected, wantCalls: []string{"ValidateCredentials", "Disconnect", "Connect"}, wantStatus: gateway.StatusConnected, wantSecret: true,
			wantTrail: []string{"updated CONNECTED>CONNECTING", "status_changed CONNECTING>CONNECTED"}, wantOldHook: "not removed: invalid credentials: Unauthorized"},
		{name: "the new webhook cannot be registered", seed: seed{status: gateway.StatusConnected, webhook: true}, req: gateway.UpdateRequest{Credentials: newCreds},
			connectErr: errUnreachable, wantCalls: []string{"ValidateCredentials", "Disconnect", "Connect"}, wantStatus: gateway.StatusError,
			wantTrail: []string{"updated CONNECTED>CONNECTING", "status_changed CONNECTING>ERROR"}, wantOldHook: "removed"},
		{name: "disconnected bot, new token", seed: seed{status: gateway.StatusDisconnected}, req: gateway.UpdateRequest{Credentials: newCreds},
			wantCalls: []string{"ValidateCredentials"}, wantStatus: gateway.StatusDisconnected, wantTrail: []string{"updated"}},
		{name: "connected bot, rename only", seed: seed{status: gateway.StatusConnected, webhook: true}, req: gateway.UpdateRequest{Name: ptr("renamed")},
			wantStatus: gateway.StatusConnected, wantSecret: true, wantTrail: []string{"updated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, gateway.TypeTelegramBot)
			g := w.put(t, tt.seed)
			secretHash := bytes.Repeat([]byte{7}, 32)
			w.fake.disconnectErr, w.fake.connectErr = tt.disconnectErr, tt.connectErr
			w.fake.connectRes = provider.ConnectResult{WebhookSecretHash: secretHash}
			got, err := w.life.Update(t.Context(), alice, g, tt.req, nil)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if calls := w.fake.methods(); !slices.Equal(calls, tt.wantCalls) {
				t.Fatalf("provider calls %v, want %v", calls, tt.wantCalls)
			}
			for _, c := range w.fake.calls {
				switch {
				case c.method == "Disconnect" && c.creds.BotToken != botToken:
					t.Errorf("the old webhook was removed with other credentials")
				case c.method == "Connect" && (c.creds.BotToken != newCreds.BotToken || c.stored != gateway.StatusConnecting):
					t.Errorf("Connect with %+v", c)
				}
			}
			stored := w.stored(t, g.ID)
			if stored.Status != tt.wantStatus || (stored.WebhookSecretHash != nil) != tt.wantSecret || !reflect.DeepEqual(got, stored) {
				t.Errorf("stored %s, secret %v; returned %+v", stored.Status, stored.WebhookSecretHash != nil, got)
			}
			if tt.wantSecret && tt.req.Credentials != nil && !bytes.Equal(stored.WebhookSecretHash, secretHash) {
				t.Errorf("the secret is not the new registration's")
			}
			if trail := w.trail(g.ID); !slices.Equal(trail, tt.wantTrail) {
				t.Errorf("trail %v, want %v", trail, tt.wantTrail)
			}
			if tt.wantOldHook != "" {
				if ev := w.newest(t, g.ID); ev.Details["oldWebhook"] != tt.wantOldHook {
					t.Errorf("oldWebhook %q, want %q", ev.Details["oldWebhook"], tt.wantOldHook)
				}
			}
		})
	}
}
