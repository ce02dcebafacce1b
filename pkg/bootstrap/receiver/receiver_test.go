package receiver_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/receiver"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// TestWebhookConfig: the function starts from TABLE_NAME alone (no
// KMS_KEY_ID), and UPDATE_TTL_DAYS sets how long updates are kept.
func TestWebhookConfig(t *testing.T) {
	tests := []struct {
		table, days string
		want        time.Duration
		wantErr     bool
	}{
		{"gatehouse", "", 7 * 24 * time.Hour, false},
		{"gatehouse", "1", 24 * time.Hour, false},
		{"gatehouse", "30", 30 * 24 * time.Hour, false},
		{"gatehouse", "365", 365 * 24 * time.Hour, false},
		{"gatehouse", "0", 0, true},
		{"gatehouse", "366", 0, true},
		{"gatehouse", "7d", 0, true},
		{"gatehouse", "-1", 0, true},
		{"", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.table+"/"+tt.days, func(t *testing.T) {
			env := config.FromMap(map[string]string{"TABLE_NAME": tt.table, "UPDATE_TTL_DAYS": tt.days, "KMS_KEY_ID": ""})
			cfg := bootstrap.ReadConfig(env)
			ttl := receiver.ReadUpdateTTL(env)
			// The function's whole assembly, as its main makes it.
			fn := bootstrap.New(telegramhook.FnTelegramWebhook, cfg, aws.Config{Region: "us-east-1"}, nil)
			fn.Env = env
			receiver.Handler(fn, ttl)
			err := fn.Err()
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && (cfg.Table != tt.table || ttl != tt.want) {
				t.Fatalf("config %+v, TTL %s; want table %q and TTL %s", cfg, ttl, tt.table, tt.want)
			}
		})
	}
}

// TestSourceRangesConfig: TELEGRAM_SOURCE_RANGES reaches the handler's
// option; a malformed value stops the function at start.
func TestSourceRangesConfig(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        int
		wantErr     bool
	}{
		{name: "unset", value: "", want: 0},
		{name: "Telegram's", value: "149.154.160.0/20,91.108.4.0/22", want: 2},
		{name: "a typo", value: "149.154.160.0/20;91.108.4.0/22", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(map[string]string{"TABLE_NAME": "gatehouse", "TELEGRAM_SOURCE_RANGES": tt.value})
			fn := bootstrap.New(telegramhook.FnTelegramWebhook, bootstrap.ReadConfig(env), aws.Config{Region: "us-east-1"}, nil)
			fn.Env = env
			got := receiver.ReadSourceRanges(env)
			receiver.Handler(fn, receiver.ReadUpdateTTL(env), telegramhook.WithSourceRanges(got))
			if err := fn.Err(); (err != nil) != tt.wantErr || len(got) != tt.want {
				t.Fatalf("ranges %v, error %v; want %d ranges, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
