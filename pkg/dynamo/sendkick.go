package dynamo

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// SendKickGateway reports whether a stream record's keys are a bot's
// SENDQ marker — written when a job is queued, and again by Kick when a
// sender hands over — and returns the bot's gateway id.
func SendKickGateway(keys map[string]types.AttributeValue) (string, bool) {
	pk, ok := keys[AttrPK].(*types.AttributeValueMemberS)
	if !ok || len(pk.Value) <= len(sendQPrefix) || pk.Value[:len(sendQPrefix)] != sendQPrefix {
		return "", false
	}
	sk, ok := keys[AttrSK].(*types.AttributeValueMemberS)
	if !ok || sk.Value == "" {
		return "", false
	}
	return sk.Value, true
}
