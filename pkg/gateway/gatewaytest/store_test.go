package gatewaytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
)

// TestStoreContract runs the contract of gateway.Store against the
// in-memory Store; pkg/dynamo runs the same contract under the emulators.
func TestStoreContract(t *testing.T) {
	gatewaytest.TestStore(t, func(*testing.T) gateway.Store { return gatewaytest.NewStore() })
}

var (
	t0    = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	alice = gateway.Owner{UserID: "alice"}
)

func newGateway(id string) *gateway.Gateway {
	return &gateway.Gateway{ID: id, UserID: "alice", Name: "gw", Type: gateway.TypeWebhook, Status: gateway.StatusDisconnected,
		Config: json.RawMessage(`{}`), CreatedAt: t0, UpdatedAt: t0, Version: 1}
}

func created(id string) gateway.AuditEvent {
	return gateway.AuditEvent{ID: "ev-" + id, GatewayID: id, Action: gateway.AuditCreated, At: t0}
}

// TestIdempotencyClock checks that records expire on the store's clock,
// which the contract (on the wall clock) cannot move.
func TestIdempotencyClock(t *testing.T) {
	clock := fakeclock.New(t0)
	st := gatewaytest.NewStore(gatewaytest.WithClock(clock.Now))
	ctx := t.Context()
	idem := &gateway.Idempotency{Owner: alice, Key: "k", RequestHash: "h", ExpiresAt: t0.Add(time.Minute)}
	if err := st.CreateGateway(ctx, newGateway("gw_1"), created("gw_1"), idem); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		advance    time.Duration
		wantCode   string // of GetIdempotency
		wantCreate string // of a second create with the key
	}{
		{name: "live", advance: 59 * time.Second, wantCode: "", wantCreate: gateway.CodeIdempotencyConflict},
		{name: "at its expiry", advance: time.Second, wantCode: gateway.CodeNotFound, wantCreate: ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			_, err := st.GetIdempotency(ctx, alice, "k")
			if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("GetIdempotency: %v, want code %q", err, tt.wantCode)
			}
			id := []string{"gw_2", "gw_3"}[i]
			err = st.CreateGateway(ctx, newGateway(id), created(id), &gateway.Idempotency{Owner: alice, Key: "k", ExpiresAt: clock.Now().Add(time.Hour)})
			if got := gateway.ErrorCode(err); got != tt.wantCreate {
				t.Fatalf("CreateGateway: %v, want code %q", err, tt.wantCreate)
			}
		})
	}
}

// TestIntercept checks the two uses of the interceptor: a failure returned
// with nothing done, and a concurrent write made before the call looks.
func TestIntercept(t *testing.T) {
	ctx := t.Context()
	st := gatewaytest.NewStore()
	if err := st.CreateGateway(ctx, newGateway("gw_1"), created("gw_1"), nil); err != nil {
		t.Fatal(err)
	}
	outage := gateway.Errorf(gateway.CodeUnavailable, "down")
	var seen []gatewaytest.Op
	st.Intercept(func(_ context.Context, op gatewaytest.Op, id string) error {
		seen = append(seen, op)
		if op == gatewaytest.OpDeleteGateway {
			return outage
		}
		return nil
	})
	before := st.Snapshot(t)
	if err := st.DeleteGateway(ctx, "gw_1", 1, gateway.AuditEvent{ID: "ev-del"}); !errors.Is(err, outage) {
		t.Fatalf("DeleteGateway: %v, want the injected outage", err)
	}
	if !bytes.Equal(st.Snapshot(t), before) {
		t.Fatal("a failed call changed the store")
	}
	if _, err := st.GetGateway(ctx, "gw_1"); err != nil {
		t.Fatal(err)
	}
	if got, want := len(seen), 2; got != want || seen[0] != gatewaytest.OpDeleteGateway || seen[1] != gatewaytest.OpGetGateway {
		t.Fatalf("intercepted %v, want DeleteGateway then GetGateway", seen)
	}

	// A write from the interceptor lands first: the call then loses.
	raced := false
	st.Intercept(func(ctx context.Context, op gatewaytest.Op, id string) error {
		if op != gatewaytest.OpUpdateGateway || raced {
			return nil
		}
		raced = true
		g := newGateway(id)
		g.Name, g.Version = "racer", 2
		return st.UpdateGateway(ctx, g, 1, gateway.AuditEvent{ID: "ev-racer", At: t0})
	})
	g := newGateway("gw_1")
	g.Name, g.Version = "loser", 2
	err := st.UpdateGateway(ctx, g, 1, gateway.AuditEvent{ID: "ev-loser", At: t0})
	if !gateway.IsCode(err, gateway.CodeVersionMismatch) {
		t.Fatalf("UpdateGateway after a racing write: %v, want a version mismatch", err)
	}
	st.Intercept(nil)
	got, err := st.GetGateway(ctx, "gw_1")
	if err != nil || got.Name != "racer" {
		t.Fatalf("stored %+v, %v; want the racer's write", got, err)
	}
}

// TestSnapshotRestore checks the fuzz harness's reset: a snapshot sees any
// write, and Restore brings back a deep copy that later writes to either
// store do not reach.
func TestSnapshotRestore(t *testing.T) {
	ctx := t.Context()
	seeded := gatewaytest.NewStore()
	g := newGateway("gw_1")
	g.CredentialInfo = map[string]any{"list": []any{"a"}}
	seeded.MustPut(t, g)
	seeded.PutIdempotency(gateway.Idempotency{Owner: alice, Key: "k", RequestHash: "h", GatewayID: "gw_1", ExpiresAt: time.Now().Add(time.Hour)})

	st := gatewaytest.NewStore()
	st.Restore(seeded)
	want := seeded.Snapshot(t)
	if got := st.Snapshot(t); !bytes.Equal(got, want) {
		t.Fatalf("restored snapshot\n%s\nwant\n%s", got, want)
	}
	if rec, err := st.GetIdempotency(ctx, alice, "k"); err != nil || rec.GatewayID != "gw_1" {
		t.Fatalf("restored record %+v, %v", rec, err)
	}

	up := newGateway("gw_1")
	up.Version, up.CredentialInfo = 2, map[string]any{"list": []any{"b"}}
	if err := st.UpdateGateway(ctx, up, 1, gateway.AuditEvent{ID: "ev-up", At: t0}); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(st.Snapshot(t), want) {
		t.Fatal("the snapshot does not see an update")
	}
	if !bytes.Equal(seeded.Snapshot(t), want) {
		t.Fatal("a write to the restored store reached the seed")
	}
	if got := st.Trail("gw_1"); len(got) != 1 || got[0].ID != "ev-up" {
		t.Fatalf("trail %+v, want the update's event", got)
	}
	st.Restore(seeded)
	if got := st.Snapshot(t); !bytes.Equal(got, want) {
		t.Fatalf("snapshot after a second restore\n%s\nwant\n%s", got, want)
	}
}

func TestSealer(t *testing.T) {
	ctx := t.Context()
	secret := []byte(`{"botToken":"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}`)
	binding := map[string]string{"gatewayId": "gw_1", "owner": "USER#alice"}
	s := gatewaytest.NewSealer()
	blob, err := s.Seal(ctx, secret, binding)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, secret[14:40]) {
		t.Fatalf("the blob holds the plaintext: %s", blob)
	}
	again, _ := s.Seal(ctx, secret, binding)
	if bytes.Equal(again, blob) {
		t.Fatal("two seals of one plaintext gave one blob")
	}

	tests := []struct {
		name     string
		blob     []byte
		binding  map[string]string
		wantCode string
	}{
		{name: "its binding", blob: blob, binding: binding},
		{name: "another gateway", blob: blob, binding: map[string]string{"gatewayId": "gw_2", "owner": "USER#alice"}, wantCode: gateway.CodeCredentialsUnreadable},
		{name: "another owner", blob: blob, binding: map[string]string{"gatewayId": "gw_1", "owner": "USER#bob"}, wantCode: gateway.CodeCredentialsUnreadable},
		{name: "a binding with more", blob: blob, binding: map[string]string{"gatewayId": "gw_1", "owner": "USER#alice", "x": ""}, wantCode: gateway.CodeCredentialsUnreadable},
		{name: "truncated", blob: blob[:len(blob)-3], binding: binding, wantCode: gateway.CodeCredentialsUnreadable},
		{name: "empty", blob: nil, binding: binding, wantCode: gateway.CodeCredentialsUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := s.Open(ctx, tt.blob, tt.binding)
			if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Open: %v, want code %q", err, tt.wantCode)
			}
			if err == nil && !bytes.Equal(plain, secret) {
				t.Fatalf("Open = %q, want %q", plain, secret)
			}
		})
	}

	if _, err := s.Seal(ctx, secret, nil); !gateway.IsCode(err, gateway.CodeInternal) {
		t.Fatalf("Seal without a binding: %v, want an internal error", err)
	}
	outage := gateway.Errorf(gateway.CodeUnavailable, "KMS is down.")
	s.Fail(outage)
	if _, err := s.Open(ctx, blob, binding); !errors.Is(err, outage) {
		t.Fatalf("Open while failing: %v", err)
	}
	if _, err := s.Seal(ctx, secret, binding); !errors.Is(err, outage) {
		t.Fatalf("Seal while failing: %v", err)
	}
	s.Fail(nil)
	if _, err := s.Open(ctx, blob, binding); err != nil {
		t.Fatalf("Open after the failure: %v", err)
	}
	if seals, opens := s.Calls(); seals != 4 || opens != len(tests)+2 {
		t.Fatalf("Calls = %d seals, %d opens; want 4, %d", seals, opens, len(tests)+2)
	}
}
