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
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/deliverer"
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
	r.every(ctx, root, deliveryFunctionCodeURI, "delivery", r.sweepInterval, "DELIVERY_SWEEP_INTERVAL",
		"retries wait for the next update of their chat", log, func(ctx context.Context, _ time.Time) error {
			_, err := engine.Sweep(ctx)
			return err
		})
	r.readStream(ctx, "delivery-stream.json", func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return deliverer.HandleStream(ctx, engine, ev), nil
	}, "delivery", "routes deliver nothing", log)
}
