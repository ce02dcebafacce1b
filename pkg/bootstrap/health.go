package bootstrap

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/health/healthaws"
)

// The health check has an assembly of its own: its data-key cache is sized
// for a sweep rather than for a request, it may fan out through Lambda, and
// it publishes status changes.

// FnHealthCheck names the health-check function (functions/health-check):
// the coordinator on the schedule and, deployed a second time, the worker.
const FnHealthCheck = "health-check"

// DefaultHealthKeyCacheMax bounds the data-key cache of a health worker: a
// segment's gateways must all fit, or a sweep in scan order evicts every key
// before it is used again. At 100,000 gateways in 32 segments a segment is
// about 3,100 gateways; an entry costs about 150 bytes.
const DefaultHealthKeyCacheMax = 20000

// HealthConfig is what the health-check function reads from its
// environment, beyond Config.
type HealthConfig struct {
	Config
	// Health tunes the sweep: HEALTH_CONCURRENCY, HEALTH_CHECK_TIMEOUT,
	// HEALTH_FAILURE_THRESHOLD, HEALTH_SEGMENTS, HEALTH_SAMPLE_TTL_DAYS,
	// HEALTH_STUCK_CONNECTING, HEALTH_WEBHOOK_ERROR_WINDOW,
	// HEALTH_TOUCH_INTERVAL (durations in Go syntax, e.g. "10s", "3m").
	Health health.Config
	// WorkerFunction (HEALTH_WORKER_FUNCTION), when set, makes a scheduled
	// event fan out to that function by asynchronous invokes; unset, the
	// sweep runs in this process.
	WorkerFunction string
	// EventBus (EVENT_BUS_NAME), when set, receives status changes via
	// PutEvents; unset, they are logged.
	EventBus string
	// KeyCacheTTL (HEALTH_KEY_CACHE_TTL, default 15m) and KeyCacheMax
	// (HEALTH_KEY_CACHE_MAX, default DefaultHealthKeyCacheMax) bound the
	// plaintext data-key cache.
	KeyCacheTTL time.Duration
	KeyCacheMax int
}

// HealthConfigFromEnv reads HealthConfig. It returns every problem it
// finds: those of ConfigFromEnv and malformed HEALTH_* values.
func HealthConfigFromEnv() (HealthConfig, error) {
	base, err := ConfigFromEnv()
	c := HealthConfig{
		Config:         base,
		WorkerFunction: os.Getenv("HEALTH_WORKER_FUNCTION"),
		EventBus:       os.Getenv("EVENT_BUS_NAME"),
		KeyCacheTTL:    envelope.DefaultCacheTTL,
		KeyCacheMax:    DefaultHealthKeyCacheMax,
	}
	errs := []error{err}
	num := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("%s must be a positive whole number, not %q", name, v))
				return
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration, allowZero bool) {
		errs = append(errs, envDuration(name, dst, allowZero, 0))
	}
	h := &c.Health
	num("HEALTH_CONCURRENCY", &h.Concurrency)
	num("HEALTH_FAILURE_THRESHOLD", &h.FailureThreshold)
	num("HEALTH_SEGMENTS", &h.Segments)
	var days int
	num("HEALTH_SAMPLE_TTL_DAYS", &days)
	h.SampleTTL = time.Duration(days) * 24 * time.Hour
	dur("HEALTH_CHECK_TIMEOUT", &h.CheckTimeout, false)
	dur("HEALTH_STUCK_CONNECTING", &h.StuckConnecting, false)
	dur("HEALTH_WEBHOOK_ERROR_WINDOW", &h.WebhookErrorWindow, false)
	dur("HEALTH_TOUCH_INTERVAL", &h.TouchInterval, true)
	dur("HEALTH_KEY_CACHE_TTL", &c.KeyCacheTTL, false)
	num("HEALTH_KEY_CACHE_MAX", &c.KeyCacheMax)
	if h.Segments > health.MaxSegments {
		errs = append(errs, fmt.Errorf("HEALTH_SEGMENTS must be at most %d", health.MaxSegments))
	}
	return c, errors.Join(errs...)
}

// HealthCheck is the assembled health check.
type HealthCheck struct {
	Store       *dynamo.Health
	Sealer      *envelope.Envelope
	Worker      *health.Worker
	Coordinator *health.Coordinator
	Handler     *health.Handler
}

// HealthCheck assembles the health check over d's clients, registry and
// store, with a data-key cache of its own. opts come after the
// configuration's, so tests and the local runner can replace the clock or
// the event publisher. It does no I/O.
func (d *Deps) HealthCheck(cfg HealthConfig, opts ...health.Option) *HealthCheck {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	hc := &HealthCheck{
		Store:  dynamo.NewHealth(d.Dynamo, d.Config.Table),
		Sealer: envelope.New(d.KMS, d.Config.KeyID, envelope.WithCache(cfg.KeyCacheTTL, cfg.KeyCacheMax)),
	}
	var events health.Publisher = health.LogPublisher{Log: log}
	if cfg.EventBus != "" {
		events = healthaws.EventBridge{Client: eventbridge.NewFromConfig(d.AWS), Bus: cfg.EventBus}
	}
	hcfg := cfg.Health
	hcfg.PublicURL = d.Config.PublicURL
	base := []health.Option{health.WithLogger(log), health.WithEvents(events), health.WithWarmTTL(cfg.KeyCacheTTL)}
	hc.Worker = health.NewWorker(hc.Store, gateway.NewService(d.Store, hc.Sealer), d.Registry, hcfg, append(base, opts...)...)
	var fan health.Fanout = health.InProcess{Worker: hc.Worker}
	if cfg.WorkerFunction != "" {
		fan = healthaws.LambdaFanout{Client: awslambda.NewFromConfig(d.AWS), Function: cfg.WorkerFunction}
	}
	hc.Coordinator = health.NewCoordinator(fan, hc.Worker.Config().Segments)
	hc.Handler = health.NewHandler(hc.Coordinator, hc.Worker, log)
	return hc
}

// StartHealthCheck is the health-check function's whole main: the
// coordinator on the schedule (with HEALTH_WORKER_FUNCTION set) and the
// worker it invokes. It exits with a log line when the environment is
// incomplete, before Lambda sends any event.
func StartHealthCheck() {
	startWith(FnHealthCheck, HealthConfigFromEnv, func(cfg HealthConfig, awsCfg aws.Config, log *slog.Logger) any {
		return New(cfg.Config, awsCfg, log).HealthCheck(cfg).Handler.Handle
	})
}
