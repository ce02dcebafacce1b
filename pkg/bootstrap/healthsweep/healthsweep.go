// Package healthsweep assembles the scheduled health-check function
// (functions/health-check, HealthCheckFunction): EventBridge invokes it on
// the schedule, and it hands each segment of the sweep to the worker
// function (HEALTH_WORKER_FUNCTION) by an asynchronous Lambda invoke. It
// reads no table and opens no credentials, so it links no DynamoDB or KMS
// client and no provider.
package healthsweep

import (
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/health"
	"github.com/gatehouse/gatehouse/pkg/health/healthlambda"
)

// FnHealthCheck names the scheduled function (functions/health-check).
const FnHealthCheck = "health-check"

// Config is what the coordinator reads from its environment.
type Config struct {
	// WorkerFunction is the worker function each segment is handed to
	// (HEALTH_WORKER_FUNCTION, required).
	WorkerFunction string
	// Segments is how many parts a sweep has (HEALTH_SEGMENTS, at most
	// health.MaxSegments, default health.DefaultSegments); the worker must
	// be given the same number.
	Segments int
}

// ReadConfig reads Config.
func ReadConfig(env *config.Env) Config {
	return Config{
		WorkerFunction: env.Required("HEALTH_WORKER_FUNCTION"),
		Segments:       env.Int("HEALTH_SEGMENTS", health.DefaultSegments, 1, health.MaxSegments),
	}
}

// Coordinator returns the coordinator of fn, fanning out to
// cfg.WorkerFunction. It does no I/O.
func Coordinator(fn *bootstrap.Function, cfg Config) *health.Coordinator {
	fn.Require("HEALTH_WORKER_FUNCTION", cfg.WorkerFunction)
	fan := healthlambda.LambdaFanout{Client: lambda.NewFromConfig(awsclients.Config(fn)), Function: cfg.WorkerFunction}
	return health.NewCoordinator(fan, cfg.Segments)
}
