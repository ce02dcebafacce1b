package template_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
)

// TestBotClaimMovesMatchTheRoles: every function whose code can move a
// Telegram bot's claim (BOT#<botId>, taken and released in the gateway's
// own transaction) has the grant for it. The moves are made by the real
// store against DynamoDB Local, each request recorded and evaluated
// against the role of the function that makes it:
//   - test-gateway: a test that finds a bot healthy again moves it from
//     ERROR (claim released when its webhook was taken over) to CONNECTED,
//     taking the claim back; one that leaves it DISCONNECTED releases it;
//   - gateway-action: an action refused for invalid credentials marks a
//     gateway without a webhook secret ERROR, releasing the claim;
//   - health-worker: a check that finds the webhook taken over releases it.
//
// Before these grants, each of these transactions would have been refused
// as a whole in AWS (AccessDenied), leaving the gateway unchanged.
func TestBotClaimMovesMatchTheRoles(t *testing.T) {
	env := emutest.Start(t)
	tpl := load(t)
	roleStatements := func(role string) []iamStatement {
		var out []iamStatement
		for _, p := range stringMaps(get(tpl.Raw, "Resources", role, "Properties", "Policies")) {
			out = append(out, stmts(get(p, "PolicyDocument", "Statement"))...)
		}
		if len(out) == 0 {
			t.Fatalf("template.yaml: %s has no statements", role)
		}
		return out
	}

	cfg := emutest.AWSConfig()
	cfg.BaseEndpoint = aws.String(env.DynamoDB.Endpoint)
	plain := dynamodb.NewFromConfig(cfg)
	table := emutest.UniqueName("claims-iam")
	if err := dynamo.EnsureTable(t.Context(), plain, table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	setup := dynamo.New(plain, table)
	// recorded returns a store and a health store whose every request is
	// recorded, as the function's own clients would send them.
	recorded := func() (*dynamo.Store, *dynamo.Health, *recorder) {
		rec := &recorder{}
		c := cfg.Copy()
		c.APIOptions = append(c.APIOptions, rec.register)
		client := dynamodb.NewFromConfig(c)
		return dynamo.New(client, table), dynamo.NewHealth(client, table), rec
	}
	now := time.Now().UTC().Truncate(time.Second)
	bot := 7000
	newBot := func(status gateway.Status, secret bool) *gateway.Gateway {
		bot++
		g := &gateway.Gateway{ID: gateway.NewID(), UserID: "alice", Name: "bot", Type: gateway.TypeTelegramBot, Status: status,
			Config: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now, Version: 1, LastConnectedAt: &now,
			CredentialInfo: map[string]any{"botId": strconv.Itoa(bot)}}
		if secret {
			g.WebhookSecretHash = []byte("0123456789abcdef0123456789abcdef")
		}
		g.ClaimedBot = g.BotClaim()
		ev := gateway.AuditEvent{ID: gateway.NewID(), GatewayID: g.ID, Action: gateway.AuditCreated, Actor: gateway.Actor{UserID: "alice"}, At: now}
		if err := setup.CreateGateway(t.Context(), g, ev, nil); err != nil {
			t.Fatalf("CreateGateway: %v", err)
		}
		return g
	}
	// move changes g's status through UpdateGateway, as lifecycle does
	// (gateway.Service.Modify), with its claim following BotClaim.
	move := func(store *dynamo.Store, g *gateway.Gateway, to gateway.Status) {
		prev := g.Version
		g.Status = to
		g.ClaimedBot = g.BotClaim()
		g.Version++
		ev := gateway.AuditEvent{ID: gateway.NewID(), GatewayID: g.ID, Action: gateway.AuditStatusChanged, Actor: gateway.Actor{UserID: "alice"}, At: now}
		if err := store.UpdateGateway(t.Context(), g, prev, ev); err != nil {
			t.Fatalf("UpdateGateway %s → %s: %v", g.ID, to, err)
		}
	}

	tests := []struct {
		name string
		role string
		// run makes the moves with the recorded stores; it returns how many
		// claim writes it expects among the requests.
		run func(store *dynamo.Store, h *dynamo.Health) int
	}{
		{name: "test: ERROR without its claim back to CONNECTED, then DISCONNECTED", role: "TestGatewayRole",
			run: func(store *dynamo.Store, _ *dynamo.Health) int {
				g := newBot(gateway.StatusError, false) // its webhook was taken over: no claim held
				move(store, g, gateway.StatusConnected)
				move(store, g, gateway.StatusDisconnected)
				return 2
			}},
		{name: "action: invalid credentials mark a gateway without a secret ERROR", role: "GatewayActionRole",
			run: func(store *dynamo.Store, _ *dynamo.Health) int {
				g := newBot(gateway.StatusConnected, false)
				move(store, g, gateway.StatusError)
				return 1
			}},
		{name: "health: a check finds the webhook taken over", role: "HealthWorkerRole",
			run: func(_ *dynamo.Store, h *dynamo.Health) int {
				g := newBot(gateway.StatusConnected, true)
				msg := "the webhook was set by someone else"
				ev := gateway.AuditEvent{ID: gateway.NewID(), GatewayID: g.ID, Action: gateway.AuditStatusChanged, Actor: gateway.Actor{System: "health-check"}, At: now}
				ok, err := h.RecordCheck(t.Context(), health.CheckWrite{GatewayID: g.ID, Version: g.Version, CheckedAt: now, ConsecutiveFailures: 1,
					Status: gateway.StatusError, LastError: &msg, LastErrorAt: &now, ReleaseClaim: g.ClaimedBot, Event: &ev})
				if err != nil || !ok {
					t.Fatalf("RecordCheck: %v, %v", ok, err)
				}
				return 1
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			statements := roleStatements(tt.role)
			store, h, rec := recorded()
			want := tt.run(store, h)
			claims := 0
			for _, c := range iamCalls(t, rec.all(), false) {
				if keys := c.req["dynamodb:LeadingKeys"]; len(keys) == 1 && strings.HasPrefix(keys[0], "BOT#") {
					claims++
				}
				sid, err := allowedBy(statements, c.action, c.req)
				if err != nil {
					t.Fatal(err)
				}
				if sid == "" {
					t.Errorf("%s (%s in %v) is allowed by no statement of %s", c.what, c.action, c.req["dynamodb:LeadingKeys"], tt.role)
				}
			}
			if claims != want {
				t.Errorf("%d claim writes among the requests, want %d: the moves did not exercise the claim", claims, want)
			}
		})
	}
}
