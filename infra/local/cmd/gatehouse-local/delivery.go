package main

// Delivery locally: `serve` plays the two event sources template.yaml
// gives DeliveryFunction. The stream's event source mapping is
// infra/local/stream reading DynamoDB Local's real stream of the table
// (with a checkpoint in the state folder, so a restart continues where it
// stopped), and the retry schedule fires a sweep on the template's
// DeliveryRetrySchedule, or every DELIVERY_SWEEP_INTERVAL when set. Events
// of EVENTBRIDGE routes are logged in place of the bus.

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/local/stream"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/deliverer"
	"github.com/gatehouse/gatehouse/pkg/delivery"
)

// deliveryFunctionCodeURI identifies the delivery function in the template.
const deliveryFunctionCodeURI = "functions/delivery/"

// runDelivery runs the delivery function's event sources until ctx ends.
// Problems are logged: the API keeps serving without deliveries.
func (r *runner) runDelivery(ctx context.Context, fn *bootstrap.Function, root string, log *slog.Logger) {
	engine := deliverer.Engine(fn, r.settings.Delivery)
	if err := fn.Err(); err != nil {
		log.Error("delivery: not started", "error", err)
		return
	}
	every, expr := r.sweepInterval, "DELIVERY_SWEEP_INTERVAL"
	if every == 0 {
		var err error
		if every, expr, err = schedule(filepath.Join(root, "template.yaml"), deliveryFunctionCodeURI); err != nil {
			log.Error("delivery: no retry schedule; retries wait for the next update of their chat", "error", err)
		}
	}
	if every > 0 {
		go runSweeps(ctx, engine, every, log)
		log.Info("delivery: retries scheduled", "schedule", expr, "every", every.String())
	}
	ddb, streams := stream.Clients(r.awsConfig())
	handler := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return deliverer.HandleStream(ctx, engine, ev), nil
	}
	err := stream.Run(ctx, ddb, streams, r.cfg.Table, handler, stream.Options{
		Checkpoint:   filepath.Join(r.dir, "delivery-stream.json"),
		Region:       emulator.Region,
		Log:          log,
		PollInterval: r.streamPoll,
	})
	if err != nil && ctx.Err() == nil {
		log.Error("delivery: the table's stream is not read; routes deliver nothing", "error", err)
	}
}

// runSweeps sweeps the due retries every interval until ctx ends.
func runSweeps(ctx context.Context, e *delivery.Engine, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
				log.Error("delivery: sweep failed", "error", err)
			}
		}
	}
}
