// Command health-check is the scheduled health check in template.yaml,
// deployed twice from this folder: HealthCheckFunction, which EventBridge
// invokes on the schedule and which fans the sweep out, and
// HealthWorkerFunction, which checks the segments it is handed.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthcheck"
)

func main() {
	fn := bootstrap.FromOS(healthcheck.FnHealthCheck)
	hc := healthcheck.New(fn, healthcheck.ReadConfig(fn.Env))
	fn.Start(hc.Handler.Handle)
}
