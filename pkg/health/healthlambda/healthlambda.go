// Package healthlambda fans a health sweep out by asynchronous Lambda
// invokes: package health's Fanout over Lambda's Invoke API. It lives apart
// from package health so that only the scheduled coordinator links the
// Lambda client.
package healthlambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
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
		return errors.New("healthlambda: no worker function configured")
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
			return fmt.Errorf("healthlambda: task %d: %w", t.Segment, err)
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
				errs = append(errs, fmt.Errorf("healthlambda: invoke segment %d: %w", t.Segment, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
