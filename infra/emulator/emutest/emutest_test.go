package emutest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func TestMain(m *testing.M) { Main(m) }

func TestEmulatorsAnswer(t *testing.T) {
	e := Start(t)
	ctx := context.Background()
	if _, err := e.DynamoDBClient().ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("DynamoDB ListTables: %v", err)
	}
	if _, err := e.KMSClient().ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("KMS ListKeys: %v", err)
	}
}
