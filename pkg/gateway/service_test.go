package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
)

// The tests of this file drive gateway.Service over gatewaytest's in-memory
// Store and Sealer (whose semantics pkg/dynamo's store shares: see
// gatewaytest.TestStore), so they need no emulator and run in milliseconds.

var t0 = time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)

var (
	alice     = gateway.Actor{UserID: "alice", SourceIP: "203.0.113.1", UserAgent: "test/1", RequestID: "req-alice"}
	aliceAcme = gateway.Actor{UserID: "alice", OrganizationID: "acme"}
	carolAcme = gateway.Actor{UserID: "carol", OrganizationID: "acme"}
	bob       = gateway.Actor{UserID: "bob"}
)

const (
	botToken      = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
	otherBotToken = "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDzzz9"
	apiKey        = "sk-test-0123456789abcdefghij"
	signingSecret = "whsec-0123456789abcdefghijklmn"
)

// world is a Service over fresh fakes, on a clock that moves only when told.
type world struct {
	store  *gatewaytest.Store
	sealer *gatewaytest.Sealer
	clock  *fakeclock.Clock
	svc    *gateway.Service
}

// idemTTL is the worlds' Idempotency-Key lifetime.
const idemTTL = time.Hour

func newWorld() *world {
	clock := fakeclock.New(t0)
	st := gatewaytest.NewStore(gatewaytest.WithClock(clock.Now))
	se := gatewaytest.NewSealer()
	return &world{store: st, sealer: se, clock: clock,
		svc: gateway.NewService(st, se, gateway.WithClock(clock.Now), gateway.WithIdempotencyTTL(idemTTL))}
}

// botInfo and otherBotInfo are the credentialInfo the decoder computes
// (through the Telegram provider) for botToken and otherBotToken.
var (
	botInfo      = map[string]any{"botId": "123456789", "tokenLast4": "saw0"}
	otherBotInfo = map[string]any{"botId": "987654321", "tokenLast4": "zzz9"}
)

func telegramBot(name string) gateway.CreateRequest {
	return gateway.CreateRequest{Name: name, Type: gateway.TypeTelegramBot, Credentials: gateway.Credentials{BotToken: botToken}, Config: json.RawMessage(`{}`),
		CredentialInfo: botInfo}
}

// mustCreate creates a Telegram gateway named name for actor.
func (w *world) mustCreate(tb testing.TB, actor gateway.Actor, name string) *gateway.Gateway {
	tb.Helper()
	g, _, err := w.svc.Create(context.Background(), actor, telegramBot(name), "")
	if err != nil {
		tb.Fatalf("Create(%s): %v", name, err)
	}
	return g
}

// mustStored reads gateway id from the store, whoever owns it.
func (w *world) mustStored(tb testing.TB, id string) *gateway.Gateway {
	tb.Helper()
	g, err := w.store.GetGateway(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetGateway(%s): %v", id, err)
	}
	return g
}

// actions lists the actions of gateway id's trail, newest first.
func (w *world) actions(id string) []string {
	var out []string
	for _, ev := range w.store.Trail(id) {
		out = append(out, ev.Action)
	}
	return out
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

func TestCreate(t *testing.T) {
	tests := []struct {
		name        string
		actor       gateway.Actor
		req         gateway.CreateRequest
		wantInfo    map[string]any
		wantLastErr string
		wantDetails map[string]string
	}{
		{
			name: "telegram bot", actor: alice, req: telegramBot("Support"),
			wantInfo:    map[string]any{"botId": "123456789", "tokenLast4": "saw0"},
			wantDetails: map[string]string{"type": "TELEGRAM_BOT", "name": "Support"},
		},
		{
			name: "AI gateway with what the live check learnt", actor: alice,
			req: gateway.CreateRequest{Name: "GPT", Type: gateway.TypeAI, Config: json.RawMessage(`{"temperature":0.2}`),
				Credentials:    gateway.Credentials{Provider: "openai", APIKey: apiKey, Model: "gpt-4o-mini"},
				CredentialInfo: map[string]any{"provider": "openai", "apiKeyLast4": "ghij", "model": "gpt-4o-mini"},
				// The summary's own keys win over what a provider reports.
				Learned: map[string]any{"models": 3.0, "provider": "spoofed"}},
			wantInfo:    map[string]any{"provider": "openai", "apiKeyLast4": "ghij", "model": "gpt-4o-mini", "models": 3.0},
			wantDetails: map[string]string{"type": "AI", "name": "GPT"},
		},
		{
			name: "webhook whose check was inconclusive", actor: alice,
			req: gateway.CreateRequest{Name: "Hook", Type: gateway.TypeWebhook, Config: json.RawMessage(`{}`),
				Credentials:    gateway.Credentials{URL: "https://hooks.example.com/in", SigningSecret: signingSecret},
				CredentialInfo: map[string]any{"url": "https://hooks.example.com/in", "hasSigningSecret": true},
				Warning:        "Credentials could not be verified: timeout"},
			wantInfo:    map[string]any{"url": "https://hooks.example.com/in", "hasSigningSecret": true},
			wantLastErr: "Credentials could not be verified: timeout",
			wantDetails: map[string]string{"type": "WEBHOOK", "name": "Hook", "warning": "Credentials could not be verified: timeout"},
		},
		{
			name: "an organisation's gateway", actor: aliceAcme, req: telegramBot("Team bot"),
			wantInfo:    map[string]any{"botId": "123456789", "tokenLast4": "saw0"},
			wantDetails: map[string]string{"type": "TELEGRAM_BOT", "name": "Team bot"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			g, replayed, err := w.svc.Create(t.Context(), tt.actor, tt.req, "")
			if err != nil || replayed {
				t.Fatalf("Create: %v, replayed %v", err, replayed)
			}
			if !gateway.ValidID(g.ID) {
				t.Errorf("id %q is not a gateway id", g.ID)
			}
			want := &gateway.Gateway{
				ID: g.ID, UserID: tt.actor.UserID, OrganizationID: tt.actor.OrganizationID, Name: tt.req.Name, Type: tt.req.Type,
				Status: gateway.StatusDisconnected, Config: tt.req.Config, CredentialInfo: tt.wantInfo,
				SealedCredentials: g.SealedCredentials, LastError: tt.wantLastErr,
				CreatedAt: t0, UpdatedAt: t0, Version: 1,
			}
			if tt.wantLastErr != "" {
				want.LastErrorAt = ptr(t0)
			}
			if !reflect.DeepEqual(g, want) {
				t.Errorf("Create returned\n%+v\nwant\n%+v", g, want)
			}
			if got := w.mustStored(t, g.ID); !reflect.DeepEqual(got, want) {
				t.Errorf("stored\n%+v\nwant\n%+v", got, want)
			}

			creds, err := w.svc.Credentials(t.Context(), g)
			if err != nil || creds != tt.req.Credentials {
				t.Errorf("Credentials = %v, want the request's", err)
			}
			for _, secret := range []string{botToken, apiKey, signingSecret} {
				if bytes.Contains(g.SealedCredentials, []byte(secret)) {
					t.Errorf("the sealed blob holds a secret in the clear")
				}
			}

			trail := w.store.Trail(g.ID)
			wantEv := gateway.AuditEvent{ID: trail[0].ID, GatewayID: g.ID, Action: gateway.AuditCreated, Actor: tt.actor, At: t0, Details: tt.wantDetails}
			if len(trail) != 1 || !reflect.DeepEqual(trail[0], wantEv) {
				t.Errorf("trail %+v, want one event %+v", trail, wantEv)
			}
		})
	}

	t.Run("a sealer outage stores nothing", func(t *testing.T) {
		w := newWorld()
		outage := gateway.Errorf(gateway.CodeUnavailable, "KMS is down.")
		w.sealer.Fail(outage)
		before := w.store.Snapshot(t)
		if _, _, err := w.svc.Create(t.Context(), alice, telegramBot("x"), "key"); !errors.Is(err, outage) {
			t.Fatalf("Create: %v, want the outage", err)
		}
		if !bytes.Equal(w.store.Snapshot(t), before) {
			t.Fatal("a failed create wrote to the store")
		}
	})
}

func TestGet(t *testing.T) {
	w := newWorld()
	personal := w.mustCreate(t, alice, "personal")
	team := w.mustCreate(t, aliceAcme, "team")
	reads := 0
	w.store.Intercept(func(_ context.Context, op gatewaytest.Op, _ string) error {
		if op == gatewaytest.OpGetGateway {
			reads++
		}
		return nil
	})
	tests := []struct {
		name      string
		actor     gateway.Actor
		id        string
		wantCode  string
		wantReads int
	}{
		{name: "own gateway", actor: alice, id: personal.ID, wantReads: 1},
		{name: "another user's", actor: bob, id: personal.ID, wantCode: gateway.CodeNotFound, wantReads: 1},
		{name: "own personal one while acting for an organisation", actor: aliceAcme, id: personal.ID, wantCode: gateway.CodeNotFound, wantReads: 1},
		{name: "the organisation's, by another member", actor: carolAcme, id: team.ID, wantReads: 1},
		{name: "the organisation's, acting personally", actor: alice, id: team.ID, wantCode: gateway.CodeNotFound, wantReads: 1},
		{name: "missing", actor: alice, id: gateway.NewID(), wantCode: gateway.CodeNotFound, wantReads: 1},
		// An id NewID cannot produce cannot exist: no read.
		{name: "malformed id", actor: alice, id: "../" + personal.ID, wantCode: gateway.CodeNotFound, wantReads: 0},
		{name: "empty id", actor: alice, id: "", wantCode: gateway.CodeNotFound, wantReads: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads = 0
			g, err := w.svc.Get(t.Context(), tt.actor, tt.id)
			wantCode(t, "Get", err, tt.wantCode)
			if err == nil && g.ID != tt.id {
				t.Errorf("Get returned %s, want %s", g.ID, tt.id)
			}
			if reads != tt.wantReads {
				t.Errorf("%d store reads, want %d", reads, tt.wantReads)
			}
		})
	}
}

func TestList(t *testing.T) {
	w := newWorld()
	for _, name := range []string{"a1", "a2", "a3"} {
		w.mustCreate(t, alice, name)
		w.clock.Advance(time.Minute)
	}
	hook, _, err := w.svc.Create(t.Context(), alice, gateway.CreateRequest{Name: "a4", Type: gateway.TypeWebhook, Config: json.RawMessage(`{}`),
		Credentials: gateway.Credentials{URL: "https://hooks.example.com/in"}, CredentialInfo: map[string]any{"url": "https://hooks.example.com/in", "hasSigningSecret": false}}, "")
	if err != nil {
		t.Fatal(err)
	}
	w.mustCreate(t, bob, "b1")
	w.mustCreate(t, carolAcme, "acme1")

	tests := []struct {
		name     string
		actor    gateway.Actor
		filter   gateway.ListFilter
		want     []string
		wantNext bool
	}{
		{name: "newest first", actor: alice, want: []string{"a4", "a3", "a2", "a1"}},
		{name: "by type", actor: alice, filter: gateway.ListFilter{Type: gateway.TypeTelegramBot}, want: []string{"a3", "a2", "a1"}},
		{name: "by status", actor: alice, filter: gateway.ListFilter{Status: gateway.StatusConnected}, want: nil},
		{name: "another user sees only theirs", actor: bob, want: []string{"b1"}},
		{name: "an organisation member sees the organisation's", actor: aliceAcme, want: []string{"acme1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := w.svc.List(t.Context(), tt.actor, tt.filter, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range p.Gateways {
				got = append(got, g.Name)
			}
			if !slices.Equal(got, tt.want) || p.Next != "" {
				t.Errorf("List = %v (next %q), want %v and no next page", got, p.Next, tt.want)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		p1, err := w.svc.List(t.Context(), alice, gateway.ListFilter{}, 3, "")
		if err != nil || len(p1.Gateways) != 3 || p1.Next == "" {
			t.Fatalf("first page: %+v, %v", p1, err)
		}
		p2, err := w.svc.List(t.Context(), alice, gateway.ListFilter{}, 3, p1.Next)
		if err != nil || len(p2.Gateways) != 1 || p2.Gateways[0].Name != "a1" || p2.Next != "" {
			t.Fatalf("second page: %+v, %v", p2, err)
		}
		_, err = w.svc.List(t.Context(), bob, gateway.ListFilter{}, 3, p1.Next)
		wantCode(t, "List with another owner's cursor", err, gateway.CodeInvalid)
		if got := fieldNames(err); !slices.Equal(got, []string{"cursor"}) {
			t.Errorf("fields %v, want [cursor]", got)
		}
	})

	t.Run("audit", func(t *testing.T) {
		w.clock.Advance(time.Minute)
		if _, err := w.svc.Update(t.Context(), alice, hook.ID, gateway.UpdateRequest{Name: ptr("renamed")}, nil); err != nil {
			t.Fatal(err)
		}
		p, err := w.svc.Audit(t.Context(), alice, hook.ID, 10, "")
		if err != nil || len(p.Events) != 2 || p.Events[0].Action != gateway.AuditUpdated || p.Events[1].Action != gateway.AuditCreated {
			t.Fatalf("Audit = %+v, %v; want updated, then created", p, err)
		}
		_, err = w.svc.Audit(t.Context(), bob, hook.ID, 10, "")
		wantCode(t, "Audit of another user's gateway", err, gateway.CodeNotFound)
	})
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name    string
		actor   gateway.Actor
		req     gateway.UpdateRequest
		ifMatch *int64
		// wantCode and wantFields: the error; no write is expected then.
		wantCode   string
		wantFields []string
		// wantChanges are the audit event's; nil means nothing is written.
		wantChanges []string
		check       func(t *testing.T, w *world, before, after *gateway.Gateway)
	}{
		{name: "rename", actor: alice, req: gateway.UpdateRequest{Name: ptr("renamed")}, wantChanges: []string{"name"},
			check: func(t *testing.T, w *world, before, after *gateway.Gateway) {
				if after.Name != "renamed" {
					t.Errorf("name %q", after.Name)
				}
				// The trail shows what the name was and became.
				if d := w.store.Trail(after.ID)[0].Details; d["oldName"] != before.Name || d["newName"] != "renamed" {
					t.Errorf("rename details %v", d)
				}
			}},
		{name: "the same name writes nothing", actor: alice, req: gateway.UpdateRequest{Name: ptr("bot")}},
		{name: "config", actor: alice, req: gateway.UpdateRequest{Config: json.RawMessage(`{"allowedUpdates":["message"]}`)}, wantChanges: []string{"config"}},
		{name: "the same config spelt otherwise writes nothing", actor: alice, req: gateway.UpdateRequest{Config: json.RawMessage(" { } ")}},
		{name: "name and config", actor: alice, req: gateway.UpdateRequest{Name: ptr("x"), Config: json.RawMessage(`{"a":1}`)}, wantChanges: []string{"name", "config"}},
		{name: "credentials are resealed", actor: alice,
			req:         gateway.UpdateRequest{Credentials: &gateway.Credentials{BotToken: otherBotToken}, CredentialInfo: otherBotInfo, Learned: map[string]any{"botUsername": "other_bot"}},
			wantChanges: []string{"credentials"},
			check: func(t *testing.T, w *world, before, after *gateway.Gateway) {
				if bytes.Equal(after.SealedCredentials, before.SealedCredentials) {
					t.Error("the sealed blob did not change")
				}
				if c, err := w.svc.Credentials(t.Context(), after); err != nil || c.BotToken != otherBotToken {
					t.Errorf("Credentials = %v; want the new token", err)
				}
				want := map[string]any{"botId": "987654321", "tokenLast4": "zzz9", "botUsername": "other_bot"}
				if !reflect.DeepEqual(after.CredentialInfo, want) {
					t.Errorf("credentialInfo %v, want %v", after.CredentialInfo, want)
				}
				if after.LastError != "" {
					t.Errorf("lastError %q after a conclusive check", after.LastError)
				}
			}},
		{name: "credentials whose check was inconclusive", actor: alice,
			req:         gateway.UpdateRequest{Credentials: &gateway.Credentials{BotToken: otherBotToken}, CredentialInfo: otherBotInfo, Warning: "Credentials could not be verified: timeout"},
			wantChanges: []string{"credentials"},
			check: func(t *testing.T, w *world, _, after *gateway.Gateway) {
				if after.LastError != "Credentials could not be verified: timeout" || after.LastErrorAt == nil || !after.LastErrorAt.Equal(t0.Add(time.Minute)) {
					t.Errorf("lastError %q at %v", after.LastError, after.LastErrorAt)
				}
				if d := w.store.Trail(after.ID)[0].Details; d["warning"] != after.LastError {
					t.Errorf("audit details %v, want the warning", d)
				}
			}},
		{name: "current If-Match", actor: alice, req: gateway.UpdateRequest{Name: ptr("x")}, ifMatch: ptr(int64(1)), wantChanges: []string{"name"}},
		{name: "stale If-Match", actor: alice, req: gateway.UpdateRequest{Name: ptr("x")}, ifMatch: ptr(int64(0)), wantCode: gateway.CodeVersionMismatch},
		{name: "another user's gateway", actor: bob, req: gateway.UpdateRequest{Name: ptr("mine now")}, wantCode: gateway.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			before := w.mustCreate(t, alice, "bot")
			w.clock.Advance(time.Minute)
			snap := w.store.Snapshot(t)

			g, err := w.svc.Update(t.Context(), tt.actor, before.ID, tt.req, tt.ifMatch)
			wantCode(t, "Update", err, tt.wantCode)
			if got := fieldNames(err); !slices.Equal(got, tt.wantFields) {
				t.Errorf("field errors %v, want %v", got, tt.wantFields)
			}
			after := w.mustStored(t, before.ID)
			if tt.wantChanges == nil {
				if !bytes.Equal(w.store.Snapshot(t), snap) {
					t.Fatal("the store changed")
				}
				return
			}
			if !reflect.DeepEqual(g, after) {
				t.Errorf("Update returned\n%+v\nstored\n%+v", g, after)
			}
			if after.Version != 2 || !after.UpdatedAt.Equal(t0.Add(time.Minute)) || !after.CreatedAt.Equal(t0) {
				t.Errorf("version %d, updated %v, created %v; want 2, a minute later, unchanged", after.Version, after.UpdatedAt, after.CreatedAt)
			}
			ev := w.store.Trail(before.ID)[0]
			if ev.Action != gateway.AuditUpdated || !slices.Equal(ev.Changes, tt.wantChanges) || ev.Actor != tt.actor || !ev.At.Equal(t0.Add(time.Minute)) {
				t.Errorf("audit event %+v, want %s of %v by %v", ev, gateway.AuditUpdated, tt.wantChanges, tt.actor)
			}
			if tt.check != nil {
				tt.check(t, w, before, after)
			}
		})
	}
}

// racer makes the store lose the service's next conditional write of a
// gateway to another one: the interceptor changes the gateway's config
// (bumping its version, with an audit event) just before the service's
// write lands. times is how many of the service's writes it races; -1
// races them all.
func racer(w *world, times int) (writes *int) {
	writes = new(int)
	racing := false
	w.store.Intercept(func(ctx context.Context, op gatewaytest.Op, id string) error {
		if racing || (op != gatewaytest.OpUpdateGateway && op != gatewaytest.OpDeleteGateway) {
			return nil
		}
		*writes++
		if times >= 0 && *writes > times {
			return nil
		}
		racing = true
		defer func() { racing = false }()
		// A second on either side keeps the trail in time order: events of
		// one instant are ordered by their random ids.
		w.clock.Advance(time.Second)
		defer w.clock.Advance(time.Second)
		g, err := w.store.GetGateway(ctx, id)
		if err != nil {
			return err
		}
		g.Config = json.RawMessage(fmt.Sprintf(`{"race":%d}`, *writes))
		g.Version++
		return w.store.UpdateGateway(ctx, g, g.Version-1, gateway.AuditEvent{ID: fmt.Sprintf("race-%d", *writes), Action: gateway.AuditUpdated, At: w.clock.Now()})
	})
	return writes
}

func TestUpdateRace(t *testing.T) {
	tests := []struct {
		name        string
		ifMatch     bool // pin the version read before the race
		races       int  // -1: every write
		wantCode    string
		wantName    string
		wantConfig  string
		wantVersion int64
		wantActions []string
	}{
		{name: "without If-Match the lost write is re-read and re-applied", races: 1,
			wantName: "renamed", wantConfig: `{"race":1}`, wantVersion: 3,
			wantActions: []string{gateway.AuditUpdated, gateway.AuditUpdated, gateway.AuditCreated}},
		{name: "with If-Match the lost write is a version mismatch", ifMatch: true, races: 1,
			wantCode: gateway.CodeVersionMismatch, wantName: "bot", wantConfig: `{"race":1}`, wantVersion: 2,
			wantActions: []string{gateway.AuditUpdated, gateway.AuditCreated}},
		{name: "a gateway that never stops changing is given up on", races: -1,
			wantCode: gateway.CodeVersionMismatch, wantName: "bot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			g := w.mustCreate(t, alice, "bot")
			var ifMatch *int64
			if tt.ifMatch {
				ifMatch = ptr(g.Version)
			}
			writes := racer(w, tt.races)
			_, err := w.svc.Update(t.Context(), alice, g.ID, gateway.UpdateRequest{Name: ptr("renamed")}, ifMatch)
			w.store.Intercept(nil)
			wantCode(t, "Update", err, tt.wantCode)
			got := w.mustStored(t, g.ID)
			if got.Name != tt.wantName {
				t.Errorf("name %q, want %q: an update was lost or applied", got.Name, tt.wantName)
			}
			if tt.races < 0 {
				if *writes < 2 {
					t.Errorf("%d attempts, want the write retried", *writes)
				}
				return
			}
			if string(got.Config) != tt.wantConfig || got.Version != tt.wantVersion {
				t.Errorf("config %s version %d, want %s version %d", got.Config, got.Version, tt.wantConfig, tt.wantVersion)
			}
			if got := w.actions(g.ID); !slices.Equal(got, tt.wantActions) {
				t.Errorf("trail %v, want %v", got, tt.wantActions)
			}
		})
	}
}

// TestConcurrentModify races real goroutines: each adds one, without
// If-Match, so every one must land. All of them read the gateway before any
// writes it, so all but one lose their first write.
func TestConcurrentModify(t *testing.T) {
	w := newWorld()
	g := w.mustCreate(t, alice, "bot")
	const writers = 8
	var wg, read sync.WaitGroup
	read.Add(writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			first := true
			_, errs[i] = w.svc.Modify(t.Context(), alice, g.ID, nil, func(g *gateway.Gateway) (gateway.Change, error) {
				if first {
					first = false
					read.Done()
					read.Wait()
				}
				g.ConsecutiveFailures++
				return gateway.Change{Action: gateway.AuditTested, Fields: []string{"consecutiveFailures"}}, nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Modify: %v", err)
	}
	got := w.mustStored(t, g.ID)
	if got.ConsecutiveFailures != writers || got.Version != writers+1 || len(w.store.Trail(g.ID)) != writers+1 {
		t.Fatalf("failures %d, version %d, %d events; want %d, %d, %d", got.ConsecutiveFailures, got.Version, len(w.store.Trail(g.ID)), writers, writers+1, writers+1)
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name     string
		actor    gateway.Actor
		ifMatch  *int64
		races    int
		wantCode string
	}{
		{name: "own gateway", actor: alice},
		{name: "current If-Match", actor: alice, ifMatch: ptr(int64(1))},
		{name: "stale If-Match", actor: alice, ifMatch: ptr(int64(2)), wantCode: gateway.CodeVersionMismatch},
		{name: "a change meanwhile, without If-Match", actor: alice, races: 1},
		{name: "a change meanwhile, with If-Match", actor: alice, ifMatch: ptr(int64(1)), races: 1, wantCode: gateway.CodeVersionMismatch},
		{name: "another user's gateway", actor: bob, wantCode: gateway.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			g := w.mustCreate(t, alice, "bot")
			w.clock.Advance(time.Minute)
			racer(w, tt.races)
			err := w.svc.Delete(t.Context(), tt.actor, g.ID, tt.ifMatch)
			w.store.Intercept(nil)
			wantCode(t, "Delete", err, tt.wantCode)
			_, gerr := w.store.GetGateway(t.Context(), g.ID)
			trail := w.store.Trail(g.ID)
			if tt.wantCode != "" {
				if gerr != nil || trail[0].Action == gateway.AuditDeleted {
					t.Fatalf("a refused delete: %v, trail %v", gerr, w.actions(g.ID))
				}
				return
			}
			wantCode(t, "GetGateway after Delete", gerr, gateway.CodeNotFound)
			want := map[string]string{"name": "bot", "type": "TELEGRAM_BOT"}
			if trail[0].Action != gateway.AuditDeleted || !reflect.DeepEqual(trail[0].Details, want) || trail[0].Actor != tt.actor {
				t.Errorf("newest event %+v, want %s by %v with %v", trail[0], gateway.AuditDeleted, tt.actor, want)
			}
		})
	}
}

// TestAuditAfterDelete: a deleted gateway's trail stays readable by its
// owner — the tenant, whoever deleted it — and by nobody else (issue 15,
// item 4).
func TestAuditAfterDelete(t *testing.T) {
	tests := []struct {
		name     string
		owner    gateway.Actor
		reader   gateway.Actor
		deleted  bool
		wantCode string
	}{
		{name: "the owner", owner: alice, reader: alice, deleted: true},
		{name: "another member of the owning organisation", owner: aliceAcme, reader: carolAcme, deleted: true},
		{name: "another tenant", owner: alice, reader: bob, deleted: true, wantCode: gateway.CodeNotFound},
		{name: "the owner acting for an organisation", owner: alice, reader: aliceAcme, deleted: true, wantCode: gateway.CodeNotFound},
		{name: "another tenant, not deleted", owner: alice, reader: bob, wantCode: gateway.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			g := w.mustCreate(t, tt.owner, "bot")
			if tt.deleted {
				w.clock.Advance(time.Minute)
				if err := w.svc.Delete(t.Context(), tt.owner, g.ID, nil); err != nil {
					t.Fatal(err)
				}
			}
			page, err := w.svc.Audit(t.Context(), tt.reader, g.ID, 10, "")
			wantCode(t, "Audit", err, tt.wantCode)
			if err == nil && (len(page.Events) != 2 || page.Events[0].Action != gateway.AuditDeleted) {
				t.Errorf("trail %+v, want deleted and created", page.Events)
			}
		})
	}
	t.Run("a gateway that never was", func(t *testing.T) {
		_, err := newWorld().svc.Audit(t.Context(), alice, gateway.NewID(), 10, "")
		wantCode(t, "Audit", err, gateway.CodeNotFound)
	})
}

func TestIdempotency(t *testing.T) {
	const key = "idem-1"
	tests := []struct {
		name string
		// The first request is alice's telegramBot("bot") with key; then:
		advance time.Duration
		deleted bool // the first gateway is deleted before the retry
		raced   bool // the first request lands while the retry is in flight
		actor   gateway.Actor
		req     gateway.CreateRequest
		key     string

		wantCode     string
		wantReplayed bool
		wantGateways int // the retrying owner's, afterwards
	}{
		{name: "the same key and body replay", actor: alice, req: telegramBot("bot"), key: key, wantReplayed: true, wantGateways: 1},
		{name: "a config spelt otherwise is the same body", actor: alice, key: key, wantReplayed: true, wantGateways: 1,
			req: gateway.CreateRequest{Name: "bot", Type: gateway.TypeTelegramBot, Credentials: gateway.Credentials{BotToken: botToken}, Config: json.RawMessage(" {\n} "), CredentialInfo: botInfo}},
		{name: "another name", actor: alice, req: telegramBot("other"), key: key, wantCode: gateway.CodeIdempotencyConflict, wantGateways: 1},
		{name: "other credentials", actor: alice, key: key, wantCode: gateway.CodeIdempotencyConflict, wantGateways: 1,
			req: gateway.CreateRequest{Name: "bot", Type: gateway.TypeTelegramBot, Credentials: gateway.Credentials{BotToken: otherBotToken}, Config: json.RawMessage(`{}`), CredentialInfo: otherBotInfo}},
		{name: "another owner's key is theirs", actor: bob, req: telegramBot("bot"), key: key, wantGateways: 1},
		{name: "the same key acting for an organisation", actor: aliceAcme, req: telegramBot("bot"), key: key, wantGateways: 1},
		{name: "just before the TTL", advance: idemTTL - time.Second, actor: alice, req: telegramBot("bot"), key: key, wantReplayed: true, wantGateways: 1},
		{name: "after the TTL a new gateway", advance: idemTTL, actor: alice, req: telegramBot("bot"), key: key, wantGateways: 2},
		{name: "no key, no replay", actor: alice, req: telegramBot("bot"), key: "", wantGateways: 2},
		{name: "the gateway the key made is gone", deleted: true, actor: alice, req: telegramBot("bot"), key: key, wantCode: gateway.CodeIdempotencyConflict},
		{name: "a concurrent request with the key wins", raced: true, actor: alice, req: telegramBot("bot"), key: key, wantReplayed: true, wantGateways: 1},
		{name: "a concurrent request with the key and another body wins", raced: true, actor: alice, req: telegramBot("other"), key: key, wantCode: gateway.CodeIdempotencyConflict, wantGateways: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			ctx := t.Context()
			first := func() *gateway.Gateway {
				g, replayed, err := w.svc.Create(ctx, alice, telegramBot("bot"), key)
				if err != nil || replayed {
					t.Fatalf("first Create: %v, replayed %v", err, replayed)
				}
				return g
			}
			var orig *gateway.Gateway
			if tt.raced {
				// The first request's write lands between the retry's
				// lookup of the key and its own write.
				w.store.Intercept(func(_ context.Context, op gatewaytest.Op, _ string) error {
					if op == gatewaytest.OpCreateGateway && orig == nil {
						orig = &gateway.Gateway{}
						orig = first()
					}
					return nil
				})
			} else {
				orig = first()
			}
			if tt.deleted {
				if err := w.svc.Delete(ctx, alice, orig.ID, nil); err != nil {
					t.Fatal(err)
				}
			}
			w.clock.Advance(tt.advance)

			g, replayed, err := w.svc.Create(ctx, tt.actor, tt.req, tt.key)
			wantCode(t, "Create", err, tt.wantCode)
			if replayed != tt.wantReplayed {
				t.Errorf("replayed %v, want %v", replayed, tt.wantReplayed)
			}
			switch {
			case err != nil:
			case tt.wantReplayed && !reflect.DeepEqual(g, w.mustStored(t, orig.ID)):
				t.Errorf("replayed %+v, want the first gateway %+v", g, orig)
			case !tt.wantReplayed && g.ID == orig.ID:
				t.Errorf("a new request returned the first gateway")
			}
			p, err := w.svc.List(ctx, tt.actor, gateway.ListFilter{}, 10, "")
			if err != nil || len(p.Gateways) != tt.wantGateways {
				t.Errorf("%s has %d gateways (%v), want %d", tt.actor.Owner().Key(), len(p.Gateways), err, tt.wantGateways)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	outage := gateway.Errorf(gateway.CodeUnavailable, "KMS is down.")
	tests := []struct {
		name string
		// spoil changes the world after alice's gateway g is created.
		spoil    func(t *testing.T, w *world, g *gateway.Gateway)
		wantCode string
	}{
		{name: "sealed and reopened", spoil: func(*testing.T, *world, *gateway.Gateway) {}},
		{name: "a blob moved from another gateway", wantCode: gateway.CodeCredentialsUnreadable,
			spoil: func(t *testing.T, w *world, g *gateway.Gateway) {
				other := w.mustCreate(t, alice, "other")
				g.SealedCredentials = other.SealedCredentials
			}},
		{name: "a blob moved to another owner", wantCode: gateway.CodeCredentialsUnreadable,
			spoil: func(t *testing.T, w *world, g *gateway.Gateway) { g.UserID = "bob" }},
		{name: "a blob that opens to something else", wantCode: gateway.CodeCredentialsUnreadable,
			spoil: func(t *testing.T, w *world, g *gateway.Gateway) {
				g.SealedCredentials, _ = w.sealer.Seal(t.Context(), []byte("not json"), gateway.Binding(g))
			}},
		{name: "a sealer outage is not unreadable credentials", wantCode: gateway.CodeUnavailable,
			spoil: func(t *testing.T, w *world, g *gateway.Gateway) { w.sealer.Fail(outage) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			g := w.mustCreate(t, alice, "bot")
			tt.spoil(t, w, g)

			c, err := w.svc.Credentials(t.Context(), g)
			wantCode(t, "Credentials", err, tt.wantCode)
			if err == nil && c.BotToken != botToken {
				t.Errorf("Credentials opened to another token")
			}
			wantCode(t, "CheckCredentials", w.svc.CheckCredentials(t.Context(), g), tt.wantCode)
			sealed, err := w.svc.Reseal(t.Context(), g)
			wantCode(t, "Reseal", err, tt.wantCode)
			if err != nil {
				return
			}
			if bytes.Equal(sealed, g.SealedCredentials) {
				t.Error("Reseal returned the same blob")
			}
			g.SealedCredentials = sealed
			if c, err := w.svc.Credentials(t.Context(), g); err != nil || c.BotToken != botToken {
				t.Errorf("the resealed blob opens to %v", err)
			}
		})
	}
}
