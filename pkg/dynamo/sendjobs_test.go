package dynamo

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// sendBatch is a body of n messages whose texts are size runes drawn at
// random from alphabet: random text is the worst case for compression.
func sendBatch(seed uint64, n, size int, alphabet string) send.Body {
	rng := rand.New(rand.NewPCG(seed, 7))
	runes := []rune(alphabet)
	var b send.Body
	for i := range n {
		var text strings.Builder
		for range size {
			text.WriteRune(runes[rng.IntN(len(runes))])
		}
		m, _ := json.Marshal(map[string]any{"chat_id": i + 1, "text": text.String()})
		b.Messages = append(b.Messages, m)
	}
	return b
}

const latin = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?"

func sendJob(gw string, at time.Time, body send.Body) *send.Job {
	return &send.Job{ID: send.NewJobID(), GatewayID: gw, Owner: alice, Status: send.JobQueued, Total: body.Len(),
		CreatedAt: at, UpdatedAt: at, RequestHash: "h", Body: body}
}

// partition reads every item of partition pk.
func partition(t *testing.T, client *dynamodb.Client, table, pk string) []map[string]types.AttributeValue {
	t.Helper()
	in := &dynamodb.QueryInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(pk)}}
	var items []map[string]types.AttributeValue
	for {
		out, err := client.Query(t.Context(), in)
		if err != nil {
			t.Fatalf("Query %s: %v", pk, err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func countPrefix(items []map[string]types.AttributeValue, prefix string) int {
	n := 0
	for _, it := range items {
		if sk, _ := it[AttrSK].(*types.AttributeValueMemberS); sk != nil && strings.HasPrefix(sk.Value, prefix) {
			n++
		}
	}
	return n
}

func wantBody(t *testing.T, what string, got *send.Job, want send.Body) {
	t.Helper()
	g, _ := json.Marshal(got.Body)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s: the body read back differs (%d bytes, want %d)", what, len(g), len(w))
	}
}

// putCounter counts PutItem calls: the chunks written before a job's
// transaction.
type putCounter struct {
	SendJobsAPI
	puts atomic.Int64
}

func (c *putCounter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.SendJobsAPI.PutItem(ctx, in, optFns...)
}

// TestSendJobsLargeBodies: the largest batches round-trip. A 1,000-message
// batch of 4 KB random texts goes in one transaction; one of 4,096 random
// CJK characters each (12 MB of JSON, the most Telegram's text limit
// allows) needs chunks written before it. With small chunks, a duplicate
// job leaves no chunk of its own behind.
func TestSendJobsLargeBodies(t *testing.T) {
	st, client := newTestStore(t)
	for _, tt := range []struct {
		name          string
		body          send.Body
		chunk, budget int
		oneWrite      bool
	}{
		{name: "1,000 messages of 4 KB", body: sendBatch(1, 1000, 4096, latin), oneWrite: true},
		{name: "1,000 messages of 4,096 CJK characters", body: sendBatch(2, 1000, 4096, "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小")},
		{name: "1,000 messages of 4 KB in 64 KB chunks", body: sendBatch(3, 1000, 4096, latin), chunk: 64 << 10, budget: 256 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			counter := &putCounter{SendJobsAPI: client}
			jobs := NewSendJobs(counter, st.table)
			if tt.chunk > 0 {
				jobs.chunk, jobs.budget = tt.chunk, tt.budget
			}
			j := sendJob("gw_big", t0, tt.body)
			raw, _ := json.Marshal(tt.body)
			start := time.Now()
			if _, err := jobs.CreateJob(t.Context(), j); err != nil {
				t.Fatalf("CreateJob: %v", err)
			}
			wrote := time.Since(start)
			early := counter.puts.Load()
			if tt.oneWrite && early > 0 {
				t.Errorf("%d chunks written before the transaction, want none", early)
			}
			start = time.Now()
			got, err := jobs.GetJob(t.Context(), "gw_big", j.ID)
			if err != nil {
				t.Fatalf("GetJob: %v", err)
			}
			read := time.Since(start)
			wantBody(t, "GetJob", got, tt.body)

			items := partition(t, client, st.table, jobPK(j.ID))
			chunks := countPrefix(items, bodyPrefix)
			var stored int
			for _, it := range items {
				if b, ok := it["data"].(*types.AttributeValueMemberB); ok {
					stored += len(b.Value)
				}
				if b, ok := it["body"].(*types.AttributeValueMemberB); ok {
					stored += len(b.Value)
				}
			}
			t.Logf("%d bytes of JSON stored as %d bytes of gzip in %d chunks, %d of them before the transaction; written in %v, read in %v",
				len(raw), stored, chunks, early, wrote.Round(time.Millisecond), read.Round(time.Millisecond))

			// A second job with the same id and another large body: refused,
			// and its chunks are gone.
			dup := sendJob("gw_big", t0, sendBatch(9, 1000, 4096, latin))
			dup.ID = j.ID
			if _, err := jobs.CreateJob(t.Context(), dup); err != send.ErrJobExists {
				t.Fatalf("duplicate CreateJob: %v, want send.ErrJobExists", err)
			}
			if n := countPrefix(partition(t, client, st.table, jobPK(j.ID)), bodyPrefix); n != chunks {
				t.Errorf("%d chunks after a refused duplicate, want %d", n, chunks)
			}
			got, err = jobs.GetJob(t.Context(), "gw_big", j.ID)
			if err != nil {
				t.Fatalf("GetJob after the duplicate: %v", err)
			}
			wantBody(t, "GetJob after the duplicate", got, tt.body)
		})
	}
}

// TestSendJobsItems: what a job writes besides itself — its outbox entry
// and its bot's SENDQ marker, which Kick touches and the job's DONE
// removes; TTLs a week after creation; nothing in the owner index, which
// lists gateways only.
func TestSendJobsItems(t *testing.T) {
	st, client := newTestStore(t)
	jobs := NewSendJobs(client, st.table)
	kickAt := t0.Add(time.Hour)
	jobs.now = func() time.Time { return kickAt }
	ctx := t.Context()
	if err := jobs.Kick(ctx, "gw_bot"); err != nil {
		t.Fatalf("Kick of an idle bot: %v", err)
	}
	marker := sendQKey("gw_bot")
	shard := marker[AttrPK].(*types.AttributeValueMemberS).Value
	if n := countPrefix(partition(t, client, st.table, shard), "gw_bot"); n != 0 {
		t.Fatalf("Kick of an idle bot wrote a marker")
	}
	j := sendJob("gw_bot", t0, send.Body{Broadcast: &send.Broadcast{ChatIDs: []json.RawMessage{json.RawMessage(`1`)}, Message: json.RawMessage(`{"text":"hi"}`)}})
	if _, err := jobs.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	week := nv(t0.Add(7 * 24 * time.Hour).Unix())
	job := partition(t, client, st.table, jobPK(j.ID))
	outbox := partition(t, client, st.table, outboxPrefix+"gw_bot")
	if len(job) != 1 || len(outbox) != 1 {
		t.Fatalf("%d job items, %d outbox entries; want 1 and 1", len(job), len(outbox))
	}
	for _, it := range []map[string]types.AttributeValue{job[0], outbox[0]} {
		wantEqual(t, "ttl", it[AttrTTL], week)
		if _, ok := it[AttrGSI1PK]; ok {
			t.Errorf("%v carries the owner index's key", it[AttrSK])
		}
	}
	wantEqual(t, "outbox sort key", outbox[0][AttrSK], sv(formatTime(t0)+"#"+j.ID))

	if err := jobs.Kick(ctx, "gw_bot"); err != nil {
		t.Fatalf("Kick: %v", err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.table), Key: marker, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "marker active", got.Item["active"], nv(1))
	wantEqual(t, "marker kick", got.Item["kick"], nv(kickAt.UnixMilli()))
	wantEqual(t, "marker ttl", got.Item[AttrTTL], week)
	if _, ok := got.Item[AttrGSI1PK]; ok {
		t.Error("the marker carries the owner index's key")
	}

	done := *j
	done.Status, done.Sent, done.UpdatedAt = send.JobDone, 1, t0.Add(time.Minute)
	if err := jobs.Progress(ctx, &done); err != nil {
		t.Fatalf("Progress DONE: %v", err)
	}
	if n := len(partition(t, client, st.table, outboxPrefix+"gw_bot")); n != 0 {
		t.Errorf("%d outbox entries after DONE", n)
	}
	if n := countPrefix(partition(t, client, st.table, shard), "gw_bot"); n != 0 {
		t.Errorf("the marker is left after the bot's last job is DONE")
	}
}

// markerRace is a client that creates another job of the bot just before
// the marker's delete, as a request arriving at that moment would.
type markerRace struct {
	SendJobsAPI
	create func() error
	raced  atomic.Bool
}

func (c *markerRace) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if pk, _ := in.Key[AttrPK].(*types.AttributeValueMemberS); pk != nil && strings.HasPrefix(pk.Value, sendQPrefix) && !c.raced.Swap(true) {
		if err := c.create(); err != nil {
			return nil, err
		}
	}
	return c.SendJobsAPI.DeleteItem(ctx, in, optFns...)
}

// TestSendJobsMarkerRace: a job created between the DONE of the bot's
// last job and the marker's delete keeps the marker.
func TestSendJobsMarkerRace(t *testing.T) {
	st, client := newTestStore(t)
	plain := NewSendJobs(client, st.table)
	second := sendJob("gw_bot", t0.Add(time.Second), sendBatch(1, 1, 10, latin))
	race := &markerRace{SendJobsAPI: client, create: func() error {
		_, err := plain.CreateJob(context.Background(), second)
		return err
	}}
	jobs := NewSendJobs(race, st.table)
	first := sendJob("gw_bot", t0, sendBatch(2, 1, 10, latin))
	if _, err := jobs.CreateJob(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	done := *first
	done.Status = send.JobDone
	if err := jobs.Progress(t.Context(), &done); err != nil {
		t.Fatalf("Progress DONE: %v", err)
	}
	if !race.raced.Load() {
		t.Fatal("the marker's delete was never tried")
	}
	p, err := jobs.Pending(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "Pending", p, []string{"gw_bot"})
	active, err := jobs.ActiveJobs(t.Context(), "gw_bot", nil)
	if err != nil || len(active) != 1 || active[0].ID != second.ID {
		t.Fatalf("ActiveJobs = %v, %v; want the second job", active, err)
	}
}

// TestSendJobsStoreErrors: DynamoDB's failures come back as the
// package's errors, never a raw SDK error.
func TestSendJobsStoreErrors(t *testing.T) {
	st, client := newTestStore(t)
	jobs := NewSendJobs(client, st.table+"-missing")
	_, err := jobs.GetJob(t.Context(), "gw_bot", send.NewJobID())
	wantCode(t, "GetJob on a missing table", err, gateway.CodeInternal)
	_, err = jobs.Claim(t.Context(), send.Claim{JobID: send.NewJobID(), Index: 100000, Owner: "a"})
	wantCode(t, "Claim of an index out of range", err, gateway.CodeInternal)
}

// itemBytes is an item's size as DynamoDB bills it: each attribute's name
// and value (strings and binaries by length, a number by its digits, near
// enough for a bound).
func itemBytes(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		default:
			n++
		}
	}
	return n
}

// TestProgressRewritesASmallJobItem: the job item the sender rewrites
// with its progress about once a second stays under 1 KB — one write unit
// — for a 10,000-chat broadcast, whose body goes in a chunk beside it; a
// one-chat job keeps its body inline; both read back whole.
func TestProgressRewritesASmallJobItem(t *testing.T) {
	st, client := newTestStore(t)
	jobs := NewSendJobs(client, st.table)
	ctx := t.Context()
	chats := make([]json.RawMessage, send.MaxBroadcastChats)
	for i := range chats {
		chats[i] = json.RawMessage(strconv.Itoa(100000000 + i*7919))
	}
	big := send.Body{Broadcast: &send.Broadcast{ChatIDs: chats, Message: json.RawMessage(`{"text":"Our new release is out: see what changed."}`)}}
	small := send.Body{Messages: []json.RawMessage{json.RawMessage(`{"chat_id":42,"text":"hi"}`)}}
	for _, tt := range []struct {
		name   string
		body   send.Body
		chunks int
	}{
		{name: "a 10,000-chat broadcast", body: big, chunks: 1},
		{name: "one message", body: small, chunks: 0},
	} {
		j := sendJob("gw_bot", t0, tt.body)
		if _, err := jobs.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		j.Status, j.Sent = send.JobRunning, 1
		if err := jobs.Progress(ctx, j); err != nil {
			t.Fatal(err)
		}
		items := partition(t, client, st.table, jobPK(j.ID))
		for _, it := range items {
			if sk := it[AttrSK].(*types.AttributeValueMemberS).Value; sk == skJob {
				if n := itemBytes(it); n >= 1024 {
					t.Errorf("%s: the job item is %d bytes; each progress write costs %d write units", tt.name, n, (n+1023)/1024)
				} else {
					t.Logf("%s: the job item is %d bytes", tt.name, n)
				}
			}
		}
		if n := countPrefix(items, bodyPrefix); n != tt.chunks {
			t.Errorf("%s: %d body chunks, want %d", tt.name, n, tt.chunks)
		}
		got, err := jobs.GetJob(ctx, "gw_bot", j.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, tt.name, got, tt.body)
	}
}
