package edge

import (
	"context"
	"time"
)

// A request's work is bounded, so that a dependency that hangs (a KMS or
// DynamoDB endpoint that takes the connection and never answers) costs the
// caller a 503 problem+json with Retry-After, not a request held open until
// something else gives up. In Lambda that something is the function's
// timeout: Lambda stops the function and API Gateway answers a bare 503 of
// its own, without our problem, headers or log line.
const (
	// DefaultRequestTimeout bounds a request when its context has no
	// deadline of its own, or a later one.
	DefaultRequestTimeout = 25 * time.Second
	// DeadlineReserve is what a request leaves of its context's deadline
	// (Lambda's: the function's timeout) to answer and log before it.
	DeadlineReserve = time.Second
)

// BoundContext returns ctx bounded by timeout (DefaultRequestTimeout when
// zero or less) and, when ctx has a deadline, by that deadline less
// DeadlineReserve, whichever comes first. A deadline less than the reserve
// away leaves a context that is already done: the request answers 503 at
// once instead of starting work it cannot finish.
func BoundContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Add(-DeadlineReserve).Before(deadline) {
		deadline = d.Add(-DeadlineReserve)
	}
	return context.WithDeadline(ctx, deadline)
}
