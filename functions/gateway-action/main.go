// Command gateway-action is the Lambda function behind its route in template.yaml:
// it seals or opens credentials with KMS and calls the gateway's provider.
// A Telegram message, photo, document or edit goes through the bot's paced
// queue (send.Direct).
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/liveroutes"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/pacedsend"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnGatewayAction)
	api := liveroutes.API(fn, liveroutes.ReadLimits(fn.Env), liveroutes.WithFileLinkTTL(liveroutes.ReadFileLinkTTL(fn.Env)),
		liveroutes.WithPacedSend(pacedsend.Direct(fn, pacedsend.ReadConfig(fn.Env))))
	fn.Start(api.GatewayAction)
}
