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
// document URLs pass its create-time check with the same
// GATEHOUSE_ALLOW_PRIVATE_NETWORKS; the Bot API address is operator
// configuration. It does no I/O.
func Registry(cfg bootstrap.Config) *provider.Registry {
	guard := ssrf.Guard{AllowPrivate: cfg.AllowPrivateNetworks}
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
