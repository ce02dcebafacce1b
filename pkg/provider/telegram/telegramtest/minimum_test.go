package telegramtest

import (
	"cmp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// workload builds sends: private chats each get perPrivate messages,
// groups (negative ids) each get perGroup.
func workload(privates, perPrivate, groups, perGroup int) []Send {
	var out []Send
	for c := range privates {
		for range perPrivate {
			out = append(out, Send{ChatID: strconv.Itoa(1 + c)})
		}
	}
	for g := range groups {
		for range perGroup {
			out = append(out, Send{ChatID: strconv.Itoa(-1 - g), Group: true})
		}
	}
	return out
}

func TestMinimumDuration(t *testing.T) {
	tg := TelegramLimits()
	tests := []struct {
		name   string
		limits Limits
		sends  []Send
		want   time.Duration
	}{
		{name: "nothing", limits: tg, want: 0},
		{name: "one", limits: tg, sends: workload(1, 1, 0, 0), want: 0},
		{name: "30 chats: one burst", limits: tg, sends: workload(30, 1, 0, 0), want: 0},
		{name: "31 chats", limits: tg, sends: workload(31, 1, 0, 0), want: time.Second},
		// ⌊44/30⌋ = 1: 30 at 0 s, 15 at 1 s (smooth pacing would take 1.47 s).
		{name: "45 chats", limits: tg, sends: workload(45, 1, 0, 0), want: time.Second},
		{name: "61 chats", limits: tg, sends: workload(61, 1, 0, 0), want: 2 * time.Second},
		{name: "3 to one chat", limits: tg, sends: workload(1, 3, 0, 0), want: 2 * time.Second},
		{name: "20 to one group: a second apart", limits: tg, sends: workload(0, 0, 1, 20), want: 19 * time.Second},
		{name: "21 to one group: the 21st a minute after the 1st", limits: tg, sends: workload(0, 0, 1, 21), want: time.Minute},
		// 0…19 s, then 60…79 s.
		{name: "40 to one group", limits: tg, sends: workload(0, 0, 1, 40), want: 79 * time.Second},
		{name: "a negative id not marked a group", limits: tg, sends: []Send{{ChatID: "-5"}, {ChatID: "-5"}, {ChatID: "-5"}}, want: 2 * time.Second},
		// 57 chats once and one chat three times: the chat's 2 s over ⌊59/30⌋ = 1 s.
		{name: "the largest bound wins", limits: tg, sends: append(workload(57, 1, 0, 0), Send{ChatID: "@x"}, Send{ChatID: "@x"}, Send{ChatID: "@x"}), want: 2 * time.Second},
		{name: "no limits", limits: Limits{}, sends: workload(1, 100, 1, 100), want: 0},
		{name: "scaled ten times", limits: tg.Scaled(10), sends: workload(31, 1, 0, 0), want: 100 * time.Millisecond},
		// The bench: 10,000 messages, 2,000 private chats and 20 groups;
		// ⌊9,999/30⌋ = 333 s, groups 4·60 + 19 = 259 s.
		{name: "bench", limits: tg, sends: workload(2000, 4, 20, 100), want: 333 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MinimumDuration(tt.limits, tt.sends); got != tt.want {
				t.Errorf("MinimumDuration = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMinimumDurationIsReached shows the bound is tight for these
// workloads, the bench's among them, and that the stand-in's limiter and
// MinimumDuration agree: a schedule that each second sends everything the
// limiter allows, the chats with the longest remaining chain first, gets
// no 429 and ends exactly at MinimumDuration.
func TestMinimumDurationIsReached(t *testing.T) {
	tests := []struct {
		name  string
		sends []Send
	}{
		{name: "61 chats", sends: workload(61, 1, 0, 0)},
		{name: "40 to one group", sends: workload(0, 0, 1, 40)},
		{name: "groups and chats", sends: workload(100, 3, 3, 45)},
		{name: "bench", sends: workload(2000, 4, 20, 100)},
	}
	l := TelegramLimits()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := greedy(l, tt.sends)
			want := MinimumDuration(l, tt.sends)
			t.Logf("%d sends: the schedule ends at %v, the minimum is %v", len(tt.sends), got, want)
			if got != want {
				t.Errorf("the schedule took %v, MinimumDuration is %v", got, want)
			}
		})
	}
}

// greedy schedules sends on whole seconds through the stand-in's own
// limiter and returns when the last one went.
func greedy(l Limits, sends []Send) time.Duration {
	type load struct {
		chat  string
		group bool
		left  int
		rest  time.Duration // the chain the left sends need on their own
	}
	byChat := map[string]*load{}
	var loads []*load
	for _, s := range sends {
		ld, ok := byChat[s.ChatID]
		if !ok {
			ld = &load{chat: s.ChatID}
			byChat[s.ChatID] = ld
			loads = append(loads, ld)
		}
		ld.left++
		ld.group = ld.group || s.Group
	}
	remaining := func(ld *load) time.Duration {
		per := 0
		if ld.group {
			per = l.GroupPerMinute
		}
		return chain(ld.left, l.ChatInterval, per, l.GroupWindow)
	}
	tr := NewServer(Options{Limits: l}).traffic0()
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var last time.Time
	for sec, sent := 0, 0; sent < len(sends) && sec < 100000; sec++ {
		now := start.Add(time.Duration(sec) * time.Second)
		for _, ld := range loads {
			ld.rest = remaining(ld)
		}
		slices.SortStableFunc(loads, func(a, b *load) int {
			return cmp.Or(cmp.Compare(b.rest, a.rest), cmp.Compare(b.left, a.left))
		})
		for _, ld := range loads {
			k := chatKey{token, ld.chat}
			if ld.left == 0 {
				continue
			}
			if d, _ := tr.wait(tr.limits, k, true, now); d > 0 {
				continue
			}
			tr.accept(tr.limits, k, true, now)
			ld.left--
			sent++
			last = now
		}
	}
	return last.Sub(start)
}
