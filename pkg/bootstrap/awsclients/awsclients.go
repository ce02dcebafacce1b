// Package awsclients gives a function its AWS configuration, which every
// client its assemblies build shares (one HTTP client, one connection pool
// per endpoint).
//
// In Lambda the runtime hands a function everything the SDK needs in its
// environment: the region (AWS_REGION) and the role's temporary
// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), valid for the execution environment's life. Config
// reads exactly those, and the standard endpoint overrides
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so LocalStack, the
// emulators and AWS work unchanged. It does not use the SDK's config
// package: its shared-config files, SSO and STS web-identity providers
// serve laptops and containers, not Lambda, and linking them costs every
// function about 2 MB and a tenth of its cold start (bench/coldstart).
// The local runner and the tests build their own configuration and pass it
// to bootstrap.New.
package awsclients

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/config"
)

// Config returns fn's AWS configuration, reading it from fn's environment
// on first use, every attempt bounded by the function's attempt timeout.
// Missing settings are recorded in fn.
func Config(fn *bootstrap.Function) aws.Config {
	if fn.AWS == nil {
		env := fn.Env
		if env == nil {
			env = config.FromOS()
			defer func() { fn.Fail(env.Err()) }()
		}
		c := FromEnv(env)
		c = fn.Config.Timeouts.BoundAWS(c)
		fn.AWS = &c
	}
	return *fn.AWS
}

// FromEnv is the AWS configuration a Lambda function's environment gives:
// AWS_REGION (or AWS_DEFAULT_REGION), the credentials, and the endpoint
// overrides. A missing region or key is recorded in env.
func FromEnv(env *config.Env) aws.Config {
	c := aws.Config{
		Region: env.String("AWS_REGION", env.String("AWS_DEFAULT_REGION", "")),
		Credentials: credentials.NewStaticCredentialsProvider(
			env.Required("AWS_ACCESS_KEY_ID"), env.Required("AWS_SECRET_ACCESS_KEY"), env.String("AWS_SESSION_TOKEN", "")),
	}
	if c.Region == "" {
		env.Required("AWS_REGION")
	}
	if u := env.String("AWS_ENDPOINT_URL", ""); u != "" {
		c.BaseEndpoint = aws.String(u)
	}
	// The services Gatehouse calls, by the SDK's service id.
	endpoints := serviceEndpoints{}
	for id, u := range map[string]string{
		"DynamoDB":    env.String("AWS_ENDPOINT_URL_DYNAMODB", ""),
		"KMS":         env.String("AWS_ENDPOINT_URL_KMS", ""),
		"EventBridge": env.String("AWS_ENDPOINT_URL_EVENTBRIDGE", ""),
		"Lambda":      env.String("AWS_ENDPOINT_URL_LAMBDA", ""),
	} {
		if u != "" {
			endpoints[id] = u
		}
	}
	c.ConfigSources = []any{endpoints}
	return c
}

// serviceEndpoints is a source of an aws.Config that names services'
// endpoints by their SDK id, as AWS_ENDPOINT_URL_<SERVICE> does for the
// SDK's own configuration loader: every client asks its configuration's
// sources for its service's endpoint.
type serviceEndpoints map[string]string

// GetServiceBaseEndpoint is the SDK's per-service endpoint lookup.
func (e serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v, ok := e[sdkID]
	return v, ok, nil
}
