package gatewaytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// TestStore checks that the stores newStore returns meet gateway.Store's
// contract as pkg/dynamo defines it: conditional writes (CodeVersionMismatch,
// NotFound, CodeConflict for a second gateway with one id), all-or-nothing
// creates with idempotency records (CodeIdempotencyConflict, expiry in whole
// seconds), owner-scoped newest-first listings with type and status filters,
// cursors that are positions and are refused (CodeInvalid on "cursor")
// anywhere but their own listing, audit trails newest first that outlive
// their gateway, bot claims (CodeConflict with gateway.MsgBotInUse for a
// bot another gateway holds; of concurrent claims exactly one wins), and
// values normalised as a round trip through DynamoDB leaves them. Each subtest calls newStore for an empty store of its own.
//
// Idempotency expiry is checked against the wall clock, since a store's
// clock is its own business: the records are an hour on either side of it.
func TestStore(t *testing.T, newStore func(t *testing.T) gateway.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, st gateway.Store)
	}{
		{name: "create and get", run: testCreateGet},
		{name: "stored as DynamoDB would", run: testNormalised},
		{name: "callers hold copies", run: testCopies},
		{name: "update", run: testUpdate},
		{name: "delete", run: testDelete},
		{name: "audit events", run: testAuditEvents},
		{name: "idempotency", run: testIdempotency},
		{name: "list", run: testList},
		{name: "cursors", run: testCursors},
		{name: "cursor is a position", run: testCursorPosition},
		{name: "audit trail", run: testAuditTrail},
		{name: "concurrent writes", run: testConcurrentWrites},
		{name: "bot claims", run: testBotClaims},
		{name: "concurrent bot claims", run: testConcurrentBotClaims},
		{name: "a done context", run: testDoneContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// The owners of the contract's gateways: alice personally, alice in her
// organisation acme, and bob. (Functions, not variables: this package
// holds no state of its own.)
func alice() gateway.Owner   { return gateway.Owner{UserID: "alice"} }
func aliceAt() gateway.Owner { return gateway.Owner{UserID: "alice", OrganizationID: "acme"} }
func bob() gateway.Owner     { return gateway.Owner{UserID: "bob"} }

// t0 is the contract's clock origin. It has a fraction of a second, so
// that fixed-width time keys are exercised.
func t0() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 120000000, time.UTC) }

func ptr[T any](v T) *T { return &v }

// fullGateway returns a gateway with every field set, in the forms a store
// gives back.
func fullGateway(id string) *gateway.Gateway {
	return &gateway.Gateway{
		ID: id, UserID: "alice", OrganizationID: "acme", Name: "Support bot",
		Type: gateway.TypeTelegramBot, Status: gateway.StatusError,
		Config:              json.RawMessage(`{"allowedUpdates":["message"],"nested":{"n":1.5}}`),
		CredentialInfo:      map[string]any{"botId": "123456", "hasSigningSecret": true, "n": 3.0, "list": []any{"a", false}, "none": nil},
		SealedCredentials:   []byte{0, 1, 2, 0xfe, 0xff},
		LastConnectedAt:     ptr(t0().Add(time.Minute)),
		LastErrorAt:         ptr(t0().Add(2 * time.Minute)),
		LastError:           "getMe: 401 Unauthorized",
		CreatedAt:           t0(),
		UpdatedAt:           t0().Add(3 * time.Minute),
		Version:             7,
		LastCheckedAt:       ptr(t0().Add(4*time.Minute + 1)),
		LastLatencyMs:       ptr(int64(0)),
		ConsecutiveFailures: 3,
		WebhookSecretHash:   []byte("0123456789abcdef0123456789abcdef"),
		ClaimedBot:          "123456",
	}
}

// minimalGateway returns a gateway of owner with only the required fields.
func minimalGateway(id string, owner gateway.Owner, created time.Time) *gateway.Gateway {
	return &gateway.Gateway{
		ID: id, UserID: owner.UserID, OrganizationID: owner.OrganizationID, Name: "gw " + id,
		Type: gateway.TypeWebhook, Status: gateway.StatusDisconnected, Config: json.RawMessage(`{}`),
		CreatedAt: created, UpdatedAt: created, Version: 1,
	}
}

func event(gatewayID, id, action string, at time.Time) gateway.AuditEvent {
	return gateway.AuditEvent{
		ID: id, GatewayID: gatewayID, Action: action, At: at,
		Actor:   gateway.Actor{UserID: "alice", OrganizationID: "acme", SourceIP: "203.0.113.9", UserAgent: "curl/8", RequestID: "req-" + id},
		Changes: []string{"name", "status"},
		Details: map[string]string{"from": "DISCONNECTED", "to": "CONNECTED"},
		Owner:   aliceAt(),
	}
}

func mustCreate(t *testing.T, st gateway.Store, g *gateway.Gateway) {
	t.Helper()
	if err := st.CreateGateway(t.Context(), g, event(g.ID, "ev-create-"+g.ID, gateway.AuditCreated, g.CreatedAt), nil); err != nil {
		t.Fatalf("CreateGateway(%s): %v", g.ID, err)
	}
}

func mustGet(t *testing.T, st gateway.Store, id string) *gateway.Gateway {
	t.Helper()
	g, err := st.GetGateway(t.Context(), id)
	if err != nil {
		t.Fatalf("GetGateway(%s): %v", id, err)
	}
	return g
}

// mustUpdate writes g at its next version, with an event at its UpdatedAt.
func mustUpdate(t *testing.T, st gateway.Store, g *gateway.Gateway, evID string) {
	t.Helper()
	g.Version++
	if err := st.UpdateGateway(t.Context(), g, g.Version-1, event(g.ID, evID, gateway.AuditUpdated, g.UpdatedAt)); err != nil {
		t.Fatalf("UpdateGateway(%s): %v", g.ID, err)
	}
}

// trail reads a gateway's whole trail in one page.
func trail(t *testing.T, st gateway.Store, id string) []gateway.AuditEvent {
	t.Helper()
	p, err := st.ListAudit(t.Context(), id, MaxLimit, "")
	if err != nil {
		t.Fatalf("ListAudit(%s): %v", id, err)
	}
	if p.Next != "" {
		t.Fatalf("ListAudit(%s): a next page after %d events", id, len(p.Events))
	}
	return p.Events
}

func eventIDs(evs []gateway.AuditEvent) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gateway.ErrorCode(err); got != code {
		t.Fatalf("%s: error code = %q (%v), want %q", what, got, err, code)
	}
}

// wantField checks that err is CodeInvalid naming field, and only it.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	wantCode(t, what, err, gateway.CodeInvalid)
	var ge *gateway.Error
	if !errors.As(err, &ge) || len(ge.Fields) != 1 || ge.Fields[0].Field != field {
		t.Fatalf("%s: error %#v, want one field error on %s", what, err, field)
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func testCreateGet(t *testing.T, st gateway.Store) {
	ev := event("gw_1", "ev1", gateway.AuditCreated, t0())
	if err := st.CreateGateway(t.Context(), fullGateway("gw_1"), ev, nil); err != nil {
		t.Fatalf("CreateGateway: %v", err)
	}
	wantEqual(t, "GetGateway", mustGet(t, st, "gw_1"), fullGateway("gw_1"))
	wantEqual(t, "trail", trail(t, st, "gw_1"), []gateway.AuditEvent{ev})

	again := minimalGateway("gw_1", bob(), t0().Add(time.Hour))
	err := st.CreateGateway(t.Context(), again, event("gw_1", "ev2", gateway.AuditCreated, t0().Add(time.Hour)), nil)
	wantCode(t, "CreateGateway with a used id", err, gateway.CodeConflict)
	wantEqual(t, "gateway after the refused create", mustGet(t, st, "gw_1"), fullGateway("gw_1"))
	wantEqual(t, "trail after the refused create", trail(t, st, "gw_1"), []gateway.AuditEvent{ev})

	_, err = st.GetGateway(t.Context(), "gw_missing")
	wantCode(t, "GetGateway of a missing id", err, gateway.CodeNotFound)
}

func testNormalised(t *testing.T, st gateway.Store) {
	zone := time.FixedZone("UTC+5", 5*3600)
	g := minimalGateway("gw_n", alice(), t0().In(zone))
	g.Config = nil
	g.CredentialInfo = map[string]any{"i": 3, "i64": int64(-4), "strs": []string{"a"}, "kv": map[string]string{"k": "v"}, "num": json.Number("2.5")}
	g.SealedCredentials, g.WebhookSecretHash = []byte{}, []byte{}
	g.LastErrorAt = ptr(t0().Add(time.Second).In(zone))
	mustCreate(t, st, g)

	got := mustGet(t, st, "gw_n")
	want := minimalGateway("gw_n", alice(), t0())
	want.Config = json.RawMessage(`{}`) // the domain promises an object once stored
	want.CredentialInfo = map[string]any{"i": 3.0, "i64": -4.0, "strs": []any{"a"}, "kv": map[string]any{"k": "v"}, "num": 2.5}
	want.LastErrorAt = ptr(t0().Add(time.Second))
	wantEqual(t, "stored gateway", got, want)
	if got.CreatedAt.Location() != time.UTC || got.LastErrorAt.Location() != time.UTC {
		t.Fatalf("times in %v and %v, want UTC", got.CreatedAt.Location(), got.LastErrorAt.Location())
	}

	bad := minimalGateway("gw_nan", alice(), t0())
	bad.CredentialInfo = map[string]any{"n": math.NaN()}
	err := st.CreateGateway(t.Context(), bad, event("gw_nan", "ev-nan", gateway.AuditCreated, t0()), nil)
	wantCode(t, "CreateGateway with a NaN in CredentialInfo", err, gateway.CodeInternal)
	_, err = st.GetGateway(t.Context(), "gw_nan")
	wantCode(t, "GetGateway of the refused gateway", err, gateway.CodeNotFound)
}

func testCopies(t *testing.T, st gateway.Store) {
	g := fullGateway("gw_c")
	mustCreate(t, st, g)
	g.Name, g.CredentialInfo["botId"], g.SealedCredentials[0] = "changed after create", "x", 9

	read := mustGet(t, st, "gw_c")
	read.Name, read.CredentialInfo["botId"], read.Config[0] = "changed after get", "y", '['
	read.CredentialInfo["list"].([]any)[0] = "z"
	*read.LastConnectedAt = t0().Add(time.Hour)

	wantEqual(t, "stored gateway", mustGet(t, st, "gw_c"), fullGateway("gw_c"))
}

func testUpdate(t *testing.T, st gateway.Store) {
	mustCreate(t, st, minimalGateway("gw_1", alice(), t0()))
	changed := func(version int64, name string) *gateway.Gateway {
		g := minimalGateway("gw_1", alice(), t0())
		g.Name, g.Version, g.UpdatedAt = name, version, t0().Add(time.Duration(version)*time.Minute)
		return g
	}
	tests := []struct {
		name       string
		g          *gateway.Gateway
		expected   int64
		wantCode   string
		wantStored *gateway.Gateway // after the call
		wantEvents int              // after the call
	}{
		{name: "right version", g: changed(2, "renamed"), expected: 1, wantStored: changed(2, "renamed"), wantEvents: 2},
		{name: "stale version", g: changed(2, "lost"), expected: 1, wantCode: gateway.CodeVersionMismatch, wantStored: changed(2, "renamed"), wantEvents: 2},
		{name: "future version", g: changed(6, "lost"), expected: 5, wantCode: gateway.CodeVersionMismatch, wantStored: changed(2, "renamed"), wantEvents: 2},
		{name: "version does not follow", g: changed(4, "lost"), expected: 2, wantCode: gateway.CodeInternal, wantStored: changed(2, "renamed"), wantEvents: 2},
		{name: "next version", g: changed(3, "again"), expected: 2, wantStored: changed(3, "again"), wantEvents: 3},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event("gw_1", fmt.Sprintf("ev-up-%d", i), gateway.AuditUpdated, t0().Add(time.Duration(i+1)*time.Minute))
			err := st.UpdateGateway(t.Context(), tt.g, tt.expected, ev)
			wantCode(t, "UpdateGateway", err, tt.wantCode)
			wantEqual(t, "stored", mustGet(t, st, "gw_1"), tt.wantStored)
			if got, want := len(trail(t, st, "gw_1")), tt.wantEvents; got != want {
				t.Fatalf("audit events = %d, want %d", got, want)
			}
		})
	}

	t.Run("missing gateway", func(t *testing.T) {
		g := minimalGateway("gw_missing", alice(), t0())
		g.Version = 2
		err := st.UpdateGateway(t.Context(), g, 1, event("gw_missing", "ev-x", gateway.AuditUpdated, t0()))
		wantCode(t, "UpdateGateway", err, gateway.CodeNotFound)
		if evs := trail(t, st, "gw_missing"); len(evs) != 0 {
			t.Fatalf("a missing gateway got %d audit events", len(evs))
		}
	})
}

func testDelete(t *testing.T, st gateway.Store) {
	mustCreate(t, st, minimalGateway("gw_1", alice(), t0()))
	del := func(id string, version int64, evID string) error {
		return st.DeleteGateway(t.Context(), id, version, event(id, evID, gateway.AuditDeleted, t0().Add(time.Hour)))
	}

	wantCode(t, "DeleteGateway at another version", del("gw_1", 2, "ev-d1"), gateway.CodeVersionMismatch)
	mustGet(t, st, "gw_1")
	wantEqual(t, "trail after the refused delete", eventIDs(trail(t, st, "gw_1")), []string{"ev-create-gw_1"})

	if err := del("gw_1", 1, "ev-d2"); err != nil {
		t.Fatalf("DeleteGateway: %v", err)
	}
	_, err := st.GetGateway(t.Context(), "gw_1")
	wantCode(t, "GetGateway after the delete", err, gateway.CodeNotFound)
	// The trail outlives the gateway, to say who deleted it and when.
	wantEqual(t, "trail after the delete", eventIDs(trail(t, st, "gw_1")), []string{"ev-d2", "ev-create-gw_1"})

	wantCode(t, "DeleteGateway again", del("gw_1", 1, "ev-d3"), gateway.CodeNotFound)
	wantCode(t, "DeleteGateway of a never-created id", del("gw_none", 1, "ev-d4"), gateway.CodeNotFound)
	if evs := trail(t, st, "gw_none"); len(evs) != 0 {
		t.Fatalf("a never-created gateway got %d audit events", len(evs))
	}
}

func testAuditEvents(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	g := minimalGateway("gw_1", alice(), t0())
	mustCreate(t, st, g)

	t.Run("stored with its gateway and in UTC", func(t *testing.T) {
		next := minimalGateway("gw_1", alice(), t0())
		next.Version = 2
		ev := event("", "ev-utc", gateway.AuditUpdated, t0().Add(time.Second).In(time.FixedZone("UTC-3", -3*3600)))
		if err := st.UpdateGateway(ctx, next, 1, ev); err != nil {
			t.Fatalf("UpdateGateway: %v", err)
		}
		want := event("gw_1", "ev-utc", gateway.AuditUpdated, t0().Add(time.Second))
		wantEqual(t, "newest event", trail(t, st, "gw_1")[0], want)
	})

	next := minimalGateway("gw_1", alice(), t0())
	next.Version = 3
	create := func(ev gateway.AuditEvent) error {
		return st.CreateGateway(ctx, minimalGateway("gw_2", alice(), t0()), ev, nil)
	}
	update := func(ev gateway.AuditEvent) error { return st.UpdateGateway(ctx, next, 2, ev) }
	del := func(ev gateway.AuditEvent) error { return st.DeleteGateway(ctx, "gw_1", 2, ev) }
	tests := []struct {
		name  string
		write func(ev gateway.AuditEvent) error
		ev    gateway.AuditEvent
	}{
		{name: "create without an event id", write: create, ev: event("gw_2", "", gateway.AuditCreated, t0())},
		{name: "create with another gateway's event", write: create, ev: event("gw_1", "ev-other", gateway.AuditCreated, t0())},
		{name: "update without an event id", write: update, ev: event("gw_1", "", gateway.AuditUpdated, t0())},
		{name: "update recording an event twice", write: update, ev: event("", "ev-utc", gateway.AuditUpdated, t0().Add(time.Second))},
		{name: "delete with another gateway's event", write: del, ev: event("gw_2", "ev-del", gateway.AuditDeleted, t0())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, "write", tt.write(tt.ev), gateway.CodeInternal)
			if got := mustGet(t, st, "gw_1").Version; got != 2 {
				t.Fatalf("gw_1 at version %d, want 2", got)
			}
			_, err := st.GetGateway(ctx, "gw_2")
			wantCode(t, "GetGateway(gw_2)", err, gateway.CodeNotFound)
			wantEqual(t, "trail", eventIDs(trail(t, st, "gw_1")), []string{"ev-utc", "ev-create-gw_1"})
		})
	}
}

func testIdempotency(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	expires := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	create := func(id string, owner gateway.Owner, key string, exp time.Time) error {
		g := minimalGateway(id, owner, t0())
		// The record's GatewayID is the created gateway's, whatever the
		// caller put there.
		return st.CreateGateway(ctx, g, event(id, "ev-"+id, gateway.AuditCreated, t0()),
			&gateway.Idempotency{Owner: owner, Key: key, RequestHash: "hash-" + id, GatewayID: "ignored", ExpiresAt: exp})
	}

	t.Run("record written and read in whole seconds", func(t *testing.T) {
		if err := create("gw_a", alice(), "k1", expires.Add(900*time.Millisecond)); err != nil {
			t.Fatalf("CreateGateway: %v", err)
		}
		got, err := st.GetIdempotency(ctx, alice(), "k1")
		if err != nil {
			t.Fatalf("GetIdempotency: %v", err)
		}
		wantEqual(t, "record", got, &gateway.Idempotency{Owner: alice(), Key: "k1", RequestHash: "hash-gw_a", GatewayID: "gw_a", ExpiresAt: expires})
	})

	t.Run("key reuse is a conflict and writes nothing", func(t *testing.T) {
		wantCode(t, "CreateGateway with a used key", create("gw_b", alice(), "k1", expires), gateway.CodeIdempotencyConflict)
		_, err := st.GetGateway(ctx, "gw_b")
		wantCode(t, "GetGateway of the refused gateway", err, gateway.CodeNotFound)
		if evs := trail(t, st, "gw_b"); len(evs) != 0 {
			t.Fatalf("the refused gateway has %d audit events", len(evs))
		}
		rec, err := st.GetIdempotency(ctx, alice(), "k1")
		if err != nil || rec.GatewayID != "gw_a" {
			t.Fatalf("record after the refused reuse = %+v, %v; want the first gateway's", rec, err)
		}
	})

	t.Run("a key reused with a used gateway id is still a key conflict", func(t *testing.T) {
		wantCode(t, "CreateGateway", create("gw_a", alice(), "k1", expires), gateway.CodeIdempotencyConflict)
	})

	t.Run("the same key of another owner is independent", func(t *testing.T) {
		for _, o := range []gateway.Owner{aliceAt(), bob()} {
			id := "gw_" + strings.ReplaceAll(o.Key(), "#", "_")
			if err := create(id, o, "k1", expires); err != nil {
				t.Fatalf("CreateGateway for %s: %v", o.Key(), err)
			}
			rec, err := st.GetIdempotency(ctx, o, "k1")
			if err != nil || rec.GatewayID != id {
				t.Fatalf("record of %s = %+v, %v; want %s's", o.Key(), rec, err, id)
			}
		}
	})

	t.Run("missing record", func(t *testing.T) {
		_, err := st.GetIdempotency(ctx, alice(), "never-used")
		wantCode(t, "GetIdempotency", err, gateway.CodeNotFound)
	})

	t.Run("expired record is not found and may be replaced", func(t *testing.T) {
		if err := create("gw_old", alice(), "k2", time.Now().Add(-time.Hour)); err != nil {
			t.Fatalf("CreateGateway: %v", err)
		}
		_, err := st.GetIdempotency(ctx, alice(), "k2")
		wantCode(t, "GetIdempotency of an expired record", err, gateway.CodeNotFound)

		if err := create("gw_new", alice(), "k2", expires); err != nil {
			t.Fatalf("CreateGateway reusing an expired key: %v", err)
		}
		rec, err := st.GetIdempotency(ctx, alice(), "k2")
		if err != nil || rec.GatewayID != "gw_new" {
			t.Fatalf("record = %+v, %v; want gw_new's", rec, err)
		}
	})
}

// seedOwners creates 23 gateways of alice() with mixed types, statuses and
// creation times (pairs share a time, so the id breaks ties; ids are out of
// time order, so order must come from the time), and 5 each of alice() in
// acme and of bob(). It returns alice()'s, newest first.
func seedOwners(t *testing.T, st gateway.Store) []*gateway.Gateway {
	t.Helper()
	var mine []*gateway.Gateway
	for i := range 23 {
		g := minimalGateway(fmt.Sprintf("gw_%02d_%02d", (i*7)%23, i), alice(), t0().Add(time.Duration(i/2)*700*time.Millisecond))
		g.Type = gateway.Types[i%len(gateway.Types)]
		g.Status = gateway.Statuses[(i/3)%len(gateway.Statuses)]
		mustCreate(t, st, g)
		mine = append(mine, g)
	}
	for i := range 5 {
		for _, o := range []gateway.Owner{aliceAt(), bob()} {
			g := minimalGateway(fmt.Sprintf("gw_%s_%02d", strings.ReplaceAll(o.Key(), "#", "_"), i), o, t0().Add(time.Duration(i)*3*time.Second))
			g.Type, g.Status = gateway.Types[i%3], gateway.Statuses[i%4]
			mustCreate(t, st, g)
		}
	}
	slices.SortFunc(mine, func(a, b *gateway.Gateway) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return mine
}

// listAll pages through a listing and checks the page shapes: every page
// but the last is full, and only the last has no cursor.
func listAll(t *testing.T, st gateway.Store, owner gateway.Owner, f gateway.ListFilter, limit int) []string {
	t.Helper()
	ids := []string{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		p, err := st.ListGateways(t.Context(), owner, f, limit, cursor)
		if err != nil {
			t.Fatalf("ListGateways page %d: %v", pages, err)
		}
		switch {
		case len(p.Gateways) > limit:
			t.Fatalf("page %d has %d gateways, limit %d", pages, len(p.Gateways), limit)
		case p.Next != "" && len(p.Gateways) != limit:
			t.Fatalf("page %d has %d gateways and a next page, want %d", pages, len(p.Gateways), limit)
		case p.Next == "" && len(p.Gateways) == 0 && pages > 0:
			t.Fatalf("empty last page %d", pages)
		}
		for _, g := range p.Gateways {
			ids = append(ids, g.ID)
		}
		if p.Next == "" {
			return ids
		}
		cursor = p.Next
	}
}

func testList(t *testing.T, st gateway.Store) {
	mine := seedOwners(t, st)
	filters := []struct {
		name string
		f    gateway.ListFilter
	}{
		{name: "no filter", f: gateway.ListFilter{}},
		{name: "type", f: gateway.ListFilter{Type: gateway.TypeAI}},
		{name: "status", f: gateway.ListFilter{Status: gateway.StatusError}},
		{name: "type and status", f: gateway.ListFilter{Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected}},
		{name: "matches nothing", f: gateway.ListFilter{Type: "NONE"}},
	}
	for _, fc := range filters {
		want := []string{}
		for _, g := range mine {
			if (fc.f.Type == "" || g.Type == fc.f.Type) && (fc.f.Status == "" || g.Status == fc.f.Status) {
				want = append(want, g.ID)
			}
		}
		for _, limit := range []int{1, 4, 23, MaxLimit} {
			t.Run(fmt.Sprintf("%s/limit %d", fc.name, limit), func(t *testing.T) {
				wantEqual(t, "ids", listAll(t, st, alice(), fc.f, limit), want)
			})
		}
	}

	t.Run("page content", func(t *testing.T) {
		p, err := st.ListGateways(t.Context(), alice(), gateway.ListFilter{}, 1, "")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "first gateway", p.Gateways, mine[:1])
	})

	t.Run("owners are apart", func(t *testing.T) {
		tests := []struct {
			owner gateway.Owner
			want  []string
		}{
			{owner: aliceAt(), want: []string{"gw_ORG_acme_04", "gw_ORG_acme_03", "gw_ORG_acme_02", "gw_ORG_acme_01", "gw_ORG_acme_00"}},
			// An organisation's gateways belong to it, not to the member.
			{owner: gateway.Owner{UserID: "bob", OrganizationID: "acme"}, want: []string{"gw_ORG_acme_04", "gw_ORG_acme_03", "gw_ORG_acme_02", "gw_ORG_acme_01", "gw_ORG_acme_00"}},
			{owner: bob(), want: []string{"gw_USER_bob_04", "gw_USER_bob_03", "gw_USER_bob_02", "gw_USER_bob_01", "gw_USER_bob_00"}},
			{owner: gateway.Owner{UserID: "carol"}, want: []string{}},
		}
		for _, tt := range tests {
			wantEqual(t, "listing of "+tt.owner.Key(), listAll(t, st, tt.owner, gateway.ListFilter{}, 2), tt.want)
		}
	})
}

func testCursors(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	seedOwners(t, st)
	g := minimalGateway("gw_audited", alice(), t0())
	mustCreate(t, st, g)
	for i := range 3 {
		g.UpdatedAt = t0().Add(time.Duration(i+1) * time.Second)
		mustUpdate(t, st, g, fmt.Sprint("ev", i))
	}
	mustCreate(t, st, minimalGateway("gw_other", alice(), t0()))
	mustUpdate(t, st, minimalGateway("gw_other", alice(), t0()), "ev-other")

	listCursor := func(owner gateway.Owner) string {
		t.Helper()
		p, err := st.ListGateways(ctx, owner, gateway.ListFilter{}, 2, "")
		if err != nil || p.Next == "" {
			t.Fatalf("ListGateways(%s) = %v, next %q; want a next page", owner.Key(), err, p.Next)
		}
		return p.Next
	}
	auditCursor := func(id string) string {
		t.Helper()
		p, err := st.ListAudit(ctx, id, 1, "")
		if err != nil || p.Next == "" {
			t.Fatalf("ListAudit(%s) = %v, next %q; want a next page", id, err, p.Next)
		}
		return p.Next
	}
	listAlice := func(c string) error { _, err := st.ListGateways(ctx, alice(), gateway.ListFilter{}, 5, c); return err }
	auditOf := func(c string) error { _, err := st.ListAudit(ctx, "gw_audited", 5, c); return err }

	// The controls prove the refusals below are for the cursor's origin.
	if err := listAlice(listCursor(alice())); err != nil {
		t.Fatalf("alice's own cursor: %v", err)
	}
	if err := auditOf(auditCursor("gw_audited")); err != nil {
		t.Fatalf("the trail's own cursor: %v", err)
	}
	tests := []struct {
		name   string
		list   func(cursor string) error
		cursor string
	}{
		{name: "garbage", list: listAlice, cursor: "!!not base64!!"},
		{name: "huge", list: listAlice, cursor: strings.Repeat("A", 20000)},
		{name: "another owner's cursor", list: listAlice, cursor: listCursor(bob())},
		{name: "the same user's organisation cursor", list: listAlice, cursor: listCursor(aliceAt())},
		{name: "an audit cursor for a listing", list: listAlice, cursor: auditCursor("gw_audited")},
		{name: "garbage for a trail", list: auditOf, cursor: "garbage"},
		{name: "a listing cursor for a trail", list: auditOf, cursor: listCursor(alice())},
		{name: "another gateway's audit cursor", list: auditOf, cursor: auditCursor("gw_other")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantField(t, "listing", tt.list(tt.cursor), "cursor") })
	}

	for _, limit := range []int{0, -1, MaxLimit + 1} {
		_, err := st.ListGateways(ctx, alice(), gateway.ListFilter{}, limit, "")
		wantField(t, fmt.Sprintf("ListGateways limit %d", limit), err, "limit")
		_, err = st.ListAudit(ctx, "gw_audited", limit, "")
		wantField(t, fmt.Sprintf("ListAudit limit %d", limit), err, "limit")
	}
}

// testCursorPosition checks that a cursor resumes after the item it was
// issued at, so that writes between two pages neither skip nor repeat one.
func testCursorPosition(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		g := minimalGateway(fmt.Sprintf("gw_p%d", i), alice(), t0().Add(time.Duration(i)*time.Second))
		mustCreate(t, st, g)
		ids = append([]string{g.ID}, ids...) // newest first
	}
	p, err := st.ListGateways(ctx, alice(), gateway.ListFilter{}, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "first page", []string{p.Gateways[0].ID, p.Gateways[1].ID}, ids[:2])
	// The last gateway of the page goes, and a newer one comes.
	if err := st.DeleteGateway(ctx, ids[1], 1, event(ids[1], "ev-del", gateway.AuditDeleted, t0().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, st, minimalGateway("gw_newest", alice(), t0().Add(time.Hour)))
	wantEqual(t, "rest", listAll(t, st, alice(), gateway.ListFilter{}, 2)[1:], append([]string{ids[0]}, ids[2:]...))

	p, err = st.ListGateways(ctx, alice(), gateway.ListFilter{}, 5, p.Next)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range p.Gateways {
		got = append(got, g.ID)
	}
	wantEqual(t, "the page after the first", got, ids[2:])
}

func testAuditTrail(t *testing.T, st gateway.Store) {
	ctx := t.Context()
	g := minimalGateway("gw_1", alice(), t0())
	mustCreate(t, st, g)
	mustCreate(t, st, minimalGateway("gw_2", alice(), t0()))

	// Newest first: the updates, then the creation.
	want := []gateway.AuditEvent{event("gw_1", "ev-create-gw_1", gateway.AuditCreated, t0())}
	for i := range 7 {
		g.Version++
		// Whole and fractional seconds mixed: order must still be time order.
		ev := event("gw_1", fmt.Sprintf("ev-%02d", i), gateway.AuditUpdated, t0().Add(time.Duration(i+1)*500*time.Millisecond))
		if err := st.UpdateGateway(ctx, g, g.Version-1, ev); err != nil {
			t.Fatalf("UpdateGateway %d: %v", i, err)
		}
		want = append([]gateway.AuditEvent{ev}, want...)
	}
	// Two events of one instant: the event id breaks the tie, descending.
	at := t0().Add(time.Hour)
	for _, id := range []string{"ev-b", "ev-a", "ev-c"} {
		g.Version++
		if err := st.UpdateGateway(ctx, g, g.Version-1, event("gw_1", id, gateway.AuditUpdated, at)); err != nil {
			t.Fatalf("UpdateGateway %s: %v", id, err)
		}
	}
	want = append([]gateway.AuditEvent{
		event("gw_1", "ev-c", gateway.AuditUpdated, at),
		event("gw_1", "ev-b", gateway.AuditUpdated, at),
		event("gw_1", "ev-a", gateway.AuditUpdated, at),
	}, want...)

	for _, limit := range []int{1, 4, 11, 12} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []gateway.AuditEvent
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("too many pages")
				}
				p, err := st.ListAudit(ctx, "gw_1", limit, cursor)
				if err != nil {
					t.Fatalf("ListAudit: %v", err)
				}
				if p.Next != "" && len(p.Events) != limit || len(p.Events) == 0 {
					t.Fatalf("page %d has %d events (limit %d, next %q)", pages, len(p.Events), limit, p.Next)
				}
				got = append(got, p.Events...)
				if p.Next == "" {
					break
				}
				cursor = p.Next
			}
			wantEqual(t, "events", got, want)
		})
	}

	t.Run("a gateway never written has an empty trail", func(t *testing.T) {
		p, err := st.ListAudit(ctx, "gw_never", 5, "")
		if err != nil || len(p.Events) != 0 || p.Next != "" {
			t.Fatalf("ListAudit = %+v, %v; want an empty last page", p, err)
		}
	})
}

func testConcurrentWrites(t *testing.T, st gateway.Store) {
	const writers = 8
	race := func(t *testing.T, write func(i int) error) (winner int) {
		t.Helper()
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				errs[i] = write(i)
			})
		}
		close(start)
		wg.Wait()
		winner = -1
		for i, err := range errs {
			switch gateway.ErrorCode(err) {
			case "":
				if winner >= 0 {
					t.Fatalf("writers %d and %d both succeeded", winner, i)
				}
				winner = i
			case gateway.CodeVersionMismatch, gateway.CodeIdempotencyConflict:
			default:
				t.Fatalf("writer %d: %v, want success or the loser's code", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer succeeded")
		}
		return winner
	}

	t.Run("updates of one version", func(t *testing.T) {
		mustCreate(t, st, minimalGateway("gw_1", alice(), t0()))
		winner := race(t, func(i int) error {
			g := minimalGateway("gw_1", alice(), t0())
			g.Name, g.Version = fmt.Sprintf("writer %d", i), 2
			return st.UpdateGateway(t.Context(), g, 1, event("gw_1", fmt.Sprintf("ev-w%d", i), gateway.AuditUpdated, t0().Add(time.Minute)))
		})
		got := mustGet(t, st, "gw_1")
		if want := fmt.Sprintf("writer %d", winner); got.Name != want || got.Version != 2 {
			t.Fatalf("stored name %q version %d, want %q version 2", got.Name, got.Version, want)
		}
		wantEqual(t, "trail", eventIDs(trail(t, st, "gw_1")), []string{fmt.Sprintf("ev-w%d", winner), "ev-create-gw_1"})
	})

	t.Run("creates with one idempotency key", func(t *testing.T) {
		expires := time.Now().Add(time.Hour)
		winner := race(t, func(i int) error {
			id := fmt.Sprintf("gw_k%d", i)
			return st.CreateGateway(t.Context(), minimalGateway(id, bob(), t0()), event(id, "ev-"+id, gateway.AuditCreated, t0()),
				&gateway.Idempotency{Owner: bob(), Key: "same", RequestHash: id, ExpiresAt: expires})
		})
		rec, err := st.GetIdempotency(t.Context(), bob(), "same")
		if want := fmt.Sprintf("gw_k%d", winner); err != nil || rec.GatewayID != want {
			t.Fatalf("record = %+v, %v; want %s's", rec, err, want)
		}
		wantEqual(t, "bob's gateways", listAll(t, st, bob(), gateway.ListFilter{}, 10), []string{rec.GatewayID})
	})
}

// testDoneContext checks that a call whose context is done fails and
// writes nothing: a caller that must record something after its request's
// deadline has to ask for a context of its own.
func testDoneContext(t *testing.T, st gateway.Store) {
	mustCreate(t, st, minimalGateway("gw_1", alice(), t0()))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	next := minimalGateway("gw_1", alice(), t0())
	next.Version, next.Name = 2, "renamed"
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "CreateGateway", call: func(ctx context.Context) error {
			return st.CreateGateway(ctx, minimalGateway("gw_2", alice(), t0()), event("gw_2", "ev-c", gateway.AuditCreated, t0()), nil)
		}},
		{name: "GetGateway", call: func(ctx context.Context) error { _, err := st.GetGateway(ctx, "gw_1"); return err }},
		{name: "UpdateGateway", call: func(ctx context.Context) error {
			return st.UpdateGateway(ctx, next, 1, event("gw_1", "ev-u", gateway.AuditUpdated, t0()))
		}},
		{name: "DeleteGateway", call: func(ctx context.Context) error {
			return st.DeleteGateway(ctx, "gw_1", 1, event("gw_1", "ev-d", gateway.AuditDeleted, t0()))
		}},
		{name: "ListGateways", call: func(ctx context.Context) error {
			_, err := st.ListGateways(ctx, alice(), gateway.ListFilter{}, 5, "")
			return err
		}},
		{name: "ListAudit", call: func(ctx context.Context) error { _, err := st.ListAudit(ctx, "gw_1", 5, ""); return err }},
		{name: "GetIdempotency", call: func(ctx context.Context) error { _, err := st.GetIdempotency(ctx, alice(), "k"); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(cancelled); err == nil {
				t.Error("a call with a cancelled context succeeded")
			}
			wantCode(t, "a call past its deadline", c.call(expired), gateway.CodeUnavailable)
			wantEqual(t, "gw_1", mustGet(t, st, "gw_1"), minimalGateway("gw_1", alice(), t0()))
			wantEqual(t, "trail", eventIDs(trail(t, st, "gw_1")), []string{"ev-create-gw_1"})
			_, err := st.GetGateway(t.Context(), "gw_2")
			wantCode(t, "GetGateway(gw_2)", err, gateway.CodeNotFound)
		})
	}
}

// botGateway is a DISCONNECTED Telegram gateway of owner for bot 4242.
func botGateway(id string, owner gateway.Owner) *gateway.Gateway {
	g := minimalGateway(id, owner, t0())
	g.Type, g.CredentialInfo = gateway.TypeTelegramBot, map[string]any{"botId": "4242"}
	return g
}

// claim writes g at its next version in status st, claiming what
// gateway.Gateway.BotClaim says, as gateway.Service does.
func claim(t *testing.T, st gateway.Store, g *gateway.Gateway, status gateway.Status, evID string) error {
	t.Helper()
	next := *g
	next.Status, next.Version = status, g.Version+1
	next.ClaimedBot = next.BotClaim()
	err := st.UpdateGateway(t.Context(), &next, g.Version, event(g.ID, evID, gateway.AuditStatusChanged, t0().Add(time.Minute)))
	if err == nil {
		*g = next
	}
	return err
}

func testBotClaims(t *testing.T, st gateway.Store) {
	// Two tenants, one bot: several DISCONNECTED gateways may share it.
	a, b := botGateway("gw_a", alice()), botGateway("gw_b", bob())
	mustCreate(t, st, a)
	mustCreate(t, st, b)
	if err := claim(t, st, a, gateway.StatusConnecting, "ev-a1"); err != nil {
		t.Fatalf("the first connect: %v", err)
	}
	err := claim(t, st, b, gateway.StatusConnecting, "ev-b1")
	wantCode(t, "a second gateway connecting the bot", err, gateway.CodeConflict)
	if msg := gateway.ErrorMessage(err); msg != gateway.MsgBotInUse || strings.Contains(msg, "gw_a") || strings.Contains(msg, "alice") {
		t.Errorf("message %q, want MsgBotInUse, naming nobody", msg)
	}
	if got := mustGet(t, st, "gw_b"); got.Version != 1 || got.Status != gateway.StatusDisconnected || len(trail(t, st, "gw_b")) != 1 {
		t.Errorf("a refused claim wrote: %+v", got)
	}
	// The holder may write itself again (connected, renamed) without losing it.
	if err := claim(t, st, a, gateway.StatusConnected, "ev-a2"); err != nil || mustGet(t, st, "gw_a").ClaimedBot != "4242" {
		t.Fatalf("the holder's own write: %v", err)
	}
	// A disconnect releases it.
	if err := claim(t, st, a, gateway.StatusDisconnected, "ev-a3"); err != nil {
		t.Fatal(err)
	}
	if err := claim(t, st, b, gateway.StatusConnected, "ev-b2"); err != nil {
		t.Fatalf("connect after the other disconnected: %v", err)
	}
	err = claim(t, st, a, gateway.StatusConnecting, "ev-a4")
	wantCode(t, "connecting the bot the other holds", err, gateway.CodeConflict)
	// Other credentials release it: b now has another bot.
	b.CredentialInfo = map[string]any{"botId": "777"}
	if err := claim(t, st, b, gateway.StatusConnected, "ev-b3"); err != nil {
		t.Fatal(err)
	}
	if err := claim(t, st, a, gateway.StatusConnecting, "ev-a5"); err != nil {
		t.Fatalf("connect after the holder changed bots: %v", err)
	}
	// A delete releases it.
	if err := st.DeleteGateway(t.Context(), "gw_a", a.Version, event("gw_a", "ev-a6", gateway.AuditDeleted, t0().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	c := botGateway("gw_c", aliceAt())
	mustCreate(t, st, c)
	if err := claim(t, st, c, gateway.StatusConnecting, "ev-c1"); err != nil {
		t.Fatalf("connect after the holder was deleted: %v", err)
	}
}

// testConcurrentBotClaims connects one bot in eight gateways at once:
// exactly one wins, the others are CodeConflict and wrote nothing.
func testConcurrentBotClaims(t *testing.T, st gateway.Store) {
	const n = 8
	gws := make([]*gateway.Gateway, n)
	for i := range gws {
		gws[i] = botGateway(fmt.Sprintf("gw_%d", i), gateway.Owner{UserID: fmt.Sprintf("user%d", i)})
		mustCreate(t, st, gws[i])
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, g := range gws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			next := *g
			next.Status, next.Version = gateway.StatusConnecting, 2
			next.ClaimedBot = next.BotClaim()
			errs[i] = st.UpdateGateway(context.Background(), &next, 1, event(g.ID, "ev-connect", gateway.AuditStatusChanged, t0().Add(time.Minute)))
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case gateway.ErrorCode(err) == gateway.CodeConflict:
			if got := mustGet(t, st, gws[i].ID); got.Version != 1 {
				t.Errorf("the loser %s was written: %+v", gws[i].ID, got)
			}
		default:
			t.Errorf("gateway %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent connects of one bot won, want exactly 1", won, n)
	}
}
