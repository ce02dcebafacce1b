package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/delivery/deliverysend"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// TestMain scans every log line of the engine, and the routes' last
// errors, for the signing secret the receivers share.
func TestMain(m *testing.M) {
	secretscan.Register("signing secret", secret)
	secretscan.Main(m, emutest.Stop)
}

// bed is a table in DynamoDB Local with a bot, and an engine over it that
// sends to real HTTP receivers; target credentials come from a map rather
// than KMS (the envelope has its own tests).
type bed struct {
	t      testing.TB
	client *dynamodb.Client
	table  string
	store  *dynamo.Store
	routes *dynamo.Routes
	engine *delivery.Engine
	bus    *busRecorder
	owner  gateway.Owner
	bot    string
	creds  *staticCreds
}

type staticCreds struct {
	*dynamo.Store
	mu sync.Mutex
	m  map[string]gateway.Credentials
}

func (s *staticCreds) Credentials(_ context.Context, g *gateway.Gateway) (gateway.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[g.ID], nil
}

type busRecorder struct {
	mu  sync.Mutex
	got []delivery.Message
}

func (b *busRecorder) Publish(_ context.Context, m delivery.Message) error {
	b.mu.Lock()
	b.got = append(b.got, m)
	b.mu.Unlock()
	return nil
}

func (b *busRecorder) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.got)
}

// quietLog is the engine's logger: its lines go to the secret scan only.
func quietLog() *slog.Logger { return secretscan.Logger("delivery engine") }

func newBed(t testing.TB, cfg delivery.Config) *bed {
	t.Helper()
	env := emutest.Start(t)
	client := env.DynamoDBClient()
	name := emutest.UniqueName("dlv")
	ctx := context.Background()
	if err := dynamo.EnsureTable(ctx, client, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	b := &bed{t: t, client: client, table: name, store: dynamo.New(client, name), routes: dynamo.NewRoutes(client, name),
		bus: &busRecorder{}, owner: gateway.Owner{UserID: "alice"}}
	b.creds = &staticCreds{Store: b.store, m: map[string]gateway.Credentials{}}
	wh := webhook.New(webhook.Options{Guard: ssrf.Guard{AllowPrivate: true}})
	b.engine = delivery.New(b.routes, deliverysend.New(b.creds, wh, b.bus, time.Minute), cfg, quietLog())
	b.bot = b.gateway(gateway.TypeTelegramBot, gateway.Credentials{})
	return b
}

// gateway stores a gateway of b's owner and returns its id.
func (b *bed) gateway(typ gateway.Type, creds gateway.Credentials) string {
	b.t.Helper()
	now := time.Now().UTC()
	g := &gateway.Gateway{ID: gateway.NewID(), UserID: b.owner.UserID, Name: string(typ), Type: typ, Status: gateway.StatusConnected,
		Config: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now, Version: 1}
	ev := gateway.AuditEvent{ID: gateway.NewToken(), GatewayID: g.ID, Action: gateway.AuditCreated, At: now}
	if err := b.store.CreateGateway(context.Background(), g, ev, nil); err != nil {
		b.t.Fatalf("CreateGateway: %v", err)
	}
	b.creds.mu.Lock()
	b.creds.m[g.ID] = creds
	b.creds.mu.Unlock()
	return g.ID
}

// webhookTarget stores a WEBHOOK gateway posting to url.
func (b *bed) webhookTarget(url, secret string) string {
	return b.gateway(gateway.TypeWebhook, gateway.Credentials{URL: url, SigningSecret: secret})
}

// route adds a route of b's bot.
func (b *bed) route(target route.Target, f route.Filters) *route.Route {
	b.t.Helper()
	now := time.Now().UTC()
	r := &route.Route{ID: route.NewID(), GatewayID: b.bot, Owner: b.owner.Key(), Target: target, Filters: f,
		Status: route.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	ev := gateway.AuditEvent{ID: gateway.NewToken(), GatewayID: b.bot, Action: route.AuditCreated, At: now}
	if err := b.routes.CreateRoute(context.Background(), r, ev); err != nil {
		b.t.Fatalf("CreateRoute: %v", err)
	}
	return r
}

// update is a message update of b's bot.
func (b *bed) update(id, chat int64, text string) *inbox.Update {
	now := time.Now().UTC()
	return &inbox.Update{GatewayID: b.bot, UpdateID: id, Type: "message", ChatID: &chat, SenderID: &chat,
		ReceivedAt: now, ExpiresAt: now.Add(inbox.DefaultUpdateTTL), Raw: messageRaw(id, chat, text)}
}

func messageRaw(id, chat int64, text string) []byte {
	b, _ := json.Marshal(map[string]any{"update_id": id, "message": map[string]any{
		"message_id": id, "date": 1764921600, "chat": map[string]any{"id": chat, "type": "private"}, "text": text}})
	return b
}

// stream hands the engine the updates as one stream batch.
func (b *bed) stream(us ...*inbox.Update) delivery.Result {
	recs := make([]delivery.Record, len(us))
	for i, u := range us {
		recs[i] = delivery.Record{Seq: strconv.FormatInt(u.UpdateID, 10), Update: u}
	}
	return b.engine.HandleStream(context.Background(), recs)
}

// sweepUntil runs sweeps until done reports true or the wait ends.
func (b *bed) sweepUntil(wait time.Duration, done func() bool) bool {
	end := time.Now().Add(wait)
	for time.Now().Before(end) {
		if done() {
			return true
		}
		if _, err := b.engine.Sweep(context.Background()); err != nil {
			b.t.Fatalf("Sweep: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return done()
}

func (b *bed) getRoute(id string) *route.Route {
	b.t.Helper()
	r, err := b.routes.GetRoute(context.Background(), b.bot, id)
	if err != nil {
		b.t.Fatalf("GetRoute: %v", err)
	}
	if r.LastError != "" {
		secretscan.Error("lastError of route "+id, errors.New(r.LastError))
	}
	return r
}

// fastRetries retries within milliseconds, for tests.
func fastRetries() delivery.Config {
	return delivery.Config{AttemptTimeout: 2 * time.Second, RetryBase: 20 * time.Millisecond, RetryCap: 100 * time.Millisecond,
		RetryFor: time.Hour, ErrorAfter: 3, Lanes: 16, Budget: 20 * time.Second}
}

func auditEvent(gatewayID string) gateway.AuditEvent {
	return gateway.AuditEvent{ID: gateway.NewToken(), GatewayID: gatewayID, Action: "test", At: time.Now().UTC()}
}
