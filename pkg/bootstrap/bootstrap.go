// Package bootstrap assembles Gatehouse from its environment, the same way in
// every Lambda bootstrap and in the local runner: AWS clients (which reach
// emulators, LocalStack or AWS through the standard AWS_ENDPOINT_URL_<SERVICE>
// variables), the DynamoDB store, KMS envelope encryption, the gateway service
// and the HTTP handlers.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// Config is what a function reads from its environment.
type Config struct {
	Table     string // TABLE_NAME
	KeyID     string // KMS_KEY_ID: key id, ARN or alias
	OrgsClaim string // ORGS_CLAIM, default "orgs"
	// PublicURL is Gatehouse's public API base URL (PUBLIC_API_URL), where
	// Telegram delivers updates.
	PublicURL string
	// TelegramBaseURL is the Bot API's address (TELEGRAM_API_BASE_URL);
	// empty means https://api.telegram.org.
	TelegramBaseURL string
	// AllowPrivateNetworks lets user-supplied URLs reach loopback and
	// private addresses (GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true).
	AllowPrivateNetworks bool
	// Limits are the per-user abuse limits (RATE_LIMIT_TEST_PER_MINUTE,
	// RATE_LIMIT_ACTIONS_PER_MINUTE, RATE_LIMIT_VALIDATIONS_PER_MINUTE;
	// unset means httpapi.DefaultLimits, 0 switches one off).
	Limits httpapi.Limits
	// Timeouts bound each request's work (REQUEST_TIMEOUT,
	// AWS_ATTEMPT_TIMEOUT); zero values are the defaults.
	Timeouts Timeouts
}

// ConfigFromEnv reads Config; TABLE_NAME and KMS_KEY_ID are required.
func ConfigFromEnv() (Config, error) {
	c := Config{
		Table:                os.Getenv("TABLE_NAME"),
		KeyID:                os.Getenv("KMS_KEY_ID"),
		OrgsClaim:            os.Getenv("ORGS_CLAIM"),
		PublicURL:            os.Getenv("PUBLIC_API_URL"),
		TelegramBaseURL:      os.Getenv("TELEGRAM_API_BASE_URL"),
		AllowPrivateNetworks: os.Getenv("GATEHOUSE_ALLOW_PRIVATE_NETWORKS") == "true",
	}
	if c.OrgsClaim == "" {
		c.OrgsClaim = "orgs"
	}
	var missing []error
	if c.Table == "" {
		missing = append(missing, errors.New("TABLE_NAME is not set"))
	}
	if c.KeyID == "" {
		missing = append(missing, errors.New("KMS_KEY_ID is not set"))
	}
	c.Limits = httpapi.DefaultLimits
	for _, l := range []struct {
		name string
		dst  *int
	}{
		{"RATE_LIMIT_TEST_PER_MINUTE", &c.Limits.TestsPerMinute},
		{"RATE_LIMIT_ACTIONS_PER_MINUTE", &c.Limits.ActionsPerMinute},
		{"RATE_LIMIT_VALIDATIONS_PER_MINUTE", &c.Limits.ValidationsPerMinute},
	} {
		if err := perMinute(l.name, l.dst); err != nil {
			missing = append(missing, err)
		}
	}
	var err error
	c.Timeouts, err = TimeoutsFromEnv()
	return c, errors.Join(append(missing, err)...)
}

// maxPerMinute bounds a configured limit; more is a typo, not a policy.
const maxPerMinute = 1_000_000

// perMinute reads the limit named name into dst when it is set: an integer
// from 0 (no limit) to maxPerMinute. A bad value is an error rather than a
// silent default, because a limit the operator believes is on but is not
// is the failure this setting exists to prevent.
func perMinute(name string, dst *int) error {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > maxPerMinute {
		return fmt.Errorf("%s must be an integer from 0 (no limit) to %d, not %q", name, maxPerMinute, v)
	}
	*dst = n
	return nil
}

// Deps are the assembled parts.
type Deps struct {
	Config    Config
	AWS       aws.Config
	Dynamo    *dynamodb.Client
	KMS       *kms.Client
	Store     *dynamo.Store
	Service   *gateway.Service
	Registry  *provider.Registry
	Lifecycle *lifecycle.Service
	API       *httpapi.API
	Log       *slog.Logger
}

// New builds every part from cfg and awsCfg. It does no network I/O.
func New(cfg Config, awsCfg aws.Config, log *slog.Logger) *Deps {
	awsCfg = cfg.Timeouts.aws(awsCfg)
	d := &Deps{Config: cfg, AWS: awsCfg, Log: log}
	d.Dynamo = dynamodb.NewFromConfig(awsCfg)
	d.KMS = kms.NewFromConfig(awsCfg)
	d.Store = dynamo.New(d.Dynamo, cfg.Table)
	d.Service = gateway.NewService(d.Store, envelope.New(d.KMS, cfg.KeyID))
	d.Registry = Registry(cfg)
	d.Lifecycle = lifecycle.New(d.Service, d.Registry,
		lifecycle.WithPublicURL(cfg.PublicURL), lifecycle.WithAllowPrivateNetworks(cfg.AllowPrivateNetworks))
	d.API = httpapi.New(d.Lifecycle, httpapi.WithLogger(log), httpapi.WithOrgsClaim(cfg.OrgsClaim),
		httpapi.WithHealthSamples(dynamo.NewHealth(d.Dynamo, cfg.Table)),
		httpapi.WithLimiter(dynamo.NewRateLimiter(d.Dynamo, cfg.Table), cfg.Limits),
		httpapi.WithRequestTimeout(cfg.Timeouts.request()))
	return d
}

// Registry builds the provider registry: Telegram bots, AI providers and
// outgoing webhooks. User-supplied URLs (AI base URLs, webhook URLs) dial
// through one SSRF guard; the Bot API address is operator configuration.
func Registry(cfg Config) *provider.Registry {
	guard := ssrf.Guard{AllowPrivate: cfg.AllowPrivateNetworks}
	r := provider.NewRegistry()
	for _, p := range []provider.Provider{
		telegram.New(telegram.Options{BaseURL: cfg.TelegramBaseURL}),
		ai.New(ai.Options{Guard: guard}),
		webhook.New(webhook.Options{Guard: guard}),
	} {
		if err := r.Register(p, false); err != nil {
			panic(err) // three distinct types: cannot happen
		}
	}
	return r
}

// Handlers returns every function's handler by function name: the routes of
// pkg/httpapi and the other functions template.yaml declares.
func (d *Deps) Handlers() map[string]httpapi.Handler {
	h := d.API.Handlers()
	d.addTelegramWebhook(h)
	return h
}

// FromEnv builds Deps from the process environment.
func FromEnv(ctx context.Context) (*Deps, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: AWS configuration: %w", err)
	}
	return New(cfg, awsCfg, Logger()), nil
}

// Logger is the structured JSON logger every function writes to stdout.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Start is a Lambda function's whole main: assemble from the environment and
// serve the named route's handler. It exits with a log line when the
// environment is incomplete, before Lambda sends any event.
func Start(function string) {
	d, err := FromEnv(context.Background())
	if err != nil {
		slog.Error("bootstrap failed", "function", function, "error", err)
		os.Exit(1)
	}
	h, ok := d.Handlers()[function]
	if !ok {
		slog.Error("bootstrap: unknown function", "function", function)
		os.Exit(1)
	}
	lambda.Start(h)
}

// startWith is the whole main of a function with a configuration of its
// own (health check, Telegram webhook, key rotation): read it with
// fromEnv, load the AWS configuration and serve the handler that handler
// builds of them. It exits with a log line when either fails, before
// Lambda sends any event.
func startWith[C any](function string, fromEnv func() (C, error), handler func(C, aws.Config, *slog.Logger) any) {
	log := Logger()
	cfg, err := fromEnv()
	if err != nil {
		log.Error("bootstrap failed", "function", function, "error", err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("bootstrap failed", "function", function, "error", fmt.Errorf("AWS configuration: %w", err))
		os.Exit(1)
	}
	lambda.Start(handler(cfg, awsCfg, log))
}
