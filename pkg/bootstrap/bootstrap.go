// Package bootstrap is what every Gatehouse function's main shares: its
// configuration, read from the environment through pkg/config (or built
// directly by the local runner and tests), its JSON logger, the problems
// found while assembling it, and lambda.Start.
//
// It holds nothing a function might not use. The parts of each kind of
// function are assembled by the packages beside it, one per set of
// dependencies — awsclients (the AWS configuration and clients),
// storeroutes (routes that only read the table), liveroutes (routes that
// call providers: KMS, the registry, the abuse limits), providers (the
// provider registry), receiver (Telegram's webhook), healthcheck (the
// sweep: EventBridge, Lambda invokes) and rotation (key rotation) — so
// that each functions/<name>/main.go imports exactly what its function
// runs, and a Lambda binary links nothing else: list-providers links no
// AWS client, get-gateway no KMS client and no provider, the webhook no
// KMS client.
package bootstrap

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse/gatehouse/pkg/config"
)

// Config is what more than one kind of function reads from its
// environment. Settings of one kind of function only are in its package.
type Config struct {
	// Table is the DynamoDB table (TABLE_NAME); every function but
	// list-providers requires it.
	Table string
	// KeyID is the KMS key that seals credentials (KMS_KEY_ID: key id, ARN
	// or alias); functions that seal or open credentials require it.
	KeyID string
	// OrgsClaim names the JWT claim listing the caller's organisations
	// (ORGS_CLAIM, default "orgs").
	OrgsClaim string
	// PublicURL is Gatehouse's public API base URL (PUBLIC_API_URL),
	// where Telegram delivers updates.
	PublicURL string
	// TelegramBaseURL is the Bot API's address (TELEGRAM_API_BASE_URL);
	// empty means https://api.telegram.org.
	TelegramBaseURL string
	// AllowPrivateNetworks lets user-supplied URLs reach loopback and
	// private addresses (GATEHOUSE_ALLOW_PRIVATE_NETWORKS).
	AllowPrivateNetworks bool
	// OutboundPorts are the ports user-supplied URLs may use
	// (OUTBOUND_PORTS; nil means ssrf.DefaultPorts: 80, 443, 11434).
	// AllowPrivateNetworks allows every port.
	OutboundPorts []uint16
	// Timeouts bound each request's work (REQUEST_TIMEOUT,
	// AWS_ATTEMPT_TIMEOUT); zero values are the defaults.
	Timeouts Timeouts
	// AuditRetention is how long audit events are kept
	// (AUDIT_RETENTION_DAYS, whole days from MinAuditRetentionDays to
	// MaxAuditRetentionDays); zero is the store's default,
	// gateway.AuditRetention (365 days). Every function that writes a
	// gateway writes audit events, so every function reads it.
	AuditRetention time.Duration
}

// Bounds of AUDIT_RETENTION_DAYS. Under a week a trail would vanish before
// anyone looked into an incident; beyond ten years it is an archive,
// which belongs in a store made for one (a table export), not in the TTL.
const (
	MinAuditRetentionDays = 7
	MaxAuditRetentionDays = 3650
)

// ReadConfig reads Config from env. Nothing is required here: each
// function requires what it uses (Function.Require). Malformed values are
// recorded in env.
func ReadConfig(env *config.Env) Config {
	return Config{
		Table:                env.String("TABLE_NAME", ""),
		KeyID:                env.String("KMS_KEY_ID", ""),
		OrgsClaim:            env.String("ORGS_CLAIM", "orgs"),
		PublicURL:            env.String("PUBLIC_API_URL", ""),
		TelegramBaseURL:      env.String("TELEGRAM_API_BASE_URL", ""),
		AllowPrivateNetworks: env.Bool("GATEHOUSE_ALLOW_PRIVATE_NETWORKS", false),
		OutboundPorts:        env.Ports("OUTBOUND_PORTS", nil),
		Timeouts:             readTimeouts(env),
		AuditRetention:       env.Days("AUDIT_RETENTION_DAYS", 0, MinAuditRetentionDays, MaxAuditRetentionDays),
	}
}

// Function is one function being assembled: its name, configuration and
// logger, and the AWS configuration once package awsclients loaded it.
// Assemble it in main (FromOS) or in the local runner and tests (New),
// hand it to the assembly packages, then Start it.
type Function struct {
	// Name is the function's folder under functions/, for log lines.
	Name string
	// Config is the shared configuration.
	Config Config
	// Env is where Config was read (nil when it was built directly); an
	// assembly package reads its own settings from it.
	Env *config.Env
	// Log is the function's structured logger.
	Log *slog.Logger

	// AWS is the AWS configuration, every attempt bounded by
	// Config.Timeouts: given to New, or loaded by package awsclients on
	// first use.
	AWS  *aws.Config
	errs []error
}

// FromOS starts assembling function name in Lambda: its configuration from
// the process environment, the JSON logger, and the Go runtime's memory
// limit fitted to the function's memory (MemoryLimit).
func FromOS(name string) *Function {
	env := config.FromOS()
	applyMemoryLimit(env)
	return &Function{Name: name, Config: ReadConfig(env), Env: env, Log: Logger()}
}

// New starts assembling function name from a configuration built
// directly, an AWS configuration (whose attempts cfg.Timeouts bounds) and a
// logger (slog.Default() when nil): the local runner's and the tests' way.
func New(name string, cfg Config, awsCfg aws.Config, log *slog.Logger) *Function {
	if log == nil {
		log = slog.Default()
	}
	awsCfg = cfg.Timeouts.BoundAWS(awsCfg)
	return &Function{Name: name, Config: cfg, Log: log, AWS: &awsCfg}
}

// Logger is the structured JSON logger every function writes to stdout.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Fail records a problem of the assembly for Err.
func (f *Function) Fail(err error) {
	if err != nil {
		f.errs = append(f.errs, err)
	}
}

// Table returns the table, TABLE_NAME, which the calling assembly
// requires.
func (f *Function) Table() string {
	f.Require("TABLE_NAME", f.Config.Table)
	return f.Config.Table
}

// Require records that the setting name, whose value is value, must be
// set for this function.
func (f *Function) Require(name, value string) {
	if value == "" {
		f.errs = append(f.errs, fmt.Errorf("%s is not set", name))
	}
}

// Err returns every problem found while assembling: malformed settings,
// missing required ones, an AWS configuration that did not load.
func (f *Function) Err() error {
	errs := append([]error(nil), f.errs...)
	if f.Env != nil {
		errs = append(errs, f.Env.Err())
	}
	return errors.Join(errs...)
}

// Start is the end of a function's main: with every problem of the
// assembly logged, it exits before Lambda sends any event; otherwise it
// serves handler (any signature lambda.Start accepts).
func (f *Function) Start(handler any) {
	if err := f.Err(); err != nil {
		f.Log.Error("bootstrap failed", "function", f.Name, "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
