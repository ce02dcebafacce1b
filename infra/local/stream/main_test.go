package stream

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/secretscan"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
)

// userData stands for what items hold that no log may show: every test item
// carries it, and secretscan fails the binary if any log line, error or
// panic text the tests saw quotes it.
const userData = "user-data-7Qm2Zr9xWv4Lk8Np"

func TestMain(m *testing.M) {
	secretscan.Register("item contents", userData)
	secretscan.Main(m, emutest.Stop)
}

// fixture is a fresh table with its stream in DynamoDB Local, and the
// clients Run gets, built by Clients as the runner builds them.
type fixture struct {
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	table   string
	arn     string
	// transport is the clients' own, so that a test can close its idle
	// connections and see that Run left no goroutine behind.
	transport *http.Transport
	logs      *logCounter
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := emutest.Start(t)
	cfg := emulator.AWSConfig(emulator.Endpoints{"DynamoDB": env.DynamoDB.Endpoint})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg.HTTPClient = &http.Client{Transport: tr}
	f := &fixture{table: emutest.UniqueName("stream"), transport: tr, logs: newLogCounter(secretscan.Handler("stream"))}
	f.ddb, f.streams = Clients(cfg)
	if err := dynamo.EnsureTable(t.Context(), f.ddb, f.table); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = f.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(f.table)})
		tr.CloseIdleConnections()
	})
	d, err := f.ddb.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
	if err != nil {
		t.Fatal(err)
	}
	f.arn = aws.ToString(d.Table.LatestStreamArn)
	return f
}

// options are the tests' defaults: quick polls and retries.
func (f *fixture) options() Options {
	return Options{PollInterval: 10 * time.Millisecond, RetryWait: 10 * time.Millisecond, Region: emulator.Region, Log: slog.New(f.logs)}
}

// run starts Run in the background; stop cancels it and returns Run's
// result, failing t when Run does not return promptly.
func (f *fixture) run(t *testing.T, h Handler, o Options) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, f.ddb, f.streams, f.table, h, o) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(5 * time.Second):
				t.Error("Run did not return within 5 s of its context's end")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// key is the partition key of test item i.
func key(i int) string { return fmt.Sprintf("GW#%04d", i) }

// put writes test items from..to-1, one request each, in order.
func (f *fixture) put(t *testing.T, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := f.ddb.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: map[string]dtypes.AttributeValue{
			dynamo.AttrPK: &dtypes.AttributeValueMemberS{Value: key(i)},
			dynamo.AttrSK: &dtypes.AttributeValueMemberS{Value: "GATEWAY"},
			"n":           &dtypes.AttributeValueMemberN{Value: fmt.Sprint(i)},
			"data":        &dtypes.AttributeValueMemberS{Value: userData},
		}})
		if err != nil {
			t.Fatalf("PutItem %d: %v", i, err)
		}
	}
}

// collector is a Handler that keeps every invocation's records and, with
// respond, answers as the test says.
type collector struct {
	mu        sync.Mutex
	calls     [][]events.DynamoDBEventRecord
	processed []events.DynamoDBEventRecord // in the order the handler processed them
	respond   func(call int, recs []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error)
	changed   chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	c.mu.Lock()
	call := len(c.calls)
	c.calls = append(c.calls, ev.Records)
	respond := c.respond
	c.mu.Unlock()
	var resp events.DynamoDBEventResponse
	var err error
	if respond != nil {
		resp, err = respond(call, ev.Records)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
	case len(resp.BatchItemFailures) > 0:
		// Those before the earliest item named are processed; an
		// identifier that names none fails them all.
		first := len(ev.Records)
		for _, f := range resp.BatchItemFailures {
			i := slices.IndexFunc(ev.Records, func(r events.DynamoDBEventRecord) bool {
				return f.ItemIdentifier != "" && r.Change.SequenceNumber == f.ItemIdentifier
			})
			if i < 0 {
				i = 0
			}
			first = min(first, i)
		}
		c.processed = append(c.processed, ev.Records[:first]...)
	default:
		c.processed = append(c.processed, ev.Records...)
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return resp, err
}

// wait waits until the handler has processed n records, and returns them.
func (c *collector) wait(t *testing.T, n int) []events.DynamoDBEventRecord {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]events.DynamoDBEventRecord(nil), c.processed...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.changed:
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the handler processed %d records in 10 s, want %d", len(got), n)
		}
	}
}

// quiet checks that nothing more arrives for a while: nothing is delivered
// twice or out of turn after the last expected record.
func (c *collector) quiet(t *testing.T, n int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.processed) != n {
		t.Fatalf("the handler processed %d records, want exactly %d", len(c.processed), n)
	}
}

func (c *collector) invocations() [][]events.DynamoDBEventRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]events.DynamoDBEventRecord(nil), c.calls...)
}

// keys returns the partition keys of records, in order.
func keys(recs []events.DynamoDBEventRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Change.Keys[dynamo.AttrPK].String()
	}
	return out
}

func seqs(recs []events.DynamoDBEventRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Change.SequenceNumber
	}
	return out
}

// wantKeys checks that recs are test items from..to-1, each once, in order.
func wantKeys(t *testing.T, recs []events.DynamoDBEventRecord, from, to int) {
	t.Helper()
	got := keys(recs)
	var want []string
	for i := from; i < to; i++ {
		want = append(want, key(i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("processed\n %v\nwant\n %v", got, want)
	}
}

// logCounter counts the log lines by message and passes them on.
type logCounter struct {
	next  slog.Handler
	mu    *sync.Mutex
	count map[string]int
}

func newLogCounter(next slog.Handler) *logCounter {
	return &logCounter{next: next, mu: &sync.Mutex{}, count: map[string]int{}}
}

func (l *logCounter) Enabled(ctx context.Context, lv slog.Level) bool { return true }

func (l *logCounter) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	l.count[r.Message]++
	l.mu.Unlock()
	return l.next.Handle(ctx, r)
}

func (l *logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	return &logCounter{next: l.next.WithAttrs(as), mu: l.mu, count: l.count}
}

func (l *logCounter) WithGroup(name string) slog.Handler {
	return &logCounter{next: l.next.WithGroup(name), mu: l.mu, count: l.count}
}

// lines returns how many lines had a message starting with prefix.
func (l *logCounter) lines(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for m, c := range l.count {
		if strings.HasPrefix(m, prefix) {
			n += c
		}
	}
	return n
}
