package stream

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
)

var update = flag.Bool("update", false, "rewrite testdata/insert.json from what DynamoDB Local streams")

// TestDeliversInOrder: items written before and while Run runs all reach
// the handler once, in the order they were written, in batches of at most
// BatchSize, shaped as Lambda shapes them.
func TestDeliversInOrder(t *testing.T) {
	f := newFixture(t)
	c := newCollector()
	start := time.Now()
	f.put(t, 0, 15)
	o := f.options()
	o.BatchSize = 4
	f.run(t, c.handle, o)
	f.put(t, 15, 25)
	got := c.wait(t, 25)
	wantKeys(t, got, 0, 25)
	c.quiet(t, 25, 100*time.Millisecond)

	for i, call := range c.invocations() {
		if len(call) == 0 || len(call) > 4 {
			t.Errorf("invocation %d has %d records, want 1 to BatchSize 4", i, len(call))
		}
	}
	ids := map[string]bool{}
	prev := new(big.Int)
	for i, r := range got {
		if r.EventName != "INSERT" || r.EventVersion != "1.1" || r.EventSource != "aws:dynamodb" ||
			r.AWSRegion != emulator.Region || r.EventSourceArn != f.arn || r.Change.StreamViewType != "NEW_IMAGE" {
			t.Fatalf("record %d: %+v", i, r)
		}
		if r.EventID == "" || ids[r.EventID] {
			t.Errorf("record %d: eventID %q empty or repeated", i, r.EventID)
		}
		ids[r.EventID] = true
		seq, ok := new(big.Int).SetString(r.Change.SequenceNumber, 10)
		if !ok || seq.Cmp(prev) <= 0 {
			t.Errorf("record %d: SequenceNumber %q does not follow %s", i, r.Change.SequenceNumber, prev)
		}
		prev = seq
		if len(r.Change.Keys) != 2 || r.Change.Keys[dynamo.AttrSK].String() != "GATEWAY" {
			t.Errorf("record %d: Keys %v, want pk and sk", i, r.Change.Keys)
		}
		img := r.Change.NewImage
		if len(img) != 4 || img["n"].Number() != fmt.Sprint(i) || img["data"].String() != userData || img[dynamo.AttrPK].String() != key(i) {
			t.Errorf("record %d: NewImage has %d attributes (n %q), want the item", i, len(img), img["n"].Number())
		}
		if r.Change.OldImage != nil {
			t.Errorf("record %d: an OldImage in a NEW_IMAGE stream", i)
		}
		if r.Change.SizeBytes <= 0 {
			t.Errorf("record %d: SizeBytes %d", i, r.Change.SizeBytes)
		}
		// DynamoDB Local truncates the time to its minute.
		if at := r.Change.ApproximateCreationDateTime.Time; at.Before(start.Add(-time.Minute)) || at.After(time.Now()) {
			t.Errorf("record %d: ApproximateCreationDateTime %s, want about %s", i, at, start)
		}
	}
}

// TestEventShape: the JSON a handler's event holds for an item with every
// kind of attribute, against testdata/insert.json (go test -update rewrites
// it). Event ids, sequence numbers, times and ARNs vary and are masked.
func TestEventShape(t *testing.T) {
	f := newFixture(t)
	_, err := f.ddb.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: map[string]dtypes.AttributeValue{
		dynamo.AttrPK: &dtypes.AttributeValueMemberS{Value: "GW#shape"},
		dynamo.AttrSK: &dtypes.AttributeValueMemberS{Value: "GATEWAY"},
		"s":           &dtypes.AttributeValueMemberS{Value: "text"},
		"n":           &dtypes.AttributeValueMemberN{Value: "12.5"},
		"b":           &dtypes.AttributeValueMemberB{Value: []byte{0, 1, 0xfe, 0xff}},
		"bool":        &dtypes.AttributeValueMemberBOOL{Value: true},
		"null":        &dtypes.AttributeValueMemberNULL{Value: true},
		"l":           &dtypes.AttributeValueMemberL{Value: []dtypes.AttributeValue{&dtypes.AttributeValueMemberS{Value: "a"}, &dtypes.AttributeValueMemberN{Value: "1"}}},
		"m": &dtypes.AttributeValueMemberM{Value: map[string]dtypes.AttributeValue{
			"inner": &dtypes.AttributeValueMemberM{Value: map[string]dtypes.AttributeValue{"x": &dtypes.AttributeValueMemberBOOL{Value: false}}},
		}},
		"ss": &dtypes.AttributeValueMemberSS{Value: []string{"b", "a"}},
		"ns": &dtypes.AttributeValueMemberNS{Value: []string{"2", "1.5"}},
		"bs": &dtypes.AttributeValueMemberBS{Value: [][]byte{{2}, {1}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	f.run(t, c.handle, f.options())
	rec := c.wait(t, 1)[0]
	b, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
	if err != nil {
		t.Fatal(err)
	}
	got := maskEvent(t, b)
	path := filepath.Join("testdata", "insert.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("event\n%s\nwant (%s)\n%s", got, path, want)
	}
}

// maskEvent replaces what varies from run to run, sorts sets (DynamoDB
// keeps no order in them) and indents.
func maskEvent(t *testing.T, b []byte) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	for _, r := range ev["Records"].([]any) {
		r := r.(map[string]any)
		r["eventID"] = "(event id)"
		r["eventSourceARN"] = "(stream ARN)"
		d := r["dynamodb"].(map[string]any)
		d["SequenceNumber"] = "(sequence number)"
		d["ApproximateCreationDateTime"] = "(seconds since 1970)"
	}
	var sortSets func(v any)
	sortSets = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.([]any); ok && (k == "SS" || k == "NS" || k == "BS") {
					sort.Slice(s, func(i, j int) bool { return fmt.Sprint(s[i]) < fmt.Sprint(s[j]) })
				}
				sortSets(e)
			}
		case []any:
			for _, e := range v {
				sortSets(e)
			}
		}
	}
	sortSets(ev)
	out, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestModifyAndRemove: an item's insert, update and delete arrive in order;
// an update carries the new image, a delete only the keys (the stream has
// no old images).
func TestModifyAndRemove(t *testing.T) {
	f := newFixture(t)
	c := newCollector()
	f.run(t, c.handle, f.options())
	f.put(t, 0, 1)
	k := map[string]dtypes.AttributeValue{
		dynamo.AttrPK: &dtypes.AttributeValueMemberS{Value: key(0)},
		dynamo.AttrSK: &dtypes.AttributeValueMemberS{Value: "GATEWAY"},
	}
	if _, err := f.ddb.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: aws.String(f.table), Key: k,
		UpdateExpression:          aws.String("SET n = :n REMOVE #d"),
		ExpressionAttributeNames:  map[string]string{"#d": "data"},
		ExpressionAttributeValues: map[string]dtypes.AttributeValue{":n": &dtypes.AttributeValueMemberN{Value: "100"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ddb.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(f.table), Key: k}); err != nil {
		t.Fatal(err)
	}
	got := c.wait(t, 3)
	c.quiet(t, 3, 50*time.Millisecond)
	var names []string
	for _, r := range got {
		names = append(names, r.EventName)
		if len(r.Change.Keys) != 2 || r.Change.Keys[dynamo.AttrPK].String() != key(0) {
			t.Errorf("%s: Keys %v", r.EventName, r.Change.Keys)
		}
		if r.Change.OldImage != nil {
			t.Errorf("%s: an OldImage", r.EventName)
		}
	}
	if !slices.Equal(names, []string{"INSERT", "MODIFY", "REMOVE"}) {
		t.Fatalf("events %v, want INSERT, MODIFY, REMOVE", names)
	}
	if img := got[1].Change.NewImage; img["n"].Number() != "100" || len(img) != 3 {
		t.Errorf("MODIFY's NewImage: n %q, %d attributes; want n 100 and data gone", img["n"].Number(), len(img))
	}
	if got[2].Change.NewImage != nil {
		t.Errorf("REMOVE has a NewImage")
	}
}

// TestHandlerFailure: a batch whose handler fails (an error, then a panic)
// is delivered again, the same records, after waits that double; nothing
// is skipped and the order holds. The panic's text, which quotes an item,
// is not logged (secretscan checks every line).
func TestHandlerFailure(t *testing.T) {
	f := newFixture(t)
	f.put(t, 0, 12)
	c := newCollector()
	var mu sync.Mutex
	var times []time.Time
	failures := 0
	c.respond = func(call int, recs []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if !slices.Contains(keys(recs), key(5)) {
			return events.DynamoDBEventResponse{}, nil
		}
		failures++
		switch failures {
		case 1:
			return events.DynamoDBEventResponse{}, errors.New("the delivery failed")
		case 2:
			panic(fmt.Sprintf("cannot deliver %s", recs[0].Change.NewImage["data"].String()))
		}
		return events.DynamoDBEventResponse{}, nil
	}
	o := f.options()
	o.BatchSize = 4
	o.RetryWait = 40 * time.Millisecond
	f.run(t, c.handle, o)
	wantKeys(t, c.wait(t, 12), 0, 12)
	c.quiet(t, 12, 100*time.Millisecond)

	calls := c.invocations()
	var batches [][]string
	for _, call := range calls {
		batches = append(batches, seqs(call))
	}
	if len(calls) != 5 {
		t.Fatalf("%d invocations %v, want 5: 0-3, 4-7 three times, 8-11", len(calls), batches)
	}
	for i := 2; i <= 3; i++ {
		if !slices.Equal(batches[i], batches[1]) {
			t.Errorf("invocation %d delivered %v, want the failed batch %v again", i, batches[i], batches[1])
		}
	}
	if w := times[2].Sub(times[1]); w < 40*time.Millisecond {
		t.Errorf("first retry after %s, want RetryWait 40ms", w)
	}
	if w := times[3].Sub(times[2]); w < 80*time.Millisecond {
		t.Errorf("second retry after %s, want twice RetryWait", w)
	}
	if n := f.logs.lines("stream: the handler failed"); n != 2 {
		t.Errorf("%d lines logged for 2 failed batches", n)
	}
}

// TestBatchItemFailures: a response naming failed items counts the records
// before the earliest as processed and delivers again from it; an empty
// identifier fails the whole batch.
func TestBatchItemFailures(t *testing.T) {
	t.Run("resumes at the earliest failed item", func(t *testing.T) {
		f := newFixture(t)
		f.put(t, 0, 8)
		c := newCollector()
		failed := false
		c.respond = func(call int, recs []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			if failed || !slices.Contains(keys(recs), key(5)) {
				return events.DynamoDBEventResponse{}, nil
			}
			failed = true
			// Items 6 and 5 of the batch 4–7 failed: Lambda goes on from 5.
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
				{ItemIdentifier: recs[2].Change.SequenceNumber}, {ItemIdentifier: recs[1].Change.SequenceNumber},
			}}, nil
		}
		o := f.options()
		o.BatchSize = 4
		o.Checkpoint = filepath.Join(t.TempDir(), "checkpoint.json")
		f.run(t, c.handle, o)
		wantKeys(t, c.wait(t, 8), 0, 8)
		c.quiet(t, 8, 100*time.Millisecond)
		calls := c.invocations()
		if len(calls) != 3 || !slices.Equal(keys(calls[2]), []string{key(5), key(6), key(7)}) {
			var ks [][]string
			for _, call := range calls {
				ks = append(ks, keys(call))
			}
			t.Fatalf("invocations %v, want 0-3, 4-7, then 5-7", ks)
		}
		if n := f.logs.lines("stream: the handler reported failed items"); n != 1 {
			t.Errorf("%d lines logged for 1 partly failed batch", n)
		}
	})

	t.Run("an empty identifier fails the batch", func(t *testing.T) {
		f := newFixture(t)
		f.put(t, 0, 3)
		c := newCollector()
		c.respond = func(call int, recs []events.DynamoDBEventRecord) (events.DynamoDBEventResponse, error) {
			if call == 0 {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: ""}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}
		f.run(t, c.handle, f.options())
		wantKeys(t, c.wait(t, 3), 0, 3)
		calls := c.invocations()
		if len(calls) != 2 || !slices.Equal(seqs(calls[0]), seqs(calls[1])) {
			t.Fatalf("%d invocations, want the batch twice", len(calls))
		}
	})
}

// TestCheckpoint: a restarted Run goes on after the last record processed;
// a checkpoint of another stream is ignored; a broken one stops Run; a new
// mapping at LATEST sees only later changes.
func TestCheckpoint(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.json")
	o := f.options()
	o.Checkpoint = path
	o.BatchSize = 4

	f.put(t, 0, 6)
	first := newCollector()
	stop := f.run(t, first.handle, o)
	got := first.wait(t, 6)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var cp checkpointFile
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	if cp.StreamARN != f.arn || len(cp.Shards) != 1 {
		t.Fatalf("checkpoint %s", b)
	}
	for _, s := range cp.Shards {
		if s.SequenceNumber != got[5].Change.SequenceNumber {
			t.Errorf("checkpoint at %s, want the last record processed, %s", s.SequenceNumber, got[5].Change.SequenceNumber)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	f.put(t, 6, 10)
	second := newCollector()
	stop = f.run(t, second.handle, o)
	wantKeys(t, second.wait(t, 4), 6, 10)
	second.quiet(t, 4, 100*time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	t.Run("of another stream", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "checkpoint.json")
		shards := map[string]shardCheckpoint{}
		for id := range cp.Shards {
			shards[id] = shardCheckpoint{SequenceNumber: got[5].Change.SequenceNumber}
		}
		b, _ := json.Marshal(checkpointFile{StreamARN: f.arn + "-recreated", Shards: shards})
		if err := os.WriteFile(other, b, 0o644); err != nil {
			t.Fatal(err)
		}
		o := o
		o.Checkpoint = other
		c := newCollector()
		f.run(t, c.handle, o)
		wantKeys(t, c.wait(t, 10), 0, 10)
	})

	t.Run("broken", func(t *testing.T) {
		broken := filepath.Join(t.TempDir(), "checkpoint.json")
		if err := os.WriteFile(broken, []byte(`{"streamArn":`), 0o644); err != nil {
			t.Fatal(err)
		}
		o := o
		o.Checkpoint = broken
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := Run(ctx, f.ddb, f.streams, f.table, newCollector().handle, o)
		if err == nil || !strings.Contains(err.Error(), broken) {
			t.Fatalf("Run with a broken checkpoint: %v, want an error naming it", err)
		}
	})

	t.Run("LATEST", func(t *testing.T) {
		latest := filepath.Join(t.TempDir(), "checkpoint.json")
		o := o
		o.Checkpoint = latest
		o.StartingPosition = Latest
		c := newCollector()
		f.run(t, c.handle, o)
		// The mapping has started once its checkpoint says where.
		deadline := time.Now().Add(5 * time.Second)
		for b, _ := os.ReadFile(latest); !bytes.Contains(b, []byte(`"latest": true`)); b, _ = os.ReadFile(latest) {
			if time.Now().After(deadline) {
				t.Fatalf("no LATEST position checkpointed in 5 s: %s", b)
			}
			time.Sleep(5 * time.Millisecond)
		}
		f.put(t, 10, 12)
		wantKeys(t, c.wait(t, 2), 10, 12)
		c.quiet(t, 2, 100*time.Millisecond)
	})
}

// TestStopsPromptly: Run returns soon after its context ends, whether it is
// idle, inside the handler, or waiting to deliver a failed batch again, and
// leaves no goroutine behind.
func TestStopsPromptly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		items   int
		handler func(entered chan<- struct{}) Handler
	}{
		{name: "idle", handler: func(entered chan<- struct{}) Handler {
			close(entered)
			return newCollector().handle
		}},
		{name: "inside the handler", items: 1, handler: func(entered chan<- struct{}) Handler {
			return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				close(entered)
				<-ctx.Done()
				return events.DynamoDBEventResponse{}, ctx.Err()
			}
		}},
		{name: "waiting to retry", items: 1, handler: func(entered chan<- struct{}) Handler {
			var once sync.Once
			return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				once.Do(func() { close(entered) })
				return events.DynamoDBEventResponse{}, errors.New("down")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.put(t, 0, tc.items)
			ignore := goleak.IgnoreCurrent()
			entered := make(chan struct{})
			o := f.options()
			o.RetryWait = MaxRetryWait
			stop := f.run(t, tc.handler(entered), o)
			select {
			case <-entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler was not called in 5 s")
			}
			time.Sleep(50 * time.Millisecond) // idle polls, or into the retry wait
			began := time.Now()
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if d := time.Since(began); d > time.Second {
				t.Errorf("Run took %s to return", d)
			}
			f.transport.CloseIdleConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
}

// TestIteratorExpiry: an iterator DynamoDB Local refuses as expired is
// replaced by one after the last record processed: nothing is lost or
// delivered twice. Waiting out the 15 minutes an iterator lives would be
// too slow, so the test hands DynamoDB Local one of its own iterators with
// its creation time moved back 16 minutes; the refusal is the emulator's.
func TestIteratorExpiry(t *testing.T) {
	f := newFixture(t)
	aging := &agingStreams{StreamsAPI: f.streams, t: t}
	c := newCollector()
	f.put(t, 0, 5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, f.ddb, aging, f.table, c.handle, f.options()) }()
	defer func() { cancel(); <-done }()
	c.wait(t, 5)
	aging.age.Store(true)
	f.put(t, 5, 10)
	wantKeys(t, c.wait(t, 10), 0, 10)
	c.quiet(t, 10, 100*time.Millisecond)
	if aging.expired.Load() == 0 {
		t.Fatal("DynamoDB Local never answered ExpiredIteratorException")
	}
	if n := f.logs.lines("stream: shard iterator expired"); n == 0 {
		t.Error("the expiry was not logged")
	}
}

// agingStreams passes calls to DynamoDB Local; when age is set, the next
// GetRecords gets its iterator aged past its 15 minutes.
type agingStreams struct {
	StreamsAPI
	t       *testing.T
	age     atomic.Bool
	expired atomic.Int32
}

func (a *agingStreams) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	if a.age.CompareAndSwap(true, false) {
		aged := *in
		aged.ShardIterator = aws.String(ageIterator(a.t, aws.ToString(in.ShardIterator), 16*time.Minute))
		in = &aged
	}
	out, err := a.StreamsAPI.GetRecords(ctx, in, optFns...)
	var expired *types.ExpiredIteratorException
	if errors.As(err, &expired) {
		a.expired.Add(1)
	}
	return out, err
}

// ageIterator moves the creation time inside a DynamoDB Local shard
// iterator back by age. Its iterators read
// "<stream ARN>|001|" + base64("<shard id>|<sequence number>|<creation time
// in ms, 30 digits>)".
func ageIterator(t *testing.T, iter string, age time.Duration) string {
	parts := strings.Split(iter, "|")
	if len(parts) != 3 {
		t.Errorf("DynamoDB Local's shard iterator %q is not <ARN>|001|<base64>: its format changed", iter)
		return iter
	}
	inner, err := base64.StdEncoding.DecodeString(parts[2])
	fields := strings.Split(string(inner), "|")
	if err != nil || len(fields) != 3 || len(fields[2]) != 30 {
		t.Errorf("DynamoDB Local's shard iterator holds %q (%v): its format changed", inner, err)
		return iter
	}
	fields[2] = fmt.Sprintf("%030d", time.Now().Add(-age).UnixMilli())
	parts[2] = base64.StdEncoding.EncodeToString([]byte(strings.Join(fields, "|")))
	return strings.Join(parts, "|")
}

// TestLatency measures how long a written item takes to reach the handler
// through Run: with the default PollInterval, and with a 1 ms one (about
// DynamoDB Local's own delay: a record is readable as soon as PutItem
// returns). Each item is written at another point of the poll's cycle.
func TestLatency(t *testing.T) {
	for _, poll := range []time.Duration{DefaultPollInterval, time.Millisecond} {
		t.Run(poll.String(), func(t *testing.T) {
			f := newFixture(t)
			c := newCollector()
			o := f.options()
			o.PollInterval = poll
			f.run(t, c.handle, o)
			const n = 8
			var lat []time.Duration
			for i := range n {
				time.Sleep(poll * time.Duration(i) / n)
				f.put(t, i, i+1)
				put := time.Now()
				c.wait(t, i+1)
				lat = append(lat, time.Since(put))
			}
			slices.Sort(lat)
			var sum time.Duration
			for _, l := range lat {
				sum += l
			}
			t.Logf("PutItem returned → handler called, poll %s, %d items: min %s, median %s, mean %s, max %s", poll, n,
				lat[0].Round(time.Millisecond), lat[n/2].Round(time.Millisecond), (sum / n).Round(time.Millisecond), lat[n-1].Round(time.Millisecond))
			if lat[n-1] > poll+time.Second {
				t.Errorf("an item took %s to arrive", lat[n-1])
			}
		})
	}
}

// TestRunRefuses: what Run cannot start with.
func TestRunRefuses(t *testing.T) {
	f := newFixture(t)
	noStream := f.table + "-nostream"
	in := dynamo.TableInput(noStream)
	in.StreamSpecification = nil
	if _, err := f.ddb.CreateTable(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = f.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(noStream)})
	})
	h := newCollector().handle
	for _, tc := range []struct {
		name  string
		table string
		h     Handler
		o     Options
		want  string
	}{
		{name: "a table without a stream", table: noStream, h: h, want: "no stream"},
		{name: "a missing table", table: f.table + "-missing", h: h, want: "describe table"},
		{name: "no handler", table: f.table, want: "no handler"},
		{name: "bad options", table: f.table, h: h, o: Options{StartingPosition: "AT_TIMESTAMP"}, want: "StartingPosition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := Run(ctx, f.ddb, f.streams, tc.table, tc.h, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
