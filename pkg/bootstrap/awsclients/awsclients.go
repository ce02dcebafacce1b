// Package awsclients gives a function its AWS configuration and the
// clients every assembly shares: loaded the SDK's standard way (in Lambda:
// the region and the role's credentials from the environment; endpoints
// from AWS_ENDPOINT_URL_<SERVICE>, so emulators, LocalStack and AWS work
// unchanged), every attempt bounded by the function's attempt timeout.
package awsclients

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
)

// Config returns fn's AWS configuration, loading it on first use. A
// failure to load is recorded in fn.
func Config(fn *bootstrap.Function) aws.Config {
	if fn.AWS == nil {
		c, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			fn.Fail(fmt.Errorf("AWS configuration: %w", err))
		}
		c = fn.Config.Timeouts.BoundAWS(c)
		fn.AWS = &c
	}
	return *fn.AWS
}

// DynamoDB returns fn's DynamoDB client, built on first use. It requires
// TABLE_NAME: every caller reads that table.
func DynamoDB(fn *bootstrap.Function) *dynamodb.Client {
	fn.Require("TABLE_NAME", fn.Config.Table)
	return shared(fn, "dynamodb", func(c aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(c) })
}

// shared returns the client named name of fn, building it with build on
// first use.
func shared[C any](fn *bootstrap.Function, name string, build func(aws.Config) C) C {
	if c, ok := fn.Clients[name].(C); ok {
		return c
	}
	c := build(Config(fn))
	if fn.Clients == nil {
		fn.Clients = map[string]any{}
	}
	fn.Clients[name] = c
	return c
}
