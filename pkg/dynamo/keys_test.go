package dynamo

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"pgregory.net/rapid"

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// keyString renders a primary key as one comparable string.
func keyString(k map[string]types.AttributeValue) string {
	return k[AttrPK].(*types.AttributeValueMemberS).Value + "\x00" + k[AttrSK].(*types.AttributeValueMemberS).Value
}

// The idempotency record of a user whose id holds the key separator would
// be another user's record: "a#b" with key "c" and "a" with key "b#c"
// spelled the same key. Such an id is refused instead.
func TestIdempotencyKeyRefusesAnAmbiguousOwner(t *testing.T) {
	k1, err1 := idemKey(gateway.Owner{UserID: "a"}, "b#c")
	k2, err2 := idemKey(gateway.Owner{UserID: "a#b"}, "c")
	if err1 != nil {
		t.Fatalf("idemKey of a valid owner: %v", err1)
	}
	if err2 == nil {
		t.Errorf("idemKey of user %q was built (%q); it collides with user %q's key %q: %q", "a#b", keyString(k2), "a", "b#c", keyString(k1))
	}
	if _, err := idemKey(gateway.Owner{UserID: "alice", OrganizationID: "acme#x"}, "k"); err == nil {
		t.Error("idemKey of an organisation id holding the separator was built")
	}
}

// TestKeysAreUnambiguous checks, over drawn tuples, that no two different
// tuples build the same key: the idempotency record's (owner, key), with
// owner ids drawn from an alphabet holding every separator (a builder may
// refuse an id, never merge two), the rate-limit counter's (scope,
// subject), and the route, lane, queue, dead-letter, marker and bot-claim
// keys, whose ids are the shapes the edge accepts.
func TestKeysAreUnambiguous(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seen := map[string]string{}
		record := func(kind, tuple, key string) {
			key = kind + "\x01" + key
			if prev, ok := seen[key]; ok && prev != tuple {
				t.Fatalf("%s: tuples %s and %s build the same key %q", kind, prev, tuple, key)
			}
			seen[key] = tuple
		}
		// Few characters, short strings and many tuples a case: collisions
		// are likely whenever a builder allows one.
		loose := rapid.StringOfN(rapid.SampledFrom([]rune("a#|: ")), 1, 3, -1)
		token := func(prefix string) *rapid.Generator[string] {
			return rapid.Custom(func(t *rapid.T) string {
				return prefix + rapid.StringOfN(rapid.SampledFrom([]rune("ab27")), 26, 26, -1).Draw(t, "token")
			})
		}
		chat := rapid.OneOf(rapid.Just("-"), rapid.Custom(func(t *rapid.T) string {
			return rapid.SampledFrom([]string{"c", "u"}).Draw(t, "kind") + fmt.Sprint(rapid.Int64Range(-1e13, 1e13).Draw(t, "id"))
		}))
		for range 40 {
			o := gateway.Owner{UserID: loose.Draw(t, "user")}
			if rapid.Bool().Draw(t, "org") {
				o.OrganizationID = loose.Draw(t, "org id")
			}
			key := loose.Draw(t, "key")
			if k, err := idemKey(o, key); err == nil {
				// An organisation's record is the organisation's, whoever
				// of its members made it.
				owner := fmt.Sprintf("user %q", o.UserID)
				if o.OrganizationID != "" {
					owner = fmt.Sprintf("org %q", o.OrganizationID)
				}
				record("idem", fmt.Sprintf("(%s, %q)", owner, key), keyString(k))
			} else if ck, cerr := o.CheckedKey(); cerr == nil {
				t.Fatalf("idemKey refused valid owner %s: %v", ck, err)
			}
			// The gateway count is the owner's (quota.go), built from a
			// checked owner key.
			if ck, err := o.CheckedKey(); err == nil {
				owner := fmt.Sprintf("user %q", o.UserID)
				if o.OrganizationID != "" {
					owner = fmt.Sprintf("org %q", o.OrganizationID)
				}
				record("quota", owner, keyString(quotaKey(ck)))
			}
			bot, rt, gw := token("gw_").Draw(t, "bot"), token("rt_").Draw(t, "route"), token("gw_").Draw(t, "gw")
			c := chat.Draw(t, "chat")
			n := rapid.Int64Range(0, 1<<40).Draw(t, "update")
			l := delivery.Lane{BotID: bot, RouteID: rt, Chat: c}
			r := &route.Route{ID: rt, GatewayID: bot, Target: route.Target{GatewayID: gw}}
			record("route", fmt.Sprintf("(%s, %s)", bot, rt), keyString(routeKey(bot, rt)))
			record("routein", fmt.Sprintf("(%s, %s, %s)", gw, bot, rt), keyString(routeInKey(r)))
			record("lane", fmt.Sprintf("(%s, %s, %s)", bot, rt, c), keyString(laneKey(l)))
			record("queue", fmt.Sprintf("(%s, %s, %s, %d)", bot, rt, c, n), gatewayPK(bot)+"\x00"+queueSK(l, n))
			record("dead", fmt.Sprintf("(%s, %s, %d)", bot, rt, n), gatewayPK(bot)+"\x00"+deadSK(rt, n))
			record("marker", fmt.Sprintf("(%s, %s, %s)", bot, rt, c), keyString(markerKey(l)))
			record("claim", bot, keyString(claimKey(bot)))
			// A rate-limit counter's subject (httpapi: the user id with
			// its length, "#", the gateway id) is hashed whole, after a
			// scope without "#": (scope, subject) pairs never meet.
			scope := rapid.SampledFrom([]string{"test", "action", "validate"}).Draw(t, "scope")
			subject := loose.Draw(t, "subject")
			record("rate", fmt.Sprintf("(%s, %q)", scope, subject), RateKey(scope, subject))
		}
	})
}
