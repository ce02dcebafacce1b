package template_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/receiver"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// recorder keeps the input of every DynamoDB call of a client, taken by
// SDK middleware where the SDK serializes it: what the webhook asks
// DynamoDB for, whichever code path asks.
type recorder struct {
	mu    sync.Mutex
	calls []recordedCall
}

type recordedCall struct {
	op    string // the API operation, e.g. PutItem
	input any
}

func (r *recorder) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("gatehouse-test-record",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.calls = append(r.calls, recordedCall{op: awsmiddleware.GetOperationName(ctx), input: in.Parameters})
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (r *recorder) all() []recordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// iamCall is one request as IAM authorizes it: a DynamoDB action and its
// request context. A TransactWriteItems is one per item (the DynamoDB
// Developer Guide, "Using IAM with DynamoDB transactions").
type iamCall struct {
	action string
	req    iamRequest
	what   string // for messages
}

// expressionName finds the attribute names of an expression: #name
// placeholders and bare names, not :values, not functions (a name before
// "("), not the keywords of the expression grammar, and not the parts of a
// nested path after "." (IAM sees top-level attributes).
var expressionName = regexp.MustCompile(`[.:]?#?[A-Za-z_][A-Za-z0-9_]*\(?`)

var expressionKeywords = map[string]bool{"SET": true, "REMOVE": true, "ADD": true, "DELETE": true, "AND": true, "OR": true, "NOT": true, "BETWEEN": true, "IN": true}

func expressionNames(expr *string, names map[string]string) []string {
	if expr == nil {
		return nil
	}
	var out []string
	for _, tok := range expressionName.FindAllString(*expr, -1) {
		switch {
		case strings.HasPrefix(tok, ":"), strings.HasPrefix(tok, "."), strings.HasSuffix(tok, "("), expressionKeywords[strings.ToUpper(tok)]:
		case strings.HasPrefix(tok, "#"):
			out = append(out, names[tok])
		default:
			out = append(out, tok)
		}
	}
	return out
}

// contextOf returns the request context IAM evaluates for one item
// operation: the partition key (LeadingKeys), every attribute the request
// names, writes, reads or tests (Attributes: the key, the item's or the
// update's attributes, the projection, the condition), Select for a read
// and ReturnValues for a write, as the DynamoDB Developer Guide defines
// those keys.
func contextOf(key map[string]types.AttributeValue, attrs []string, extra map[string]string) iamRequest {
	req := iamRequest{}
	if pk, ok := key[dynamo.AttrPK].(*types.AttributeValueMemberS); ok {
		req["dynamodb:LeadingKeys"] = []string{pk.Value}
	}
	set := map[string]bool{}
	for k := range key {
		set[k] = true
	}
	for _, a := range attrs {
		set[a] = true
	}
	req["dynamodb:Attributes"] = sortedKeys(set)
	for k, v := range extra {
		req[k] = []string{v}
	}
	return req
}

func returnValues(v types.ReturnValue) string {
	if v == "" {
		return string(types.ReturnValueNone)
	}
	return string(v)
}

// iamCalls turns the recorded calls into what IAM authorizes. An
// operation it does not know is returned as is, with no context, so that
// no statement admits it by accident. attributeLimited (a role whose grants
// name attributes) also refuses writes that return the old item when their
// condition fails, since no IAM key limits what that reads.
func iamCalls(t *testing.T, calls []recordedCall, attributeLimited bool) []iamCall {
	t.Helper()
	var out []iamCall
	put := func(p *types.Put, what string) {
		if p.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld && attributeLimited {
			t.Errorf("%s returns the old item on a failed condition: no IAM key limits what that reads", what)
		}
		attrs := append(sortedKeys(p.Item), expressionNames(p.ConditionExpression, p.ExpressionAttributeNames)...)
		out = append(out, iamCall{action: "dynamodb:PutItem", what: what,
			req: contextOf(map[string]types.AttributeValue{dynamo.AttrPK: p.Item[dynamo.AttrPK], dynamo.AttrSK: p.Item[dynamo.AttrSK]}, attrs, map[string]string{"dynamodb:ReturnValues": "NONE"})})
	}
	update := func(u *types.Update, rv types.ReturnValue, what string) {
		if u.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld && attributeLimited {
			t.Errorf("%s returns the old item on a failed condition: no IAM key limits what that reads", what)
		}
		attrs := append(expressionNames(u.UpdateExpression, u.ExpressionAttributeNames), expressionNames(u.ConditionExpression, u.ExpressionAttributeNames)...)
		out = append(out, iamCall{action: "dynamodb:UpdateItem", what: what,
			req: contextOf(u.Key, attrs, map[string]string{"dynamodb:ReturnValues": returnValues(rv)})})
	}
	for _, c := range calls {
		switch in := c.input.(type) {
		case *dynamodb.GetItemInput:
			sel := "SPECIFIC_ATTRIBUTES"
			attrs := expressionNames(in.ProjectionExpression, in.ExpressionAttributeNames)
			if in.ProjectionExpression == nil {
				sel, attrs = "ALL_ATTRIBUTES", []string{"(every attribute)"}
			}
			out = append(out, iamCall{action: "dynamodb:GetItem", what: "GetItem " + fmt.Sprint(attrs),
				req: contextOf(in.Key, attrs, map[string]string{"dynamodb:Select": sel})})
		case *dynamodb.PutItemInput:
			put(&types.Put{Item: in.Item, ConditionExpression: in.ConditionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames,
				ReturnValuesOnConditionCheckFailure: in.ReturnValuesOnConditionCheckFailure}, "PutItem")
			if rv := returnValues(in.ReturnValues); rv != "NONE" {
				out[len(out)-1].req["dynamodb:ReturnValues"] = []string{rv}
			}
		case *dynamodb.UpdateItemInput:
			update(&types.Update{Key: in.Key, UpdateExpression: in.UpdateExpression, ConditionExpression: in.ConditionExpression,
				ExpressionAttributeNames: in.ExpressionAttributeNames, ReturnValuesOnConditionCheckFailure: in.ReturnValuesOnConditionCheckFailure}, in.ReturnValues, "UpdateItem")
		case *dynamodb.TransactWriteItemsInput:
			for i, item := range in.TransactItems {
				what := fmt.Sprintf("TransactWriteItems item %d", i)
				switch {
				case item.Put != nil:
					put(item.Put, what+" (Put)")
				case item.Update != nil:
					update(item.Update, "", what+" (Update)")
				case item.Delete != nil:
					out = append(out, iamCall{action: "dynamodb:DeleteItem", what: what + " (Delete)", req: contextOf(item.Delete.Key, nil, nil)})
				case item.ConditionCheck != nil:
					out = append(out, iamCall{action: "dynamodb:ConditionCheckItem", what: what + " (ConditionCheck)",
						req: contextOf(item.ConditionCheck.Key, expressionNames(item.ConditionCheck.ConditionExpression, item.ConditionCheck.ExpressionAttributeNames), nil)})
				}
			}
		default:
			out = append(out, iamCall{action: "dynamodb:" + c.op, what: c.op, req: iamRequest{}})
		}
	}
	return out
}

// webhookRequest is the API Gateway event of a call of the webhook.
func webhookRequest(method, id, secret string, body []byte) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		RouteKey: method + " /api/webhooks/telegram/{gatewayId}",
		RawPath:  "/api/webhooks/telegram/" + id,
		Headers:  map[string]string{"content-type": "application/json", strings.ToLower(telegramhook.SecretHeader): secret},
		Body:     string(body), PathParameters: map[string]string{"gatewayId": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "iam-test", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method}},
	}
}

// TestWebhookRequestsMatchItsRole runs the telegram-webhook function, as
// its main assembles it, against DynamoDB Local through every path that
// reaches the table (a first update and its lastConnectedAt refresh, a
// redelivery, an update too large to store inline, a recovery from a
// webhook delivery error with its audit event, a status read, an unknown
// gateway, a wrong secret), records every request it makes, and evaluates
// each against the statements of its role in template.yaml with the
// condition keys IAM would see. Every request must be allowed, and every
// attribute a statement allows must be one some request uses: the role
// names exactly what the code touches. A new attribute in the webhook's
// writes fails here until template.yaml (and functions/permissions.json)
// name it.
func TestWebhookRequestsMatchItsRole(t *testing.T) {
	env := emutest.Start(t)
	tpl := load(t)
	role := get(tpl.Raw, "Resources", "TelegramWebhookRole")
	var statements []iamStatement
	for _, p := range stringMaps(get(role, "Properties", "Policies")) {
		statements = append(statements, stmts(get(p, "PolicyDocument", "Statement"))...)
	}
	if len(statements) == 0 {
		t.Fatal("template.yaml: TelegramWebhookRole has no statements")
	}

	cfg := emutest.AWSConfig()
	cfg.BaseEndpoint = aws.String(env.DynamoDB.Endpoint)
	plain := dynamodb.NewFromConfig(cfg)
	table := emutest.UniqueName("webhook-iam")
	if err := dynamo.EnsureTable(t.Context(), plain, table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	store := dynamo.New(plain, table)
	rec := &recorder{}
	recorded := cfg.Copy()
	recorded.APIOptions = append(recorded.APIOptions, rec.register)
	fn := bootstrap.New(telegramhook.FnTelegramWebhook, bootstrap.Config{Table: table}, recorded, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// No cache: every request reads the gateway, as a cold container does.
	h := receiver.Handler(fn, inbox.DefaultUpdateTTL, telegramhook.WithCacheTTL(0))
	if err := fn.Err(); err != nil {
		t.Fatal(err)
	}

	const secret = "iam-test-secret"
	hash := sha256.Sum256([]byte(secret))
	addGateway := func(mutate func(*gateway.Gateway)) *gateway.Gateway {
		now := time.Now().UTC()
		g := &gateway.Gateway{ID: gateway.NewID(), UserID: "alice", Name: "bot", Type: gateway.TypeTelegramBot, Status: gateway.StatusConnected,
			Config: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now, Version: 1, WebhookSecretHash: hash[:]}
		mutate(g)
		ev := gateway.AuditEvent{ID: gateway.NewID(), GatewayID: g.ID, Action: gateway.AuditCreated, Actor: gateway.Actor{UserID: "alice"}, At: now}
		if err := store.CreateGateway(t.Context(), g, ev, nil); err != nil {
			t.Fatalf("CreateGateway: %v", err)
		}
		return g
	}
	user := addGateway(func(*gateway.Gateway) {})
	failed := time.Now().UTC().Add(-time.Hour)
	erring := addGateway(func(g *gateway.Gateway) {
		g.OrganizationID, g.Status, g.LastError, g.LastErrorAt = "acme", gateway.StatusError, inbox.WebhookErrorPrefix+"Connection refused", &failed
	})
	message := func(id int64, text string) []byte {
		return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":1,"date":%d,"chat":{"id":-100123,"type":"supergroup"},"from":{"id":42,"is_bot":false,"first_name":"A"},"text":%q}}`,
			id, time.Now().Unix(), text)
	}
	steps := []struct {
		name   string
		method string
		id     string
		secret string
		body   []byte
		want   int
	}{
		{name: "first update", method: http.MethodPost, id: user.ID, secret: secret, body: message(1, "hi"), want: 200},
		{name: "redelivery", method: http.MethodPost, id: user.ID, secret: secret, body: message(1, "hi"), want: 200},
		{name: "update stored compressed", method: http.MethodPost, id: user.ID, secret: secret, body: message(2, strings.Repeat("long text ", 40<<10)), want: 200},
		{name: "recovery from a webhook error", method: http.MethodPost, id: erring.ID, secret: secret, body: message(1, "back"), want: 200},
		{name: "status", method: http.MethodGet, id: user.ID, secret: secret, want: 200},
		{name: "unknown gateway", method: http.MethodPost, id: gateway.NewID(), secret: secret, body: message(3, "x"), want: 401},
		{name: "wrong secret", method: http.MethodPost, id: user.ID, secret: "not-the-secret", body: message(4, "x"), want: 401},
	}
	for _, s := range steps {
		resp, err := h.Handle(t.Context(), webhookRequest(s.method, s.id, s.secret, s.body))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if resp.StatusCode != s.want {
			t.Fatalf("%s: status %d, want %d: %s", s.name, resp.StatusCode, s.want, resp.Body)
		}
	}
	got, err := store.GetGateway(t.Context(), erring.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != gateway.StatusConnected {
		t.Fatalf("the recovery did not happen: %s is %s", erring.ID, got.Status)
	}

	calls := iamCalls(t, rec.all(), true)
	used := map[string]map[string]bool{} // Sid -> attributes its requests used
	for _, c := range calls {
		sid, err := allowedBy(statements, c.action, c.req)
		if err != nil {
			t.Fatal(err)
		}
		if sid == "" {
			t.Errorf("%s (%s in %v, attributes %v) is allowed by no statement of TelegramWebhookRole",
				c.what, c.action, c.req["dynamodb:LeadingKeys"], c.req["dynamodb:Attributes"])
			continue
		}
		if used[sid] == nil {
			used[sid] = map[string]bool{}
		}
		for _, a := range c.req["dynamodb:Attributes"] {
			used[sid][a] = true
		}
	}
	for _, s := range statements {
		sid, _ := s["Sid"].(string)
		if !slices.ContainsFunc(stringList(s["Action"]), func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
			continue
		}
		allowed := stringList(get(s, "Condition", "ForAllValues:StringEquals", "dynamodb:Attributes"))
		if len(allowed) == 0 {
			t.Errorf("statement %s allows every attribute; name the ones the webhook uses", sid)
			continue
		}
		var unused []string
		for _, a := range allowed {
			if !used[sid][a] {
				unused = append(unused, a)
			}
		}
		if len(unused) > 0 {
			t.Errorf("statement %s allows %v, which no request of the webhook used: the role must name exactly what it touches", sid, unused)
		}
	}
	t.Logf("%d requests of the webhook evaluated against %d statements", len(calls), len(statements))
}

// stringMaps returns the objects of a JSON list.
func stringMaps(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
