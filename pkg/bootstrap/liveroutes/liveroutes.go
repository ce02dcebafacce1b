// Package liveroutes assembles the routes that seal or open credentials and
// call providers — create-gateway, update-gateway, update-gateway-status,
// delete-gateway, test-gateway and gateway-action: KMS envelope encryption,
// the provider registry, the lifecycle around provider calls and the abuse
// limits counted in DynamoDB.
package liveroutes

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/storeroutes"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
)

// MaxPerMinute bounds a configured limit; more is a typo, not a policy.
const MaxPerMinute = 1_000_000

// ReadLimits reads the abuse limits: RATE_LIMIT_TEST_PER_MINUTE,
// RATE_LIMIT_ACTIONS_PER_MINUTE, RATE_LIMIT_VALIDATIONS_PER_MINUTE and
// RATE_LIMIT_STATUS_PER_MINUTE, each an integer from 0 (no limit) to MaxPerMinute; unset is
// httpapi.DefaultLimits. A bad value is recorded in env, never a silent
// default: a limit the operator believes is on but is not is the failure
// these settings exist to prevent.
func ReadLimits(env *config.Env) httpapi.Limits {
	d := httpapi.DefaultLimits
	return httpapi.Limits{
		TestsPerMinute:         env.Limit("RATE_LIMIT_TEST_PER_MINUTE", d.TestsPerMinute, MaxPerMinute),
		ActionsPerMinute:       env.Limit("RATE_LIMIT_ACTIONS_PER_MINUTE", d.ActionsPerMinute, MaxPerMinute),
		ValidationsPerMinute:   env.Limit("RATE_LIMIT_VALIDATIONS_PER_MINUTE", d.ValidationsPerMinute, MaxPerMinute),
		StatusChangesPerMinute: env.Limit("RATE_LIMIT_STATUS_PER_MINUTE", d.StatusChangesPerMinute, MaxPerMinute),
	}
}

// DefaultGatewayQuota is how many gateways one owner may have when
// GATEWAY_QUOTA_PER_OWNER is unset. Each gateway is health-checked on
// every sweep and may hold a webhook and routes: a hundred is far more
// than a team configures by hand, and few enough that one tenant cannot
// fill a health worker's segment (a sweep checks 32 at a time per worker)
// or the table with gateways made by a script.
const DefaultGatewayQuota = 100

// ReadGatewayQuota reads the per-owner gateway quota: GATEWAY_QUOTA_PER_OWNER,
// an integer from 0 (no quota) to MaxPerMinute; unset is
// DefaultGatewayQuota. Only create-gateway enforces it.
func ReadGatewayQuota(env *config.Env) int {
	return env.Limit("GATEWAY_QUOTA_PER_OWNER", DefaultGatewayQuota, MaxPerMinute)
}

// MaxFileLinkTTL bounds FILE_LINK_TTL: a link is a credential, so it must
// not outlive a working day.
const MaxFileLinkTTL = 24 * time.Hour

// ReadFileLinkTTL reads how long a getFile link works: FILE_LINK_TTL, a
// duration from 1m to MaxFileLinkTTL; unset is filelink.DefaultTTL (1h).
func ReadFileLinkTTL(env *config.Env) time.Duration {
	return env.Duration("FILE_LINK_TTL", filelink.DefaultTTL, time.Minute, MaxFileLinkTTL)
}

// Option configures API.
type Option func(*options)

type options struct {
	fileLinkTTL  time.Duration
	paced        httpapi.PacedSender
	gatewayQuota int
}

// WithGatewayQuota makes creates refuse an owner's gateway beyond n
// (create-gateway passes ReadGatewayQuota); without it, or with 0, there
// is no quota.
func WithGatewayQuota(n int) Option { return func(o *options) { o.gatewayQuota = n } }

// WithPacedSend makes the action route's paced calls go through p, paced
// with the bot's message jobs (gateway-action passes pacedsend.Direct).
func WithPacedSend(p httpapi.PacedSender) Option { return func(o *options) { o.paced = p } }

// WithFileLinkTTL sets how long the links getFile answers work (zero is
// filelink.DefaultTTL).
func WithFileLinkTTL(d time.Duration) Option { return func(o *options) { o.fileLinkTTL = d } }

// API returns the API whose provider routes fn serves, with the abuse
// limits of policy. It requires KMS_KEY_ID. It does no I/O.
func API(fn *bootstrap.Function, policy httpapi.Limits, opts ...Option) *httpapi.API {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ddb := dynamodb.NewFromConfig(awsclients.Config(fn))
	hopts := append(storeroutes.Options(fn), httpapi.WithLimiter(dynamo.NewRateLimiter(ddb, fn.Table()), policy))
	if o.paced != nil {
		hopts = append(hopts, httpapi.WithPacedSend(o.paced))
	}
	return httpapi.New(newLifecycle(fn, ddb, o), hopts...)
}

// newLifecycle returns the gateway service over the table (through ddb)
// and KMS, and the provider lifecycle around it, which mints getFile's
// links in the table. It requires KMS_KEY_ID.
func newLifecycle(fn *bootstrap.Function, ddb *dynamodb.Client, o options) *lifecycle.Service {
	cfg := fn.Config
	fn.Require("KMS_KEY_ID", cfg.KeyID)
	sealer := envelope.New(kms.NewFromConfig(awsclients.Config(fn)), cfg.KeyID)
	svc := gateway.NewService(dynamo.New(ddb, fn.Table(), dynamo.WithAuditRetention(fn.Config.AuditRetention),
		dynamo.WithGatewayQuota(o.gatewayQuota)), sealer)
	return lifecycle.New(svc, providers.Registry(cfg),
		lifecycle.WithPublicURL(cfg.PublicURL), lifecycle.WithAllowPrivateNetworks(cfg.AllowPrivateNetworks),
		lifecycle.WithOutboundPorts(cfg.OutboundPorts),
		lifecycle.WithFileLinks(filelink.NewMinter(dynamo.NewFileLinks(ddb, fn.Table()), cfg.PublicURL, o.fileLinkTTL)))
}
