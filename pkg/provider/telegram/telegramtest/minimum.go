package telegramtest

import "time"

// Send is one message of a workload given to MinimumDuration.
type Send struct {
	ChatID string
	// Group marks a group or supergroup chat, which GroupPerMinute limits
	// too. A chat is a group if any of its sends says so.
	Group bool
}

// MinimumDuration returns a lower bound on the time from the first to the
// last send of sends, in any order, by any sender that never gets a 429
// from l: a bench divides its measured time by it.
//
// It is the largest of three bounds, each the exact minimum of one limit on
// its own (the earliest schedule of a single chain of sends, where sending
// each as early as allowed is optimal):
//   - the bot: n sends with at most PerSecond in any Window take
//     ⌊(n−1)/PerSecond⌋·Window (a burst of PerSecond at the start of each
//     window; this is a little under the smooth (n−1)/PerSecond seconds,
//     by less than one Window);
//   - a private chat with k sends: (k−1)·ChatInterval;
//   - a group with k sends: ChatInterval apart and at most GroupPerMinute
//     in any GroupWindow, i.e. ⌊(k−1)/G⌋·GroupWindow + ((k−1) mod G)·
//     ChatInterval with Telegram's values (20 a minute, a second apart).
//
// Every sender obeys each limit, so none can beat the largest bound; it
// is only a lower bound because the limits compete for the same seconds
// (many chats that each need their whole chain would have to share the
// bot's 30 a second). It is the true minimum when one bound dominates
// and the others leave slack, which is the bench workload's case: 10,000
// messages at 30 a second take ⌊9,999/30⌋ = 333 s; 2,000 private chats
// get about 4–5 messages each, a chain of at most a few seconds; 20 groups
// sharing the rest get, even at 100 each, 4·60 + 19 = 259 s < 333 s. A
// schedule that sends 30 each second, taking the chats whose remaining
// chain is longest first, then meets every limit and ends at 333 s
// (TestMinimumDurationIsReached builds it).
func MinimumDuration(l Limits, sends []Send) time.Duration {
	if len(sends) == 0 {
		return 0
	}
	l = l.withDefaults()
	perChat := map[string]int{}
	group := map[string]bool{}
	for _, s := range sends {
		perChat[s.ChatID]++
		group[s.ChatID] = group[s.ChatID] || s.Group
	}
	d := chain(len(sends), 0, l.PerSecond, l.Window)
	for chat, k := range perChat {
		per := 0
		if group[chat] {
			per = l.GroupPerMinute
		}
		d = max(d, chain(k, l.ChatInterval, per, l.GroupWindow))
	}
	return d
}

// chain returns when the last of k sends can go, the first at 0, when
// consecutive sends are at least gap apart and at most per (0: no bound)
// fall in any window (t−window, t]: the earliest schedule.
func chain(k int, gap time.Duration, per int, window time.Duration) time.Duration {
	if k <= 1 {
		return 0
	}
	t := make([]time.Duration, k)
	for i := 1; i < k; i++ {
		t[i] = t[i-1] + gap
		if per > 0 && i >= per {
			t[i] = max(t[i], t[i-per]+window)
		}
	}
	return t[k-1]
}
