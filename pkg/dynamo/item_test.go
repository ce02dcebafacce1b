package dynamo

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// TestFixtureIsFull keeps the round-trip tests honest: a field added to
// Gateway fails here until fullGateway sets it (and the item stores it).
func TestFixtureIsFull(t *testing.T) {
	v := reflect.ValueOf(*fullGateway("gw_x"))
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("fullGateway leaves %s zero", v.Type().Field(i).Name)
		}
	}
}

func roundTripCases() []struct {
	name string
	in   *gateway.Gateway
	want *gateway.Gateway
} {
	noConfig := minimalGateway("gw_b", alice, t0)
	noConfig.Config = nil
	wantConfig := minimalGateway("gw_b", alice, t0)
	wantConfig.Config = json.RawMessage(`{}`)

	local := fullGateway("gw_c")
	loc := time.FixedZone("UTC+3", 3*3600)
	local.CreatedAt = t0.In(loc)
	local.LastCheckedAt = ptr(t0.In(loc))
	wantLocal := fullGateway("gw_c")
	wantLocal.LastCheckedAt = ptr(t0)

	return []struct {
		name string
		in   *gateway.Gateway
		want *gateway.Gateway
	}{
		{"every field", fullGateway("gw_a"), fullGateway("gw_a")},
		{"personal, optional fields empty", minimalGateway("gw_m", alice, t0), minimalGateway("gw_m", alice, t0)},
		{"nil config stored as empty object", noConfig, wantConfig},
		{"times come back in UTC", local, wantLocal},
	}
}

func TestGatewayItemRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			item, err := gatewayItem(tc.in)
			if err != nil {
				t.Fatalf("gatewayItem: %v", err)
			}
			got, err := parseGateway(item)
			if err != nil {
				t.Fatalf("parseGateway: %v", err)
			}
			wantEqual(t, "round trip", got, tc.want)
		})
	}
}

func TestGatewayItemLayout(t *testing.T) {
	g := fullGateway("gw_a")
	g.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) // no fraction: still nine digits
	item, err := gatewayItem(g)
	if err != nil {
		t.Fatal(err)
	}
	str := func(name string) string {
		v, _ := item[name].(*types.AttributeValueMemberS)
		if v == nil {
			return "<missing>"
		}
		return v.Value
	}
	for _, c := range []struct{ attr, want string }{
		{AttrPK, "GW#gw_a"},
		{AttrSK, "GATEWAY"},
		{AttrGSI1PK, "ORG#acme"},
		{AttrGSI1SK, "2025-01-02T03:04:05.000000000Z#gw_a"},
		{"createdAt", "2025-01-02T03:04:05.000000000Z"},
		{"config", string(g.Config)},
	} {
		if got := str(c.attr); got != c.want {
			t.Errorf("%s = %q, want %q", c.attr, got, c.want)
		}
	}
	if _, ok := item["credentials"].(*types.AttributeValueMemberB); !ok {
		t.Errorf("credentials is %T, want binary", item["credentials"])
	}
	if _, ok := item["credentialInfo"].(*types.AttributeValueMemberM); !ok {
		t.Errorf("credentialInfo is %T, want map", item["credentialInfo"])
	}
	if _, ok := item[AttrTTL]; ok {
		t.Errorf("gateway item has a ttl")
	}

	personal, _ := gatewayItem(minimalGateway("gw_p", alice, t0))
	var names []string
	for k := range personal {
		names = append(names, k)
	}
	sort.Strings(names)
	wantEqual(t, "attributes of a minimal gateway", names, []string{
		"config", "consecutiveFailures", "createdAt", "gsi1pk", "gsi1sk", "id", "name", "pk", "sk", "status", "type", "updatedAt", "userId", "version",
	})
}

// TestAuditItemExpires: an audit event expires the store's retention
// after it happened — gateway.AuditRetention unless AUDIT_RETENTION_DAYS
// (WithAuditRetention) says otherwise (issue 16, item 2) — so a deleted
// gateway's trail outlives it by that much and no longer (issue 15, item 4).
func TestAuditItemExpires(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{name: "default", want: gateway.AuditRetention},
		{name: "configured", opts: []Option{WithAuditRetention(30 * 24 * time.Hour)}, want: 30 * 24 * time.Hour},
		{name: "ten years", opts: []Option{WithAuditRetention(3650 * 24 * time.Hour)}, want: 3650 * 24 * time.Hour},
		{name: "zero keeps the default", opts: []Option{WithAuditRetention(0)}, want: gateway.AuditRetention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(nil, "t", tt.opts...).auditPut("gw_a", gateway.AuditEvent{ID: "ev1", Action: gateway.AuditDeleted, At: t0, Owner: gateway.Owner{UserID: "alice"}})
			if err != nil {
				t.Fatal(err)
			}
			item := w.Put.Item
			n, ok := item[AttrTTL].(*types.AttributeValueMemberN)
			if !ok || n.Value != strconv.FormatInt(t0.Add(tt.want).Unix(), 10) {
				t.Fatalf("ttl %v, want %s + %v", item[AttrTTL], t0, tt.want)
			}
			ev, err := parseAudit(item)
			if err != nil || ev.Owner != (gateway.Owner{UserID: "alice"}) {
				t.Fatalf("parseAudit = %+v, %v; want the owner back", ev, err)
			}
		})
	}
}

func TestAuditItemRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ev   gateway.AuditEvent
	}{
		{"full", event("gw_a", "ev1", gateway.AuditUpdated, t0)},
		{"system actor, no changes or details", gateway.AuditEvent{ID: "ev2", GatewayID: "gw_a", Action: gateway.AuditStatusChanged, Actor: gateway.Actor{System: "health-check"}, At: t0}},
		{"empty lists kept", gateway.AuditEvent{ID: "ev3", GatewayID: "gw_a", Action: gateway.AuditTested, At: t0, Changes: []string{}, Details: map[string]string{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAudit(auditItem("gw_a", tc.ev, gateway.AuditRetention))
			if err != nil {
				t.Fatalf("parseAudit: %v", err)
			}
			wantEqual(t, "round trip", got, tc.ev)
		})
	}
}

func TestParseGatewayRejectsWrongTypes(t *testing.T) {
	item, _ := gatewayItem(fullGateway("gw_a"))
	tests := []struct {
		attr string
		av   types.AttributeValue
	}{
		{"name", nv(1)},
		{"version", sv("7")},
		{"createdAt", sv("yesterday")},
		{"credentials", sv("secret-looking")},
		{"credentialInfo", sv("x")},
	}
	for _, tc := range tests {
		t.Run(tc.attr, func(t *testing.T) {
			bad := map[string]types.AttributeValue{}
			for k, v := range item {
				bad[k] = v
			}
			bad[tc.attr] = tc.av
			_, err := parseGateway(bad)
			if err == nil {
				t.Fatal("parseGateway accepted a wrong type")
			}
		})
	}
}

func TestStoreRoundTrip(t *testing.T) {
	st, _ := newTestStore(t)
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.CreateGateway(t.Context(), tc.in, event(tc.in.ID, "ev-"+tc.in.ID, gateway.AuditCreated, t0), nil); err != nil {
				t.Fatalf("CreateGateway: %v", err)
			}
			wantEqual(t, "GetGateway", mustGet(t, st, tc.in.ID), tc.want)
		})
	}
}
