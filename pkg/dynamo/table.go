package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute and index names of the table. They are exported so that the
// local runner, the tests and the template.yaml checks share one definition.
const (
	// AttrPK is the table's partition key: "GW#<id>" for a gateway and
	// everything that belongs to it, "IDEM#<owner>#<key>" for an
	// idempotency record.
	AttrPK = "pk"
	// AttrSK is the table's sort key; its prefix names the item kind.
	AttrSK = "sk"
	// OwnerIndex is the global secondary index that lists an owner's gateways.
	OwnerIndex = "owner-index"
	// AttrGSI1PK is OwnerIndex's partition key: gateway.Owner.Key().
	AttrGSI1PK = "gsi1pk"
	// AttrGSI1SK is OwnerIndex's sort key: the creation time, fixed width,
	// then "#" and the gateway id, so that the index sorts by age.
	AttrGSI1SK = "gsi1sk"
	// AttrTTL is the table's time-to-live attribute, in Unix seconds.
	// Only short-lived items (idempotency records, and later health samples
	// and received Telegram updates) carry it.
	AttrTTL = "ttl"
)

// TableInput is the definition of the table named name: string keys pk and
// sk, the owner index projecting every attribute (a listing needs the whole
// gateway, and a second read per item would cost more than the storage),
// on-demand billing, and a stream of new images (StreamViewType) for the
// functions that react to written items. TTL is not part of CreateTable;
// EnsureTable turns it on.
func TableInput(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(n string, t types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(n), KeyType: t}
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{str(AttrPK), str(AttrSK), str(AttrGSI1PK), str(AttrGSI1SK)},
		KeySchema:            []types.KeySchemaElement{key(AttrPK, types.KeyTypeHash), key(AttrSK, types.KeyTypeRange)},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(OwnerIndex),
			KeySchema:  []types.KeySchemaElement{key(AttrGSI1PK, types.KeyTypeHash), key(AttrGSI1SK, types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode:         types.BillingModePayPerRequest,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: StreamViewType},
	}
}

// StreamViewType is what the table's stream records hold of an item: its
// image after the change, all an insert has and all the stream's consumers
// read. template.yaml declares the same.
const StreamViewType = types.StreamViewTypeNewImage

// TableAPI is the part of *dynamodb.Client that EnsureTable uses.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
}

// tableActiveWait bounds how long EnsureTable waits for a new table; DynamoDB
// Local is ready at once, AWS usually within seconds.
const tableActiveWait = 2 * time.Minute

// EnsureTable makes the table named name exist as TableInput describes it,
// be ACTIVE, have its stream, and expire items by AttrTTL. It is idempotent:
// an existing table is checked, not changed, except that TTL is turned on
// when it is off and the stream when the table has none (a table made
// before the stream was part of TableInput, such as a developer's local
// data). An enabled stream keeps its ARN, so its readers keep their place.
//
// It returns the SDK's error, wrapped, when DynamoDB fails, and an error
// naming the difference when an existing table has other keys, lacks the
// owner index (changing keys needs a new table, never an in-place fix), or
// streams less than new images (another view needs a new stream, which its
// readers would have to start over on: a decision for a person).
func EnsureTable(ctx context.Context, client TableAPI, name string) error {
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var notFound *types.ResourceNotFoundException
	enableStream := false
	switch {
	case errors.As(err, &notFound):
		_, err = client.CreateTable(ctx, TableInput(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: another process created it first
			return fmt.Errorf("dynamo.EnsureTable(%q): create: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("dynamo.EnsureTable(%q): describe: %w", name, err)
	default:
		if err := checkSchema(desc.Table); err != nil {
			return fmt.Errorf("dynamo.EnsureTable(%q): %w", name, err)
		}
		if enableStream, err = needsStream(desc.Table); err != nil {
			return fmt.Errorf("dynamo.EnsureTable(%q): %w", name, err)
		}
	}
	if err := waitActive(ctx, client, name); err != nil {
		return err
	}
	if enableStream {
		// The table is ACTIVE again once the stream exists; TTL cannot
		// change while it is UPDATING.
		_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:           aws.String(name),
			StreamSpecification: TableInput(name).StreamSpecification,
		})
		if err != nil {
			return fmt.Errorf("dynamo.EnsureTable(%q): enable stream: %w", name, err)
		}
		if err := waitActive(ctx, client, name); err != nil {
			return err
		}
	}

	// UpdateTimeToLive fails when TTL is already on, so look first.
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("dynamo.EnsureTable(%q): describe TTL: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == AttrTTL &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("dynamo.EnsureTable(%q): enable TTL: %w", name, err)
	}
	return nil
}

func waitActive(ctx context.Context, client TableAPI, name string) error {
	if err := dynamodb.NewTableExistsWaiter(client).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableActiveWait); err != nil {
		return fmt.Errorf("dynamo.EnsureTable(%q): wait for ACTIVE: %w", name, err)
	}
	return nil
}

// needsStream reports whether an existing table lacks its stream, and
// refuses one whose records hold no new image. NEW_AND_OLD_IMAGES holds
// everything NEW_IMAGE does, so it is kept.
func needsStream(t *types.TableDescription) (bool, error) {
	s := t.StreamSpecification
	if s == nil || !aws.ToBool(s.StreamEnabled) {
		return true, nil
	}
	switch s.StreamViewType {
	case StreamViewType, types.StreamViewTypeNewAndOldImages:
		return false, nil
	}
	return false, fmt.Errorf("table streams %s, want %s (disable its stream and EnsureTable makes a new one)", s.StreamViewType, StreamViewType)
}

// checkSchema reports how an existing table differs from TableInput in what
// the store relies on: the key schema and the owner index's keys.
func checkSchema(t *types.TableDescription) error {
	if t == nil {
		return errors.New("describe returned no table")
	}
	want := TableInput("")
	if !sameKeys(t.KeySchema, want.KeySchema) {
		return fmt.Errorf("table exists with another key schema (want %s HASH, %s RANGE)", AttrPK, AttrSK)
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == OwnerIndex {
			if !sameKeys(g.KeySchema, want.GlobalSecondaryIndexes[0].KeySchema) {
				return fmt.Errorf("index %s exists with another key schema", OwnerIndex)
			}
			return nil
		}
	}
	return fmt.Errorf("table exists without index %s", OwnerIndex)
}

func sameKeys(got, want []types.KeySchemaElement) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if aws.ToString(got[i].AttributeName) != aws.ToString(want[i].AttributeName) || got[i].KeyType != want[i].KeyType {
			return false
		}
	}
	return true
}
