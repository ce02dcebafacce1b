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
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/healthcheck"
	"github.com/gatehouse/gatehouse/pkg/health"
)

// localSegments is the default split of a local sweep: a laptop's table is
// small, and each segment costs a few requests and a log line.
const localSegments = 4

// healthFunctionCodeURI identifies the scheduled function in the template.
const healthFunctionCodeURI = "functions/health-check/"

// runHealthSchedule fires a sweep on the template's schedule until ctx
// ends, as segment leases would pace it in AWS. Problems are logged: the
// API keeps serving without health checks.
func (r *runner) runHealthSchedule(ctx context.Context, fn *bootstrap.Function, cfg healthcheck.Config, root string, log *slog.Logger) {
	coord := healthcheck.InProcess(healthcheck.Worker(fn, cfg))
	r.every(ctx, root, healthFunctionCodeURI, "health", 0, "", "sweeps are off (run `make health` by hand)", log, func(ctx context.Context, at time.Time) error {
		_, err := coord.Sweep(ctx, at)
		return err
	})
}

// healthCmd is `gatehouse-local health` (make health): one sweep now, on
// the state of a running `make run` (or of the emulators' data left by
// one), through the same ports.
func healthCmd(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("health: unexpected arguments %v", args)
	}
	base, err := adoptRecord()
	if err != nil {
		return err
	}
	r, err := readRunner(base)
	if err != nil {
		return err
	}
	// Opening credentials needs no key id (the blob names its key); the
	// configuration just must not be empty.
	if r.cfg.KeyID == "" {
		r.cfg.KeyID = r.keyAlias
	}
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	fn := bootstrap.New(healthcheck.FnHealthWorker, r.cfg, r.awsConfig(), log)
	w := healthcheck.Worker(fn, r.settings.Health)
	if err := fn.Err(); err != nil {
		return err
	}
	ddbPort := r.ddbPort
	rep, err := health.InProcess{Worker: w}.Run(ctx, health.Tasks(health.SweepID(time.Now()), w.Config().Segments))
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	if err != nil {
		return fmt.Errorf("sweep: %w (is `make run` running, with DynamoDB Local on 127.0.0.1:%d?)", err, ddbPort)
	}
	return nil
}

// schedule returns the interval of the Schedule event of the function
// whose CodeUri is codeURI, reading a !Ref to a parameter as that
// parameter's Default. Locally only rate() expressions run; cron() would
// need a calendar the runner does not have.
func schedule(path, codeURI string) (time.Duration, string, error) {
	tpl, err := template.Load(path)
	if err != nil {
		return 0, "", err
	}
	fns := tpl.CFN.GetAllServerlessFunctionResources()
	for _, id := range slices.Sorted(maps.Keys(fns)) {
		f := fns[id]
		if f.CodeUri == nil || template.Plain(f.CodeUri.String) != codeURI {
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
	return 0, "", fmt.Errorf("no function with CodeUri %s and a Schedule event", codeURI)
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
