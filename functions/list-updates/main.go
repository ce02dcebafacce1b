// Command list-updates is the Lambda function behind GET
// /api/gateways/{id}/updates: a Telegram bot's received updates, with a
// long poll. It reads the table and nothing else: it links no KMS client
// and no provider.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/storeroutes"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnListUpdates)
	api := storeroutes.API(fn)
	fn.Start(api.ListUpdates)
}
