package telegramtest

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Marker is what a test writes into a message's text (or caption) so that
// the ledger can tell which message Telegram received: Key names the
// message (an idempotency key, a job item) and Seq is its place among the
// messages to its chat, so that order can be checked.
//
// It is written "idem:<key>:<seq>" (Marker.String). The key is letters,
// digits, '_' and '-'; none of it is markup in HTML, and in MarkdownV2,
// where '_' and '-' must be escaped, the escaped forms are read too, so
// the marker survives any parse_mode a sender uses.
type Marker struct {
	Key string
	Seq int64
}

// String returns the marker as it is written in a text.
func (m Marker) String() string { return "idem:" + m.Key + ":" + strconv.FormatInt(m.Seq, 10) }

// IsZero reports whether m is no marker.
func (m Marker) IsZero() bool { return m == Marker{} }

var markerPattern = regexp.MustCompile(`idem:((?:[A-Za-z0-9]|\\?[_-])+):([0-9]{1,18})`)

// ParseMarker returns the first marker in text.
func ParseMarker(text string) (Marker, bool) {
	m := markerPattern.FindStringSubmatch(text)
	if m == nil {
		return Marker{}, false
	}
	seq, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return Marker{}, false
	}
	return Marker{Key: strings.ReplaceAll(m[1], `\`, ""), Seq: seq}, true
}

// Entry is one message the stand-in accepted: Telegram holds it from then
// on, whether or not its answer reached the sender.
type Entry struct {
	BotID int64
	// ChatID is chat_id as the call gave it.
	ChatID    string
	MessageID int64
	Method    string
	// Text is the message's text, or its caption.
	Text   string
	Marker Marker
	At     time.Time
	// Dropped is set when the connection was closed instead of answering
	// (Options.DropAfterAccept): the sender cannot know it was sent.
	Dropped bool
}

// record writes the messages of an accepted send into the ledger. result
// is the answer's result: a Message, a list of them (sendMediaGroup), or
// MessageId objects (copyMessage, forwardMessages), whose text is the
// call's own.
func (s *Server) record(h *held, result json.RawMessage, dropped bool) {
	type message struct {
		MessageID int64  `json:"message_id"`
		Text      string `json:"text"`
		Caption   string `json:"caption"`
	}
	var msgs []message
	if err := json.Unmarshal(result, &msgs); err != nil {
		var one message
		_ = json.Unmarshal(result, &one)
		msgs = []message{one}
	}
	given, _ := stringParam(h.params, "text")
	if given == "" {
		given, _ = stringParam(h.params, "caption")
	}
	t := &s.traffic
	for _, m := range msgs {
		text := m.Text
		if text == "" {
			text = m.Caption
		}
		if text == "" {
			text = given
		}
		mark, _ := ParseMarker(text)
		t.ledger = append(t.ledger, Entry{
			BotID: h.bot.ID, ChatID: h.key.chat, MessageID: m.MessageID, Method: h.method,
			Text: text, Marker: mark, At: h.at, Dropped: dropped,
		})
	}
}

// Ledger returns the messages accepted since the server started or was
// Reset, in the order they were accepted.
func (s *Server) Ledger() Ledger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Ledger{Entries: append([]Entry(nil), s.traffic0().ledger...)}
}

// Ledger is a snapshot of accepted messages with the checks a run makes
// of them: nothing lost (Missing), nothing twice (Duplicates), each chat
// in order (OrderViolations).
type Ledger struct {
	// Entries are in the order the messages were accepted.
	Entries []Entry
}

// ChatMarker is a marked message to one chat.
type ChatMarker struct {
	ChatID string
	Marker Marker
}

// Duplicate is a marker accepted more than once in one chat of one bot.
type Duplicate struct {
	BotID      int64
	ChatID     string
	Marker     Marker
	MessageIDs []int64
}

// OrderViolation is a marked message accepted after one with a higher Seq
// in the same chat of the same bot.
type OrderViolation struct {
	BotID  int64
	ChatID string
	// Before is the highest-Seq message accepted earlier, After the one
	// that came after it with a lower Seq.
	Before, After Entry
}

// LedgerSummary counts a ledger's entries and findings.
type LedgerSummary struct {
	Accepted        int // entries
	Dropped         int // entries whose answer was never sent
	Marked          int // entries with a marker
	Chats           int // distinct (bot, chat)
	Duplicates      int // markers accepted more than once, counted once each
	Extra           int // accepted copies beyond the first of each marker
	OrderViolations int
}

// Duplicates returns the markers accepted more than once in the same chat
// of the same bot, in the order of their first acceptance. The same marker
// in different chats (a broadcast of one text) is not a duplicate.
func (l Ledger) Duplicates() []Duplicate {
	type id struct {
		key    chatKeyID
		marker Marker
	}
	index := map[id]int{}
	var out []Duplicate
	for _, e := range l.Entries {
		if e.Marker.IsZero() {
			continue
		}
		k := id{chatKeyID{e.BotID, e.ChatID}, e.Marker}
		if i, ok := index[k]; ok {
			out[i].MessageIDs = append(out[i].MessageIDs, e.MessageID)
			continue
		}
		index[k] = len(out)
		out = append(out, Duplicate{BotID: e.BotID, ChatID: e.ChatID, Marker: e.Marker, MessageIDs: []int64{e.MessageID}})
	}
	dups := out[:0]
	for _, d := range out {
		if len(d.MessageIDs) > 1 {
			dups = append(dups, d)
		}
	}
	return dups
}

type chatKeyID struct {
	bot  int64
	chat string
}

// OrderViolations returns each marked message accepted after a message of
// the same bot and chat with a higher Seq. An equal Seq is a duplicate, not
// a violation: Duplicates reports it.
func (l Ledger) OrderViolations() []OrderViolation {
	highest := map[chatKeyID]Entry{}
	var out []OrderViolation
	for _, e := range l.Entries {
		if e.Marker.IsZero() {
			continue
		}
		k := chatKeyID{e.BotID, e.ChatID}
		prev, ok := highest[k]
		switch {
		case !ok || e.Marker.Seq > prev.Marker.Seq:
			highest[k] = e
		case e.Marker.Seq < prev.Marker.Seq:
			out = append(out, OrderViolation{BotID: e.BotID, ChatID: e.ChatID, Before: prev, After: e})
		}
	}
	return out
}

// Missing returns those of want that no entry holds (for any bot), in
// want's order: the messages a run lost.
func (l Ledger) Missing(want []ChatMarker) []ChatMarker {
	have := map[ChatMarker]bool{}
	for _, e := range l.Entries {
		if !e.Marker.IsZero() {
			have[ChatMarker{e.ChatID, e.Marker}] = true
		}
	}
	var out []ChatMarker
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

// Summary counts the ledger's entries and what Duplicates and
// OrderViolations find.
func (l Ledger) Summary() LedgerSummary {
	var s LedgerSummary
	chats := map[chatKeyID]bool{}
	for _, e := range l.Entries {
		s.Accepted++
		if e.Dropped {
			s.Dropped++
		}
		if !e.Marker.IsZero() {
			s.Marked++
		}
		chats[chatKeyID{e.BotID, e.ChatID}] = true
	}
	s.Chats = len(chats)
	for _, d := range l.Duplicates() {
		s.Duplicates++
		s.Extra += len(d.MessageIDs) - 1
	}
	s.OrderViolations = len(l.OrderViolations())
	return s
}
