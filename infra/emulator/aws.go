package emulator

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every local client names; the emulators accept any.
const Region = "us-east-1"

// Endpoints name each AWS service's endpoint by the SDK's service id
// ("DynamoDB", "KMS"). As a source of an aws.Config (ConfigSources) it is
// what AWS_ENDPOINT_URL_<SERVICE> is in the environment: every client the
// configuration builds asks its sources for its service's endpoint. A
// configuration can so point at emulators without touching the process
// environment, which the functions' own configuration is read from.
type Endpoints map[string]string

// GetServiceBaseEndpoint is the SDK's per-service endpoint lookup.
func (e Endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v, ok := e[sdkID]
	return v, ok && v != "", nil
}

// AWSConfig is an AWS configuration for the emulators at e: Region, any
// static credentials (the emulators check none), and e's endpoints.
func AWSConfig(e Endpoints) aws.Config {
	return aws.Config{
		Region:        Region,
		Credentials:   credentials.NewStaticCredentialsProvider("local", "local", ""),
		ConfigSources: []any{e},
	}
}
