package dynamo

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// seedOwners writes 53 gateways of alice with mixed types, statuses and
// creation times (pairs share a time, so the id breaks ties), and 10 each of
// alice-in-acme and bob in the same time range. It returns alice's.
func seedOwners(t *testing.T, st *Store, client *dynamodb.Client) []*gateway.Gateway {
	t.Helper()
	var mine []*gateway.Gateway
	var items []map[string]types.AttributeValue
	add := func(g *gateway.Gateway) {
		it, err := gatewayItem(g)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	for i := range 53 {
		// Ids out of time order, so that order must come from the index.
		g := minimalGateway(fmt.Sprintf("gw_%02d_%02d", (i*37)%53, i), alice, t0.Add(time.Duration(i/2)*700*time.Millisecond))
		g.Type = gateway.Types[i%len(gateway.Types)]
		g.Status = gateway.Statuses[(i/3)%len(gateway.Statuses)]
		mine = append(mine, g)
		add(g)
	}
	for i := range 10 {
		for _, o := range []gateway.Owner{aliceAt, bob} {
			g := minimalGateway(fmt.Sprintf("gw_%s_%02d", strings.ReplaceAll(o.Key(), "#", "_"), i), o, t0.Add(time.Duration(i)*3*time.Second))
			g.Type, g.Status = gateway.Types[i%3], gateway.Statuses[i%4]
			add(g)
		}
	}
	seed(t, client, st.table, items)
	return mine
}

// listAll pages through a listing and checks the page shapes: every page but
// the last is full, and only the last has no cursor.
func listAll(t *testing.T, st *Store, owner gateway.Owner, f gateway.ListFilter, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("more than 100 pages")
		}
		p, err := st.ListGateways(t.Context(), owner, f, limit, cursor)
		if err != nil {
			t.Fatalf("ListGateways page %d: %v", pages, err)
		}
		if len(p.Gateways) > limit {
			t.Fatalf("page %d has %d gateways, limit %d", pages, len(p.Gateways), limit)
		}
		if p.Next != "" && len(p.Gateways) != limit {
			t.Fatalf("page %d has %d gateways and a next page, want %d", pages, len(p.Gateways), limit)
		}
		if p.Next == "" && len(p.Gateways) == 0 && pages > 0 {
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

func TestListGateways(t *testing.T) {
	st, client := newTestStore(t)
	mine := seedOwners(t, st, client)
	// Newest first; the index breaks ties of time by id, descending.
	slices.SortFunc(mine, func(a, b *gateway.Gateway) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})

	filters := []struct {
		name string
		f    gateway.ListFilter
	}{
		{"no filter", gateway.ListFilter{}},
		{"type", gateway.ListFilter{Type: gateway.TypeAI}},
		{"status", gateway.ListFilter{Status: gateway.StatusError}},
		{"type and status", gateway.ListFilter{Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected}},
		{"matches nothing", gateway.ListFilter{Type: "NONE"}},
	}
	for _, fc := range filters {
		var want []string
		for _, g := range mine {
			if (fc.f.Type == "" || g.Type == fc.f.Type) && (fc.f.Status == "" || g.Status == fc.f.Status) {
				want = append(want, g.ID)
			}
		}
		for _, limit := range []int{5, 7, 20, 53, 100} {
			t.Run(fmt.Sprintf("%s/limit %d", fc.name, limit), func(t *testing.T) {
				got := listAll(t, st, alice, fc.f, limit)
				if !slices.Equal(got, want) {
					t.Fatalf("ids (%d):\n got %v\nwant %v", len(got), got, want)
				}
			})
		}
	}

	t.Run("page content", func(t *testing.T) {
		p, err := st.ListGateways(t.Context(), alice, gateway.ListFilter{}, 1, "")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "first gateway", p.Gateways, mine[:1])
	})

	t.Run("owner without gateways", func(t *testing.T) {
		p, err := st.ListGateways(t.Context(), gateway.Owner{UserID: "carol"}, gateway.ListFilter{}, 5, "")
		if err != nil || len(p.Gateways) != 0 || p.Next != "" {
			t.Fatalf("got %+v, %v; want an empty last page", p, err)
		}
	})
}

func TestListCursorTampering(t *testing.T) {
	st, client := newTestStore(t)
	seedOwners(t, st, client)
	mustCreate(t, st, minimalGateway("gw_audited", alice, t0))
	ctx := t.Context()

	firstCursor := func(owner gateway.Owner) string {
		t.Helper()
		p, err := st.ListGateways(ctx, owner, gateway.ListFilter{}, 2, "")
		if err != nil || p.Next == "" {
			t.Fatalf("ListGateways(%s) = %v, next %q; want a next page", owner.Key(), err, p.Next)
		}
		return p.Next
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	good := `{"s":"gateways:USER#alice","k":{"pk":"GW#gw_x","sk":"GATEWAY","gsi1pk":"USER#alice","gsi1sk":"2025-01-01T00:00:00.000000000Z#gw_x"}}`

	// The well-formed control proves the tampered variants fail for their change.
	if _, err := st.ListGateways(ctx, alice, gateway.ListFilter{}, 2, enc(good)); err != nil {
		t.Fatalf("hand-made valid cursor: %v", err)
	}
	tests := []struct {
		name   string
		cursor string
	}{
		{"garbage", "!!not base64!!"},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(good)) + "="},
		{"not json", enc("hello")},
		{"json array", enc(`[1,2]`)},
		{"trailing data", enc(good + `{}`)},
		{"unknown field", enc(strings.Replace(good, `"s":`, `"x":1,"s":`, 1))},
		{"another owner's cursor", firstCursor(bob)},
		{"same user's organisation cursor", firstCursor(aliceAt)},
		{"scope kept, owner key changed", enc(strings.Replace(good, `"gsi1pk":"USER#alice"`, `"gsi1pk":"USER#bob"`, 1))},
		{"wrong sort key", enc(strings.Replace(good, `"sk":"GATEWAY"`, `"sk":"AUDIT#x"`, 1))},
		{"pk of another kind", enc(strings.Replace(good, `"pk":"GW#gw_x"`, `"pk":"IDEM#x"`, 1))},
		{"empty index key", enc(strings.Replace(good, `"gsi1sk":"2025-01-01T00:00:00.000000000Z#gw_x"`, `"gsi1sk":""`, 1))},
		{"missing key", enc(`{"s":"gateways:USER#alice","k":{"pk":"GW#gw_x","sk":"GATEWAY","gsi1pk":"USER#alice"}}`)},
		{"extra key", enc(strings.Replace(good, `"sk":`, `"ttl":"1","sk":`, 1))},
		{"number key", enc(strings.Replace(good, `"pk":"GW#gw_x"`, `"pk":5`, 1))},
		{"overlong key", enc(strings.Replace(good, `gsi1sk":"`, `gsi1sk":"`+strings.Repeat("x", 1500), 1))},
		{"huge", strings.Repeat("A", 20000)},
		{"audit cursor", func() string {
			for i := range 3 {
				g := minimalGateway("gw_audited", alice, t0)
				g.Version = int64(i + 2)
				if err := st.UpdateGateway(ctx, g, int64(i+1), event("gw_audited", fmt.Sprint("ev", i), gateway.AuditUpdated, t0.Add(time.Duration(i+1)*time.Second))); err != nil {
					t.Fatal(err)
				}
			}
			p, err := st.ListAudit(ctx, "gw_audited", 1, "")
			if err != nil || p.Next == "" {
				t.Fatalf("ListAudit: %v, next %q", err, p.Next)
			}
			return p.Next
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.ListGateways(ctx, alice, gateway.ListFilter{}, 5, tc.cursor)
			wantCode(t, "ListGateways", err, gateway.CodeInvalid)
			var ge *gateway.Error
			if !errors.As(err, &ge) || len(ge.Fields) != 1 || ge.Fields[0].Field != "cursor" {
				t.Fatalf("error %#v, want one field error on cursor", err)
			}
		})
	}

	for _, limit := range []int{0, -1, MaxLimit + 1} {
		_, err := st.ListGateways(ctx, alice, gateway.ListFilter{}, limit, "")
		wantCode(t, fmt.Sprintf("ListGateways limit %d", limit), err, gateway.CodeInvalid)
		_, err = st.ListAudit(ctx, "gw_audited", limit, "")
		wantCode(t, fmt.Sprintf("ListAudit limit %d", limit), err, gateway.CodeInvalid)
	}
}

func TestListAudit(t *testing.T) {
	st, client := newTestStore(t)
	ctx := t.Context()
	mustCreate(t, st, minimalGateway("gw_1", alice, t0))
	mustCreate(t, st, minimalGateway("gw_2", alice, t0))

	// Newest first: the updates, then the creation.
	want := []gateway.AuditEvent{event("gw_1", "ev-create-gw_1", gateway.AuditCreated, t0)}
	for i := range 11 {
		g := minimalGateway("gw_1", alice, t0)
		g.Version = int64(i + 2)
		// Whole and fractional seconds mixed: order must still be time order.
		ev := event("gw_1", fmt.Sprintf("ev-%02d", i), gateway.AuditUpdated, t0.Add(time.Duration(i+1)*500*time.Millisecond))
		if err := st.UpdateGateway(ctx, g, int64(i+1), ev); err != nil {
			t.Fatalf("UpdateGateway %d: %v", i, err)
		}
		want = append([]gateway.AuditEvent{ev}, want...)
	}
	// Another kind of item in the same partition must not show up.
	_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: map[string]types.AttributeValue{
		AttrPK: sv("GW#gw_1"), AttrSK: sv("HEALTH#" + formatTime(t0)), AttrTTL: nv(time.Now().Add(time.Hour).Unix()),
	}})
	if err != nil {
		t.Fatal(err)
	}

	for _, limit := range []int{1, 5, 12, 13} {
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

	t.Run("cursor is bound to its gateway", func(t *testing.T) {
		p, err := st.ListAudit(ctx, "gw_1", 2, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.ListAudit(ctx, "gw_2", 2, p.Next)
		wantCode(t, "ListAudit with another gateway's cursor", err, gateway.CodeInvalid)
		_, err = st.ListAudit(ctx, "gw_1", 2, "garbage")
		wantCode(t, "ListAudit with garbage", err, gateway.CodeInvalid)
	})
}
