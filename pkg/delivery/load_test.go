package delivery_test

import (
	"context"
	"errors"
	"flag"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/infra/local/stream"
	"github.com/gatehouse/gatehouse/pkg/bootstrap/deliverer"
	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/delivery/deliverysend"
	"github.com/gatehouse/gatehouse/pkg/delivery/deliverytest"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// load is one run of the load test: updates over chats, written to the
// inbox as the webhook writes them, carried by DynamoDB Local's stream to
// the delivery handler, to three routes — one healthy, one down for the
// middle third of the run, one answering 500 to every fifth request.
type load struct {
	updates, chats int
	// rate is how many updates a second are written (0: as fast as the
	// emulator takes them).
	rate int
}

// loadResult is what a run measured.
type loadResult struct {
	fed         time.Duration // writing the updates
	total       time.Duration // until every route had everything
	reports     map[string]deliverytest.Report
	lagP50      time.Duration // healthy route: receipt to arrival
	lagP99      time.Duration
	catchUp     time.Duration // downed route: from up again to no backlog
	calls       map[string]int64
	invocations int64 // stream batches with updates, and sweeps
	busy        time.Duration
	sweeps      int64
}

// The load test's size: make test runs 1,000 updates; make bench runs
// 10,000 as fast as DynamoDB Local takes them, then a paced run for the
// delivery lag (-load-rate). Everything here — the inbox writes, the
// stream, the lane leases — goes through one DynamoDB Local on a shared
// 2-core machine, which takes about 250 writes a second one at a time: an
// unpaced run measures the emulator's queue as much as the engine.
var (
	loadUpdates = flag.Int("load-updates", 1000, "updates the load test writes")
	loadRate    = flag.Int("load-rate", 0, "updates a second the load test writes (0: as fast as the emulator takes them)")
)

func TestDeliveryLoad(t *testing.T) {
	n := *loadUpdates
	res := runLoad(t, load{updates: n, chats: 50, rate: *loadRate})
	res.log(t, n)
	for name, rep := range res.reports {
		if rep.Distinct != n || rep.OutOfOrder != 0 || rep.IDMismatch != 0 || len(rep.Missing) != 0 {
			t.Errorf("%s route: %s", name, rep)
		}
	}
}

func (r loadResult) log(tb testing.TB, n int) {
	for _, name := range []string{"healthy", "downed", "flaky"} {
		tb.Logf("%-8s %s", name, r.reports[name])
	}
	tb.Logf("%d updates over 50 chats to 3 routes: written in %s, all delivered after %s", n, r.fed.Round(time.Millisecond), r.total.Round(time.Millisecond))
	tb.Logf("healthy route delivery lag: p50 %s, p99 %s", r.lagP50.Round(time.Millisecond), r.lagP99.Round(time.Millisecond))
	tb.Logf("downed route caught up %s after it came back", r.catchUp.Round(time.Millisecond))
	c := costOf(r, n*3)
	tb.Logf("calls: %v; %d invocations (%d sweeps), %s busy", r.calls, r.invocations, r.sweeps, r.busy.Round(time.Millisecond))
	tb.Logf("cost per million delivered updates: DynamoDB writes $%.2f (%.1f WRU each), reads $%.2f (%.1f RRU each), Lambda $%.2f; total $%.2f",
		c.writes, c.wru, c.reads, c.rru, c.lambda, c.writes+c.reads+c.lambda)
}

// countingDynamo counts the calls the engine makes, by operation, and the
// write and read units they cost (transactional writes twice; every item
// here is under 1 KB, every read under 4 KB).
type countingDynamo struct {
	*dynamodb.Client
	mu    sync.Mutex
	calls map[string]int64
}

func (c *countingDynamo) add(op string, n int64) {
	c.mu.Lock()
	c.calls[op] += n
	c.mu.Unlock()
}

func (c *countingDynamo) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

func (c *countingDynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.add("GetItem", 1)
	return c.Client.GetItem(ctx, in, o...)
}

func (c *countingDynamo) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.add("Query", 1)
	return c.Client.Query(ctx, in, o...)
}

func (c *countingDynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.add("PutItem", 1)
	return c.Client.PutItem(ctx, in, o...)
}

func (c *countingDynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.add("UpdateItem", 1)
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *countingDynamo) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.add("DeleteItem", 1)
	return c.Client.DeleteItem(ctx, in, o...)
}

func (c *countingDynamo) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.add("TransactWriteItems", 1)
	c.add("TransactItems", int64(len(in.TransactItems)))
	return c.Client.TransactWriteItems(ctx, in, o...)
}

func (c *countingDynamo) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.add("BatchWriteItem", 1)
	return c.Client.BatchWriteItem(ctx, in, o...)
}

// Prices of us-east-1 (on-demand DynamoDB, arm64 Lambda at 128 MB), per
// unit. A stream's GetRecords made by Lambda for a trigger is free.
const (
	pricePerWRU      = 0.625 / 1e6
	pricePerRRU      = 0.125 / 1e6
	pricePerRequest  = 0.20 / 1e6
	pricePerGBSecond = 0.0000133334
)

type cost struct{ wru, rru, writes, reads, lambda float64 }

// costOf is the cost per million deliveries of a run that made n.
func costOf(r loadResult, n int) cost {
	c := r.calls
	wru := float64(c["PutItem"]+c["UpdateItem"]+c["DeleteItem"]) + 2*float64(c["TransactItems"]) + 25*float64(c["BatchWriteItem"])
	rru := float64(c["GetItem"] + c["Query"])
	per := 1e6 / float64(n)
	lambda := float64(r.invocations)*pricePerRequest + r.busy.Seconds()*0.125*pricePerGBSecond
	return cost{wru: wru / float64(n), rru: rru / float64(n), writes: wru * pricePerWRU * per, reads: rru * pricePerRRU * per, lambda: lambda * per}
}

func runLoad(tb testing.TB, l load) loadResult {
	env := emutest.Start(tb)
	client := env.DynamoDBClient()
	cfg := delivery.Config{AttemptTimeout: 2 * time.Second, RetryBase: 50 * time.Millisecond, RetryCap: 400 * time.Millisecond,
		RetryFor: time.Hour, ErrorAfter: 5, Lanes: 64, Budget: 50 * time.Second}
	b := newBed(tb, cfg)
	counted := &countingDynamo{Client: client, calls: map[string]int64{}}
	routes := dynamo.NewRoutes(counted, b.table)
	wh := webhook.New(webhook.Options{Guard: ssrf.Guard{AllowPrivate: true}})
	engine := delivery.New(routes, deliverysend.New(b.creds, wh, b.bus, time.Minute), cfg, quietLog())

	healthy, downed, flaky := deliverytest.NewReceiver(tb, secret), deliverytest.NewReceiver(tb, secret), deliverytest.NewReceiver(tb, secret)
	var down atomic.Bool
	downed.Behave(func(int) (int, string, time.Duration) {
		if down.Load() {
			return http.StatusServiceUnavailable, "", 0
		}
		return http.StatusOK, "", 0
	})
	flaky.Behave(func(n int) (int, string, time.Duration) {
		if n%5 == 0 {
			return http.StatusInternalServerError, "", 0
		}
		return http.StatusOK, "", 0
	})
	ids := map[string]string{}
	for name, rx := range map[string]*deliverytest.Receiver{"healthy": healthy, "downed": downed, "flaky": flaky} {
		ids[name] = b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)}, route.Filters{}).ID
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var invocations, sweeps, busyNs atomic.Int64
	handler := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		relevant := slices.ContainsFunc(ev.Records, func(r events.DynamoDBEventRecord) bool {
			sk := r.Change.Keys["sk"]
			return r.EventName == "INSERT" && sk.DataType() == events.DataTypeString && len(sk.String()) > 7 && sk.String()[:7] == "UPDATE#"
		})
		start := time.Now()
		resp := deliverer.HandleStream(ctx, engine, ev)
		if relevant { // the template's filter drops the others before Lambda
			invocations.Add(1)
			busyNs.Add(int64(time.Since(start)))
		}
		return resp, nil
	}
	_, streams := stream.Clients(emulator.AWSConfig(emulator.Endpoints{"DynamoDB": env.DynamoDB.Endpoint}))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// A second between reads of an idle shard, as the template's
		// MaximumBatchingWindowInSeconds gathers a batch for a second.
		err := stream.Run(ctx, client, streams, b.table, handler, stream.Options{PollInterval: time.Second, Log: quietLog()})
		if err != nil && ctx.Err() == nil {
			tb.Errorf("stream.Run: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				start := time.Now()
				if _, err := engine.Sweep(ctx); err != nil && ctx.Err() == nil {
					tb.Errorf("Sweep: %v", err)
				}
				sweeps.Add(1)
				invocations.Add(1)
				busyNs.Add(int64(time.Since(start)))
			}
		}
	}()

	// Write the updates as the webhook does: chats split over writers, so
	// each chat's updates are written in order.
	in := dynamo.NewInbox(client, b.table)
	want := map[int64][]int64{}
	const writers = 6
	perChat := make([][]int64, l.chats)
	for i := 0; i < l.updates; i++ {
		chat := i % l.chats
		perChat[chat] = append(perChat[chat], int64(1000+i))
		want[int64(chat+1)] = append(want[int64(chat+1)], int64(1000+i))
	}
	var fed atomic.Int64
	var upAt time.Time
	var upMu sync.Mutex
	start := time.Now()
	var pace <-chan time.Time
	if l.rate > 0 {
		tick := time.NewTicker(time.Second / time.Duration(l.rate))
		defer tick.Stop()
		pace = tick.C
	}
	var ww sync.WaitGroup
	for w := 0; w < writers; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for round := 0; ; round++ {
				wrote := false
				for chat := w; chat < l.chats; chat += writers {
					if round >= len(perChat[chat]) {
						continue
					}
					wrote = true
					if pace != nil {
						<-pace
					}
					id := perChat[chat][round]
					now := time.Now().UTC()
					u := &inbox.Update{GatewayID: b.bot, UpdateID: id, Type: "message", ChatID: ptr(int64(chat + 1)), SenderID: ptr(int64(chat + 1)),
						ReceivedAt: now, ExpiresAt: now.Add(inbox.DefaultUpdateTTL), Raw: deliverytest.Message(id, int64(chat+1), "load "+strconv.FormatInt(id, 10))}
					if err := in.PutUpdate(ctx, u); err != nil {
						tb.Errorf("PutUpdate: %v", err)
						return
					}
					switch f := fed.Add(1); f {
					case int64(l.updates / 3):
						down.Store(true)
					case int64(2 * l.updates / 3):
						down.Store(false)
						upMu.Lock()
						upAt = time.Now()
						upMu.Unlock()
					}
				}
				if !wrote {
					return
				}
			}
		}()
	}
	ww.Wait()
	res := loadResult{fed: time.Since(start), reports: map[string]deliverytest.Report{}}
	if tb.Failed() {
		return res
	}

	rxs := map[string]*deliverytest.Receiver{"healthy": healthy, "downed": downed, "flaky": flaky}
	// Wait while deliveries progress; a minute without any is a failure.
	deadline := time.Now().Add(time.Minute)
	var caughtUp time.Time
	progress := -1
	for time.Now().Before(deadline) {
		all, got := true, 0
		for name, rx := range rxs {
			rep := deliverytest.Check(rx.Accepted(), ids[name], want)
			if name == "downed" && caughtUp.IsZero() && rep.Distinct == l.updates {
				caughtUp = time.Now()
			}
			all = all && rep.Distinct == l.updates
			got += rep.Distinct
		}
		if got > progress {
			progress, deadline = got, time.Now().Add(time.Minute)
		}
		if all {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.total = time.Since(start)
	cancel()
	wg.Wait()
	for name, rx := range rxs {
		res.reports[name] = deliverytest.Check(rx.Accepted(), ids[name], want)
		if p := rx.Problems(); len(p) > 0 {
			tb.Errorf("%s receiver: %d problems, first %s", name, len(p), p[0])
		}
	}
	upMu.Lock()
	if !caughtUp.IsZero() && !upAt.IsZero() {
		res.catchUp = caughtUp.Sub(upAt)
	}
	upMu.Unlock()
	lags := healthyLags(healthy.Accepted(), b)
	slices.Sort(lags)
	if len(lags) > 0 {
		res.lagP50, res.lagP99 = lags[len(lags)/2], lags[len(lags)*99/100]
	}
	res.calls = counted.snapshot()
	res.invocations, res.sweeps, res.busy = invocations.Load(), sweeps.Load(), time.Duration(busyNs.Load())
	return res
}

func ptr[T any](v T) *T { return &v }

// healthyLags are, per update, the time from its receipt (as stored in
// the inbox) to its first arrival at the healthy receiver.
func healthyLags(arrivals []deliverytest.Arrival, b *bed) []time.Duration {
	in := dynamo.NewInbox(b.client, b.table)
	receivedAt := map[int64]time.Time{}
	q := inbox.UpdateQuery{After: -1, Limit: 1000, MaxBytes: 8 << 20, MaxRead: 1000}
	for {
		page, err := in.ReadUpdates(context.Background(), b.bot, q)
		if err != nil || len(page.Updates) == 0 {
			break
		}
		for _, u := range page.Updates {
			receivedAt[u.UpdateID] = u.ReceivedAt
		}
		q.After = page.Last
	}
	seen := map[int64]bool{}
	var lags []time.Duration
	for _, a := range arrivals {
		if seen[a.UpdateID] {
			continue
		}
		seen[a.UpdateID] = true
		if r, ok := receivedAt[a.UpdateID]; ok {
			lags = append(lags, a.At.Sub(r))
		}
	}
	return lags
}

// flakyDynamo fails a share of the engine's DynamoDB calls before they
// reach DynamoDB Local, as a network or DynamoDB's own 500s would.
type flakyDynamo struct {
	*dynamodb.Client
	mu    sync.Mutex
	n     int
	every int // one call in every fails, at random
	fails int
}

var errFlaky = &smithyhttp.RequestSendError{Err: errors.New("connection reset by peer")}

func (f *flakyDynamo) fail() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if mrand.IntN(f.every) == 0 {
		f.fails++
		return true
	}
	return false
}

func (f *flakyDynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.GetItem(ctx, in, o...)
}

func (f *flakyDynamo) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.Query(ctx, in, o...)
}

func (f *flakyDynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.PutItem(ctx, in, o...)
}

func (f *flakyDynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.UpdateItem(ctx, in, o...)
}

func (f *flakyDynamo) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.DeleteItem(ctx, in, o...)
}

func (f *flakyDynamo) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.TransactWriteItems(ctx, in, o...)
}

func (f *flakyDynamo) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if f.fail() {
		return nil, errFlaky
	}
	return f.Client.BatchWriteItem(ctx, in, o...)
}

// TestDynamoFailuresLoseNothing: with one DynamoDB call in twenty failing
// (after the SDK's own retries would have given up), updates carried by
// the real stream still all arrive, in order per chat, and every
// duplicate is a retry with the same webhook-id.
func TestDynamoFailuresLoseNothing(t *testing.T) {
	env := emutest.Start(t)
	cfg := fastRetries()
	b := newBed(t, cfg)
	flaky := &flakyDynamo{Client: env.DynamoDBClient(), every: 20}
	engine := delivery.New(dynamo.NewRoutes(flaky, b.table),
		deliverysend.New(b.creds, webhook.New(webhook.Options{Guard: ssrf.Guard{AllowPrivate: true}}), b.bus, time.Minute), cfg, quietLog())
	rx := deliverytest.NewReceiver(t, secret)
	r := b.route(route.Target{Type: route.TargetWebhook, GatewayID: b.webhookTarget(rx.URL, secret)}, route.Filters{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, streams := stream.Clients(emulator.AWSConfig(emulator.Endpoints{"DynamoDB": env.DynamoDB.Endpoint}))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		handler := func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return deliverer.HandleStream(ctx, engine, ev), nil
		}
		_ = stream.Run(ctx, b.client, streams, b.table, handler, stream.Options{PollInterval: 50 * time.Millisecond, RetryWait: 20 * time.Millisecond, Log: quietLog()})
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_, _ = engine.Sweep(ctx)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	in := dynamo.NewInbox(b.client, b.table)
	want := map[int64][]int64{}
	const n, chats = 300, 10
	for i := 0; i < n; i++ {
		chat := int64(1 + i%chats)
		id := int64(5000 + i)
		want[chat] = append(want[chat], id)
		if err := in.PutUpdate(ctx, b.update(id, chat, "x")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && deliverytest.Check(rx.Accepted(), r.ID, want).Distinct < n {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	rep := deliverytest.Check(rx.Accepted(), r.ID, want)
	t.Logf("%d DynamoDB calls failed on purpose; %s", flaky.fails, rep)
	if rep.Distinct != n || rep.OutOfOrder != 0 || rep.IDMismatch != 0 || len(rep.Missing) != 0 {
		t.Errorf("with DynamoDB failing: %s", rep)
		for _, id := range rep.Missing[:min(3, len(rep.Missing))] {
			chat := int64(1 + (id-5000)%chats)
			l := delivery.Lane{BotID: b.bot, RouteID: r.ID, Chat: route.ChatKey(&chat, nil)}
			st, ok, err := b.routes.Acquire(context.Background(), l, "probe", time.Now(), time.Now(), delivery.AcquireDue)
			q, _ := b.routes.Queue(context.Background(), l, 5)
			due, _ := b.routes.Due(context.Background(), time.Now().Add(time.Hour), 100)
			t.Logf("missing %d: lane %+v (leasable %v, %v), queue head %d items, due lanes %d", id, st, ok, err, len(q), len(due))
		}
	}
	if flaky.fails == 0 {
		t.Error("no call failed: the test tests nothing")
	}
}
