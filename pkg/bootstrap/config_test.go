package bootstrap

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// TestConfigLimits: the abuse limits default to httpapi.DefaultLimits, 0
// switches one off, and a value that is not a limit stops the function at
// start rather than leaving it unlimited.
func TestConfigLimits(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    httpapi.Limits
		wantErr string // a substring of the error; "" for none
	}{
		{name: "unset", want: httpapi.DefaultLimits},
		{name: "empty is unset", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": ""}, want: httpapi.DefaultLimits},
		{name: "each set", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": "3", "RATE_LIMIT_ACTIONS_PER_MINUTE": " 100 ", "RATE_LIMIT_VALIDATIONS_PER_MINUTE": "0"},
			want: httpapi.Limits{TestsPerMinute: 3, ActionsPerMinute: 100, ValidationsPerMinute: 0}},
		{name: "not a number", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": "ten"}, wantErr: `RATE_LIMIT_TEST_PER_MINUTE must be an integer from 0 (no limit) to 1000000, not "ten"`},
		{name: "negative", env: map[string]string{"RATE_LIMIT_ACTIONS_PER_MINUTE": "-1"}, wantErr: "RATE_LIMIT_ACTIONS_PER_MINUTE"},
		{name: "too large", env: map[string]string{"RATE_LIMIT_VALIDATIONS_PER_MINUTE": "1000001"}, wantErr: "RATE_LIMIT_VALIDATIONS_PER_MINUTE"},
		{name: "fraction", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": "1.5"}, wantErr: "RATE_LIMIT_TEST_PER_MINUTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TABLE_NAME", "t")
			t.Setenv("KMS_KEY_ID", "alias/k")
			for _, k := range []string{"RATE_LIMIT_TEST_PER_MINUTE", "RATE_LIMIT_ACTIONS_PER_MINUTE", "RATE_LIMIT_VALIDATIONS_PER_MINUTE"} {
				v, ok := tt.env[k]
				t.Setenv(k, v) // restores the variable after the test
				if !ok {
					os.Unsetenv(k)
				}
			}
			c, err := ConfigFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Limits != tt.want {
				t.Errorf("Limits = %+v, want %+v", c.Limits, tt.want)
			}
		})
	}
}
