// Command message-sender is MessageSenderFunction in template.yaml: it
// sends bots' message jobs paced to Telegram's limits. The table's stream
// (a job queued, a sender handing over) and a schedule start it for each
// bot with work, as one asynchronous invocation per bot.
package main

import (
	"context"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/pacedsend"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/sender"
)

func main() {
	fn := bootstrap.FromOS(sender.FnSender)
	cfg := pacedsend.ReadConfig(fn.Env)
	e := pacedsend.Engine(fn, cfg)
	fn.Start(sender.Handler(e, sender.NewDispatcher(context.Background(), fn, cfg, e)))
}
