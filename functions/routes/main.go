// Command routes is the Lambda function behind every
// /api/gateways/{id}/routes path: a Telegram bot's routes (create, list,
// get, replace, pause and resume, delete), their dead letters and
// replays. It writes routes and queues but opens no credentials and calls
// no provider: it links no KMS client and no provider.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/storeroutes"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func main() {
	fn := bootstrap.FromOS(httpapi.FnRoutes)
	api := storeroutes.API(fn)
	fn.Start(api.Routes)
}
