// Package receiver assembles the telegram-webhook function, the hot path
// Telegram calls with every update: the inbox over DynamoDB and the
// handler of pkg/telegramhook. It needs no KMS key and links no KMS
// client, so its IAM policy grants no KMS action.
package receiver

import (
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// MaxUpdateTTLDays bounds UPDATE_TTL_DAYS: the inbox is a buffer for its
// consumers, not an archive.
const MaxUpdateTTLDays = 365

// ReadUpdateTTL reads how long received updates are kept: UPDATE_TTL_DAYS,
// whole days from 1 to MaxUpdateTTLDays; unset is inbox.DefaultUpdateTTL.
func ReadUpdateTTL(env *config.Env) time.Duration {
	return env.Days("UPDATE_TTL_DAYS", inbox.DefaultUpdateTTL, 1, MaxUpdateTTLDays)
}

// ReadSourceRanges reads the networks updates are accepted from:
// TELEGRAM_SOURCE_RANGES, comma-separated CIDRs; unset accepts every
// address (see telegramhook.WithSourceRanges).
func ReadSourceRanges(env *config.Env) []netip.Prefix {
	return env.Prefixes("TELEGRAM_SOURCE_RANGES")
}

// Handler returns the telegram-webhook handler of fn, keeping updates for
// updateTTL. opts come after the configuration's, so tests can replace the
// clock or the cache. It does no I/O.
func Handler(fn *bootstrap.Function, updateTTL time.Duration, opts ...telegramhook.Option) *telegramhook.Handler {
	store := dynamo.NewInbox(dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table(), dynamo.WithAuditRetention(fn.Config.AuditRetention))
	return telegramhook.New(store, append([]telegramhook.Option{
		telegramhook.WithLogger(fn.Log),
		telegramhook.WithUpdateTTL(updateTTL),
		telegramhook.WithRequestTimeout(fn.Config.Timeouts.Request),
	}, opts...)...)
}
