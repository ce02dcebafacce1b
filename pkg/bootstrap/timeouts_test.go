package bootstrap

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/gatehouse/gatehouse/pkg/config"
)

// TestReadTimeouts: unset is the default, a Go duration sets it, and a
// value that is not a usable timeout stops the function at start.
func TestReadTimeouts(t *testing.T) {
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
			env := config.FromMap(tt.env)
			got := readTimeouts(env)
			err := env.Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("readTimeouts = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// ReadConfig reads them, with the rest of the shared configuration.
	env := config.FromMap(map[string]string{"TABLE_NAME": "t", "REQUEST_TIMEOUT": "7s", "AWS_ATTEMPT_TIMEOUT": "nope"})
	if ReadConfig(env); env.Err() == nil || !strings.Contains(env.Err().Error(), "AWS_ATTEMPT_TIMEOUT") {
		t.Errorf("ReadConfig: err = %v, want AWS_ATTEMPT_TIMEOUT refused", env.Err())
	}
	env = config.FromMap(map[string]string{"TABLE_NAME": "t", "REQUEST_TIMEOUT": "7s", "AWS_ATTEMPT_TIMEOUT": "2s"})
	if c := ReadConfig(env); env.Err() != nil || c.Timeouts != (Timeouts{Request: 7 * time.Second, AWSAttempt: 2 * time.Second}) {
		t.Errorf("ReadConfig: %+v, %v", c.Timeouts, env.Err())
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
	if got := timeout(Timeouts{}.BoundAWS(aws.Config{})); got != DefaultAWSAttemptTimeout {
		t.Errorf("no client, default: timeout %v, want %v", got, DefaultAWSAttemptTimeout)
	}
	sdk := awshttp.NewBuildableClient().WithTimeout(time.Minute)
	if got := timeout(Timeouts{AWSAttempt: 2 * time.Second}.BoundAWS(aws.Config{HTTPClient: sdk})); got != 2*time.Second {
		t.Errorf("the SDK's client: timeout %v, want 2s", got)
	}
	if sdk.GetTimeout() != time.Minute {
		t.Errorf("the caller's client was changed in place")
	}
	own := &http.Client{}
	if c := (Timeouts{AWSAttempt: time.Second}).BoundAWS(aws.Config{HTTPClient: own}); c.HTTPClient != own || own.Timeout != 0 {
		t.Errorf("a client of the caller's own was replaced or changed")
	}
}

// TestReadAuditRetention: audit events are kept the store's default (365
// days) unless AUDIT_RETENTION_DAYS says otherwise, in whole days within
// the bounds; anything else stops the function at start (issue 16, item 2).
func TestReadAuditRetention(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr bool
	}{
		{name: "unset is the store's default", want: 0},
		{name: "seven years", env: map[string]string{"AUDIT_RETENTION_DAYS": "2557"}, want: 2557 * 24 * time.Hour},
		{name: "lowest", env: map[string]string{"AUDIT_RETENTION_DAYS": "7"}, want: 7 * 24 * time.Hour},
		{name: "too short", env: map[string]string{"AUDIT_RETENTION_DAYS": "6"}, wantErr: true},
		{name: "too long", env: map[string]string{"AUDIT_RETENTION_DAYS": "3651"}, wantErr: true},
		{name: "not days", env: map[string]string{"AUDIT_RETENTION_DAYS": "1y"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			c := ReadConfig(env)
			if err := env.Err(); (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && c.AuditRetention != tt.want {
				t.Errorf("AuditRetention = %v, want %v", c.AuditRetention, tt.want)
			}
		})
	}
}
