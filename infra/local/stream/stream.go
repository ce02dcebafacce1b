package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/gatehouse/gatehouse/pkg/edge"
)

// Handler is a Lambda handler of DynamoDB stream events, as the delivery
// function registers it with lambda.Start. Run calls it with one batch of
// one shard at a time per shard; shards run concurrently.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// DescribeTableAPI is the part of *dynamodb.Client Run uses: it finds the
// table's stream.
type DescribeTableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// StreamsAPI is the part of *dynamodbstreams.Client Run uses.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var (
	_ DescribeTableAPI = (*dynamodb.Client)(nil)
	_ StreamsAPI       = (*dynamodbstreams.Client)(nil)
)

// The starting positions of Options.StartingPosition.
const (
	// TrimHorizon starts at the oldest record the stream still has.
	TrimHorizon = string(types.ShardIteratorTypeTrimHorizon)
	// Latest starts after the newest record: only later changes arrive.
	Latest = string(types.ShardIteratorTypeLatest)
)

// Defaults and bounds of Options.
const (
	DefaultBatchSize    = 100
	MaxBatchSize        = 10000 // Lambda's bound for DynamoDB streams
	DefaultPollInterval = 250 * time.Millisecond
	DefaultRetryWait    = 500 * time.Millisecond
	// MaxRetryWait caps the doubling wait before a failed batch is
	// delivered again.
	MaxRetryWait = 10 * time.Second
)

// maxGetRecords is the most records one GetRecords returns. As Lambda does
// with no batching window, a batch is what one GetRecords returned.
const maxGetRecords = 1000

// discoverEvery is how often Run lists the stream's shards. A shard that
// ends makes it list them at once, which is when DynamoDB rolls a shard
// over to its child; the tick catches the rest.
const discoverEvery = 5 * time.Second

// Options configures Run. The zero value is the event source mapping's
// defaults, without a checkpoint.
type Options struct {
	// BatchSize is the most records one invocation gets (default 100, at
	// most MaxBatchSize; one GetRecords returns at most 1000).
	BatchSize int
	// PollInterval is how long a shard with no new records waits before it
	// asks again (default 250 ms).
	PollInterval time.Duration
	// StartingPosition is where a mapping without a checkpoint starts:
	// TrimHorizon (default) or Latest. Latest skips the shards already
	// closed and starts the open ones after their newest record.
	StartingPosition string
	// Checkpoint is the file that keeps each shard's last processed record
	// across restarts; empty keeps it in memory only.
	Checkpoint string
	// Log gets one line per failed batch and per trouble reading the
	// stream (default slog.Default()).
	Log *slog.Logger
	// RetryWait is the first wait before a failed batch is delivered again;
	// it doubles with each failure of the same batch, up to MaxRetryWait
	// (default 500 ms). It also paces retries of failed stream reads.
	RetryWait time.Duration
	// Region is the records' awsRegion (default the stream ARN's region;
	// DynamoDB Local's is "ddblocal").
	Region string
}

func (o Options) withDefaults() (Options, error) {
	var errs []error
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultBatchSize
	case o.BatchSize < 0 || o.BatchSize > MaxBatchSize:
		errs = append(errs, fmt.Errorf("BatchSize %d: want 1 to %d", o.BatchSize, MaxBatchSize))
	}
	switch {
	case o.PollInterval == 0:
		o.PollInterval = DefaultPollInterval
	case o.PollInterval < 0:
		errs = append(errs, fmt.Errorf("PollInterval %s is negative", o.PollInterval))
	}
	switch o.StartingPosition {
	case "":
		o.StartingPosition = TrimHorizon
	case TrimHorizon, Latest:
	default:
		errs = append(errs, fmt.Errorf("StartingPosition %q: want %s or %s", o.StartingPosition, TrimHorizon, Latest))
	}
	switch {
	case o.RetryWait == 0:
		o.RetryWait = DefaultRetryWait
	case o.RetryWait < 0:
		errs = append(errs, fmt.Errorf("RetryWait %s is negative", o.RetryWait))
	}
	o.RetryWait = min(o.RetryWait, MaxRetryWait)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o, errors.Join(errs...)
}

// Run delivers the stream of the table named table to h, as Lambda's event
// source mapping does (see the package comment), until ctx ends; then it
// waits for every shard's goroutine, and so for the handler calls in
// flight, which get ctx, and returns nil.
//
// It returns an error, before delivering anything, when o is invalid, the
// table cannot be described or has no stream (dynamo.EnsureTable gives it
// one), or the checkpoint file cannot be read. Failures while it runs —
// the handler's, or the stream's — are logged and retried, never returned.
func Run(ctx context.Context, ddb DescribeTableAPI, streams StreamsAPI, table string, h Handler, o Options) error {
	o, err := o.withDefaults()
	if err == nil && h == nil {
		err = errors.New("no handler")
	}
	if err != nil {
		return fmt.Errorf("stream.Run(%q): %w", table, err)
	}
	desc, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return fmt.Errorf("stream.Run(%q): describe table: %w", table, err)
	}
	t := desc.Table
	arn := aws.ToString(t.LatestStreamArn)
	if t.StreamSpecification == nil || !aws.ToBool(t.StreamSpecification.StreamEnabled) || arn == "" {
		return fmt.Errorf("stream.Run(%q): the table has no stream (dynamo.EnsureTable enables it)", table)
	}
	cp, err := loadCheckpoint(o.Checkpoint, arn, o.Log)
	if err != nil {
		return fmt.Errorf("stream.Run(%q): %w", table, err)
	}
	region := o.Region
	if region == "" {
		region = arnRegion(arn)
	}
	r := &runner{streams: streams, h: h, o: o, log: o.Log, arn: arn, region: region, cp: cp}
	r.log.Info("stream: delivering", "table", table, "stream", arn, "startingPosition", o.StartingPosition,
		"checkpoint", o.Checkpoint, "resumed", cp.resumed)
	r.run(ctx)
	return nil
}

// arnRegion is the region field of an ARN (arn:aws:dynamodb:REGION:…).
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}

// runner is one Run: the stream, its handler and its progress.
type runner struct {
	streams StreamsAPI
	h       Handler
	o       Options
	log     *slog.Logger
	arn     string
	region  string
	cp      *checkpoint
}

// shardInfo is what scheduling needs of a listed shard.
type shardInfo struct {
	id, parent string
	// closed: the shard has an ending sequence number; it gets no new
	// records, and once read to its end its children may start.
	closed bool
}

// startable returns the listed shards that may start now, in listing
// order: those not started yet whose parent is finished, or is not listed
// (trimmed away, or there is none). A parent listed but not finished holds
// its children back, which keeps each item's changes in order.
func startable(listing []shardInfo, started, finished map[string]bool) []shardInfo {
	listed := make(map[string]bool, len(listing))
	for _, s := range listing {
		listed[s.id] = true
	}
	var out []shardInfo
	for _, s := range listing {
		if started[s.id] || finished[s.id] {
			continue
		}
		if s.parent != "" && listed[s.parent] && !finished[s.parent] {
			continue
		}
		out = append(out, s)
	}
	return out
}

// run lists the shards, starts each as its lineage allows, and waits for
// shards to end or ctx to, until ctx does; then it waits for the shards'
// goroutines.
func (r *runner) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan string)
	started, finished := map[string]bool{}, map[string]bool{}
	for id, s := range r.cp.shards() {
		if s.Finished {
			finished[id] = true
		}
	}
	first := true
	tick := time.NewTicker(discoverEvery)
	defer tick.Stop()
	for {
		listing, err := r.listShards(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.Warn("stream: DescribeStream failed; listing the shards again soon", "stream", r.arn, "err", err)
		default:
			listed := make(map[string]bool, len(listing))
			for _, s := range listing {
				listed[s.id] = true
			}
			r.cp.prune(listed)
			latest := first && !r.cp.resumed && r.o.StartingPosition == Latest
			if latest {
				// A mapping created at LATEST never reads what is already
				// closed.
				for _, s := range listing {
					if s.closed {
						finished[s.id] = true
						r.cp.finished(s.id)
					}
				}
			}
			for _, s := range startable(listing, started, finished) {
				pos := r.startAt(s.id, latest)
				started[s.id] = true
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r.readShard(ctx, s.id, pos) {
						r.cp.finished(s.id)
						select {
						case done <- s.id:
						case <-ctx.Done():
						}
					}
				}()
			}
			first = false
		}
		select {
		case <-ctx.Done():
			return
		case id := <-done:
			finished[id] = true
		case <-tick.C:
		}
	}
}

// listShards pages through DescribeStream.
func (r *runner) listShards(ctx context.Context) ([]shardInfo, error) {
	var out []shardInfo
	var start *string
	for {
		d, err := r.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(r.arn), ExclusiveStartShardId: start})
		if err != nil {
			return nil, err
		}
		sd := d.StreamDescription
		if sd == nil {
			return nil, errors.New("DescribeStream returned no stream description")
		}
		for _, s := range sd.Shards {
			out = append(out, shardInfo{
				id:     aws.ToString(s.ShardId),
				parent: aws.ToString(s.ParentShardId),
				closed: s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil,
			})
		}
		if sd.LastEvaluatedShardId == nil || aws.ToString(sd.LastEvaluatedShardId) == aws.ToString(start) {
			return out, nil
		}
		start = sd.LastEvaluatedShardId
	}
}

// position is where a shard iterator starts.
type position struct {
	typ types.ShardIteratorType
	seq string // of AFTER_SEQUENCE_NUMBER
}

// startAt is where shard id starts: after its checkpointed record, at
// LATEST again if it started there and delivered nothing since, at LATEST
// when latest (the first listing of a new mapping at LATEST), and at the
// trim horizon otherwise: a shard that appears while Run runs is read whole.
func (r *runner) startAt(id string, latest bool) position {
	cp, ok := r.cp.shard(id)
	switch {
	case ok && cp.SequenceNumber != "":
		return position{typ: types.ShardIteratorTypeAfterSequenceNumber, seq: cp.SequenceNumber}
	case ok && cp.Latest, latest:
		// Checkpointed as LATEST by readShard once a read from there has
		// answered, so a checkpoint never claims a position not yet taken.
		return position{typ: types.ShardIteratorTypeLatest}
	}
	return position{typ: types.ShardIteratorTypeTrimHorizon}
}

// readShard delivers shard id from pos until the shard ends (it returns
// true) or ctx does (false).
func (r *runner) readShard(ctx context.Context, id string, pos position) bool {
	limit := int32(min(r.o.BatchSize, maxGetRecords))
	apiWait := r.o.RetryWait // paces retries of failed reads, doubling
	failedRead := func(op string, err error) bool {
		r.log.Warn("stream: "+op+" failed; trying again", "shard", id, "retryIn", apiWait, "err", err)
		ok := sleep(ctx, apiWait)
		apiWait = min(2*apiWait, MaxRetryWait)
		return ok
	}
	var iter *string
	latestNoted := false
	for ctx.Err() == nil {
		if iter == nil {
			in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.arn), ShardId: aws.String(id), ShardIteratorType: pos.typ}
			if pos.seq != "" {
				in.SequenceNumber = aws.String(pos.seq)
			}
			out, err := r.streams.GetShardIterator(ctx, in)
			if err != nil {
				if ctx.Err() != nil {
					return false
				}
				if next, ok := r.lost(id, pos, err); ok {
					pos = next
					continue
				}
				if gone(err) {
					r.log.Warn("stream: the shard is gone (trimmed)", "shard", id)
					return true
				}
				if !failedRead("GetShardIterator", err) {
					return false
				}
				continue
			}
			if out.ShardIterator == nil { // a closed shard with nothing after pos
				return true
			}
			iter = out.ShardIterator
		}
		out, err := r.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(limit)})
		if err == nil && pos.typ == types.ShardIteratorTypeLatest && !latestNoted {
			r.cp.latest(id)
			latestNoted = true
		}
		if err != nil {
			var expired *types.ExpiredIteratorException
			switch {
			case ctx.Err() != nil:
				return false
			case errors.As(err, &expired):
				// Iterators live 15 minutes: a long retry of a batch, or a
				// laptop that slept, outlives one. A new one starts after
				// the last record processed, so nothing is lost or repeated.
				r.log.Info("stream: shard iterator expired; getting a new one", "shard", id, "after", pos.seq)
				iter = nil
				continue
			case gone(err):
				r.log.Warn("stream: the shard is gone (trimmed)", "shard", id)
				return true
			}
			if next, ok := r.lost(id, pos, err); ok {
				pos, iter = next, nil
				continue
			}
			if !failedRead("GetRecords", err) {
				return false
			}
			continue
		}
		apiWait = r.o.RetryWait
		if len(out.Records) > 0 {
			last, ok := r.deliver(ctx, id, out.Records)
			if !ok {
				return false
			}
			pos = position{typ: types.ShardIteratorTypeAfterSequenceNumber, seq: last}
		}
		if out.NextShardIterator == nil { // closed, and read to its end
			return true
		}
		iter = out.NextShardIterator
		if len(out.Records) == 0 && !sleep(ctx, r.o.PollInterval) {
			return false
		}
	}
	return false
}

// lost handles the one reason a shard may move on without its records:
// DynamoDB trimmed them (they were older than 24 hours, say after a runner
// stopped for days). Lambda, too, goes on from the trim horizon then.
func (r *runner) lost(id string, pos position, err error) (position, bool) {
	var trimmed *types.TrimmedDataAccessException
	if !errors.As(err, &trimmed) || pos.typ == types.ShardIteratorTypeTrimHorizon {
		return pos, false
	}
	r.log.Warn("stream: records were trimmed before they were delivered; going on from the oldest left",
		"shard", id, "after", pos.seq)
	return position{typ: types.ShardIteratorTypeTrimHorizon}, true
}

// gone reports whether err says the shard (or its stream) no longer exists.
func gone(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// deliver invokes the handler with records until it has processed all of
// them, delivering again from the first failure after each failure. It
// returns the last record's sequence number, or false when ctx ended first.
func (r *runner) deliver(ctx context.Context, shard string, records []types.Record) (string, bool) {
	wait := r.o.RetryWait
	for attempt := 1; ; attempt++ {
		ev, err := toEvent(records, r.arn, r.region)
		if err != nil {
			// Nothing to hand the handler, and skipping would lose the
			// record: the shard waits, loudly, for a build that knows it.
			r.log.Error("stream: a record cannot be shaped as Lambda's event; trying again", "shard", shard,
				"firstSequenceNumber", sequenceNumber(records[0]), "attempt", attempt, "retryIn", wait, "err", err)
			if !sleep(ctx, wait) {
				return "", false
			}
			wait = min(2*wait, MaxRetryWait)
			continue
		}
		resp, err := r.invoke(ctx, ev)
		failed := firstFailure(records, resp, err)
		if failed < 0 {
			last := sequenceNumber(records[len(records)-1])
			r.cp.processed(shard, last)
			return last, true
		}
		if failed > 0 {
			r.cp.processed(shard, sequenceNumber(records[failed-1]))
		}
		if ctx.Err() != nil { // shutting down: what failed is not the handler's doing
			return "", false
		}
		attrs := []any{"shard", shard, "records", len(records),
			"firstSequenceNumber", sequenceNumber(records[0]), "lastSequenceNumber", sequenceNumber(records[len(records)-1]),
			"attempt", attempt, "retryIn", wait}
		if err != nil {
			r.log.Warn("stream: the handler failed; delivering the batch again", append(attrs, "err", err)...)
		} else {
			r.log.Warn("stream: the handler reported failed items; delivering again from the first",
				append(attrs, "failedItems", len(resp.BatchItemFailures), "resumeAt", sequenceNumber(records[failed]))...)
		}
		records = records[failed:]
		if !sleep(ctx, wait) {
			return "", false
		}
		wait = min(2*wait, MaxRetryWait)
	}
}

// invoke calls the handler; a panic is its failure, as it would be Lambda's.
func (r *runner) invoke(ctx context.Context, ev events.DynamoDBEvent) (resp events.DynamoDBEventResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = edge.PanicCause(p)
		}
	}()
	return r.h(ctx, ev)
}

// firstFailure is the index of the first record to deliver again, or -1
// when the handler processed every one. As with Lambda's
// ReportBatchItemFailures: an error, an empty identifier, or one naming no
// record of the batch fails the whole batch; otherwise delivery resumes at
// the earliest record named.
func firstFailure(records []types.Record, resp events.DynamoDBEventResponse, err error) int {
	if err != nil {
		return 0
	}
	if len(resp.BatchItemFailures) == 0 {
		return -1
	}
	first := len(records)
	for _, f := range resp.BatchItemFailures {
		i := -1
		for j, rec := range records {
			if f.ItemIdentifier != "" && sequenceNumber(rec) == f.ItemIdentifier {
				i = j
				break
			}
		}
		if i < 0 {
			return 0
		}
		first = min(first, i)
	}
	return first
}

func sequenceNumber(r types.Record) string {
	if r.Dynamodb == nil {
		return ""
	}
	return aws.ToString(r.Dynamodb.SequenceNumber)
}

// sleep waits d, or until ctx ends (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
