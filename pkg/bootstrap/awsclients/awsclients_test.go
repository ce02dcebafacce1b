package awsclients_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/config"
)

// TestFromEnv: the region and credentials Lambda sets, and the standard
// endpoint overrides, reach the clients as the SDK's own loader would give
// them; a function without credentials fails at start, naming them.
func TestFromEnv(t *testing.T) {
	env := config.FromMap(map[string]string{
		"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
	})
	c := awsclients.FromEnv(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-1" {
		t.Errorf("region %q, want AWS_DEFAULT_REGION's when AWS_REGION is unset", c.Region)
	}
	creds, err := c.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	if got := aws.ToString(dynamodb.NewFromConfig(c).Options().BaseEndpoint); got != "http://127.0.0.1:8000" {
		t.Errorf("DynamoDB endpoint %q, want AWS_ENDPOINT_URL_DYNAMODB's", got)
	}
	if got := kms.NewFromConfig(c).Options().BaseEndpoint; got != nil {
		t.Errorf("KMS endpoint %q, want AWS's (none set)", *got)
	}

	// AWS_ENDPOINT_URL is every service's, unless one has its own.
	env = config.FromMap(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_ENDPOINT_URL": "http://localstack:4566"})
	c = awsclients.FromEnv(env)
	if got := aws.ToString(kms.NewFromConfig(c).Options().BaseEndpoint); got != "http://localstack:4566" {
		t.Errorf("KMS endpoint %q, want AWS_ENDPOINT_URL's", got)
	}

	env = config.FromMap(map[string]string{"TABLE_NAME": "t"})
	fn := &bootstrap.Function{Name: "get-gateway", Config: bootstrap.ReadConfig(env), Env: env}
	awsclients.Config(fn)
	fn.Table()
	err = fn.Err()
	for _, want := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("assembly without credentials: err %v, want it to name %s", err, want)
		}
	}
}
