package bootstrap

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/gatehouse/gatehouse/pkg/config"
)

// DefaultAWSAttemptTimeout bounds one attempt of a DynamoDB or KMS call.
// Their answers take milliseconds, and a Scan page of 1 MB well under a
// second; an attempt still waiting after this is talking to an endpoint that
// hangs, and the SDK's retryer does better to try another connection.
const DefaultAWSAttemptTimeout = 5 * time.Second

// maxTimeout bounds the configured timeouts: no Lambda function runs
// longer.
const maxTimeout = 15 * time.Minute

// Timeouts bound the work of one request, so that a DynamoDB or KMS
// endpoint that takes the connection and never answers costs a caller a
// 503 problem+json with Retry-After, not a request held open until Lambda
// stops the function.
type Timeouts struct {
	// Request bounds a request's whole work (REQUEST_TIMEOUT, default
	// edge.DefaultRequestTimeout). In Lambda the function's deadline less
	// edge.DeadlineReserve bounds it too, whichever comes first.
	Request time.Duration
	// AWSAttempt bounds one attempt of every AWS call the assembly makes
	// (AWS_ATTEMPT_TIMEOUT, default DefaultAWSAttemptTimeout): DynamoDB and
	// KMS, and the health check's EventBridge puts and asynchronous Lambda
	// invokes, which answer as quickly. An attempt that hangs is abandoned
	// and the SDK's retryer tries again on a new connection, within Request.
	AWSAttempt time.Duration
}

// readTimeouts reads REQUEST_TIMEOUT and AWS_ATTEMPT_TIMEOUT: Go
// durations such as 10s, from 1ms to 15m. Unset means the default.
func readTimeouts(env *config.Env) Timeouts {
	return Timeouts{
		Request:    env.Duration("REQUEST_TIMEOUT", 0, time.Millisecond, maxTimeout),
		AWSAttempt: env.Duration("AWS_ATTEMPT_TIMEOUT", 0, time.Millisecond, maxTimeout),
	}
}

// BoundAWS returns c with every attempt of its clients' calls bounded by
// t.AWSAttempt (its default when unset). An HTTP client the caller set
// that is not the SDK's own is left as it is.
func (t Timeouts) BoundAWS(c aws.Config) aws.Config {
	d := t.AWSAttempt
	if d <= 0 {
		d = DefaultAWSAttemptTimeout
	}
	switch hc := c.HTTPClient.(type) {
	case nil:
		c.HTTPClient = awshttp.NewBuildableClient().WithTimeout(d)
	case *awshttp.BuildableClient:
		c.HTTPClient = hc.WithTimeout(d)
	}
	return c
}
