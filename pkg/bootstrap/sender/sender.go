// Package sender assembles message-sender (functions/message-sender), the
// engine of pkg/send, which opens bots' tokens (KMS) and calls the Bot
// API; pkg/bootstrap/messagesapi assembles the API that queues its jobs.
// The handler takes three
// events: the table's stream (a job was queued or a sender handed over),
// which it fans out as one asynchronous invocation per bot; the
// schedule, which does the same for every bot with work (a sender that
// died is replaced within a period); and {"gatewayId":…}, which sends that
// bot's jobs.
package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/pacedsend"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// FnSender names the engine's function (functions/message-sender).
const FnSender = "message-sender"

// Dispatcher starts a sender for each bot.
type Dispatcher interface {
	Dispatch(ctx context.Context, gatewayIDs []string) error
}

// Invoker is the part of *lambda.Client that LambdaDispatcher uses.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaDispatcher invokes Function asynchronously once per bot, so each
// bot's sender runs in an invocation of its own and a long broadcast
// never holds up the stream's other records.
type LambdaDispatcher struct {
	Client   Invoker
	Function string
}

// Dispatch invokes the function for each id. Errors: the failed invokes',
// joined.
func (d LambdaDispatcher) Dispatch(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		payload, _ := json.Marshal(task{GatewayID: id})
		_, err := d.Client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(d.Function), InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload})
		if err != nil {
			errs = append(errs, fmt.Errorf("sender: invoke for %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// InProcess runs each bot's sender in a goroutine of this process (the
// local runner), at most one per bot at a time; the engine's lease keeps
// it one per bot across processes too.
type InProcess struct {
	Engine *send.Engine
	// Context is the runner's: senders outlive the event that started
	// them, as separate invocations would.
	Context context.Context
	Log     interface{ Error(string, ...any) }

	mu      sync.Mutex
	running map[string]bool
}

// Dispatch starts a sender for each id not running here already.
func (d *InProcess) Dispatch(_ context.Context, ids []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running == nil {
		d.running = map[string]bool{}
	}
	for _, id := range ids {
		if d.running[id] {
			continue
		}
		d.running[id] = true
		go func() {
			err := d.Engine.Run(d.Context, id)
			d.mu.Lock()
			delete(d.running, id)
			d.mu.Unlock()
			if err != nil && d.Context.Err() == nil && d.Log != nil {
				d.Log.Error("sender: run failed", "gateway", id, "error", err)
			}
		}()
	}
	return nil
}

// NewDispatcher returns fn's dispatcher: Lambda invokes of cfg.Function, or
// in-process senders when it is unset.
func NewDispatcher(ctx context.Context, fn *bootstrap.Function, cfg pacedsend.Config, e *send.Engine) Dispatcher {
	if cfg.Function == "" {
		return &InProcess{Engine: e, Context: ctx, Log: fn.Log}
	}
	return LambdaDispatcher{Client: lambda.NewFromConfig(awsclients.Config(fn)), Function: cfg.Function}
}

type task struct {
	GatewayID string `json:"gatewayId"`
}

// Handler is the sender function's handler.
func Handler(e *send.Engine, d Dispatcher) func(ctx context.Context, raw json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records   json.RawMessage `json:"Records"`
			GatewayID string          `json:"gatewayId"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("sender: event is not JSON: %w", err)
		}
		switch {
		case probe.GatewayID != "":
			if !gateway.ValidID(probe.GatewayID) {
				return nil, fmt.Errorf("sender: %q is not a gateway id", probe.GatewayID)
			}
			return map[string]string{"gatewayId": probe.GatewayID}, e.Run(ctx, probe.GatewayID)
		case len(probe.Records) > 0:
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("sender: stream event: %w", err)
			}
			ids := StreamBots(ev)
			return map[string]int{"bots": len(ids)}, d.Dispatch(ctx, ids)
		}
		ids, err := e.Pending(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]int{"bots": len(ids)}, d.Dispatch(ctx, ids)
	}
}

// StreamBots returns the bots named by a stream batch's records of SENDQ
// markers that count active jobs, each once: what the template's filter
// passes, checked again so that the local runner, which reads the whole
// stream, starts the same senders.
func StreamBots(ev events.DynamoDBEvent) []string {
	seen := map[string]bool{}
	var ids []string
	for _, r := range ev.Records {
		if r.EventName != string(events.DynamoDBOperationTypeInsert) && r.EventName != string(events.DynamoDBOperationTypeModify) {
			continue
		}
		if a, ok := r.Change.NewImage["active"]; !ok || a.DataType() != events.DataTypeNumber || strings.HasPrefix(a.Number(), "-") || strings.Trim(a.Number(), "0.") == "" {
			continue
		}
		keys, err := dynamo.FromStream(r.Change.Keys)
		if err != nil {
			continue
		}
		if id, ok := dynamo.SendKickGateway(keys); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}
