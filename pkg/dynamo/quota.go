package dynamo

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Gateway quota. An owner may have at most the store's quota of gateways
// (GATEWAY_QUOTA_PER_OWNER). The count is an item of its own,
// "QUOTA#<owner key>" / "GATEWAYS", whose attribute "gateways" a create
// raises and a delete lowers in the same transaction as the gateway's put
// or delete. The create's raise is conditional on the count being under the
// quota, so of any number of concurrent creates exactly as many succeed as
// the quota leaves room for: DynamoDB evaluates the condition and the
// transaction atomically, which no count read before the write can do.
//
// Owners whose gateways were created before the counter existed have no
// counter item. Their first create counts their gateways on the owner
// index (a Query with Select COUNT) and starts the counter from there,
// with if_not_exists, so two first creates racing each other still raise
// one counter. The owner index is eventually consistent: a gateway
// created or deleted within its propagation delay (usually well under a
// second) may be miscounted once, when the counter starts, never later.
// A delete lowers a counter only where one exists and is positive, so
// an owner's count never goes below zero nor is created by a delete.
const (
	quotaPrefix     = "QUOTA#"
	skQuotaGateways = "GATEWAYS"
	attrGateways    = "gateways"
)

// quotaRounds is how many times a create under a quota is tried while it
// loses only to concurrent transactions (each try is transact's own
// retries): creates of one owner all raise one counter, so a burst of
// them conflicts where creates without a quota never would.
const quotaRounds = 8

// WithGatewayQuota bounds how many gateways one owner may have
// (GATEWAY_QUOTA_PER_OWNER); 0 or less is no bound. Only CreateGateway
// reads it: deletes lower the count whatever the quota.
func WithGatewayQuota(n int) Option {
	return func(s *Store) { s.gatewayQuota = max(n, 0) }
}

func quotaKey(ownerKey string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(quotaPrefix + ownerKey), AttrSK: sv(skQuotaGateways)}
}

// quotaExceeded is the error of a create beyond the quota. It names the
// limit, never another tenant nor any gateway.
func quotaExceeded(op string, quota int) *gateway.Error {
	return &gateway.Error{Code: gateway.CodeQuotaExceeded, Op: op,
		Message: "This owner already has " + strconv.Itoa(quota) + " gateways, the most one owner may have (the gateway quota). Delete one to create another, or ask the operator to raise GatewayQuotaPerOwner."}
}

// quotaRaise is the write that counts one more gateway of owner, or nil
// with no quota. It reads the counter first; an owner without one is
// counted on the owner index (see above). Errors: quotaExceeded when the
// count read is at the quota already; CodeUnavailable; CodeInternal (also
// for an owner whose id could make its key another owner's).
func (s *Store) quotaRaise(ctx context.Context, op string, owner gateway.Owner) (*types.TransactWriteItem, error) {
	if s.gatewayQuota <= 0 {
		return nil, nil
	}
	ownerKey, err := owner.CheckedKey()
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: quotaKey(ownerKey), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(attrGateways),
	})
	if err != nil {
		return nil, storeError(op, err)
	}
	var start int64
	if len(out.Item) > 0 {
		r := itemReader{m: out.Item}
		if n := r.num(attrGateways); r.err == nil && n >= int64(s.gatewayQuota) {
			return nil, quotaExceeded(op, s.gatewayQuota)
		}
	} else if start, err = s.countOwned(ctx, op, ownerKey); err != nil {
		return nil, err
	} else if start >= int64(s.gatewayQuota) {
		return nil, quotaExceeded(op, s.gatewayQuota)
	}
	return &types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: quotaKey(ownerKey),
		UpdateExpression:          aws.String("SET #n = if_not_exists(#n, :start) + :one"),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :quota"),
		ExpressionAttributeNames:  map[string]string{"#n": attrGateways},
		ExpressionAttributeValues: map[string]types.AttributeValue{":start": nv(start), ":one": nv(1), ":quota": nv(int64(s.gatewayQuota))},
	}}, nil
}

// quotaLower is the write that counts one gateway of ownerKey less: only
// where the counter exists and is positive (its condition fails
// otherwise, and the caller writes without it).
func (s *Store) quotaLower(ownerKey string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: quotaKey(ownerKey),
		UpdateExpression:          aws.String("SET #n = #n - :one"),
		ConditionExpression:       aws.String("#n > :zero"),
		ExpressionAttributeNames:  map[string]string{"#n": attrGateways},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1), ":zero": nv(0)},
	}}
}

// countOwned counts ownerKey's gateways on the owner index.
func (s *Store) countOwned(ctx context.Context, op, ownerKey string) (int64, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(OwnerIndex), Select: types.SelectCount,
		KeyConditionExpression:    aws.String("#gpk = :owner"),
		ExpressionAttributeNames:  map[string]string{"#gpk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": sv(ownerKey)},
	}
	var n int64
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return 0, storeError(op, err)
		}
		n += int64(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// isQuotaLower reports whether w is a quotaLower write.
func isQuotaLower(w types.TransactWriteItem) bool {
	if w.Update == nil {
		return false
	}
	pk, ok := w.Update.Key[AttrPK].(*types.AttributeValueMemberS)
	return ok && strings.HasPrefix(pk.Value, quotaPrefix)
}
