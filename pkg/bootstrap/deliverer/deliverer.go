// Package deliverer assembles the delivery function (functions/delivery,
// DeliveryFunction): the engine of pkg/delivery over the table, the
// gateway service that opens WEBHOOK targets' signing secrets (KMS), the
// webhook sender and the EventBridge bus. Its handler takes the table's
// DynamoDB Stream batches (the event source mapping) and the retry
// schedule's events.
package deliverer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/awsclients"
	"github.com/gatehouse/gatehouse/pkg/config"
	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/delivery/deliverysend"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/envelope"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// FnDelivery names the function (functions/delivery).
const FnDelivery = "delivery"

// Config is what the delivery function reads beyond bootstrap.Config.
type Config struct {
	Delivery delivery.Config
	// EventBus receives EVENTBRIDGE routes' updates; unset, they are
	// logged (the local runner).
	EventBus string
	// TargetCacheTTL bounds how long a target's opened credentials are
	// reused.
	TargetCacheTTL time.Duration
}

// ReadConfig reads DELIVERY_ATTEMPT_TIMEOUT, DELIVERY_RETRY_BASE,
// DELIVERY_RETRY_CAP, DELIVERY_RETRY_FOR, DELIVERY_ERROR_AFTER,
// DELIVERY_LANES, DELIVERY_TARGET_CACHE_TTL and EVENT_BUS_NAME. Unset
// values are delivery.DefaultConfig's; durations are in Go syntax.
func ReadConfig(env *config.Env) Config {
	def := delivery.DefaultConfig()
	return Config{
		Delivery: delivery.Config{
			AttemptTimeout: env.Duration("DELIVERY_ATTEMPT_TIMEOUT", def.AttemptTimeout, time.Millisecond, time.Minute),
			RetryBase:      env.Duration("DELIVERY_RETRY_BASE", def.RetryBase, time.Millisecond, 0),
			RetryCap:       env.Duration("DELIVERY_RETRY_CAP", def.RetryCap, time.Millisecond, 0),
			RetryFor:       env.Duration("DELIVERY_RETRY_FOR", def.RetryFor, time.Millisecond, 0),
			ErrorAfter:     int64(env.Int("DELIVERY_ERROR_AFTER", int(def.ErrorAfter), 1, 1000)),
			Lanes:          env.Int("DELIVERY_LANES", def.Lanes, 1, 1000),
			Budget:         def.Budget,
		},
		EventBus:       env.String("EVENT_BUS_NAME", ""),
		TargetCacheTTL: env.Duration("DELIVERY_TARGET_CACHE_TTL", time.Minute, 0, 0),
	}
}

// Engine returns the delivery engine of fn. It requires KMS_KEY_ID (the
// webhook targets' signing secrets are sealed). It does no I/O.
func Engine(fn *bootstrap.Function, cfg Config) *delivery.Engine {
	fn.Require("KMS_KEY_ID", fn.Config.KeyID)
	ddb, table := dynamodb.NewFromConfig(awsclients.Config(fn)), fn.Table()
	sealer := envelope.New(kms.NewFromConfig(awsclients.Config(fn)), fn.Config.KeyID)
	store := dynamo.New(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention))
	gws := targetGateways{Store: store, Service: gateway.NewService(store, sealer)}
	var bus delivery.Bus = delivery.LogBus{Log: fn.Log}
	if cfg.EventBus != "" {
		bus = EventBridge{Client: eventbridge.NewFromConfig(awsclients.Config(fn)), Bus: cfg.EventBus}
	}
	wh := webhook.New(webhook.Options{Guard: ssrf.Guard{AllowPrivate: fn.Config.AllowPrivateNetworks, Ports: fn.Config.OutboundPorts}})
	return delivery.New(dynamo.NewRoutes(ddb, table, dynamo.WithAuditRetention(fn.Config.AuditRetention)), deliverysend.New(gws, wh, bus, cfg.TargetCacheTTL), cfg.Delivery, fn.Log)
}

// targetGateways reads a target gateway from the store and opens its
// credentials with the service.
type targetGateways struct {
	*dynamo.Store
	*gateway.Service
}

// PutEventsAPI is the part of *eventbridge.Client that EventBridge uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge puts each message on the bus: source delivery.EventSource,
// detail-type delivery.DetailTypeUpdateRouted, the webhook body as detail.
type EventBridge struct {
	Client PutEventsAPI
	Bus    string
}

// Publish puts one event. Errors: the call's, or the entry's own failure.
func (b EventBridge) Publish(ctx context.Context, m delivery.Message) error {
	out, err := b.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(delivery.EventSource), DetailType: aws.String(delivery.DetailTypeUpdateRouted),
		Detail: aws.String(string(m.Body)), EventBusName: aws.String(b.Bus),
		Resources: []string{m.WebhookID},
	}}})
	if err != nil {
		return fmt.Errorf("EventBridge PutEvents: %w", err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		return fmt.Errorf("EventBridge PutEvents entry failed: %s", aws.ToString(out.Entries[0].ErrorCode))
	}
	return nil
}

// Handler is the function's handler: a DynamoDB Stream batch is delivered
// (answered with the batch item failures to retry), anything else (the
// schedule's event) runs a sweep of due retries.
func Handler(e *delivery.Engine) func(ctx context.Context, raw json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("delivery: event is not JSON: %w", err)
		}
		if len(probe.Records) == 0 {
			n, err := e.Sweep(ctx)
			return map[string]int{"lanes": n}, err
		}
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("delivery: stream event: %w", err)
		}
		return HandleStream(ctx, e, ev), nil
	}
}

// HandleStream delivers a stream batch and names the first record to
// retry (Lambda's ReportBatchItemFailures).
func HandleStream(ctx context.Context, e *delivery.Engine, ev events.DynamoDBEvent) events.DynamoDBEventResponse {
	records := make([]delivery.Record, 0, len(ev.Records))
	for _, r := range ev.Records {
		rec := delivery.Record{Seq: r.Change.SequenceNumber}
		switch r.EventName {
		case string(events.DynamoDBOperationTypeInsert):
			item, err := dynamo.FromStream(r.Change.NewImage)
			if err == nil {
				rec.Update, _, err = dynamo.ParseStreamUpdate(item)
			}
			if err != nil {
				// A record that cannot be read never will be: skip it
				// rather than block the shard.
				continue
			}
		case string(events.DynamoDBOperationTypeModify):
			item, err := dynamo.FromStream(r.Change.NewImage)
			if err != nil {
				continue
			}
			if _, ok := dynamo.IsGatewayItem(item); !ok {
				continue
			}
			if g, err := dynamo.ParseGateway(item); err == nil && g.Type == gateway.TypeWebhook && g.Status == gateway.StatusConnected {
				rec.HealthyTarget = g.ID
			}
		case string(events.DynamoDBOperationTypeRemove):
			keys, err := dynamo.FromStream(r.Change.Keys)
			if err != nil {
				continue
			}
			if id, ok := dynamo.IsGatewayItem(keys); ok {
				rec.RemovedGateway = id
			}
		}
		if rec.Update != nil || rec.RemovedGateway != "" || rec.HealthyTarget != "" {
			records = append(records, rec)
		}
	}
	res := e.HandleStream(ctx, records)
	var out events.DynamoDBEventResponse
	if res.RetryFrom != "" {
		out.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: res.RetryFrom}}
	}
	return out
}
