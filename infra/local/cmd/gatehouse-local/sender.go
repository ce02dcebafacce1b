package main

// The message sender locally: `serve` plays the two event sources
// template.yaml gives MessageSenderFunction. Its stream mapping is
// infra/local/stream reading DynamoDB Local's real stream of the table
// with a checkpoint of its own, and its schedule fires on the template's
// MessageSenderSchedule, or every SEND_SWEEP_INTERVAL when set. Both
// start bots' senders in this process (sender.InProcess) where AWS would
// invoke the function once per bot.

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/local/stream"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/pacedsend"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/sender"
)

// senderFunctionCodeURI identifies the sender in the template.
const senderFunctionCodeURI = "functions/message-sender/"

// runSender runs the sender's event sources until ctx ends. Problems are
// logged: the API keeps serving, and jobs wait.
func (r *runner) runSender(ctx context.Context, fn *bootstrap.Function, root string, log *slog.Logger) {
	cfg := r.settings.Sender
	cfg.Function = "" // in-process senders
	engine := pacedsend.Engine(fn, cfg)
	if err := fn.Err(); err != nil {
		log.Error("sender: not started", "error", err)
		return
	}
	dispatch := sender.NewDispatcher(ctx, fn, cfg, engine)
	handle := sender.Handler(engine, dispatch)
	every, expr := r.sendSweep, "SEND_SWEEP_INTERVAL"
	if every == 0 {
		var err error
		if every, expr, err = schedule(filepath.Join(root, "template.yaml"), senderFunctionCodeURI); err != nil {
			log.Error("sender: no schedule; a sender that stops waits for the next job", "error", err)
		}
	}
	if every > 0 {
		go func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if _, err := handle(ctx, []byte(`{"source":"aws.events"}`)); err != nil && ctx.Err() == nil {
						log.Error("sender: sweep failed", "error", err)
					}
				}
			}
		}()
		log.Info("sender: sweeps scheduled", "schedule", expr, "every", every.String())
	}
	ddb, streams := stream.Clients(r.awsConfig())
	onBatch := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return events.DynamoDBEventResponse{}, dispatch.Dispatch(ctx, sender.StreamBots(ev))
	}
	err := stream.Run(ctx, ddb, streams, r.cfg.Table, onBatch, stream.Options{
		Checkpoint:   filepath.Join(r.dir, "sender-stream.json"),
		Region:       emulator.Region,
		Log:          log,
		PollInterval: r.streamPoll,
	})
	if err != nil && ctx.Err() == nil {
		log.Error("sender: the table's stream is not read; jobs wait for the schedule", "error", err)
	}
}
