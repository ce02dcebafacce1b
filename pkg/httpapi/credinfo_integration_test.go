package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// A gateway stored before credentialInfo's URLs were masked holds its
// webhook URL whole beside the sealed credentials. Every answer masks it
// (the URL's path is registered as a secret, so the harness fails on any
// response or log line that carries it), and the next write of the
// gateway stores it masked.
func TestOldCredentialInfoIsAnsweredMasked(t *testing.T) {
	h := newHarness(t)
	const (
		slack  = "https://hooks.slack.com/services/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789"
		masked = "https://hooks.slack.com/…"
	)
	secretscan.Register("old item's webhook path", "/services/T0OLDITEM/B0OLDITEM/oldItemSecretPath0123456789")
	secretscan.Register("old item's webhook secret", "oldItemSecretPath0123456789")
	alice := user("alice")
	g := h.create(alice, webhookBody("Slack"))
	key := dynamo.GatewayKey(g.ID)
	if _, err := h.ddb.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(h.table), Key: key,
		UpdateExpression: aws.String("SET credentialInfo = :i"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":i": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"url": &types.AttributeValueMemberS{Value: slack}, "hasSigningSecret": &types.AttributeValueMemberBOOL{Value: true},
		}}},
	}); err != nil {
		t.Fatal(err)
	}

	var got httpapi.GatewayJSON
	r := h.do(alice, req{fn: httpapi.FnGetGateway, method: "GET", id: g.ID})
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	r.decode(t, &got)
	if got.CredentialInfo["url"] != masked {
		t.Errorf("get: credentialInfo.url %v, want %q", got.CredentialInfo["url"], masked)
	}
	var list struct {
		Items []httpapi.GatewayJSON `json:"items"`
	}
	r = h.do(alice, req{fn: httpapi.FnListGateways, method: "GET"})
	r.decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].CredentialInfo["url"] != masked {
		t.Errorf("list: %+v, want the gateway with its url masked", list.Items)
	}

	// Any write of the gateway stores what it read: masked.
	if r := h.do(alice, req{fn: httpapi.FnUpdateGateway, method: "PUT", id: g.ID, body: `{"name":"Slack (renamed)"}`}); r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	out, err := h.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(h.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := out.Item["credentialInfo"].(*types.AttributeValueMemberM)
	if info == nil {
		t.Fatal("stored gateway has no credentialInfo")
	}
	if u, _ := info.Value["url"].(*types.AttributeValueMemberS); u == nil || u.Value != masked {
		t.Errorf("stored url after an update: %v, want %q", info.Value["url"], masked)
	}
}
