package liveroutes_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/bootstrap/liveroutes"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// TestReadLimits: the abuse limits default to httpapi.DefaultLimits, 0
// switches one off, and a value that is not a limit stops the function at
// start rather than leaving it unlimited.
func TestReadLimits(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    httpapi.Limits
		wantErr string // a substring of the error; "" for none
	}{
		{name: "unset", want: httpapi.DefaultLimits},
		{name: "empty is unset", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": ""}, want: httpapi.DefaultLimits},
		{name: "each set", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": "3", "RATE_LIMIT_ACTIONS_PER_MINUTE": " 100 ", "RATE_LIMIT_VALIDATIONS_PER_MINUTE": "0", "RATE_LIMIT_STATUS_PER_MINUTE": "4"},
			want: httpapi.Limits{TestsPerMinute: 3, ActionsPerMinute: 100, ValidationsPerMinute: 0, StatusChangesPerMinute: 4}},
		{name: "status off", env: map[string]string{"RATE_LIMIT_STATUS_PER_MINUTE": "0"},
			want: httpapi.Limits{TestsPerMinute: 10, ActionsPerMinute: 30, ValidationsPerMinute: 10, StatusChangesPerMinute: 0}},
		{name: "status not a number", env: map[string]string{"RATE_LIMIT_STATUS_PER_MINUTE": "many"}, wantErr: "RATE_LIMIT_STATUS_PER_MINUTE"},
		{name: "not a number", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": "ten"}, wantErr: `RATE_LIMIT_TEST_PER_MINUTE must be an integer from 0 (no limit) to 1000000, not "ten"`},
		{name: "negative", env: map[string]string{"RATE_LIMIT_ACTIONS_PER_MINUTE": "-1"}, wantErr: "RATE_LIMIT_ACTIONS_PER_MINUTE"},
		{name: "too large", env: map[string]string{"RATE_LIMIT_VALIDATIONS_PER_MINUTE": "1000001"}, wantErr: "RATE_LIMIT_VALIDATIONS_PER_MINUTE"},
		{name: "fraction", env: map[string]string{"RATE_LIMIT_TEST_PER_MINUTE": "1.5"}, wantErr: "RATE_LIMIT_TEST_PER_MINUTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			limits := liveroutes.ReadLimits(env)
			err := env.Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if limits != tt.want {
				t.Errorf("Limits = %+v, want %+v", limits, tt.want)
			}
		})
	}
}

// TestReadFileLinkTTL: getFile's links last an hour unless FILE_LINK_TTL
// says otherwise, within a minute and a day; anything else stops the
// function at start.
func TestReadFileLinkTTL(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    time.Duration
		wantErr bool
	}{
		{name: "unset", want: time.Hour},
		{name: "set", env: map[string]string{"FILE_LINK_TTL": "15m"}, want: 15 * time.Minute},
		{name: "a day", env: map[string]string{"FILE_LINK_TTL": "24h"}, want: 24 * time.Hour},
		{name: "too short", env: map[string]string{"FILE_LINK_TTL": "30s"}, wantErr: true},
		{name: "too long", env: map[string]string{"FILE_LINK_TTL": "25h"}, wantErr: true},
		{name: "not a duration", env: map[string]string{"FILE_LINK_TTL": "1 hour"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			got := liveroutes.ReadFileLinkTTL(env)
			if err := env.Err(); (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ReadFileLinkTTL = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReadGatewayQuota: an owner may have DefaultGatewayQuota gateways
// unless GATEWAY_QUOTA_PER_OWNER says otherwise; 0 is no quota, and a value
// that is not a quota stops the function at start (issue 16, item 2).
func TestReadGatewayQuota(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    int
		wantErr bool
	}{
		{name: "unset", want: 100},
		{name: "set", env: map[string]string{"GATEWAY_QUOTA_PER_OWNER": "25"}, want: 25},
		{name: "off", env: map[string]string{"GATEWAY_QUOTA_PER_OWNER": "0"}, want: 0},
		{name: "negative", env: map[string]string{"GATEWAY_QUOTA_PER_OWNER": "-5"}, wantErr: true},
		{name: "not a number", env: map[string]string{"GATEWAY_QUOTA_PER_OWNER": "lots"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			got := liveroutes.ReadGatewayQuota(env)
			if err := env.Err(); (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ReadGatewayQuota = %d, want %d", got, tt.want)
			}
		})
	}
}
