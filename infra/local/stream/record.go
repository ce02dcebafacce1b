package stream

import (
	"fmt"
	"sort"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// What Lambda writes into every record of a DynamoDB stream event.
const (
	eventSource  = "aws:dynamodb"
	eventVersion = "1.1"
)

// toEvent shapes records read from the stream streamARN as Lambda hands them
// to a function: the stream's own fields, the mapping's region and source
// ARN, and every attribute value converted.
func toEvent(records []types.Record, streamARN, region string) (events.DynamoDBEvent, error) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(records))}
	for i, r := range records {
		out, err := toEventRecord(r, streamARN, region)
		if err != nil {
			return events.DynamoDBEvent{}, err
		}
		ev.Records[i] = out
	}
	return ev, nil
}

func toEventRecord(r types.Record, streamARN, region string) (events.DynamoDBEventRecord, error) {
	out := events.DynamoDBEventRecord{
		AWSRegion:      region,
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    eventSource,
		EventVersion:   eventVersion,
		EventSourceArn: streamARN,
	}
	if id := r.UserIdentity; id != nil {
		// Only TTL deletions carry one: Service, dynamodb.amazonaws.com.
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	d := r.Dynamodb
	if d == nil {
		return out, fmt.Errorf("record %s has no change", out.EventID)
	}
	var err error
	out.Change = events.DynamoDBStreamRecord{
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: aws.ToTime(d.ApproximateCreationDateTime)},
		SequenceNumber:              aws.ToString(d.SequenceNumber),
		SizeBytes:                   aws.ToInt64(d.SizeBytes),
		StreamViewType:              string(d.StreamViewType),
	}
	if out.Change.Keys, err = image(d.Keys); err != nil {
		return out, fmt.Errorf("record %s: Keys: %w", out.EventID, err)
	}
	if out.Change.NewImage, err = image(d.NewImage); err != nil {
		return out, fmt.Errorf("record %s: NewImage: %w", out.EventID, err)
	}
	if out.Change.OldImage, err = image(d.OldImage); err != nil {
		return out, fmt.Errorf("record %s: OldImage: %w", out.EventID, err)
	}
	return out, nil
}

// image converts an item's attributes. An absent or empty image is nil, as
// in Lambda's event, where a NEW_IMAGE stream's records have no OldImage
// (DynamoDB Local answers an empty one).
func image(m map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return attributeMap(m)
}

func attributeMap(m map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	// In name order, so that an error names the same attribute every time.
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, err := AttributeValue(m[n])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[n] = v
	}
	return out, nil
}

// AttributeValue converts a value read from the DynamoDB Streams API into
// the one a Lambda event holds, for every kind DynamoDB has: S, N, B, BOOL,
// NULL, L, M, SS, NS and BS, nested to any depth. Numbers stay text, as on
// the wire.
//
// It returns an error, naming the member, for a kind the SDK did not know
// when this was built (types.UnknownUnionMember) or a nil value: neither can
// be shaped as Lambda would, and dropping it would change the item.
func AttributeValue(av types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			c, err := AttributeValue(e)
			if err != nil {
				return events.DynamoDBAttributeValue{}, fmt.Errorf("[%d]: %w", i, err)
			}
			list[i] = c
		}
		return events.NewListAttribute(list), nil
	case *types.AttributeValueMemberM:
		m, err := attributeMap(v.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		return events.NewMapAttribute(m), nil
	case *types.UnknownUnionMember:
		return events.DynamoDBAttributeValue{}, fmt.Errorf("attribute value of unknown kind %q", v.Tag)
	default:
		return events.DynamoDBAttributeValue{}, fmt.Errorf("attribute value %T", av)
	}
}
