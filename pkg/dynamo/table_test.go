package dynamo

import (
	"context"

	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
)

func TestEnsureTable(t *testing.T) {
	env := emutest.Start(t)
	client := env.DynamoDBClient()
	ctx := t.Context()
	drop := func(name string) {
		t.Cleanup(func() {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		})
	}

	t.Run("creates, enables TTL, and is idempotent", func(t *testing.T) {
		name := emutest.UniqueName("t")
		drop(name)
		for i := range 2 {
			if err := EnsureTable(ctx, client, name); err != nil {
				t.Fatalf("EnsureTable call %d: %v", i+1, err)
			}
		}
		desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if got := desc.Table.TableStatus; got != types.TableStatusActive {
			t.Errorf("status = %s, want ACTIVE", got)
		}
		if err := checkSchema(desc.Table); err != nil {
			t.Errorf("schema: %v", err)
		}
		ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		d := ttl.TimeToLiveDescription
		if d == nil || aws.ToString(d.AttributeName) != AttrTTL || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
			t.Errorf("TTL = %+v, want enabled on %q", d, AttrTTL)
		}
	})

	t.Run("refuses a table with another schema", func(t *testing.T) {
		name := emutest.UniqueName("t")
		drop(name)
		in := TableInput(name)
		in.GlobalSecondaryIndexes = nil
		in.AttributeDefinitions = in.AttributeDefinitions[:2]
		if _, err := client.CreateTable(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := EnsureTable(ctx, client, name); err == nil {
			t.Fatal("EnsureTable accepted a table without the owner index")
		}
	})
}
