package dynamo

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// cursorListing is one listing decodeCursor serves, with the key check its
// caller in store.go applies.
type cursorListing struct {
	scope string
	names []string
	valid func(map[string]string) bool
}

// cursorListings mirror ListGateways (for a user and for an organisation)
// and ListAudit.
var cursorListings = func() []cursorListing {
	gateways := func(owner string) cursorListing {
		return cursorListing{"gateways:" + owner, []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}, func(k map[string]string) bool {
			return k[AttrGSI1PK] == owner && k[AttrSK] == skGateway && len(k[AttrPK]) > len(gatewayPrefix) && strings.HasPrefix(k[AttrPK], gatewayPrefix)
		}}
	}
	const id = "gw_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	audit := cursorListing{"audit:" + id, []string{AttrPK, AttrSK}, func(k map[string]string) bool {
		return k[AttrPK] == gatewayPK(id) && strings.HasPrefix(k[AttrSK], auditPrefix)
	}}
	return []cursorListing{gateways("USER#alice"), gateways("ORG#acme"), gateways("USER#bob"), audit}
}()

// keyOf turns an ExclusiveStartKey back into the strings a cursor holds.
func keyOf(t *testing.T, esk map[string]types.AttributeValue) map[string]string {
	t.Helper()
	k := make(map[string]string, len(esk))
	for name, v := range esk {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			t.Fatalf("key %q is %T, want a string", name, v)
		}
		k[name] = s.Value
	}
	return k
}

func checkCursorError(t *testing.T, err error) {
	t.Helper()
	e, ok := err.(*gateway.Error)
	if !ok || e.Code != gateway.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" || e.Fields[0].Message == "" {
		t.Fatalf("error %#v is not CodeInvalid on field cursor", err)
	}
}

// FuzzDecodeCursor feeds decodeCursor arbitrary cursors for each listing,
// and cursors issued for arbitrary scopes. It never panics; every refusal
// is CodeInvalid on "cursor"; an accepted cursor names exactly the
// listing's keys, passes its check, decodes under no other listing, and
// re-encodes to a cursor that decodes to the same key; and a cursor issued
// for one scope never decodes under another.
func FuzzDecodeCursor(f *testing.F) {
	user := cursorListings[0]
	valid := encodeCursor(user.scope, map[string]string{AttrPK: "GW#gw_x", AttrSK: skGateway, AttrGSI1PK: "USER#alice", AttrGSI1SK: "2025-01-02T03:04:05.000000000Z#gw_x"})
	for _, seed := range []string{
		valid, valid[:len(valid)-1], valid + "A", "",
		encodeCursor(cursorListings[3].scope, map[string]string{AttrPK: "GW#gw_aaaaaaaaaaaaaaaaaaaaaaaaaa", AttrSK: "AUDIT#2025-01-02T03:04:05.000000000Z#x"}),
		"!!!not-a-cursor", "zzz", "eyJvIjoiVVNFUiNib2IifQ", // TestMalformedRequests' garbage and forged cursors
		encodeCursor(user.scope, map[string]string{AttrPK: "GW#", AttrSK: skGateway, AttrGSI1PK: "USER#alice", AttrGSI1SK: "x"}),
		encodeCursor(user.scope, map[string]string{AttrPK: "GW#x", AttrSK: skGateway, AttrGSI1PK: "USER#bob", AttrGSI1SK: "x"}),
		encodeCursor("gateways:USER#bob", map[string]string{AttrPK: "GW#x", AttrSK: skGateway, AttrGSI1PK: "USER#bob", AttrGSI1SK: "x"}),
		`eyJzIjoiZ2F0ZXdheXM6VVNFUiNhbGljZSIsImsiOnt9LCJ4IjoxfQ`, // an unknown field
	} {
		f.Add(seed, uint8(0), "gateways:USER#alice")
	}
	f.Add(valid, uint8(1), "gateways:ORG#acme")
	f.Add(valid, uint8(0), "gateways:USER#alice\u2028")

	f.Fuzz(func(t *testing.T, raw string, sel uint8, issuedFor string) {
		l := cursorListings[int(sel)%len(cursorListings)]
		esk, err := decodeCursor(raw, l.scope, l.names, l.valid)
		if err != nil {
			checkCursorError(t, err)
		} else {
			key := keyOf(t, esk)
			if len(key) != len(l.names) {
				t.Fatalf("key %v does not have exactly %v", key, l.names)
			}
			for _, n := range l.names {
				if v, ok := key[n]; !ok || v == "" || len(v) > maxKeyLen {
					t.Fatalf("key %v: %q missing, empty or too long", key, n)
				}
			}
			if !l.valid(key) {
				t.Fatalf("key %v fails the listing's check", key)
			}
			for _, other := range cursorListings {
				if other.scope == l.scope {
					continue
				}
				if _, err := decodeCursor(raw, other.scope, other.names, func(map[string]string) bool { return true }); err == nil {
					t.Fatalf("a cursor of %q decodes under %q", l.scope, other.scope)
				}
			}
			again, err := decodeCursor(encodeCursor(l.scope, key), l.scope, l.names, l.valid)
			if err != nil {
				t.Fatalf("re-encoded cursor refused: %v", err)
			}
			if !reflect.DeepEqual(again, esk) {
				t.Fatalf("re-encoded cursor decodes to %v, want %v", keyOf(t, again), key)
			}
		}

		// A cursor issued for another scope, whatever its key, is refused.
		// Scopes are built from verified JWT claims and validated ids, so
		// they are UTF-8; JSON would turn other bytes into U+FFFD.
		if !utf8.ValidString(issuedFor) {
			return
		}
		key := map[string]string{}
		for _, n := range l.names {
			key[n] = "k"
		}
		if _, err := decodeCursor(encodeCursor(issuedFor, key), l.scope, l.names, func(map[string]string) bool { return true }); err == nil && issuedFor != l.scope {
			t.Fatalf("a cursor issued for %q decodes under %q", issuedFor, l.scope)
		}
	})
}
