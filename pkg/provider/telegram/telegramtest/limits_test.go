package telegramtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
)

// clock is a settable Options.Now, so a test decides exactly when each
// call arrives.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// standIn serves a stand-in that knows token on a real HTTP server and
// returns it with Gatehouse's own Bot API client, which does not retry
// unless retries is positive.
func standIn(t *testing.T, opts Options, retries int) (*Server, *telegram.Bot, string) {
	t.Helper()
	opts.Bots = []Bot{{Token: token}}
	s := NewServer(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := provider.NewClient(nil)
	c.MaxRetries = retries
	c.Timeout = 5 * time.Second
	return s, telegram.NewBot(srv.URL, token, c), srv.URL
}

func send(ctx context.Context, b *telegram.Bot, chat, text string) (telegram.Message, error) {
	return b.SendMessage(ctx, telegram.SendMessage{ChatID: json.RawMessage(chat), Text: text})
}

// post calls method with a JSON body, for the methods the client has no
// call for.
func post(t *testing.T, base, method, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/bot"+token+"/"+method, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLimitsAnswerAsTelegram walks each limit with a settable clock: the
// call that exceeds it gets 429 with the retry_after (whole seconds,
// rounded up) until it would have been allowed, a call that comes back
// before that is an early retry and is refused again, and a call after it
// goes through.
func TestLimitsAnswerAsTelegram(t *testing.T) {
	type step struct {
		advance time.Duration // before the call
		method  string        // "" is sendMessage through the client
		chat    string
		repeat  int // the step is made this many times (0 is once)
		// distinct sends each repeat to its own chat, chat+0, chat+1, …
		distinct bool
		// retryAfter is the 429's retry_after, 0 for a call that is not
		// refused by a limit.
		retryAfter int
		kind       LimitKind
		early      bool
	}
	relaxed := Limits{ChatInterval: 2500 * time.Millisecond}
	penalised := TelegramLimits()
	penalised.EarlyRetryPenalty = 2 * time.Second
	tests := []struct {
		name       string
		limits     Limits
		steps      []step
		wantLimits LimitStats
	}{
		{
			name:   "one chat: a second apart",
			limits: TelegramLimits(),
			steps: []step{
				{chat: "7"},
				{advance: 200 * time.Millisecond, chat: "7", retryAfter: 1, kind: LimitChat},
				// Told to wait a second at 0.2 s: 1.2 s, not 1 s.
				{advance: 1000 * time.Millisecond, chat: "7"},
				{advance: 0, chat: "8"},
			},
			wantLimits: LimitStats{Calls: 4, Accepted: 3, Limited: 1, ByKind: map[LimitKind]int{LimitChat: 1}},
		},
		{
			name:   "retry_after is rounded up",
			limits: relaxed,
			steps: []step{
				{chat: "7"},
				{advance: 200 * time.Millisecond, chat: "7", retryAfter: 3, kind: LimitChat},
				{advance: 3 * time.Second, chat: "7"},
			},
			wantLimits: LimitStats{Calls: 3, Accepted: 2, Limited: 1, ByKind: map[LimitKind]int{LimitChat: 1}},
		},
		{
			name:   "the bot: 30 a second across chats",
			limits: TelegramLimits(),
			steps: []step{
				{chat: "1000", repeat: 30, distinct: true},
				{advance: 400 * time.Millisecond, chat: "200", retryAfter: 1, kind: LimitGlobal},
				{advance: 0, chat: "201", retryAfter: 1, kind: LimitGlobal},
				{advance: 600 * time.Millisecond, chat: "202"},
			},
			wantLimits: LimitStats{Calls: 33, Accepted: 31, Limited: 2, ByKind: map[LimitKind]int{LimitGlobal: 2}},
		},
		{
			name:   "a group: 20 a minute",
			limits: TelegramLimits(),
			steps: []step{
				{chat: "-100", advance: time.Second, repeat: 20},
				// The first of the 20 went at 1 s: the next may go at 61 s.
				{advance: time.Second, chat: "-100", retryAfter: 40, kind: LimitGroup},
				{advance: 40 * time.Second, chat: "-100"},
				// A private chat is not a group.
				{chat: "5", advance: time.Second, repeat: 25},
			},
			wantLimits: LimitStats{Calls: 47, Accepted: 46, Limited: 1, ByKind: map[LimitKind]int{LimitGroup: 1}},
		},
		{
			name:   "an early retry is refused again with the time left",
			limits: TelegramLimits(),
			steps: []step{
				{chat: "7"},
				{advance: 100 * time.Millisecond, chat: "7", retryAfter: 1, kind: LimitChat},
				{advance: 500 * time.Millisecond, chat: "7", retryAfter: 1, kind: LimitChat, early: true},
				// The second 429 said a second from 0.6 s.
				{advance: 900 * time.Millisecond, chat: "7", retryAfter: 1, kind: LimitChat, early: true},
				{advance: 1000 * time.Millisecond, chat: "7"},
			},
			wantLimits: LimitStats{Calls: 5, Accepted: 2, Limited: 3, EarlyRetries: 2, ByKind: map[LimitKind]int{LimitChat: 3}},
		},
		{
			name:   "an early retry's penalty",
			limits: penalised,
			steps: []step{
				{chat: "7"},
				{advance: 100 * time.Millisecond, chat: "7", retryAfter: 1, kind: LimitChat},
				// 0.5 s left, plus the 2 s penalty.
				{advance: 500 * time.Millisecond, chat: "7", retryAfter: 3, kind: LimitChat, early: true},
				{advance: 3 * time.Second, chat: "7"},
			},
			wantLimits: LimitStats{Calls: 4, Accepted: 2, Limited: 2, EarlyRetries: 1, ByKind: map[LimitKind]int{LimitChat: 2}},
		},
		{
			name:   "editMessageText counts against the chat, sendChatAction does not",
			limits: TelegramLimits(),
			steps: []step{
				{chat: "7"},
				{method: "editMessageText", chat: "7", retryAfter: 1, kind: LimitChat},
				{method: "sendChatAction", chat: "8"},
				{method: "sendChatAction", chat: "8"},
				{method: "answerCallbackQuery", chat: "7"},
			},
			wantLimits: LimitStats{Calls: 2, Accepted: 1, Limited: 1, ByKind: map[LimitKind]int{LimitChat: 1}},
		},
		{
			name:   "no limits",
			limits: Limits{},
			steps: []step{
				{chat: "7", repeat: 100},
				{chat: "-7", repeat: 100},
			},
			wantLimits: LimitStats{Calls: 200, Accepted: 200, ByKind: map[LimitKind]int{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s, bot, base := standIn(t, Options{Limits: tt.limits, Now: clk.Now}, 0)
			ctx := context.Background()
			var want []Throttle
			for i, st := range tt.steps {
				for r := range max(st.repeat, 1) {
					clk.Advance(st.advance)
					chat := st.chat
					if st.distinct {
						n, _ := strconv.Atoi(chat)
						chat = strconv.Itoa(n + r)
					}
					var gotRetry int
					if st.method == "" {
						_, err := send(ctx, bot, chat, fmt.Sprintf("step %d", i))
						var apiErr *telegram.APIError
						if errors.As(err, &apiErr) && apiErr.ErrorCode == http.StatusTooManyRequests {
							gotRetry = int(apiErr.RetryAfter / time.Second)
						} else if err != nil {
							t.Fatalf("step %d: %v", i, err)
						}
					} else {
						status, body := post(t, base, st.method, fmt.Sprintf(`{"chat_id":%s,"message_id":1,"text":"x","action":"typing","callback_query_id":"1"}`, chat))
						if status == http.StatusTooManyRequests {
							var env struct {
								Parameters struct {
									RetryAfter int `json:"retry_after"`
								} `json:"parameters"`
							}
							_ = json.Unmarshal([]byte(body), &env)
							gotRetry = env.Parameters.RetryAfter
						}
					}
					if gotRetry != st.retryAfter {
						t.Errorf("step %d (%s to %s): retry_after %d, want %d", i, st.method, chat, gotRetry, st.retryAfter)
					}
					if st.retryAfter > 0 {
						want = append(want, Throttle{At: clk.Now(), BotID: 555555, ChatID: chat, Kind: st.kind, RetryAfter: st.retryAfter, Early: st.early})
					}
				}
			}
			got := s.Throttles()
			for i := range got {
				got[i].Method = ""
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("throttles\n got %v\nwant %v", got, want)
			}
			if st := s.LimitStats(); fmt.Sprint(st) != fmt.Sprint(tt.wantLimits) {
				t.Errorf("stats %+v, want %+v", st, tt.wantLimits)
			}
		})
	}
}

// TestTooManyRequestsBody checks the 429 byte for byte against Telegram's.
func TestTooManyRequestsBody(t *testing.T) {
	clk := newClock()
	_, _, base := standIn(t, Options{Limits: TelegramLimits(), Now: clk.Now}, 0)
	if status, _ := post(t, base, "sendMessage", `{"chat_id":42,"text":"a"}`); status != http.StatusOK {
		t.Fatalf("first send: %d", status)
	}
	status, body := post(t, base, "sendMessage", `{"chat_id":42,"text":"b"}`)
	want := `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}` + "\n"
	if status != http.StatusTooManyRequests || body != want {
		t.Errorf("got %d %s\nwant 429 %s", status, body, want)
	}
}

// TestClientWaitingRetryAfterSucceeds lets Gatehouse's client, which waits
// the retry_after it is given, run against the real clock: its second
// send to a chat is refused, retried a second later and accepted, and no
// call of it is early.
func TestClientWaitingRetryAfterSucceeds(t *testing.T) {
	s, bot, _ := standIn(t, Options{Limits: TelegramLimits()}, 1)
	ctx := context.Background()
	start := time.Now()
	for i := range 2 {
		if _, err := send(ctx, bot, "7", fmt.Sprintf("idem:k%d:%d", i, i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("two sends to one chat took %v, under the one-second interval", d)
	}
	st := s.LimitStats()
	if st.Limited != 1 || st.EarlyRetries != 0 || st.Accepted != 2 {
		t.Errorf("stats %+v, want 1 limited, 0 early, 2 accepted", st)
	}
	if sum := s.Ledger().Summary(); sum.Accepted != 2 || sum.Duplicates != 0 || sum.OrderViolations != 0 {
		t.Errorf("ledger %+v", sum)
	}
}

// TestScaledLimits runs the chat limit ten times faster: the same answers,
// with retry_after in tenths of a second.
func TestScaledLimits(t *testing.T) {
	l := TelegramLimits().Scaled(10)
	if l.ChatInterval != 100*time.Millisecond || l.Window != 100*time.Millisecond || l.GroupWindow != 6*time.Second || l.RetryUnit != 100*time.Millisecond || l.PerSecond != 30 || l.GroupPerMinute != 20 {
		t.Fatalf("scaled %+v", l)
	}
	clk := newClock()
	s, bot, _ := standIn(t, Options{Limits: l, Now: clk.Now}, 0)
	ctx := context.Background()
	for _, step := range []struct {
		advance   time.Duration
		wantRetry int
	}{
		{advance: 0},
		{advance: 30 * time.Millisecond, wantRetry: 1},
		{advance: 100 * time.Millisecond},
	} {
		clk.Advance(step.advance)
		_, err := send(ctx, bot, "7", "x")
		var apiErr *telegram.APIError
		got := 0
		if errors.As(err, &apiErr) {
			got = int(apiErr.RetryAfter / time.Second) // the client reads seconds
		}
		if got != step.wantRetry {
			t.Errorf("after %v: retry_after %d (%v), want %d", step.advance, got, err, step.wantRetry)
		}
	}
	if st := s.LimitStats(); st.Limited != 1 || st.EarlyRetries != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestConcurrentSendsKeepTheLimits sends from many goroutines at once on
// the real clock and checks, from the ledger's times, that what was
// accepted obeys every limit and that every call is either accepted or
// limited.
func TestConcurrentSendsKeepTheLimits(t *testing.T) {
	l := TelegramLimits().Scaled(20) // 30 per 50 ms, 50 ms per chat, 20 per 3 s per group
	s, bot, _ := standIn(t, Options{Limits: l}, 0)
	ctx := context.Background()
	chats := []string{"1", "2", "3", "4", "5", "6", "-10", "-11"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				_, _ = send(ctx, bot, chats[(g+i)%len(chats)], "x")
			}
		})
	}
	wg.Wait()
	st := s.LimitStats()
	if st.Calls != 320 || st.Accepted+st.Limited != st.Calls || st.Accepted == 0 || st.Limited == 0 {
		t.Errorf("stats %+v: want 320 calls, each accepted or limited, some of each", st)
	}
	if msg := breaches(l, s.Ledger().Entries); msg != "" {
		t.Error(msg)
	}
}

// breaches checks accepted sends against l from their times.
func breaches(l Limits, entries []Entry) string {
	l = l.withDefaults()
	var all []time.Time
	byChat := map[string][]time.Time{}
	for _, e := range entries {
		all = append(all, e.At)
		byChat[e.ChatID] = append(byChat[e.ChatID], e.At)
	}
	if i := overfull(all, l.PerSecond, l.Window); i >= 0 {
		return fmt.Sprintf("send %d is the %dth in one window", i, l.PerSecond+1)
	}
	for chat, ts := range byChat {
		for i := 1; i < len(ts); i++ {
			if ts[i].Sub(ts[i-1]) < l.ChatInterval {
				return fmt.Sprintf("chat %s: sends %v apart", chat, ts[i].Sub(ts[i-1]))
			}
		}
		if isGroup(chat) {
			if i := overfull(ts, l.GroupPerMinute, l.GroupWindow); i >= 0 {
				return fmt.Sprintf("group %s: send %d over the group limit", chat, i)
			}
		}
	}
	return ""
}

func overfull(ts []time.Time, n int, window time.Duration) int {
	for i := n; i < len(ts); i++ {
		if ts[i].Sub(ts[i-n]) < window {
			return i
		}
	}
	return -1
}

// TestDropAfterAccept checks that a dropped send is in the ledger and
// counts against the limits, while the client sees the connection close
// after its request left, and does not send it again.
func TestDropAfterAccept(t *testing.T) {
	tests := []struct {
		name     string
		fraction float64
		seed     uint64
		sends    int
		// wantDropped < 0: some, not all, and the same on a second run.
		wantDropped int
	}{
		{name: "all", fraction: 1, sends: 5, wantDropped: 5},
		{name: "none", fraction: 0, sends: 5, wantDropped: 0},
		{name: "5%, seeded", fraction: 0.05, seed: 14, sends: 200, wantDropped: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func() []int {
				s, bot, _ := standIn(t, Options{DropAfterAccept: tt.fraction, Seed: tt.seed}, 0)
				var dropped []int
				for i := range tt.sends {
					text := Marker{Key: "job1", Seq: int64(i)}.String()
					msg, err := send(context.Background(), bot, fmt.Sprint(100+i), text)
					var unreachable *provider.UnreachableError
					switch {
					case errors.As(err, &unreachable):
						if unreachable.Reason != "the connection was closed unexpectedly" {
							t.Errorf("send %d: %q", i, unreachable.Reason)
						}
						dropped = append(dropped, i)
					case err != nil:
						t.Fatalf("send %d: %v (%T)", i, err, err)
					case msg.MessageID == 0:
						t.Errorf("send %d: no message_id", i)
					}
				}
				led := s.Ledger()
				sum := led.Summary()
				if sum.Accepted != tt.sends || sum.Dropped != len(dropped) || sum.Marked != tt.sends || sum.Duplicates != 0 {
					t.Errorf("ledger %+v, want %d accepted, %d dropped, none twice", sum, tt.sends, len(dropped))
				}
				for _, i := range dropped {
					if e := led.Entries[i]; !e.Dropped || e.MessageID == 0 || e.Marker.Seq != int64(i) {
						t.Errorf("entry %d: %+v", i, e)
					}
				}
				if n := len(s.Calls("sendMessage")); n != tt.sends {
					t.Errorf("%d sendMessage calls for %d sends: a dropped one was sent again", n, tt.sends)
				}
				if st := s.LimitStats(); st.Dropped != len(dropped) {
					t.Errorf("stats %+v", st)
				}
				return dropped
			}
			first := run()
			switch {
			case tt.wantDropped >= 0 && len(first) != tt.wantDropped:
				t.Errorf("%d dropped, want %d", len(first), tt.wantDropped)
			case tt.wantDropped < 0 && (len(first) == 0 || len(first) == tt.sends):
				t.Errorf("%d of %d dropped", len(first), tt.sends)
			case tt.wantDropped < 0 && fmt.Sprint(run()) != fmt.Sprint(first):
				t.Errorf("a second run with the same seed dropped other sends")
			}
		})
	}

	t.Run("a dropped send counts against its chat", func(t *testing.T) {
		clk := newClock()
		s, bot, _ := standIn(t, Options{Limits: TelegramLimits(), DropAfterAccept: 1, Now: clk.Now}, 0)
		if _, err := send(context.Background(), bot, "7", "a"); err == nil {
			t.Fatal("the first send was answered")
		}
		s.SetDropAfterAccept(0)
		_, err := send(context.Background(), bot, "7", "a")
		var apiErr *telegram.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode != http.StatusTooManyRequests {
			t.Errorf("resend at once: %v, want 429", err)
		}
	})
}

// TestDelayStillApplies checks SetDelay, the per-call delay the stand-in
// already had, together with the limits: a client that gives up before
// the answer gets a timeout, and the call is not accepted.
func TestDelayStillApplies(t *testing.T) {
	s, bot, _ := standIn(t, Options{Limits: TelegramLimits()}, 0)
	s.SetDelay(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := send(ctx, bot, "7", "x")
	var unreachable *provider.UnreachableError
	if !errors.As(err, &unreachable) || unreachable.Reason != "the request timed out" {
		t.Errorf("got %v, want a timeout", err)
	}
	time.Sleep(350 * time.Millisecond) // let the handler finish
	if n := len(s.Ledger().Entries); n != 0 {
		t.Errorf("%d accepted", n)
	}
}
