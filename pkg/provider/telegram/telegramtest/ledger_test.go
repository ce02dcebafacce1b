package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseMarker(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   Marker
		wantOK bool
	}{
		{name: "plain", text: "hello idem:job-1_a:7 world", want: Marker{Key: "job-1_a", Seq: 7}, wantOK: true},
		{name: "as written", text: Marker{Key: "k", Seq: 12}.String(), want: Marker{Key: "k", Seq: 12}, wantOK: true},
		{name: "inside HTML", text: "<b>idem:abc:3</b>", want: Marker{Key: "abc", Seq: 3}, wantOK: true},
		{name: "MarkdownV2 escapes", text: `*hi* idem:job\-1\_a:7`, want: Marker{Key: "job-1_a", Seq: 7}, wantOK: true},
		{name: "the first of two", text: "idem:a:1 idem:b:2", want: Marker{Key: "a", Seq: 1}, wantOK: true},
		{name: "none", text: "hello", wantOK: false},
		{name: "no sequence", text: "idem:abc:", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseMarker(tt.text)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseMarker(%q) = %+v, %v; want %+v, %v", tt.text, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLedgerChecks(t *testing.T) {
	m := func(key string, seq int64) Marker { return Marker{Key: key, Seq: seq} }
	e := func(bot int64, chat string, id int64, mark Marker) Entry {
		return Entry{BotID: bot, ChatID: chat, MessageID: id, Marker: mark}
	}
	tests := []struct {
		name        string
		entries     []Entry
		want        []ChatMarker
		wantDups    string
		wantOrder   []string // "bot chat before after", by Seq
		wantMissing string
		wantSummary LedgerSummary
	}{
		{
			name:        "clean",
			entries:     []Entry{e(1, "7", 1, m("a", 1)), e(1, "8", 2, m("b", 1)), e(1, "7", 3, m("c", 2))},
			want:        []ChatMarker{{ChatID: "7", Marker: m("a", 1)}, {ChatID: "8", Marker: m("b", 1)}, {ChatID: "7", Marker: m("c", 2)}},
			wantDups:    "[]",
			wantMissing: "[]",
			wantSummary: LedgerSummary{Accepted: 3, Marked: 3, Chats: 2},
		},
		{
			name: "a broadcast: one marker in many chats is no duplicate",
			entries: []Entry{
				e(1, "7", 1, m("news", 1)), e(1, "8", 2, m("news", 1)), e(1, "9", 3, m("news", 1)),
			},
			wantDups:    "[]",
			wantMissing: "[]",
			wantSummary: LedgerSummary{Accepted: 3, Marked: 3, Chats: 3},
		},
		{
			name: "sent twice",
			entries: []Entry{
				e(1, "7", 1, m("a", 1)), e(1, "7", 2, m("a", 1)), e(1, "7", 3, m("b", 2)), e(1, "7", 4, m("a", 1)),
				e(2, "7", 5, m("a", 1)), // another bot
			},
			wantDups: "[{1 7 idem:a:1 [1 2 4]}]",
			// The copy sent after b is out of order too.
			wantOrder:   []string{"1 7 2 1"},
			wantMissing: "[]",
			wantSummary: LedgerSummary{Accepted: 5, Marked: 5, Chats: 2, Duplicates: 1, Extra: 2, OrderViolations: 1},
		},
		{
			name: "out of order",
			entries: []Entry{
				e(1, "7", 1, m("a", 1)), e(1, "7", 2, m("c", 3)), e(1, "7", 3, m("b", 2)),
				e(1, "8", 4, m("x", 2)), e(1, "8", 5, m("y", 5)),
				e(1, "7", 6, Marker{}), // unmarked: not checked
			},
			wantDups:    "[]",
			wantOrder:   []string{"1 7 3 2"},
			wantMissing: "[]",
			wantSummary: LedgerSummary{Accepted: 6, Marked: 5, Chats: 2, OrderViolations: 1},
		},
		{
			name:        "lost",
			entries:     []Entry{e(1, "7", 1, m("a", 1)), e(1, "8", 2, m("b", 1))},
			want:        []ChatMarker{{ChatID: "7", Marker: m("a", 1)}, {ChatID: "7", Marker: m("b", 1)}, {ChatID: "9", Marker: m("c", 1)}},
			wantDups:    "[]",
			wantMissing: "[{7 idem:b:1} {9 idem:c:1}]",
			wantSummary: LedgerSummary{Accepted: 2, Marked: 2, Chats: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Ledger{Entries: tt.entries}
			if got := fmt.Sprint(l.Duplicates()); got != tt.wantDups {
				t.Errorf("Duplicates = %s, want %s", got, tt.wantDups)
			}
			var order []string
			for _, v := range l.OrderViolations() {
				order = append(order, fmt.Sprintf("%d %s %d %d", v.BotID, v.ChatID, v.Before.Marker.Seq, v.After.Marker.Seq))
			}
			if got := fmt.Sprint(order); got != fmt.Sprint(tt.wantOrder) {
				t.Errorf("OrderViolations = %s, want %s", got, tt.wantOrder)
			}
			if got := fmt.Sprint(l.Missing(tt.want)); got != tt.wantMissing {
				t.Errorf("Missing = %s, want %s", got, tt.wantMissing)
			}
			if got := l.Summary(); got != tt.wantSummary {
				t.Errorf("Summary = %+v, want %+v", got, tt.wantSummary)
			}
		})
	}
}

// TestLedgerFromTheWire sends marked messages through Gatehouse's client,
// one of them twice and one out of order, and reads the run back.
func TestLedgerFromTheWire(t *testing.T) {
	s, bot, _ := standIn(t, Options{}, 0)
	ctx := context.Background()
	for _, m := range []struct {
		chat string
		mark Marker
	}{
		{chat: "7", mark: Marker{Key: "a", Seq: 1}},
		{chat: "7", mark: Marker{Key: "b", Seq: 2}},
		{chat: "-100", mark: Marker{Key: "c", Seq: 1}},
		{chat: "7", mark: Marker{Key: "b", Seq: 2}}, // a retry of an accepted send
		{chat: "-100", mark: Marker{Key: "e", Seq: 3}},
		{chat: "-100", mark: Marker{Key: "d", Seq: 2}}, // overtaken
	} {
		if _, err := send(ctx, bot, m.chat, "reply "+m.mark.String()); err != nil {
			t.Fatal(err)
		}
	}
	l := s.Ledger()
	if len(l.Entries) != 6 || l.Entries[0].MessageID == 0 || l.Entries[0].Text != "reply idem:a:1" || l.Entries[0].BotID != 555555 || l.Entries[0].Method != "sendMessage" {
		t.Fatalf("entries %+v", l.Entries)
	}
	if d := l.Duplicates(); len(d) != 1 || d[0].ChatID != "7" || d[0].Marker.Key != "b" || len(d[0].MessageIDs) != 2 {
		t.Errorf("duplicates %+v", d)
	}
	if o := l.OrderViolations(); len(o) != 1 || o[0].ChatID != "-100" || o[0].After.Marker.Key != "d" || o[0].Before.Marker.Key != "e" {
		t.Errorf("order %+v", o)
	}
	s.Reset()
	if n := len(s.Ledger().Entries); n != 0 {
		t.Errorf("Reset kept %d entries", n)
	}
}

// TestLedgerOfOtherResults feeds settle the results of send methods other
// than sendMessage: a list of messages (sendMediaGroup) and a bare
// MessageId (copyMessage), whose text is the call's caption.
func TestLedgerOfOtherResults(t *testing.T) {
	tests := []struct {
		name   string
		method string
		params map[string]any
		result string
		want   string // "message_id text marker" per entry
	}{
		{
			name: "sendMediaGroup", method: "sendMediaGroup", params: map[string]any{"chat_id": "7"},
			result: `[{"message_id":1,"caption":"one idem:a:1"},{"message_id":2,"caption":"two"}]`,
			want:   "[1 one idem:a:1 idem:a:1] [2 two idem::0]",
		},
		{
			name: "copyMessage", method: "copyMessage", params: map[string]any{"chat_id": "7", "caption": "idem:b:2"},
			result: `{"message_id":9}`,
			want:   "[9 idem:b:2 idem:b:2]",
		},
		{
			name: "sendPhoto", method: "sendPhoto", params: map[string]any{"chat_id": "7"},
			result: `{"message_id":3,"caption":"idem:c:3","chat":{"id":7}}`,
			want:   "[3 idem:c:3 idem:c:3]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(Options{Bots: []Bot{{Token: token}}})
			rec := httptest.NewRecorder()
			s.mu.Lock()
			w, limited := s.admit(rec, s.bots[token], tt.method, tt.params)
			if !limited {
				writeOK(w, json.RawMessage(tt.result), "")
				s.settle(w)
			}
			s.mu.Unlock()
			var got []string
			for _, e := range s.Ledger().Entries {
				got = append(got, fmt.Sprint([]any{e.MessageID, e.Text, e.Marker}))
			}
			if strings.Join(got, " ") != tt.want || rec.Code != 200 {
				t.Errorf("got %d %s, want %s", rec.Code, strings.Join(got, " "), tt.want)
			}
		})
	}
}

// TestSetLimits changes the limits of a running server and checks that
// Reset returns to the Options' limits and forgets the counts.
func TestSetLimits(t *testing.T) {
	clk := newClock()
	s, bot, _ := standIn(t, Options{Now: clk.Now}, 0)
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		setTG   bool
		limited bool
	}{
		{},
		// What was sent before the limits still counts.
		{setTG: true, limited: true},
		{advance: time.Second},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if st.setTG {
			s.SetLimits(TelegramLimits())
		}
		if _, err := send(ctx, bot, "7", "x"); (err != nil) != st.limited {
			t.Errorf("send %d: %v", i, err)
		}
	}
	s.Reset()
	if _, err := send(ctx, bot, "7", "x"); err != nil {
		t.Errorf("after Reset: %v", err)
	}
	if st := s.LimitStats(); st.Calls != 1 || st.Limited != 0 {
		t.Errorf("after Reset: %+v", st)
	}
}

// TestDropWithoutAConnection checks the fallback of a drop where there is
// no connection to hijack (HTTP/2, a recorder): the handler aborts, which
// net/http turns into a reset stream, and the send is still in the ledger.
func TestDropWithoutAConnection(t *testing.T) {
	s := NewServer(Options{Bots: []Bot{{Token: token}}, DropAfterAccept: 1})
	rec := httptest.NewRecorder()
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", r)
		}
		if l := s.Ledger(); len(l.Entries) != 1 || !l.Entries[0].Dropped {
			t.Errorf("ledger %+v", l.Entries)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("answered %s", rec.Body)
		}
	}()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/bot"+token+"/sendMessage?chat_id=7&text=hi", nil))
}
