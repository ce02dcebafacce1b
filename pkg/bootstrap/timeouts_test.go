package bootstrap

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/gatehouse/gatehouse/pkg/edge"
)

// TestTimeoutsFromEnv: unset is the default, a Go duration sets it, and a
// value that is not a usable timeout stops the function at start.
func TestTimeoutsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Timeouts
		wantErr string
	}{
		{name: "unset", want: Timeouts{}},
		{name: "set", env: map[string]string{"REQUEST_TIMEOUT": "8s", "AWS_ATTEMPT_TIMEOUT": "1500ms"}, want: Timeouts{Request: 8 * time.Second, AWSAttempt: 1500 * time.Millisecond}},
		{name: "not a duration", env: map[string]string{"REQUEST_TIMEOUT": "8"}, wantErr: `REQUEST_TIMEOUT must be a duration such as 10s or 3m, at most 15m0s, not "8"`},
		{name: "zero", env: map[string]string{"AWS_ATTEMPT_TIMEOUT": "0s"}, wantErr: "AWS_ATTEMPT_TIMEOUT"},
		{name: "negative", env: map[string]string{"AWS_ATTEMPT_TIMEOUT": "-1s"}, wantErr: "AWS_ATTEMPT_TIMEOUT"},
		{name: "below a millisecond", env: map[string]string{"REQUEST_TIMEOUT": "10us"}, wantErr: "REQUEST_TIMEOUT"},
		{name: "longer than any function", env: map[string]string{"REQUEST_TIMEOUT": "16m"}, wantErr: "REQUEST_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"REQUEST_TIMEOUT", "AWS_ATTEMPT_TIMEOUT"} {
				v, ok := tt.env[k]
				t.Setenv(k, v)
				if !ok {
					os.Unsetenv(k)
				}
			}
			got, err := TimeoutsFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("TimeoutsFromEnv() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// ConfigFromEnv and WebhookConfigFromEnv read them too.
	t.Setenv("TABLE_NAME", "t")
	t.Setenv("KMS_KEY_ID", "alias/k")
	t.Setenv("REQUEST_TIMEOUT", "7s")
	t.Setenv("AWS_ATTEMPT_TIMEOUT", "nope")
	if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "AWS_ATTEMPT_TIMEOUT") {
		t.Errorf("ConfigFromEnv: err = %v, want AWS_ATTEMPT_TIMEOUT refused", err)
	}
	if _, err := WebhookConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "AWS_ATTEMPT_TIMEOUT") {
		t.Errorf("WebhookConfigFromEnv: err = %v, want AWS_ATTEMPT_TIMEOUT refused", err)
	}
	t.Setenv("AWS_ATTEMPT_TIMEOUT", "2s")
	if c, err := ConfigFromEnv(); err != nil || c.Timeouts != (Timeouts{Request: 7 * time.Second, AWSAttempt: 2 * time.Second}) {
		t.Errorf("ConfigFromEnv: %+v, %v", c.Timeouts, err)
	}
	if c, err := WebhookConfigFromEnv(); err != nil || c.Timeouts != (Timeouts{Request: 7 * time.Second, AWSAttempt: 2 * time.Second}) {
		t.Errorf("WebhookConfigFromEnv: %+v, %v", c.Timeouts, err)
	}
}

// TestTimeoutsAWS: the SDK's HTTP client gets the attempt timeout (the
// default when unset), and a client the caller set that is not the SDK's
// is left alone.
func TestTimeoutsAWS(t *testing.T) {
	timeout := func(c aws.Config) time.Duration {
		t.Helper()
		bc, ok := c.HTTPClient.(*awshttp.BuildableClient)
		if !ok {
			t.Fatalf("HTTPClient is %T", c.HTTPClient)
		}
		return bc.GetTimeout()
	}
	if got := timeout(Timeouts{}.aws(aws.Config{})); got != DefaultAWSAttemptTimeout {
		t.Errorf("no client, default: timeout %v, want %v", got, DefaultAWSAttemptTimeout)
	}
	sdk := awshttp.NewBuildableClient().WithTimeout(time.Minute)
	if got := timeout(Timeouts{AWSAttempt: 2 * time.Second}.aws(aws.Config{HTTPClient: sdk})); got != 2*time.Second {
		t.Errorf("the SDK's client: timeout %v, want 2s", got)
	}
	if sdk.GetTimeout() != time.Minute {
		t.Errorf("the caller's client was changed in place")
	}
	own := &http.Client{}
	if c := (Timeouts{AWSAttempt: time.Second}).aws(aws.Config{HTTPClient: own}); c.HTTPClient != own || own.Timeout != 0 {
		t.Errorf("a client of the caller's own was replaced or changed")
	}
	if got := (Timeouts{}).request(); got != edge.DefaultRequestTimeout {
		t.Errorf("request() = %v, want %v", got, edge.DefaultRequestTimeout)
	}
}
