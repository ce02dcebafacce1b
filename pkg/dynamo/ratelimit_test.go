package dynamo

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// rateT0 is 20 s into a minute, so a one-minute window has 40 s left.
var rateT0 = time.Date(2025, 3, 4, 5, 6, 20, 0, time.UTC)

func newTestLimiter(t *testing.T) (*RateLimiter, *fakeclock.Clock, *dynamodb.Client, string) {
	t.Helper()
	st, client := newTestStore(t)
	clock := fakeclock.New(rateT0)
	return NewRateLimiter(client, st.table, RateClock(clock.Now)), clock, client, st.table
}

// allow is Allow that fails the test on an error.
func allow(t *testing.T, l *RateLimiter, scope, subject string, limit int) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := l.Allow(t.Context(), scope, subject, limit, time.Minute)
	if err != nil {
		t.Fatalf("Allow(%s, %s): %v", scope, subject, err)
	}
	return ok, wait
}

// TestRateLimiterExactlyN: the first N events of a window are admitted, and
// every later one is refused with the time left in the window.
func TestRateLimiterExactlyN(t *testing.T) {
	l, clock, _, _ := newTestLimiter(t)
	const n = 5
	for i := 1; i <= n; i++ {
		if ok, _ := allow(t, l, "test", "alice#gw_1", n); !ok {
			t.Fatalf("event %d of %d refused", i, n)
		}
	}
	for i := 0; i < 3; i++ {
		ok, wait := allow(t, l, "test", "alice#gw_1", n)
		if ok {
			t.Fatalf("event %d admitted beyond the limit %d", n+1+i, n)
		}
		if want := 40 * time.Second; wait != want {
			t.Errorf("retryAfter = %v, want %v (to the end of the minute)", wait, want)
		}
	}
	clock.Advance(39*time.Second + 500*time.Millisecond)
	if _, wait := allow(t, l, "test", "alice#gw_1", n); wait != 500*time.Millisecond {
		t.Errorf("retryAfter half a second before the window ends = %v", wait)
	}
}

// TestRateLimiterIndependentKeys: another subject (user or gateway) and
// another scope have counts of their own.
func TestRateLimiterIndependentKeys(t *testing.T) {
	l, _, _, _ := newTestLimiter(t)
	if ok, _ := allow(t, l, "test", "alice#gw_1", 1); !ok {
		t.Fatal("first event refused")
	}
	if ok, _ := allow(t, l, "test", "alice#gw_1", 1); ok {
		t.Fatal("second event admitted with limit 1")
	}
	for _, tt := range []struct{ scope, subject string }{
		{"test", "alice#gw_2"},   // another gateway
		{"test", "bob#gw_1"},     // another user
		{"action", "alice#gw_1"}, // another limit
	} {
		if ok, _ := allow(t, l, tt.scope, tt.subject, 1); !ok {
			t.Errorf("%s/%s refused: it shares a count with test/alice#gw_1", tt.scope, tt.subject)
		}
	}
}

// TestRateLimiterWindowRollsOver: the next window admits again, and the
// item of each window expires by TTL after its end.
func TestRateLimiterWindowRollsOver(t *testing.T) {
	l, clock, client, table := newTestLimiter(t)
	const n = 2
	for range n {
		allow(t, l, "test", "alice#gw_1", n)
	}
	if ok, _ := allow(t, l, "test", "alice#gw_1", n); ok {
		t.Fatal("admitted beyond the limit")
	}
	clock.Advance(39 * time.Second) // 05:06:59: same window
	if ok, _ := allow(t, l, "test", "alice#gw_1", n); ok {
		t.Fatal("admitted beyond the limit a second before the window ends")
	}
	clock.Advance(time.Second) // 05:07:00: a new window
	for i := 1; i <= n; i++ {
		if ok, _ := allow(t, l, "test", "alice#gw_1", n); !ok {
			t.Fatalf("event %d of the new window refused", i)
		}
	}
	if ok, wait := allow(t, l, "test", "alice#gw_1", n); ok || wait != time.Minute {
		t.Fatalf("beyond the limit in the new window: ok %v, retryAfter %v, want false, 1m", ok, wait)
	}

	out, err := client.Query(t.Context(), &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(RateKey("test", "alice#gw_1"))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	// count and TTL of each window's item, by sort key
	got := map[string][2]int64{}
	for _, it := range out.Items {
		r := itemReader{m: it}
		got[r.str(AttrSK)] = [2]int64{r.num(AttrRateCount), r.num(AttrTTL)}
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	first := time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC).Unix()
	second := first + 60
	// Refusals count nothing, and the TTL is a minute past the window's end.
	want := map[string][2]int64{
		"WINDOW#" + strconv.FormatInt(first, 10):  {2, second + 60},
		"WINDOW#" + strconv.FormatInt(second, 10): {2, second + 120},
	}
	wantEqual(t, "window items", got, want)
}

// TestRateLimiterConcurrent: 8 goroutines checking at once never get more
// than N admissions, and get exactly N (refusals are not lost updates).
func TestRateLimiterConcurrent(t *testing.T) {
	l, _, _, _ := newTestLimiter(t)
	const n, workers, each = 10, 8, 5
	var admitted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ok, _, err := l.Allow(context.Background(), "test", "alice#gw_1", n, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	if got := admitted.Load(); got != n {
		t.Fatalf("%d of %d concurrent events admitted, want exactly %d", got, workers*each, n)
	}
}

// TestRateLimiterKeyIsBounded: a user id of any length makes a short key,
// and the stored item carries no trace of it.
func TestRateLimiterKeyIsBounded(t *testing.T) {
	l, _, client, table := newTestLimiter(t)
	long := strings.Repeat("u", 100_000) // far beyond DynamoDB's 2,048-byte partition key
	if ok, _ := allow(t, l, "validate", long, 3); !ok {
		t.Fatal("refused")
	}
	key := RateKey("validate", long)
	if !strings.HasPrefix(key, "RATE#validate#") || len(key) != len("RATE#validate#")+43 {
		t.Errorf("RateKey = %q (%d bytes)", key, len(key))
	}
	if RateKey("validate", long) != key || RateKey("validate", long+"u") == key {
		t.Errorf("RateKey is not a function of the subject")
	}
	out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("%d items, want 1", len(out.Items))
	}
	for name, v := range out.Items[0] {
		if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, "uuuu") {
			t.Errorf("attribute %s holds the subject", name)
		}
	}
}

// TestRateLimiterFailsClosed: when DynamoDB cannot answer, Allow admits
// nothing and says so with CodeUnavailable (transient) or CodeInternal.
func TestRateLimiterFailsClosed(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}, gateway.CodeUnavailable},
		{"deadline", context.DeadlineExceeded, gateway.CodeUnavailable},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}, gateway.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewRateLimiter(failingRate{tt.err}, "t")
			ok, _, err := l.Allow(t.Context(), "test", "alice#gw_1", 10, time.Minute)
			if ok {
				t.Fatal("admitted although DynamoDB failed")
			}
			wantCode(t, "Allow", err, tt.code)
		})
	}
}

type failingRate struct{ err error }

func (f failingRate) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, f.err
}

// TestRateLimiterRefusesBadArguments: scope, limit and window are chosen in
// code; nonsense there is an internal error, never an unlimited request.
func TestRateLimiterRefusesBadArguments(t *testing.T) {
	var calls atomic.Int64
	l := NewRateLimiter(countingRate{&calls}, "t")
	tests := []struct {
		name   string
		scope  string
		limit  int
		window time.Duration
	}{
		{"scope with #", "te#st", 1, time.Minute},
		{"upper-case scope", "Test", 1, time.Minute},
		{"empty scope", "", 1, time.Minute},
		{"long scope", strings.Repeat("a", 33), 1, time.Minute},
		{"zero limit", "test", 0, time.Minute},
		{"sub-second window", "test", 1, 500 * time.Millisecond},
		{"fractional window", "test", 1, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, _, err := l.Allow(t.Context(), tt.scope, "alice", tt.limit, tt.window)
			if ok {
				t.Fatal("admitted")
			}
			wantCode(t, "Allow", err, gateway.CodeInternal)
		})
	}
	if calls.Load() != 0 {
		t.Errorf("%d UpdateItem calls for refused arguments", calls.Load())
	}
}

type countingRate struct{ n *atomic.Int64 }

func (c countingRate) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return &dynamodb.UpdateItemOutput{}, nil
}

// TestValidScope: validScope accepts exactly ^[a-z][a-z0-9-]{0,31}$.
func TestValidScope(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	for _, s := range []string{"", "a", "test", "validate", "a-1", "1a", "-a", "A", "aB", "a_b", "a b",
		"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz0123456", "a\x00", "\u00e9"} {
		if got, want := validScope(s), pattern.MatchString(s); got != want {
			t.Errorf("validScope(%q) = %v, want %v", s, got, want)
		}
	}
}
