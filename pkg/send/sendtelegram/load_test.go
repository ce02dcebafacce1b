package sendtelegram_test

import (
	"context"
	"flag"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
	"github.com/gatehouse/gatehouse/pkg/send"
)

var (
	loadMessages = flag.Int("send-messages", 600, "messages the load test sends")
	loadPrivate  = flag.Int("send-private-chats", 150, "private chats the load test sends to")
	loadGroups   = flag.Int("send-groups", 4, "groups the load test sends to (a tenth of the messages)")
	loadScale    = flag.Float64("send-scale", 2, "how much faster than Telegram's the stand-in's limits are (1: Telegram's own)")
	loadRatioMax = flag.Float64("send-ratio-max", 0, "fail when the run takes longer than this multiple of the least time the limits allow (0: report only)")
	load429Max   = flag.Float64("send-429-max", 0.10, "fail when more than this share of calls is answered 429 (make bench: Telegram's 0.005)")
)

// TestSendLoad sends a batch through the engine over DynamoDB Local to
// the stand-in enforcing Telegram's limits, and checks against the
// stand-in's ledger: every message accepted exactly once, each chat's
// messages in order, at most 0.5% of calls answered 429, no call before
// its retry_after (the share of 429s is held to 10% here, where -race and
// a loaded machine make requests travel unevenly). `make bench` runs it with Telegram's own limits and
// 10,000 messages to 2,000 private chats and 20 groups, and checks the
// time against the least the limits allow.
func TestSendLoad(t *testing.T) {
	sendLoad(t, *loadMessages, *loadPrivate, *loadGroups, 0)
}

// TestSendLoadDroppedConnections has the stand-in close the connection
// after accepting 5% of the messages: the jobs report those UNKNOWN, and
// none is sent twice.
func TestSendLoadDroppedConnections(t *testing.T) {
	sendLoad(t, 400, 100, 2, 0.05)
}

func sendLoad(t *testing.T, n, private, groups int, drop float64) {
	env := emutest.Start(t)
	client := env.DynamoDBClient()
	name := emutest.UniqueName("send")
	ctx := context.Background()
	if err := dynamo.EnsureTable(ctx, client, name); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	store := newTimedStore(dynamo.NewSendJobs(client, name))
	b := newBed(t, store, *loadScale, nil)
	b.tg.SetDropAfterAccept(drop)
	var workload []telegramtest.Send
	var jobs []string
	var batch []map[string]any
	flush := func() {
		if len(batch) > 0 {
			jobs = append(jobs, b.submit(map[string]any{"messages": batch}, "load-"+strconv.Itoa(len(jobs))).ID)
			batch = nil
		}
	}
	for i := range n {
		chat := strconv.Itoa(100000 + i%private)
		if groups > 0 && i%10 == 0 {
			chat = "-100" + strconv.Itoa(7000000000+(i/10)%groups)
		}
		c, _ := strconv.ParseInt(chat, 10, 64)
		batch = append(batch, map[string]any{"chat_id": c, "text": "update " + marker("load", i)})
		workload = append(workload, telegramtest.Send{ChatID: chat, Group: send.IsGroup(chat)})
		if len(batch) == send.MaxMessages {
			flush()
		}
	}
	flush()
	start := time.Now()
	b.run(time.Hour)
	took := time.Since(start)
	sent, unknown := 0, 0
	for _, id := range jobs {
		j, items := b.job(id)
		if j.Status != send.JobDone || j.Failed != 0 || (drop == 0 && j.Unknown != 0) {
			t.Errorf("job %s: %s, %d of %d sent, %d failed, %d unknown", id, j.Status, j.Sent, j.Total, j.Failed, j.Unknown)
		}
		bad := 0
		for _, it := range items {
			if it.Status != send.ItemSent && it.Status != send.ItemUnknown {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("job %s: %d items neither SENT nor UNKNOWN", id, bad)
		}
		sent += j.Sent
		unknown += j.Unknown
	}
	l := b.tg.Ledger()
	sum := l.Summary()
	st := b.tg.LimitStats()
	minimum := telegramtest.MinimumDuration(b.limits, workload)
	ratio := float64(took) / float64(minimum)
	t.Logf("%d messages to %d private chats and %d groups at 1/%g of Telegram's times: %v (the limits allow %v at best: ratio %.3f); accepted %d, lost %d, duplicates %d, out of order %d; %d calls, %d answered 429 (%.2f%%), %d early retries; %d connections dropped after accepting, %d messages UNKNOWN; %d senders handed over at their budget",
		n, private, groups, *loadScale, took.Round(time.Millisecond), minimum.Round(time.Millisecond), ratio,
		sum.Accepted, n-sum.Accepted, sum.Duplicates, sum.OrderViolations, st.Calls, st.Limited, 100*st.LimitedShare(), st.EarlyRetries, st.Dropped, unknown, b.handovers)
	t.Logf("store calls (mean time × count): %v", store.report())
	if len(l.Entries) > 0 {
		// Messages accepted per 30 s, to see where a run loses time.
		first := l.Entries[0].At
		var per []int
		for _, e := range l.Entries {
			k := int(e.At.Sub(first) / (30 * time.Second))
			for len(per) <= k {
				per = append(per, 0)
			}
			per[k]++
		}
		t.Logf("accepted per 30 s: %v", per)
	}
	if sent+unknown != n || sum.Accepted != n || sum.Duplicates != 0 || sum.OrderViolations != 0 || unknown != st.Dropped || (drop > 0 && st.Dropped == 0) {
		t.Errorf("sent %d and unknown %d (dropped %d), accepted %d of %d; %d duplicates, %d out of order", sent, unknown, st.Dropped, sum.Accepted, n, sum.Duplicates, sum.OrderViolations)
	}
	if st.LimitedShare() > *load429Max || st.EarlyRetries != 0 {
		t.Errorf("%.2f%% of calls answered 429 (at most %.2f%%), %d early retries", 100*st.LimitedShare(), 100**load429Max, st.EarlyRetries)
	}
	if *loadRatioMax > 0 && ratio > *loadRatioMax {
		t.Errorf("took %.3f× the least time the limits allow, more than %.2f×", ratio, *loadRatioMax)
	}
}
