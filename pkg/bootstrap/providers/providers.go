// Package providers assembles the provider registry: Telegram bots, AI
// providers and outgoing webhooks, for every function that validates,
// connects, tests or acts through a gateway's provider.
package providers

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/ai"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// Registry builds the registry from cfg. User-supplied URLs (AI base URLs,
// webhook URLs) dial through one SSRF guard, and Telegram's photo and
// document URLs pass its create-time address check with the same
// GATEHOUSE_ALLOW_PRIVATE_NETWORKS (not its ports: Telegram fetches them,
// not Gatehouse); the Bot API address is operator configuration, so no
// guard applies to it. It does no I/O.
func Registry(cfg bootstrap.Config) *provider.Registry {
	guard := Guard(cfg)
	r := provider.NewRegistry()
	for _, p := range []provider.Provider{
		telegram.New(telegram.Options{BaseURL: cfg.TelegramBaseURL, AllowPrivate: cfg.AllowPrivateNetworks}),
		ai.New(ai.Options{Guard: guard}),
		webhook.New(webhook.Options{Guard: guard}),
	} {
		if err := r.Register(p, false); err != nil {
			panic(err) // three distinct types: cannot happen
		}
	}
	return r
}

// Guard is the SSRF guard of user-supplied URLs, from
// GATEHOUSE_ALLOW_PRIVATE_NETWORKS and OUTBOUND_PORTS.
func Guard(cfg bootstrap.Config) ssrf.Guard {
	return ssrf.Guard{AllowPrivate: cfg.AllowPrivateNetworks, Ports: cfg.OutboundPorts}
}
