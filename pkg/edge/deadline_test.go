package edge

import (
	"context"
	"testing"
	"time"
)

// TestBoundContext: a request gets its timeout, or its context's deadline
// less the reserve when that comes first, and a deadline closer than the
// reserve leaves it nothing.
func TestBoundContext(t *testing.T) {
	near := func(got, want time.Time) bool { return got.Sub(want).Abs() < 200*time.Millisecond }
	now := time.Now()

	ctx, cancel := BoundContext(context.Background(), 0)
	defer cancel()
	if d, ok := ctx.Deadline(); !ok || !near(d, now.Add(DefaultRequestTimeout)) {
		t.Errorf("no deadline, no timeout: deadline %v, want about now+%v", d, DefaultRequestTimeout)
	}

	ctx, cancel = BoundContext(context.Background(), 3*time.Second)
	defer cancel()
	if d, _ := ctx.Deadline(); !near(d, now.Add(3*time.Second)) {
		t.Errorf("timeout 3s: deadline %v", d)
	}

	lambda, cancelLambda := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelLambda()
	ctx, cancel = BoundContext(lambda, 0)
	defer cancel()
	if d, _ := ctx.Deadline(); !near(d, now.Add(10*time.Second-DeadlineReserve)) {
		t.Errorf("a 10 s function: deadline %v, want about now+%v", d, 10*time.Second-DeadlineReserve)
	}

	ctx, cancel = BoundContext(lambda, 2*time.Second)
	defer cancel()
	if d, _ := ctx.Deadline(); !near(d, now.Add(2*time.Second)) {
		t.Errorf("a 10 s function with a 2 s timeout: deadline %v", d)
	}

	late, cancelLate := context.WithTimeout(context.Background(), DeadlineReserve/2)
	defer cancelLate()
	ctx, cancel = BoundContext(late, 0)
	defer cancel()
	select {
	case <-ctx.Done():
	default:
		t.Errorf("a deadline closer than the reserve left a context that is not done")
	}
}
