package bootstrap

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// The telegram-webhook function has an assembly of its own: it is the hot
// path, it must start without KMS_KEY_ID, and it builds no KMS client at
// all, so its IAM policy can grant no KMS action.

// WebhookConfig is what the telegram-webhook function reads from its
// environment.
type WebhookConfig struct {
	Table string // TABLE_NAME, required
	// UpdateTTL is how long received updates are kept: UPDATE_TTL_DAYS
	// (whole days, 1 to 365), default 7.
	UpdateTTL time.Duration
	// Timeouts bound each update's work, as Config's do.
	Timeouts Timeouts
}

// maxUpdateTTLDays bounds UPDATE_TTL_DAYS; the inbox is a buffer for its
// consumers, not an archive.
const maxUpdateTTLDays = 365

// WebhookConfigFromEnv reads WebhookConfig. It returns an error when
// TABLE_NAME is missing or UPDATE_TTL_DAYS is not a whole number of days
// from 1 to 365.
func WebhookConfigFromEnv() (WebhookConfig, error) {
	c := WebhookConfig{Table: os.Getenv("TABLE_NAME")}
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New("TABLE_NAME is not set"))
	}
	ttl, err := updateTTL(os.Getenv("UPDATE_TTL_DAYS"))
	if err != nil {
		errs = append(errs, err)
	}
	c.UpdateTTL = ttl
	t, err := TimeoutsFromEnv()
	c.Timeouts = t
	return c, errors.Join(append(errs, err)...)
}

// updateTTL parses UPDATE_TTL_DAYS; empty is the default.
func updateTTL(v string) (time.Duration, error) {
	if v == "" {
		return inbox.DefaultUpdateTTL, nil
	}
	days, err := strconv.Atoi(v)
	if err != nil || days < 1 || days > maxUpdateTTLDays {
		return inbox.DefaultUpdateTTL, fmt.Errorf("UPDATE_TTL_DAYS must be a whole number of days from 1 to %d, not %q", maxUpdateTTLDays, v)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// NewTelegramWebhook builds the telegram-webhook handler over the table of
// cfg with a DynamoDB client from awsCfg. It does no network I/O. opts come
// after the configuration's, so tests can replace the clock or the cache.
func NewTelegramWebhook(cfg WebhookConfig, awsCfg aws.Config, log *slog.Logger, opts ...telegramhook.Option) *telegramhook.Handler {
	store := dynamo.NewInbox(dynamodb.NewFromConfig(cfg.Timeouts.aws(awsCfg)), cfg.Table)
	return telegramhook.New(store, append([]telegramhook.Option{telegramhook.WithLogger(log), telegramhook.WithUpdateTTL(cfg.UpdateTTL),
		telegramhook.WithRequestTimeout(cfg.Timeouts.request())}, opts...)...)
}

// StartTelegramWebhook is the telegram-webhook function's whole main. It
// exits with a log line when the environment is incomplete, before Lambda
// sends any event.
func StartTelegramWebhook() {
	startWith(telegramhook.FnTelegramWebhook, WebhookConfigFromEnv, func(cfg WebhookConfig, awsCfg aws.Config, log *slog.Logger) any {
		return NewTelegramWebhook(cfg, awsCfg, log).Handle
	})
}

// addTelegramWebhook adds the telegram-webhook handler to h for the local
// runner, over the Deps' own DynamoDB client and table (in Lambda the
// function runs from StartTelegramWebhook instead, without KMS). An invalid
// UPDATE_TTL_DAYS is logged and the default used, since Handlers cannot
// fail.
func (d *Deps) addTelegramWebhook(h map[string]httpapi.Handler) {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	ttl, err := updateTTL(os.Getenv("UPDATE_TTL_DAYS"))
	if err != nil {
		log.Warn("telegram-webhook: using the default update TTL", "error", err)
	}
	store := dynamo.NewInbox(d.Dynamo, d.Config.Table)
	h[telegramhook.FnTelegramWebhook] = telegramhook.New(store, telegramhook.WithLogger(log), telegramhook.WithUpdateTTL(ttl),
		telegramhook.WithRequestTimeout(d.Config.Timeouts.request())).Handle
}
