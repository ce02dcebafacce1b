// Command health-check is the scheduled health check in template.yaml
// (HealthCheckFunction): EventBridge invokes it on the schedule, and it
// hands each segment of the sweep to functions/health-worker by an
// asynchronous Lambda invoke.
package main

import (
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthsweep"
	"github.com/gatehouse/gatehouse/pkg/health"
)

func main() {
	fn := bootstrap.FromOS(healthsweep.FnHealthCheck)
	coord := healthsweep.Coordinator(fn, healthsweep.ReadConfig(fn.Env))
	fn.Start(health.NewHandler(coord, nil, fn.Log).Handle)
}
