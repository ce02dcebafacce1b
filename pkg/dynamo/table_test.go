package dynamo

import (
	"context"
	"strings"
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

	describe := func(t *testing.T, name string) *types.TableDescription {
		t.Helper()
		desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return desc.Table
	}
	// wantStream checks that the table streams new images and returns the
	// stream's ARN.
	wantStream := func(t *testing.T, table *types.TableDescription) string {
		t.Helper()
		s := table.StreamSpecification
		if s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewImage {
			t.Errorf("StreamSpecification = %+v, want enabled, NEW_IMAGE", s)
		}
		if aws.ToString(table.LatestStreamArn) == "" {
			t.Error("no LatestStreamArn")
		}
		return aws.ToString(table.LatestStreamArn)
	}

	t.Run("creates, enables TTL, and is idempotent", func(t *testing.T) {
		name := emutest.UniqueName("t")
		drop(name)
		var arns []string
		for i := range 2 {
			if err := EnsureTable(ctx, client, name); err != nil {
				t.Fatalf("EnsureTable call %d: %v", i+1, err)
			}
			arns = append(arns, wantStream(t, describe(t, name)))
		}
		if arns[0] != arns[1] {
			t.Errorf("stream ARN changed from %s to %s: a second EnsureTable must keep the stream", arns[0], arns[1])
		}
		desc := describe(t, name)
		if got := desc.TableStatus; got != types.TableStatusActive {
			t.Errorf("status = %s, want ACTIVE", got)
		}
		if err := checkSchema(desc); err != nil {
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

	// A developer's table from before the stream was part of TableInput
	// gains one, once: later calls keep its ARN.
	t.Run("enables the stream of a table without one", func(t *testing.T) {
		name := emutest.UniqueName("t")
		drop(name)
		in := TableInput(name)
		in.StreamSpecification = nil
		if _, err := client.CreateTable(ctx, in); err != nil {
			t.Fatal(err)
		}
		if s := describe(t, name).StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
			t.Fatalf("the old table has a stream already: %+v", s)
		}
		if err := EnsureTable(ctx, client, name); err != nil {
			t.Fatalf("EnsureTable: %v", err)
		}
		arn := wantStream(t, describe(t, name))
		if err := EnsureTable(ctx, client, name); err != nil {
			t.Fatalf("EnsureTable again: %v", err)
		}
		if again := wantStream(t, describe(t, name)); again != arn {
			t.Errorf("stream ARN changed from %s to %s", arn, again)
		}
	})

	t.Run("stream views", func(t *testing.T) {
		for _, tc := range []struct {
			view types.StreamViewType
			ok   bool
		}{
			{view: types.StreamViewTypeNewAndOldImages, ok: true},
			{view: types.StreamViewTypeKeysOnly, ok: false},
			{view: types.StreamViewTypeOldImage, ok: false},
		} {
			t.Run(string(tc.view), func(t *testing.T) {
				name := emutest.UniqueName("t")
				drop(name)
				in := TableInput(name)
				in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: tc.view}
				if _, err := client.CreateTable(ctx, in); err != nil {
					t.Fatal(err)
				}
				err := EnsureTable(ctx, client, name)
				if tc.ok && err != nil {
					t.Fatalf("EnsureTable refused a %s stream: %v", tc.view, err)
				}
				if !tc.ok && (err == nil || !strings.Contains(err.Error(), string(tc.view))) {
					t.Fatalf("EnsureTable on a %s stream: err %v, want one naming the view", tc.view, err)
				}
				if got := describe(t, name).StreamSpecification.StreamViewType; got != tc.view {
					t.Errorf("view changed to %s", got)
				}
			})
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
