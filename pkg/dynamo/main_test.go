package dynamo

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// newTestStore returns a Store over a fresh table in DynamoDB Local, and the
// client, for tests that seed or inspect items directly.
func newTestStore(t *testing.T) (*Store, *dynamodb.Client) {
	t.Helper()
	env := emutest.Start(t)
	client := env.DynamoDBClient()
	name := emutest.UniqueName("t")
	if err := EnsureTable(t.Context(), client, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		// The emulator outlives the test; dropping the table keeps it light.
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return New(client, name), client
}

var (
	alice   = gateway.Owner{UserID: "alice"}
	aliceAt = gateway.Owner{UserID: "alice", OrganizationID: "acme"}
	bob     = gateway.Owner{UserID: "bob"}
)

// t0 is the tests' clock origin; it has a fraction of a second so that the
// fixed-width time format is exercised.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 120000000, time.UTC)

func ptr[T any](v T) *T { return &v }

// fullGateway returns a gateway with every field set.
func fullGateway(id string) *gateway.Gateway {
	return &gateway.Gateway{
		ID:                  id,
		UserID:              "alice",
		OrganizationID:      "acme",
		Name:                "Support bot",
		Type:                gateway.TypeTelegramBot,
		Status:              gateway.StatusError,
		Config:              json.RawMessage(`{"allowedUpdates":["message"],"nested":{"n":1.5}}`),
		CredentialInfo:      map[string]any{"botId": "123456", "tokenLast4": "wxyz", "hasSigningSecret": true, "n": 3.0, "list": []any{"a", false}, "none": nil},
		SealedCredentials:   []byte{0, 1, 2, 0xfe, 0xff},
		LastConnectedAt:     ptr(t0.Add(time.Minute)),
		LastErrorAt:         ptr(t0.Add(2 * time.Minute)),
		LastError:           "getMe: 401 Unauthorized",
		CreatedAt:           t0,
		UpdatedAt:           t0.Add(3 * time.Minute),
		Version:             7,
		LastCheckedAt:       ptr(t0.Add(4*time.Minute + 1)),
		LastLatencyMs:       ptr(int64(0)),
		ConsecutiveFailures: 3,
		WebhookSecretHash:   []byte("0123456789abcdef0123456789abcdef"),
		ClaimedBot:          "123456",
	}
}

// minimalGateway returns a personal gateway with only required fields.
func minimalGateway(id string, owner gateway.Owner, created time.Time) *gateway.Gateway {
	return &gateway.Gateway{
		ID:             id,
		UserID:         owner.UserID,
		OrganizationID: owner.OrganizationID,
		Name:           "gw " + id,
		Type:           gateway.TypeWebhook,
		Status:         gateway.StatusDisconnected,
		Config:         json.RawMessage(`{}`),
		CreatedAt:      created,
		UpdatedAt:      created,
		Version:        1,
	}
}

func event(gatewayID, id, action string, at time.Time) gateway.AuditEvent {
	return gateway.AuditEvent{
		ID:        id,
		GatewayID: gatewayID,
		Action:    action,
		Actor:     gateway.Actor{UserID: "alice", OrganizationID: "acme", SourceIP: "203.0.113.9", UserAgent: "curl/8", RequestID: "req-" + id},
		At:        at,
		Changes:   []string{"name", "status"},
		Details:   map[string]string{"from": "DISCONNECTED", "to": "CONNECTED"},
	}
}

func mustCreate(t *testing.T, st *Store, g *gateway.Gateway) {
	t.Helper()
	if err := st.CreateGateway(t.Context(), g, event(g.ID, "ev-create-"+g.ID, gateway.AuditCreated, g.CreatedAt), nil); err != nil {
		t.Fatalf("CreateGateway(%s): %v", g.ID, err)
	}
}

func mustGet(t *testing.T, st *Store, id string) *gateway.Gateway {
	t.Helper()
	g, err := st.GetGateway(t.Context(), id)
	if err != nil {
		t.Fatalf("GetGateway(%s): %v", id, err)
	}
	return g
}

// allAudit reads a gateway's whole trail in one page.
func allAudit(t *testing.T, st *Store, id string) []gateway.AuditEvent {
	t.Helper()
	p, err := st.ListAudit(t.Context(), id, MaxLimit, "")
	if err != nil {
		t.Fatalf("ListAudit(%s): %v", id, err)
	}
	if p.Next != "" {
		t.Fatalf("ListAudit(%s): unexpected next page", id)
	}
	return p.Events
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gateway.ErrorCode(err); got != code {
		t.Fatalf("%s: error code = %q (%v), want %q", what, got, err, code)
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// seed writes items directly, 25 to a request, as DynamoDB allows.
func seed(t *testing.T, client *dynamodb.Client, table string, items []map[string]types.AttributeValue) {
	t.Helper()
	for len(items) > 0 {
		batch := items[:min(25, len(items))]
		items = items[len(batch):]
		reqs := make([]types.WriteRequest, len(batch))
		for i, it := range batch {
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
		}
		pending := map[string][]types.WriteRequest{table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == 10 {
				t.Fatalf("BatchWriteItem: items left unprocessed")
			}
			out, err := client.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				t.Fatalf("BatchWriteItem: %v", err)
			}
			pending = out.UnprocessedItems
		}
	}
}
