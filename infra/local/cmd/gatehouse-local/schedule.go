package main

// The health check locally: `serve` fires the sweep on the schedule that
// template.yaml gives HealthCheckFunction, in this process (the coordinator
// runs every segment in goroutines instead of invoking workers), and
// `health` runs one sweep now against the emulators a running `make run`
// serves, and prints its report. Status changes are logged in place of
// EventBridge.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/health"
)

// localSegments is the default split of a local sweep: a laptop's table is
// small, and each segment costs a few requests and a log line.
const localSegments = "4"

// healthFunctionCodeURI identifies the scheduled function in the template.
const healthFunctionCodeURI = "functions/health-check/"

// runHealthSchedule fires a sweep every interval of the template's
// schedule until ctx ends. A sweep still running when the next is due
// delays it (the ticker drops the tick), as segment leases would in AWS.
// Problems are logged: the API keeps serving without health checks.
func runHealthSchedule(ctx context.Context, d *bootstrap.Deps, root string, log *slog.Logger) {
	every, expr, err := healthSchedule(filepath.Join(root, "template.yaml"))
	if err != nil {
		log.Error("health: no schedule; sweeps are off (run `make health` by hand)", "error", err)
		return
	}
	setDefault("HEALTH_SEGMENTS", localSegments)
	cfg, err := bootstrap.HealthConfigFromEnv()
	if err != nil {
		log.Error("health: configuration; sweeps are off", "error", err)
		return
	}
	cfg.WorkerFunction, cfg.EventBus = "", "" // in-process fan-out, events logged
	hc := d.HealthCheck(cfg)
	log.Info("health: sweeps scheduled", "schedule", expr, "every", every.String())
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case at := <-tick.C:
			if _, err := hc.Coordinator.Sweep(ctx, at); err != nil && ctx.Err() == nil {
				log.Error("health: sweep failed", "error", err)
			}
		}
	}
}

// healthCmd is `gatehouse-local health` (make health): one sweep now, on
// the state of a running `make run` (or of the emulators' data left by
// one), through the same ports.
func healthCmd(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("health: unexpected arguments %v", args)
	}
	ddbPort, _ := attachToRunning()
	// Opening credentials needs no key id (the blob names its key); the
	// configuration just must not be empty.
	setDefault("KMS_KEY_ID", os.Getenv("KMS_KEY_ALIAS"))
	setDefault("PUBLIC_API_URL", fmt.Sprintf("http://127.0.0.1:%d", envInt("PORT", 3000)))
	setDefault("GATEHOUSE_ALLOW_PRIVATE_NETWORKS", "true")
	setDefault("HEALTH_SEGMENTS", localSegments)

	cfg, err := bootstrap.HealthConfigFromEnv()
	if err != nil {
		return err
	}
	cfg.WorkerFunction, cfg.EventBus = "", ""
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	hc := bootstrap.New(cfg.Config, awsCfg, log).HealthCheck(cfg)
	segments := hc.Worker.Config().Segments
	rep, err := health.InProcess{Worker: hc.Worker}.Run(ctx, health.Tasks(health.SweepID(time.Now()), segments))
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	if err != nil {
		return fmt.Errorf("sweep: %w (is `make run` running, with DynamoDB Local on 127.0.0.1:%d?)", err, ddbPort)
	}
	return nil
}

// healthSchedule returns the interval of the Schedule event of the
// function whose CodeUri is functions/health-check/, reading a !Ref to a
// parameter as that parameter's Default. Locally only rate() expressions
// run; cron() would need a calendar the runner does not have.
func healthSchedule(path string) (time.Duration, string, error) {
	tpl, err := template.Load(path)
	if err != nil {
		return 0, "", err
	}
	fns := tpl.CFN.GetAllServerlessFunctionResources()
	for _, id := range slices.Sorted(maps.Keys(fns)) {
		f := fns[id]
		if f.CodeUri == nil || template.Plain(f.CodeUri.String) != healthFunctionCodeURI {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(f.Events)) {
			ev := f.Events[name]
			if ev.Type != "Schedule" {
				continue
			}
			if ev.Properties == nil || ev.Properties.ScheduleEvent == nil || ev.Properties.ScheduleEvent.Schedule == "" {
				return 0, "", errors.New("the Schedule event has no Schedule")
			}
			expr := ev.Properties.ScheduleEvent.Schedule
			if param, ok := template.Ref(expr); ok {
				if expr, ok = tpl.ParameterDefault(param); !ok {
					return 0, "", fmt.Errorf("parameter %s has no Default", param)
				}
			}
			d, err := parseRate(expr)
			return d, expr, err
		}
	}
	return 0, "", fmt.Errorf("no function with CodeUri %s and a Schedule event", healthFunctionCodeURI)
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// parseRate reads an EventBridge rate expression, e.g. "rate(5 minutes)".
func parseRate(expr string) (time.Duration, error) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("schedule %q: only rate(N minutes|hours|days) runs locally", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q: the rate must be a positive number", expr)
	}
	unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

// attachToRunning points the SDK at the emulators of a running `make run`
// (or at the data one left), through the same ports and names, for the
// commands that work on its state: health and rotate-credentials. It
// returns the ports, for error messages.
func attachToRunning() (ddbPort, kmsPort int) {
	ddbPort = envInt("GATEHOUSE_DYNAMODB_PORT", 8000)
	kmsPort = envInt("GATEHOUSE_KMS_PORT", 8001)
	os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", fmt.Sprintf("http://127.0.0.1:%d", ddbPort))
	os.Setenv("AWS_ENDPOINT_URL_KMS", fmt.Sprintf("http://127.0.0.1:%d", kmsPort))
	setDefault("AWS_REGION", "us-east-1")
	setDefault("AWS_ACCESS_KEY_ID", "local")
	setDefault("AWS_SECRET_ACCESS_KEY", "local")
	setDefault("TABLE_NAME", "gatehouse")
	setDefault("KMS_KEY_ALIAS", "alias/gatehouse")
	return ddbPort, kmsPort
}
