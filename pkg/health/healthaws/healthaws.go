// Package healthaws holds the AWS implementations of package health's
// contracts: the fan-out by asynchronous Lambda invokes and the
// EventBridge publisher. They live apart from package health so that the
// API functions, which read health samples, do not link the Lambda and
// EventBridge clients.
package healthaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gatehouse/gatehouse/pkg/health"
)

// Invoker is the part of *lambda.Client that LambdaFanout uses.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// invokeParallelism bounds the invokes in flight: each is one short
// request that Lambda answers as soon as the event is queued.
const invokeParallelism = 8

// LambdaFanout starts one asynchronous invocation (InvocationType Event)
// of Function per task, with the task as the payload. Lambda queues the
// events and runs them in parallel; the function's EventInvokeConfig turns
// retries off, because a retried task would only find its segment claimed
// or done, and a segment whose invoke was lost is claimed by another
// worker with time left, or by the next sweep.
type LambdaFanout struct {
	Client   Invoker
	Function string // name or ARN of the worker function
}

var _ health.Fanout = LambdaFanout{}

// Dispatch invokes Function once per task. Errors: those of the invokes
// that failed, joined; the others have been queued.
func (f LambdaFanout) Dispatch(ctx context.Context, tasks []health.Task) error {
	if f.Function == "" {
		return errors.New("healthaws: no worker function configured")
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, invokeParallelism)
	)
	for _, t := range tasks {
		payload, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("healthaws: task %d: %w", t.Segment, err)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := f.Client.Invoke(ctx, &lambda.InvokeInput{
				FunctionName:   aws.String(f.Function),
				InvocationType: lambdatypes.InvocationTypeEvent,
				Payload:        payload,
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("healthaws: invoke segment %d: %w", t.Segment, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// PutEventsAPI is the part of *eventbridge.Client that EventBridge uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes status changes to an event bus with PutEvents:
// source health.EventSource, detail-type health.DetailTypeStatusChanged,
// the health.StatusChange as detail, so a rule can route on newStatus,
// type or owner.
type EventBridge struct {
	Client PutEventsAPI
	Bus    string // name or ARN; empty means the default bus
}

var _ health.Publisher = EventBridge{}

// StatusChanged puts one event. Errors: the call's, or the entry's own
// failure (PutEvents answers 200 with a failed entry).
func (p EventBridge) StatusChanged(ctx context.Context, c health.StatusChange) error {
	detail, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("healthaws: event detail: %w", err)
	}
	entry := ebtypes.PutEventsRequestEntry{
		Source:     aws.String(health.EventSource),
		DetailType: aws.String(health.DetailTypeStatusChanged),
		Detail:     aws.String(string(detail)),
		Time:       aws.Time(c.At),
	}
	if p.Bus != "" {
		entry.EventBusName = aws.String(p.Bus)
	}
	out, err := p.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("healthaws: PutEvents: %w", err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("healthaws: PutEvents entry failed: %s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}
