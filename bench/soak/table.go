package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
)

// newDynamo is a client of the runner's DynamoDB Local, which accepts any
// credentials.
func newDynamo(port int) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(fmt.Sprintf("http://127.0.0.1:%d", port)),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// connectedLongAgo is the lastConnectedAt ageConnections writes.
const connectedLongAgo = time.Hour

// ageConnections moves the lastConnectedAt of every gateway with a webhook
// an hour back, directly in the table, as if it had been connected long
// ago. The webhook refreshes lastConnectedAt at most once a minute
// (telegramhook.TouchInterval), so without this a soak of a minute would never
// run that write (an UpdateItem on the gateway's item) against the
// renames' transactions on the same item. The key and time layout are
// pkg/dynamo's (README, "Data"); version and audit trail are untouched,
// as the webhook's own refresh leaves them.
func ageConnections(ctx context.Context, client *dynamodb.Client, f *fleet) error {
	at := time.Now().Add(-connectedLongAgo).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
	for _, g := range f.webhooks {
		_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(table),
			Key: map[string]types.AttributeValue{
				dynamo.AttrPK: &types.AttributeValueMemberS{Value: "GW#" + g.id},
				dynamo.AttrSK: &types.AttributeValueMemberS{Value: "GATEWAY"},
			},
			UpdateExpression:          aws.String("SET lastConnectedAt = :at"),
			ConditionExpression:       aws.String("attribute_exists(lastConnectedAt)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: at}},
		})
		if err != nil {
			return fmt.Errorf("age lastConnectedAt of %s: %w", g.id, err)
		}
	}
	return nil
}
