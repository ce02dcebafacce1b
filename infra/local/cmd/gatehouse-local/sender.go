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
	"time"

	"github.com/aws/aws-lambda-go/events"

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
	r.every(ctx, root, senderFunctionCodeURI, "sender", r.sendSweep, "SEND_SWEEP_INTERVAL",
		"a sender that stops waits for the next job", log, func(ctx context.Context, _ time.Time) error {
			_, err := handle(ctx, []byte(`{"source":"aws.events"}`))
			return err
		})
	r.readStream(ctx, "sender-stream.json", func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return events.DynamoDBEventResponse{}, dispatch.Dispatch(ctx, sender.StreamBots(ev))
	}, "sender", "jobs wait for the schedule", log)
}
