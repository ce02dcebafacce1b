// Package healthcheck assembles the health worker (functions/health-worker,
// HealthWorkerFunction), which checks the segments of a sweep it is handed:
// its data-key cache is sized for a sweep rather than for a request, and it
// publishes status changes to EventBridge. The scheduled coordinator that
// hands out the segments is package healthsweep, so that each function
// links only its own AWS clients.
package healthcheck

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/health/healthbus"
)

// FnHealthWorker names the worker function (functions/health-worker).
const FnHealthWorker = "health-worker"

// DefaultKeyCacheMax bounds the data-key cache of a health worker: a
// segment's gateways must all fit, or a sweep in scan order evicts every key
// before it is used again. At 100,000 gateways in 32 segments a segment is
// about 3,100 gateways; an entry costs about 150 bytes.
const DefaultKeyCacheMax = 20000

// Config is what the health functions read from their environment, beyond
// bootstrap.Config.
type Config struct {
	// Health tunes the sweep.
	Health health.Config
	// EventBus, when set, receives status changes via PutEvents; unset,
	// they are logged.
	EventBus string
	// KeyCacheTTL and KeyCacheMax bound the plaintext data-key cache.
	KeyCacheTTL time.Duration
	KeyCacheMax int
}

// ReadConfig reads Config: HEALTH_CONCURRENCY, HEALTH_FAILURE_THRESHOLD,
// HEALTH_SEGMENTS (at most health.MaxSegments), HEALTH_SAMPLE_TTL_DAYS,
// HEALTH_CHECK_TIMEOUT, HEALTH_STUCK_CONNECTING,
// HEALTH_WEBHOOK_ERROR_WINDOW, HEALTH_TOUCH_INTERVAL (0 allowed),
// EVENT_BUS_NAME, HEALTH_KEY_CACHE_TTL (default
// envelope.DefaultCacheTTL) and HEALTH_KEY_CACHE_MAX (default
// DefaultKeyCacheMax). Unset numbers and durations are the sweep's
// defaults; durations are in Go syntax ("10s", "3m").
func ReadConfig(env *config.Env) Config {
	const most = 1 << 30
	c := Config{
		EventBus:    env.String("EVENT_BUS_NAME", ""),
		KeyCacheTTL: env.Duration("HEALTH_KEY_CACHE_TTL", envelope.DefaultCacheTTL, time.Millisecond, 0),
		KeyCacheMax: env.Int("HEALTH_KEY_CACHE_MAX", DefaultKeyCacheMax, 1, most),
	}
	h := &c.Health
	h.Concurrency = env.Int("HEALTH_CONCURRENCY", 0, 1, most)
	h.FailureThreshold = env.Int("HEALTH_FAILURE_THRESHOLD", 0, 1, most)
	h.Segments = env.Int("HEALTH_SEGMENTS", 0, 1, health.MaxSegments)
	h.SampleTTL = env.Days("HEALTH_SAMPLE_TTL_DAYS", 0, 1, 3650)
	h.CheckTimeout = env.Duration("HEALTH_CHECK_TIMEOUT", 0, time.Millisecond, 0)
	h.StuckConnecting = env.Duration("HEALTH_STUCK_CONNECTING", 0, time.Millisecond, 0)
	h.WebhookErrorWindow = env.Duration("HEALTH_WEBHOOK_ERROR_WINDOW", 0, time.Millisecond, 0)
	h.TouchInterval = env.Duration("HEALTH_TOUCH_INTERVAL", 0, 0, 0)
	return c
}

// Worker returns the health worker of fn: the sweep's store, a gateway
// service whose envelope opens credentials through a data-key cache of its
// own, the provider registry and the status-change publisher (EventBridge
// when cfg.EventBus is set, else the log). opts come after the
// configuration's, so tests and the local runner can replace the clock or
// the publisher. It requires KMS_KEY_ID. It does no I/O.
func Worker(fn *bootstrap.Function, cfg Config, opts ...health.Option) *health.Worker {
	base := fn.Config
	fn.Require("KMS_KEY_ID", base.KeyID)
	ddb := dynamodb.NewFromConfig(awsclients.Config(fn))
	sealer := envelope.New(kms.NewFromConfig(awsclients.Config(fn)), base.KeyID, envelope.WithCache(cfg.KeyCacheTTL, cfg.KeyCacheMax))
	var events health.Publisher = health.LogPublisher{Log: fn.Log}
	if cfg.EventBus != "" {
		events = healthbus.EventBridge{Client: eventbridge.NewFromConfig(awsclients.Config(fn)), Bus: cfg.EventBus}
	}
	hcfg := cfg.Health
	hcfg.PublicURL = base.PublicURL
	table := fn.Table()
	svc := gateway.NewService(dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), sealer)
	all := append([]health.Option{health.WithLogger(fn.Log), health.WithEvents(events), health.WithWarmTTL(cfg.KeyCacheTTL)}, opts...)
	return health.NewWorker(dynamo.NewHealth(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), svc, providers.Registry(base), hcfg, all...)
}

// InProcess returns a coordinator that runs every segment of a sweep in
// this process, with w: the local runner's sweep, where there is no worker
// function to invoke.
func InProcess(w *health.Worker) *health.Coordinator {
	return health.NewCoordinator(health.InProcess{Worker: w}, w.Config().Segments)
}
