package stream

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/gatehouse/gatehouse/infra/emulator"
)

// TestStartable: a child shard waits for its parent to be read to its end;
// a parent trimmed away holds nothing back. DynamoDB Local rolls a shard
// only after 4 hours, so the integration tests never see a lineage: this
// is where it is checked.
func TestStartable(t *testing.T) {
	// root ─ a (closed) ─┬─ b (closed) ─ d (open)
	//                    └─ c (open)
	listing := []shardInfo{
		{id: "a", closed: true},
		{id: "b", parent: "a", closed: true},
		{id: "c", parent: "a"},
		{id: "d", parent: "b"},
		{id: "orphan", parent: "trimmed"},
	}
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	for _, tc := range []struct {
		name              string
		started, finished map[string]bool
		want              []string
	}{
		{name: "fresh: the roots, and a shard whose parent is gone", want: []string{"a", "orphan"}},
		{name: "a parent being read holds its children", started: set("a", "orphan"), want: nil},
		{name: "a finished parent lets both children start", started: set("a", "orphan"), finished: set("a"), want: []string{"b", "c"}},
		{name: "grandchild waits for its own parent", started: set("a", "b", "c", "orphan"), finished: set("a"), want: nil},
		{name: "grandchild starts after its parent", started: set("a", "b", "c", "orphan"), finished: set("a", "b"), want: []string{"d"}},
		{name: "finished in an earlier run (checkpoint)", finished: set("a", "b", "orphan"), want: []string{"c", "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range startable(listing, tc.started, tc.finished) {
				got = append(got, s.id)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("startable = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFirstFailure: Lambda's ReportBatchItemFailures rules.
func TestFirstFailure(t *testing.T) {
	recs := make([]types.Record, 4)
	for i := range recs {
		recs[i] = types.Record{Dynamodb: &types.StreamRecord{SequenceNumber: aws.String(string(rune('1' + i)))}}
	}
	fail := func(ids ...string) events.DynamoDBEventResponse {
		var r events.DynamoDBEventResponse
		for _, id := range ids {
			r.BatchItemFailures = append(r.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
		}
		return r
	}
	for _, tc := range []struct {
		name string
		resp events.DynamoDBEventResponse
		err  error
		want int
	}{
		{name: "success", want: -1},
		{name: "empty failure list", resp: events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, want: -1},
		{name: "an error fails the batch", err: errors.New("boom"), want: 0},
		{name: "an error wins over failures", resp: fail("3"), err: errors.New("boom"), want: 0},
		{name: "one failed item", resp: fail("3"), want: 2},
		{name: "the earliest of several", resp: fail("4", "2", "3"), want: 1},
		{name: "the first item", resp: fail("1"), want: 0},
		{name: "empty identifier fails the batch", resp: fail("3", ""), want: 0},
		{name: "unknown identifier fails the batch", resp: fail("3", "99"), want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstFailure(recs, tc.resp, tc.err); got != tc.want {
				t.Errorf("firstFailure = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.BatchSize != 100 || o.PollInterval != 250*time.Millisecond || o.StartingPosition != "TRIM_HORIZON" || o.RetryWait != DefaultRetryWait || o.Log == nil {
		t.Errorf("defaults %+v", o)
	}
	if o, _ := (Options{RetryWait: time.Minute}).withDefaults(); o.RetryWait != MaxRetryWait {
		t.Errorf("RetryWait %s, want it capped at %s", o.RetryWait, MaxRetryWait)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{o: Options{BatchSize: -1}, want: "BatchSize"},
		{o: Options{BatchSize: 10001}, want: "BatchSize"},
		{o: Options{PollInterval: -time.Second}, want: "PollInterval"},
		{o: Options{StartingPosition: "AT_TIMESTAMP"}, want: "StartingPosition"},
		{o: Options{RetryWait: -1}, want: "RetryWait"},
	} {
		if _, err := tc.o.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want one naming %s", tc.o, err, tc.want)
		}
	}
	if got := arnRegion("arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-12-05T18:43:59.155"); got != "ddblocal" {
		t.Errorf("arnRegion = %q", got)
	}
}

// TestClients: the streams client goes where DynamoDB goes unless it is
// told its own endpoint.
func TestClients(t *testing.T) {
	for _, tc := range []struct {
		name      string
		endpoints emulator.Endpoints
		base      string
		want      string
	}{
		{name: "DynamoDB's endpoint serves streams too", endpoints: emulator.Endpoints{"DynamoDB": "http://127.0.0.1:8000"}, want: "http://127.0.0.1:8000"},
		{name: "a streams endpoint of its own wins", endpoints: emulator.Endpoints{"DynamoDB": "http://127.0.0.1:8000", "DynamoDB Streams": "http://127.0.0.1:9000"}, want: "http://127.0.0.1:9000"},
		{name: "every service's endpoint", base: "http://localstack:4566", want: "http://localstack:4566"},
		{name: "AWS", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := emulator.AWSConfig(tc.endpoints)
			if tc.base != "" {
				cfg.BaseEndpoint = aws.String(tc.base)
			}
			_, streams := Clients(cfg)
			if got := aws.ToString(streams.Options().BaseEndpoint); got != tc.want {
				t.Errorf("streams endpoint %q, want %q", got, tc.want)
			}
		})
	}
}
