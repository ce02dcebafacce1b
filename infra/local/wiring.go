package local

import (
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/deliverer"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/fileserver"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthcheck"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/liveroutes"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/messagesapi"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/pacedsend"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/providers"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/receiver"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/rotation"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/storeroutes"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/rekey"
	"github.com/gatehouse/gatehouse/pkg/telegramhook"
)

// Settings are every function's settings beyond bootstrap.Config: what
// the Lambda functions each read for themselves, the local runner reads
// together (ReadSettings) or a test builds directly.
type Settings struct {
	// Limits are the abuse limits; the zero value switches them off.
	Limits httpapi.Limits
	// UpdateTTL is how long received updates are kept; zero is the default.
	UpdateTTL time.Duration
	// SourceRanges are the only networks the webhook accepts updates
	// from; none accepts every address.
	SourceRanges []netip.Prefix
	// Health tunes the health check.
	Health healthcheck.Config
	// Rotation tunes key rotation.
	Rotation rekey.Config
	// Delivery tunes the delivery engine.
	Delivery deliverer.Config
	// Sender tunes the message sender; its Function is empty locally, so
	// bots' senders run in the runner's process.
	Sender pacedsend.Config
	// FileLinkTTL is how long getFile's links work; zero is the default.
	FileLinkTTL time.Duration
	// GatewayQuota is how many gateways one owner may have; 0 is none.
	GatewayQuota int
}

// ReadSettings reads Settings from env as the functions do.
func ReadSettings(env *config.Env) Settings {
	return Settings{
		Limits:    liveroutes.ReadLimits(env),
		UpdateTTL: receiver.ReadUpdateTTL(env),
		// The runner reports the TCP peer as sourceIp, as API Gateway does.
		SourceRanges: receiver.ReadSourceRanges(env),
		Health:       healthcheck.ReadConfig(env),
		Rotation:     rotation.ReadConfig(env),
		Delivery:     deliverer.ReadConfig(env),
		Sender:       pacedsend.ReadConfig(env),

		FileLinkTTL:  liveroutes.ReadFileLinkTTL(env),
		GatewayQuota: liveroutes.ReadGatewayQuota(env),
	}
}

// Handlers returns the handler of every function behind a route, by
// function name, each assembled over fn exactly as its functions/<name>
// main assembles it. It does no I/O; problems of the assembly (a missing
// KMS_KEY_ID, say) are in fn.Err.
func Handlers(fn *bootstrap.Function, s Settings) map[string]httpapi.Handler {
	read := storeroutes.API(fn)
	live := liveroutes.API(fn, s.Limits, liveroutes.WithFileLinkTTL(s.FileLinkTTL),
		liveroutes.WithPacedSend(pacedsend.Direct(fn, s.Sender)), liveroutes.WithGatewayQuota(s.GatewayQuota))
	described := httpapi.New(lifecycle.New(nil, providers.Registry(fn.Config)), storeroutes.Options(fn)...)
	return map[string]httpapi.Handler{
		httpapi.FnListGateways:         read.ListGateways,
		httpapi.FnGetGateway:           read.GetGateway,
		httpapi.FnGatewayAudit:         read.GatewayAudit,
		httpapi.FnHealthHistory:        read.HealthHistory,
		httpapi.FnListUpdates:          read.ListUpdates,
		httpapi.FnRoutes:               read.Routes,
		httpapi.FnCreateGateway:        live.CreateGateway,
		httpapi.FnUpdateGateway:        live.UpdateGateway,
		httpapi.FnUpdateStatus:         live.UpdateStatus,
		httpapi.FnDeleteGateway:        live.DeleteGateway,
		httpapi.FnTestGateway:          live.TestGateway,
		httpapi.FnGatewayAction:        live.GatewayAction,
		httpapi.FnProviders:            described.Providers,
		telegramhook.FnTelegramWebhook: receiver.Handler(fn, s.UpdateTTL, telegramhook.WithSourceRanges(s.SourceRanges)).Handle,
		download.FnFiles:               fileserver.Handler(fn).Handle,
		httpapi.FnMessages:             messagesapi.API(fn).Messages,
	}
}
