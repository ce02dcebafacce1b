package main

// What the runner's stream-fed functions (delivery, the message sender)
// share: a schedule read from the template unless a variable overrides it,
// fired on a ticker, and the table's stream read with a checkpoint of the
// function's own, as their event source mappings would.

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/local/stream"
)

// every runs fire, with the tick's time, every interval until ctx ends:
// override when set, else the Schedule event of the template's function
// codeURI. A run still going when the next is due delays it (the ticker
// drops the tick). fire's errors are logged under name; without a
// schedule, missing is logged.
func (r *runner) every(ctx context.Context, root, codeURI, name string, override time.Duration, variable, missing string, log *slog.Logger, fire func(context.Context, time.Time) error) {
	every, expr := override, variable
	if every == 0 {
		var err error
		if every, expr, err = schedule(filepath.Join(root, "template.yaml"), codeURI); err != nil {
			log.Error(name+": no schedule; "+missing, "error", err)
			return
		}
	}
	if every <= 0 {
		return
	}
	log.Info(name+": scheduled", "schedule", expr, "every", every.String())
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case at := <-tick.C:
				if err := fire(ctx, at); err != nil && ctx.Err() == nil {
					log.Error(name+": scheduled run failed", "error", err)
				}
			}
		}
	}()
}

// readStream hands the table's stream to handler until ctx ends, keeping
// its place in checkpoint (a file of the state folder). A stream that
// cannot be read is logged with unread.
func (r *runner) readStream(ctx context.Context, checkpoint string, handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), name, unread string, log *slog.Logger) {
	ddb, streams := stream.Clients(r.awsConfig())
	err := stream.Run(ctx, ddb, streams, r.cfg.Table, handler, stream.Options{
		Checkpoint:   filepath.Join(r.dir, checkpoint),
		Region:       emulator.Region,
		Log:          log,
		PollInterval: r.streamPoll,
	})
	if err != nil && ctx.Err() == nil {
		log.Error(name+": the table's stream is not read; "+unread, "error", err)
	}
}
