// Package healthcheck assembles the health-check function, deployed twice
// from functions/health-check: HealthCheckFunction, which EventBridge
// invokes on the schedule and which fans the sweep out, and
// HealthWorkerFunction, which checks the segments it is handed. Its
// data-key cache is sized for a sweep rather than for a request, it may
// fan out through Lambda, and it publishes status changes to EventBridge.
package healthcheck

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/health/healthaws"
)

// FnHealthCheck names the health-check function (functions/health-check).
const FnHealthCheck = "health-check"

// DefaultKeyCacheMax bounds the data-key cache of a health worker: a
// segment's gateways must all fit, or a sweep in scan order evicts every key
// before it is used again. At 100,000 gateways in 32 segments a segment is
// about 3,100 gateways; an entry costs about 150 bytes.
const DefaultKeyCacheMax = 20000

// Config is what the health-check function reads from its environment,
// beyond bootstrap.Config.
type Config struct {
	// Health tunes the sweep.
	Health health.Config
	// WorkerFunction, when set, makes a scheduled event fan out to that
	// function by asynchronous invokes; unset, the sweep runs in this
	// process.
	WorkerFunction string
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
// HEALTH_WORKER_FUNCTION, EVENT_BUS_NAME, HEALTH_KEY_CACHE_TTL (default
// envelope.DefaultCacheTTL) and HEALTH_KEY_CACHE_MAX (default
// DefaultKeyCacheMax). Unset numbers and durations are the sweep's
// defaults; durations are in Go syntax ("10s", "3m").
func ReadConfig(env *config.Env) Config {
	const most = 1 << 30
	c := Config{
		WorkerFunction: env.String("HEALTH_WORKER_FUNCTION", ""),
		EventBus:       env.String("EVENT_BUS_NAME", ""),
		KeyCacheTTL:    env.Duration("HEALTH_KEY_CACHE_TTL", envelope.DefaultCacheTTL, time.Millisecond, 0),
		KeyCacheMax:    env.Int("HEALTH_KEY_CACHE_MAX", DefaultKeyCacheMax, 1, most),
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

// HealthCheck is the assembled health check.
type HealthCheck struct {
	Store       *dynamo.Health
	Sealer      *envelope.Envelope
	Worker      *health.Worker
	Coordinator *health.Coordinator
	Handler     *health.Handler
}

// New assembles the health check of fn, with a data-key cache of its own.
// opts come after the configuration's, so tests and the local runner can
// replace the clock or the event publisher. It requires KMS_KEY_ID. It
// does no I/O.
func New(fn *bootstrap.Function, cfg Config, opts ...health.Option) *HealthCheck {
	base := fn.Config
	fn.Require("KMS_KEY_ID", base.KeyID)
	ddb := awsclients.DynamoDB(fn)
	hc := &HealthCheck{
		Store:  dynamo.NewHealth(ddb, base.Table),
		Sealer: envelope.New(kms.NewFromConfig(awsclients.Config(fn)), base.KeyID, envelope.WithCache(cfg.KeyCacheTTL, cfg.KeyCacheMax)),
	}
	var events health.Publisher = health.LogPublisher{Log: fn.Log}
	if cfg.EventBus != "" {
		events = healthaws.EventBridge{Client: eventbridge.NewFromConfig(awsclients.Config(fn)), Bus: cfg.EventBus}
	}
	hcfg := cfg.Health
	hcfg.PublicURL = base.PublicURL
	svc := gateway.NewService(dynamo.New(ddb, base.Table), hc.Sealer)
	all := append([]health.Option{health.WithLogger(fn.Log), health.WithEvents(events), health.WithWarmTTL(cfg.KeyCacheTTL)}, opts...)
	hc.Worker = health.NewWorker(hc.Store, svc, providers.Registry(base), hcfg, all...)
	var fan health.Fanout = health.InProcess{Worker: hc.Worker}
	if cfg.WorkerFunction != "" {
		fan = healthaws.LambdaFanout{Client: awslambda.NewFromConfig(awsclients.Config(fn)), Function: cfg.WorkerFunction}
	}
	hc.Coordinator = health.NewCoordinator(fan, hc.Worker.Config().Segments)
	hc.Handler = health.NewHandler(hc.Coordinator, hc.Worker, fn.Log)
	return hc
}
