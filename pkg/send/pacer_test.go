package send_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/send"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func TestPacerLimits(t *testing.T) {
	l := send.Limits{PerSecond: 3, ChatInterval: time.Second, GroupPerMinute: 2, Window: time.Second}
	tests := []struct {
		name  string
		sends []struct {
			chat string
			at   time.Duration
		}
		chat  string
		group bool
		want  time.Duration
	}{
		{name: "nothing sent", chat: "1", want: 0},
		{name: "chat interval", sends: []struct {
			chat string
			at   time.Duration
		}{{"1", 0}}, chat: "1", want: time.Second},
		{name: "another chat is free", sends: []struct {
			chat string
			at   time.Duration
		}{{"1", 0}}, chat: "2", want: 0},
		{name: "global window full", sends: []struct {
			chat string
			at   time.Duration
		}{{"1", 0}, {"2", 100 * time.Millisecond}, {"3", 200 * time.Millisecond}}, chat: "4", want: time.Second},
		{name: "group window full", sends: []struct {
			chat string
			at   time.Duration
		}{{"-5", 0}, {"-5", 2 * time.Second}}, chat: "-5", group: true, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := send.NewPacer(l)
			for _, s := range tt.sends {
				p.Sent(s.chat, send.IsGroup(s.chat), t0.Add(s.at))
			}
			got := p.Ready(tt.chat, tt.group)
			if got.IsZero() {
				got = t0
			}
			if got.Sub(t0) != tt.want {
				t.Errorf("Ready = +%v, want +%v", got.Sub(t0), tt.want)
			}
		})
	}
}

func TestPacerHold(t *testing.T) {
	l := send.TelegramLimits()
	p := send.NewPacer(l)
	p.Hold("1", t0.Add(5*time.Second), 5*time.Second)
	if got := p.ChatReady("1", false); !got.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("held chat ready at %v", got.Sub(t0))
	}
	// A hold longer than a chat's interval was most likely the bot's
	// overall limit: every chat waits.
	if got := p.GlobalReady(); !got.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("global ready at %v", got.Sub(t0))
	}
	q := send.NewPacer(l)
	q.Hold("1", t0.Add(time.Second), time.Second)
	if got := q.GlobalReady(); !got.IsZero() {
		t.Errorf("a one-second hold held every chat until %v", got.Sub(t0))
	}
}

func TestPacerStateRoundTrip(t *testing.T) {
	l := send.TelegramLimits()
	p := send.NewPacer(l)
	for i := range 40 {
		p.Sent(strconv.Itoa(i%7), false, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	p.Sent("-100", true, t0)
	p.Hold("3", t0.Add(10*time.Second), 10*time.Second)
	now := t0.Add(800 * time.Millisecond)
	raw, err := send.MarshalState(p.State(now))
	if err != nil {
		t.Fatal(err)
	}
	st, err := send.UnmarshalState(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := send.NewPacer(l)
	q.Restore(st)
	for _, chat := range []string{"0", "3", "6", "9", "-100"} {
		group := send.IsGroup(chat)
		if a, b := p.Ready(chat, group), q.Ready(chat, group); !a.Equal(b) {
			t.Errorf("chat %s: ready %v before the hand-over, %v after", chat, a.Sub(t0), b.Sub(t0))
		}
	}
	if len(raw) > 2048 {
		t.Errorf("state is %d bytes; it should hold only what the limits still look back on", len(raw))
	}
}

// TestPacerScheduleObeysLimits drives the pacer through the bench's
// workload in simulated time — 10,000 messages to 2,000 private chats and
// 20 groups, sent whenever the pacer allows — and checks every limit over
// every window, and that the schedule ends within 1.15× of the least
// time the limits allow.
func TestPacerScheduleObeysLimits(t *testing.T) {
	l := send.TelegramLimits()
	p := send.NewPacer(l)
	queues := map[string]int{}
	var order []string
	for i := range 10000 {
		chat := strconv.Itoa(1000 + i%2000)
		if i%10 == 0 {
			chat = "-" + strconv.Itoa(500+(i/10)%20)
		}
		if queues[chat] == 0 {
			order = append(order, chat)
		}
		queues[chat]++
	}
	now := t0
	var times []time.Time
	perChat := map[string][]time.Time{}
	chain := func(c string) int {
		if send.IsGroup(c) {
			return 3 * queues[c]
		}
		return queues[c]
	}
	for len(times) < 10000 {
		// As the engine chooses: of the chats that may send at the bot's
		// next slot, the one with the longest chain left; else the one
		// that may send soonest.
		slot := later(now, p.GlobalReady())
		best, bestAt := "", time.Time{}
		for _, c := range order {
			if queues[c] == 0 {
				continue
			}
			at := p.Ready(c, send.IsGroup(c))
			switch {
			case best == "":
				best, bestAt = c, at
			case !at.After(slot) && (bestAt.After(slot) || chain(c) > chain(best)):
				best, bestAt = c, at
			case bestAt.After(slot) && at.Before(bestAt):
				best, bestAt = c, at
			}
		}
		now = later(now, bestAt)
		p.Sent(best, send.IsGroup(best), now)
		queues[best]--
		times = append(times, now)
		perChat[best] = append(perChat[best], now)
	}
	for i := 30; i < len(times); i++ {
		if times[i].Sub(times[i-30]) < time.Second {
			t.Fatalf("31 messages within a second at #%d", i)
		}
	}
	for c, ts := range perChat {
		for i := 1; i < len(ts); i++ {
			if ts[i].Sub(ts[i-1]) < time.Second {
				t.Fatalf("chat %s: two messages %v apart", c, ts[i].Sub(ts[i-1]))
			}
		}
		if send.IsGroup(c) {
			for i := 20; i < len(ts); i++ {
				if ts[i].Sub(ts[i-20]) < time.Minute {
					t.Fatalf("group %s: 21 messages within a minute", c)
				}
			}
		}
	}
	total := times[len(times)-1].Sub(t0)
	minimum := time.Duration(float64(10000-1) / 30 * float64(time.Second))
	ratio := float64(total) / float64(minimum)
	t.Logf("simulated schedule: %v for 10,000 messages; the limits allow %v at best; ratio %.3f", total, minimum, ratio)
	if ratio > 1.15 {
		t.Errorf("ratio %.3f > 1.15", ratio)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
