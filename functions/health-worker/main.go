// Command health-worker is HealthWorkerFunction in template.yaml: it
// checks the gateways of the sweep segments functions/health-check hands
// it, records their health and publishes status changes.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthcheck"
	"github.com/gatehouse/gatehouse/pkg/health"
)

func main() {
	fn := bootstrap.FromOS(healthcheck.FnHealthWorker)
	w := healthcheck.Worker(fn, healthcheck.ReadConfig(fn.Env))
	fn.Start(health.NewHandler(nil, w, fn.Log).Handle)
}
