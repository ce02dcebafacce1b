package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Bot claims. A Telegram bot has one webhook, so at most one gateway may
// hold it connected (gateway.Gateway.BotClaim). The claim is an item of its
// own, "BOT#<botId>" / "CLAIM", naming the gateway that holds it, written
// or deleted in the same transaction as the gateway item whose claimedBot
// attribute says it holds it. Its own partition makes the rule global
// across tenants, and the transaction makes it atomic: of two concurrent
// connects of one bot, one transaction's condition fails.
const (
	botPrefix      = "BOT#"
	skClaim        = "CLAIM"
	attrClaimedBot = "claimedBot"
)

func claimKey(botID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(botPrefix + botID), AttrSK: sv(skClaim)}
}

// claimWrites are the writes that move gateway id's claim from held (what
// the stored item says) to want: a Put of want's claim, which fails if
// another gateway holds it, and a Delete of held's, which fails if it is
// not ours (it always is, being written with our item). Either may be
// absent; both are nil when nothing changes.
func (s *Store) claimWrites(id, held, want string) (put, del *types.TransactWriteItem) {
	if held == want {
		return nil, nil
	}
	mine := map[string]types.AttributeValue{":id": sv(id)}
	if want != "" {
		item := claimKey(want)
		item["gatewayId"] = sv(id)
		put = &types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR gatewayId = :id"),
			ExpressionAttributeValues: mine,
		}}
	}
	if held != "" {
		del = &types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: claimKey(held),
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR gatewayId = :id"),
			ExpressionAttributeValues: mine,
		}}
	}
	return put, del
}

// heldClaim reads which bot gateway id holds, and its owner's key, and
// checks it is at version expected, so that the transaction built from
// the answer (whose write of the gateway is conditional on that version)
// moves the right claim and counts the right owner (quota.go).
//
// Errors: NotFound; CodeVersionMismatch; CodeUnavailable.
func (s *Store) heldClaim(ctx context.Context, op, id string, expected int64) (claim, owner string, err error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: gatewayKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#version, " + attrClaimedBot + ", " + AttrGSI1PK),
		ExpressionAttributeNames: map[string]string{"#version": "version"},
	})
	if err != nil {
		return "", "", storeError(op, err)
	}
	if len(out.Item) == 0 {
		return "", "", gateway.NotFound()
	}
	r := itemReader{m: out.Item}
	if r.num("version") != expected {
		return "", "", versionMismatch(op)
	}
	return r.str(attrClaimedBot), r.str(AttrGSI1PK), nil
}

func botInUse(op string) *gateway.Error {
	return &gateway.Error{Code: gateway.CodeConflict, Message: gateway.MsgBotInUse, Op: op}
}
