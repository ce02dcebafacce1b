package sendtelegram_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// timedStore measures a store's calls, for the load test's report.
type timedStore struct {
	send.Store
	mu  sync.Mutex
	sum map[string]time.Duration
	n   map[string]int
}

func newTimedStore(s send.Store) *timedStore {
	return &timedStore{Store: s, sum: map[string]time.Duration{}, n: map[string]int{}}
}

func (t *timedStore) took(op string, start time.Time) {
	t.mu.Lock()
	t.sum[op] += time.Since(start)
	t.n[op]++
	t.mu.Unlock()
}

func (t *timedStore) Claim(ctx context.Context, c send.Claim) (bool, error) {
	defer t.took("Claim", time.Now())
	return t.Store.Claim(ctx, c)
}

func (t *timedStore) Record(ctx context.Context, jobID string, it send.Item, done int) error {
	defer t.took("Record", time.Now())
	return t.Store.Record(ctx, jobID, it, done)
}

func (t *timedStore) ActiveJobs(ctx context.Context, gw string, skip func(string) bool) ([]*send.Job, error) {
	defer t.took("ActiveJobs", time.Now())
	return t.Store.ActiveJobs(ctx, gw, skip)
}

func (t *timedStore) Progress(ctx context.Context, j *send.Job) error {
	defer t.took("Progress", time.Now())
	return t.Store.Progress(ctx, j)
}

// report returns each call's count and mean time.
func (t *timedStore) report() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]string{}
	for op, d := range t.sum {
		out[op] = (d / time.Duration(t.n[op])).Round(100*time.Microsecond).String() + " ×" + itoa(t.n[op])
	}
	return out
}

func itoa(n int) string {
	b := []byte{}
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}

func errorAs(err error, target **gateway.Error) bool { return errors.As(err, target) }
