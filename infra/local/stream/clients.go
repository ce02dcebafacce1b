package stream

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// Clients returns the clients Run needs, built from cfg: DynamoDB's, and
// DynamoDB Streams'.
//
// AWS serves the streams API on an endpoint of its own; DynamoDB Local
// serves it on DynamoDB's. So a streams client that cfg gives no endpoint
// of its own (no "DynamoDB Streams" in its endpoint sources, as with
// emulator.Endpoints, and no AWS_ENDPOINT_URL_DYNAMODB_STREAMS, which the
// SDK reads itself) while DynamoDB has one (AWS_ENDPOINT_URL_DYNAMODB, the
// emulator's) is pointed at DynamoDB's. With no endpoints at all both
// clients reach AWS's.
func Clients(cfg aws.Config) (*dynamodb.Client, *dynamodbstreams.Client) {
	ddb := dynamodb.NewFromConfig(cfg)
	streams := dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if o.BaseEndpoint == nil {
			o.BaseEndpoint = ddb.Options().BaseEndpoint
		}
	})
	return ddb, streams
}
