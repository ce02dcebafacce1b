package stream

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// TestAttributeValue: every kind of value converts to what Lambda's event
// holds, checked as the JSON a Lambda function would receive.
func TestAttributeValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   types.AttributeValue
		want string
	}{
		{name: "S", in: &types.AttributeValueMemberS{Value: "héllo"}, want: `{"S":"héllo"}`},
		{name: "empty S", in: &types.AttributeValueMemberS{Value: ""}, want: `{"S":""}`},
		{name: "N", in: &types.AttributeValueMemberN{Value: "-12.50"}, want: `{"N":"-12.50"}`},
		{name: "N beyond float64", in: &types.AttributeValueMemberN{Value: "123456789012345678901234567890"}, want: `{"N":"123456789012345678901234567890"}`},
		{name: "B", in: &types.AttributeValueMemberB{Value: []byte{0, 1, 0xfe, 0xff}}, want: `{"B":"AAH+/w=="}`},
		{name: "BOOL true", in: &types.AttributeValueMemberBOOL{Value: true}, want: `{"BOOL":true}`},
		{name: "BOOL false", in: &types.AttributeValueMemberBOOL{Value: false}, want: `{"BOOL":false}`},
		{name: "NULL", in: &types.AttributeValueMemberNULL{Value: true}, want: `{"NULL":true}`},
		{name: "SS", in: &types.AttributeValueMemberSS{Value: []string{"a", "b"}}, want: `{"SS":["a","b"]}`},
		{name: "NS", in: &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}}, want: `{"NS":["1","2.5"]}`},
		{name: "BS", in: &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}}, want: `{"BS":["AQ==","AgM="]}`},
		{name: "empty L", in: &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, want: `{"L":[]}`},
		{name: "empty M", in: &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, want: `{"M":{}}`},
		{
			name: "nested L and M",
			in: &types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberN{Value: "1"},
				&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
					"list": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberNULL{Value: true}, &types.AttributeValueMemberBOOL{Value: true}}},
					"set":  &types.AttributeValueMemberSS{Value: []string{"x"}},
					"bin":  &types.AttributeValueMemberB{Value: []byte("hi")},
				}},
			}},
			want: `{"L":[{"N":"1"},{"M":{"bin":{"B":"aGk="},"list":{"L":[{"NULL":true},{"BOOL":true}]},"set":{"SS":["x"]}}}]}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AttributeValue(tc.in)
			if err != nil {
				t.Fatalf("AttributeValue: %v", err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got %s\nwant %s", b, tc.want)
			}
			// What Lambda's library reads back is the same value.
			var back events.DynamoDBAttributeValue
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if b2, _ := json.Marshal(back); string(b2) != tc.want {
				t.Errorf("round trip %s, want %s", b2, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name string
		in   types.AttributeValue
		want string
	}{
		{name: "unknown kind", in: &types.UnknownUnionMember{Tag: "VECTOR"}, want: "VECTOR"},
		{name: "nil", in: nil, want: "attribute value"},
		{name: "unknown kind deep inside", in: &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"a": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{}, &types.UnknownUnionMember{Tag: "X"}}},
		}}, want: `a: [1]: attribute value of unknown kind "X"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AttributeValue(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestToEventRecord: a TTL deletion keeps its user identity, and the
// mapping's region and ARN are the record's.
func TestToEventRecord(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := types.Record{
		EventID:      aws.String("e1"),
		EventName:    types.OperationTypeRemove,
		UserIdentity: &types.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")},
		Dynamodb: &types.StreamRecord{
			ApproximateCreationDateTime: &at,
			Keys:                        map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}},
			NewImage:                    map[string]types.AttributeValue{},
			SequenceNumber:              aws.String("100"),
			SizeBytes:                   aws.Int64(7),
			StreamViewType:              types.StreamViewTypeNewImage,
		},
	}
	got, err := toEventRecord(rec, "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"awsRegion":"eu-west-1","dynamodb":{"ApproximateCreationDateTime":1767323045,"Keys":{"pk":{"S":"k"}},"SequenceNumber":"100","SizeBytes":7,"StreamViewType":"NEW_IMAGE"},` +
		`"eventID":"e1","eventName":"REMOVE","eventSource":"aws:dynamodb","eventVersion":"1.1","eventSourceARN":"arn:aws:dynamodb:eu-west-1:1:table/t/stream/s",` +
		`"userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if got.Change.NewImage != nil {
		t.Error("an empty NewImage must be absent, as in Lambda's event")
	}

	if _, err := toEventRecord(types.Record{EventID: aws.String("e2")}, "", ""); err == nil {
		t.Error("a record without its change converted")
	}
}
