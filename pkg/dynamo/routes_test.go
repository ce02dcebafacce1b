package dynamo

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// queryOutage is a client whose Query fails, as a store that went away
// does, once a set number of queries have been made.
type queryOutage struct {
	RoutesAPI
	limited atomic.Bool
	allowed atomic.Int64
}

func (c *queryOutage) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if c.limited.Load() && c.allowed.Add(-1) < 0 {
		return nil, &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "the store went away"}
	}
	return c.RoutesAPI.Query(ctx, in, optFns...)
}

// after makes queries fail once n more have been made.
func (c *queryOutage) after(n int64) { c.allowed.Store(n); c.limited.Store(true) }

// never makes the client's queries succeed again.
func (c *queryOutage) never() { c.limited.Store(false) }

// routeWorld is a bot with a WEBHOOK route that has queued updates, lanes,
// due markers and a dead letter, over a client that can fail.
func routeWorld(t *testing.T) (*Routes, *queryOutage, *route.Route, string) {
	t.Helper()
	st, client := newTestStore(t)
	bot, hook := minimalGateway("gw_bot", alice, t0), minimalGateway("gw_hook", alice, t0)
	bot.Type = gateway.TypeTelegramBot
	mustCreate(t, st, bot)
	mustCreate(t, st, hook)
	c := &queryOutage{RoutesAPI: client}
	routes := NewRoutes(c, st.table)
	r := &route.Route{ID: route.NewID(), GatewayID: bot.ID, Owner: alice.Key(), Target: route.Target{Type: route.TargetWebhook, GatewayID: hook.ID},
		Status: route.StatusActive, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	if err := routes.CreateRoute(t.Context(), r, event(bot.ID, "ev-route", route.AuditCreated, t0)); err != nil {
		t.Fatal(err)
	}
	var queued []route.Queued
	for id := int64(1); id <= 4; id++ {
		u, err := inbox.ParseUpdate([]byte(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":1,"date":1,"chat":{"id":%d,"type":"private"},"text":"hi"}}`, id, 40+id%2)))
		if err != nil {
			t.Fatal(err)
		}
		u.GatewayID, u.ReceivedAt = bot.ID, t0
		queued = append(queued, route.Queued{Update: *u})
	}
	if err := routes.Enqueue(t.Context(), r, queued); err != nil {
		t.Fatal(err)
	}
	u := queued[0].Update
	lane := delivery.Lane{BotID: bot.ID, RouteID: r.ID, Chat: route.ChatKey(u.ChatID, u.SenderID)}
	if err := routes.DeadLetter(t.Context(), lane, delivery.Pending{Queued: queued[0]}, t0, "boom"); err != nil {
		t.Fatal(err)
	}
	return routes, c, r, st.table
}

// leftOf returns the keys of every item of route id, and of its due
// markers and back-reference: nothing once it is deleted.
func leftOf(t *testing.T, client RoutesAPI, table, id string) []string {
	t.Helper()
	out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, it := range out.Items {
		r := itemReader{m: it}
		if pk, sk := r.str(AttrPK), r.str(AttrSK); strings.Contains(sk, id) && !strings.HasPrefix(sk, auditPrefix) {
			left = append(left, pk+" "+sk)
		}
	}
	return left
}

// TestDeleteRouteOutageHalfway: the store goes away in the middle of a
// route's deletion. The deletion fails, and either the route is still
// there for a retry to finish, or nothing of it is left: never a route
// that is gone with its queue, lanes or due markers (which the sweep
// would read for ever) left behind.
func TestDeleteRouteOutageHalfway(t *testing.T) {
	for allowed := int64(0); allowed <= 4; allowed++ {
		t.Run(fmt.Sprintf("after %d queries", allowed), func(t *testing.T) {
			routes, c, r, table := routeWorld(t)
			if len(leftOf(t, c, table, r.ID)) < 5 {
				t.Fatalf("the route's world is incomplete: %v", leftOf(t, c, table, r.ID))
			}
			c.after(allowed)
			err := routes.DeleteRoute(t.Context(), r, event(r.GatewayID, "ev-delete-1", route.AuditDeleted, t0))
			c.never()
			if err == nil {
				// The queries it needed were all allowed.
				if left := leftOf(t, c, table, r.ID); len(left) > 0 {
					t.Fatalf("a deleted route left %v", left)
				}
				return
			}
			wantCode(t, "DeleteRoute during an outage", err, gateway.CodeUnavailable)
			if _, err := routes.GetRoute(t.Context(), r.GatewayID, r.ID); gateway.IsCode(err, gateway.CodeNotFound) {
				if left := leftOf(t, c, table, r.ID); len(left) > 0 {
					t.Fatalf("after a failed deletion the route is gone, and no retry can clean up %v", left)
				}
				return
			}
			if err := routes.DeleteRoute(t.Context(), r, event(r.GatewayID, "ev-delete-2", route.AuditDeleted, t0)); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			if left := leftOf(t, c, table, r.ID); len(left) > 0 {
				t.Fatalf("after the retry the route left %v", left)
			}
		})
	}
}

// TestGatewayRemovedOutageHalfway: the same for the clean-up after a
// bot's deletion, which the delivery engine retries.
func TestGatewayRemovedOutageHalfway(t *testing.T) {
	for allowed := int64(1); allowed <= 5; allowed++ {
		t.Run(fmt.Sprintf("after %d queries", allowed), func(t *testing.T) {
			routes, c, r, table := routeWorld(t)
			c.after(allowed)
			err := routes.GatewayRemoved(t.Context(), r.GatewayID)
			c.never()
			if err != nil {
				wantCode(t, "GatewayRemoved during an outage", err, gateway.CodeUnavailable)
				if err := routes.GatewayRemoved(t.Context(), r.GatewayID); err != nil {
					t.Fatalf("the retry: %v", err)
				}
			}
			if left := leftOf(t, c, table, r.ID); len(left) > 0 {
				t.Fatalf("the removed bot's route left %v", left)
			}
		})
	}
}
