package send

import (
	"encoding/json"
	"sort"
	"time"
)

// Limits are the Bot API's sending limits for one bot, as Telegram's bot
// FAQ states them: about 30 messages a second in all, one message a second
// in one chat, and 20 messages a minute in one group.
type Limits struct {
	// PerSecond is how many messages the bot may send in any one-second
	// window, across all chats.
	PerSecond int
	// ChatInterval is the least time between two messages to one chat.
	ChatInterval time.Duration
	// GroupPerMinute is how many messages the bot may send to one group in
	// any one-minute window.
	GroupPerMinute int
	// Margin is added to every wait. The pacer measures when a request
	// leaves and Telegram when it arrives; a request delayed on the way by
	// more than the margin can arrive early and earn a 429.
	Margin time.Duration
	// Window is the length of the global and the group windows' unit: one
	// second and one minute at TelegramLimits. Tests scale it down.
	Window time.Duration
}

// TelegramLimits are the limits Telegram documents for bots that have not
// paid for higher broadcast rates, with a 40 ms margin.
func TelegramLimits() Limits {
	return Limits{PerSecond: 30, ChatInterval: time.Second, GroupPerMinute: 20, Margin: 40 * time.Millisecond, Window: time.Second}
}

func (l Limits) second() time.Duration {
	if l.Window <= 0 {
		return time.Second
	}
	return l.Window
}

func (l Limits) minute() time.Duration { return 60 * l.second() }

// Pacer decides when a bot may send its next message to a chat. It keeps
// the send times that the limits look back on: the last PerSecond sends,
// each chat's last send, and each group's sends of the last minute, plus
// the holds a 429's retry_after imposed. It is not safe for concurrent
// use; the engine owns one per bot.
type Pacer struct {
	limits Limits
	global []time.Time // ascending, at most PerSecond
	chats  map[string]time.Time
	groups map[string][]time.Time // ascending, at most GroupPerMinute
	holds  map[string]time.Time   // chat → no send before
	hold   time.Time              // no send to any chat before
}

// NewPacer returns a pacer with no history.
func NewPacer(l Limits) *Pacer {
	return &Pacer{limits: l, chats: map[string]time.Time{}, groups: map[string][]time.Time{}, holds: map[string]time.Time{}}
}

// Limits returns the pacer's limits.
func (p *Pacer) Limits() Limits { return p.limits }

// ChatReady returns the earliest time a message to chat may go as far as
// the chat's own limits go (its interval, its group's window, a hold).
func (p *Pacer) ChatReady(chat string, group bool) time.Time {
	var t time.Time
	if last, ok := p.chats[chat]; ok && p.limits.ChatInterval > 0 {
		t = last.Add(p.limits.ChatInterval + p.limits.Margin)
	}
	if group && p.limits.GroupPerMinute > 0 {
		if sends := p.groups[chat]; len(sends) >= p.limits.GroupPerMinute {
			t = later(t, sends[len(sends)-p.limits.GroupPerMinute].Add(p.limits.minute()+p.limits.Margin))
		}
	}
	return later(t, p.holds[chat])
}

// GlobalReady returns the earliest time any message may go as far as the
// bot's overall limit and holds go.
func (p *Pacer) GlobalReady() time.Time {
	t := p.hold
	if n := p.limits.PerSecond; n > 0 && len(p.global) >= n {
		t = later(t, p.global[len(p.global)-n].Add(p.limits.second()+p.limits.Margin))
	}
	return t
}

// Ready returns when a message to chat may go: the later of ChatReady and
// GlobalReady.
func (p *Pacer) Ready(chat string, group bool) time.Time {
	return later(p.ChatReady(chat, group), p.GlobalReady())
}

// Sent records a message to chat leaving at at.
func (p *Pacer) Sent(chat string, group bool, at time.Time) {
	if n := p.limits.PerSecond; n > 0 {
		p.global = appendBounded(p.global, at, n)
	}
	p.chats[chat] = later(p.chats[chat], at)
	if group && p.limits.GroupPerMinute > 0 {
		p.groups[chat] = appendBounded(p.groups[chat], at, p.limits.GroupPerMinute)
	}
}

// Hold records a 429 for chat: nothing goes to chat before until. Telegram
// does not say which limit a 429 is for, so a hold longer than the chat's
// own interval holds every chat too: it was most likely the bot's overall
// limit, and sending on would only earn more 429s.
func (p *Pacer) Hold(chat string, until time.Time, wait time.Duration) {
	p.holds[chat] = later(p.holds[chat], until)
	if wait > p.limits.ChatInterval || p.limits.ChatInterval == 0 {
		p.hold = later(p.hold, until)
	}
}

// appendBounded appends t keeping s sorted and at most n long.
func appendBounded(s []time.Time, t time.Time, n int) []time.Time {
	i := sort.Search(len(s), func(i int) bool { return s[i].After(t) })
	s = append(s, time.Time{})
	copy(s[i+1:], s[i:])
	s[i] = t
	if len(s) > n {
		s = append(s[:0], s[len(s)-n:]...)
	}
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// PacerState is what a pacer must remember across a hand-over from one
// sender to the next (a Lambda invocation ends, another takes the bot's
// lease): only the sends and holds the limits still look back on at the
// time it is taken, so it stays small whatever the bot sent before.
type PacerState struct {
	Global []time.Time            `json:"g,omitempty"`
	Chats  map[string]time.Time   `json:"c,omitempty"`
	Groups map[string][]time.Time `json:"r,omitempty"`
	Holds  map[string]time.Time   `json:"h,omitempty"`
	Hold   time.Time              `json:"a,omitempty"`
}

// State returns the history that still matters at now.
func (p *Pacer) State(now time.Time) PacerState {
	s := PacerState{Chats: map[string]time.Time{}, Groups: map[string][]time.Time{}, Holds: map[string]time.Time{}}
	for _, t := range p.global {
		if t.Add(p.limits.second() + p.limits.Margin).After(now) {
			s.Global = append(s.Global, t)
		}
	}
	for c, t := range p.chats {
		if t.Add(p.limits.ChatInterval + p.limits.Margin).After(now) {
			s.Chats[c] = t
		}
	}
	for c, ts := range p.groups {
		var keep []time.Time
		for _, t := range ts {
			if t.Add(p.limits.minute() + p.limits.Margin).After(now) {
				keep = append(keep, t)
			}
		}
		if len(keep) > 0 {
			s.Groups[c] = keep
		}
	}
	for c, t := range p.holds {
		if t.After(now) {
			s.Holds[c] = t
		}
	}
	if p.hold.After(now) {
		s.Hold = p.hold
	}
	return s
}

// Restore loads a state taken by State, on top of what p holds.
func (p *Pacer) Restore(s PacerState) {
	for _, t := range s.Global {
		p.global = appendBounded(p.global, t, max(p.limits.PerSecond, 1))
	}
	for c, t := range s.Chats {
		p.chats[c] = later(p.chats[c], t)
	}
	for c, ts := range s.Groups {
		for _, t := range ts {
			p.groups[c] = appendBounded(p.groups[c], t, max(p.limits.GroupPerMinute, 1))
		}
	}
	for c, t := range s.Holds {
		p.holds[c] = later(p.holds[c], t)
	}
	p.hold = later(p.hold, s.Hold)
}

// MarshalState encodes s compactly for the lease item.
func MarshalState(s PacerState) ([]byte, error) { return json.Marshal(s) }

// UnmarshalState decodes what MarshalState encoded; an empty input is an
// empty state.
func UnmarshalState(b []byte) (PacerState, error) {
	var s PacerState
	if len(b) == 0 {
		return s, nil
	}
	err := json.Unmarshal(b, &s)
	return s, err
}
