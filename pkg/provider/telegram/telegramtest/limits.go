package telegramtest

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits are the flood limits the stand-in enforces on each bot, modelled on
// what Telegram documents (core.telegram.org/bots/faq, "My bot is hitting
// limits"): no more than about 30 messages per second across all chats, no
// more than one message per second to one chat, no more than 20 messages
// per minute to one group. Telegram says it "may allow short bursts"; the
// stand-in does not, so a sender that passes here has no margin to lose.
//
// The zero value enforces nothing, and so does each zero field for its own
// limit, so servers made before limits existed behave as before.
type Limits struct {
	// PerSecond is how many messages one bot may send in any Window,
	// across all its chats (Telegram: 30).
	PerSecond int
	// Window is the span PerSecond counts over; zero means one second.
	Window time.Duration
	// ChatInterval is the least time between two messages of one bot to
	// the same chat, private or group (Telegram: one second).
	ChatInterval time.Duration
	// GroupPerMinute is how many messages one bot may send to one group or
	// supergroup in any GroupWindow (Telegram: 20).
	GroupPerMinute int
	// GroupWindow is the span GroupPerMinute counts over; zero means one
	// minute.
	GroupWindow time.Duration
	// RetryUnit is what one unit of retry_after stands for; zero means a
	// second, which is what the wire format says. Only a scaled Limits
	// (Scaled) changes it, and then a client must read retry_after in the
	// same unit to wait the right time.
	RetryUnit time.Duration
	// EarlyRetryPenalty is added to a chat's wait each time it is called
	// again before the retry_after it was given has elapsed. Telegram
	// lengthens the waits of clients that ignore retry_after; zero models
	// only the least of that: the early call is refused again with the
	// time that remains.
	EarlyRetryPenalty time.Duration
}

// TelegramLimits returns Telegram's documented limits: 30 messages per
// second per bot, one per second per chat, 20 per minute per group, and
// retry_after in seconds.
func TelegramLimits() Limits {
	return Limits{
		PerSecond:      30,
		Window:         time.Second,
		ChatInterval:   time.Second,
		GroupPerMinute: 20,
		GroupWindow:    time.Minute,
		RetryUnit:      time.Second,
	}
}

// Scaled returns l with every duration divided by factor (a factor of 10
// makes the same schedule run ten times faster), retry_after's unit
// included: a test that waits retry_after·RetryUnit sees the same
// sequence of answers as with l, in a tenth of the time. A factor ≤ 0 is
// taken as 1.
func (l Limits) Scaled(factor float64) Limits {
	if factor <= 0 {
		factor = 1
	}
	l = l.withDefaults()
	scale := func(d time.Duration) time.Duration { return time.Duration(math.Round(float64(d) / factor)) }
	l.Window = scale(l.Window)
	l.ChatInterval = scale(l.ChatInterval)
	l.GroupWindow = scale(l.GroupWindow)
	l.RetryUnit = scale(l.RetryUnit)
	l.EarlyRetryPenalty = scale(l.EarlyRetryPenalty)
	return l
}

// IsZero reports whether l enforces nothing.
func (l Limits) IsZero() bool {
	return l.PerSecond <= 0 && l.ChatInterval <= 0 && l.GroupPerMinute <= 0
}

func (l Limits) withDefaults() Limits {
	if l.Window <= 0 {
		l.Window = time.Second
	}
	if l.GroupWindow <= 0 {
		l.GroupWindow = time.Minute
	}
	if l.RetryUnit <= 0 {
		l.RetryUnit = time.Second
	}
	return l
}

// retryAfter is the retry_after that covers wait: whole units rounded up,
// at least one, since the wire carries an integer and a client told "0"
// would call again at once.
func (l Limits) retryAfter(wait time.Duration) int {
	n := int((wait + l.RetryUnit - 1) / l.RetryUnit)
	return max(n, 1)
}

// LimitKind names the limit a 429 enforced.
type LimitKind string

// The limits.
const (
	LimitGlobal LimitKind = "global" // PerSecond across all chats of a bot
	LimitChat   LimitKind = "chat"   // ChatInterval in one chat
	LimitGroup  LimitKind = "group"  // GroupPerMinute in one group
)

// Throttle is one 429 the stand-in answered because of its Limits (a 429
// queued with Server.Fail is not one).
type Throttle struct {
	At     time.Time
	BotID  int64
	ChatID string
	Method string
	// Kind is the limit that was hit; for an early retry, the limit of the
	// 429 whose retry_after it did not wait out.
	Kind LimitKind
	// RetryAfter is the retry_after sent, in Limits.RetryUnit.
	RetryAfter int
	// Early is set when the call came before the retry_after of an earlier
	// 429 to the same bot and chat had elapsed.
	Early bool
}

// LimitStats count what the limits did. Only calls of methods that count
// against a limit (sends, copies, forwards and editMessageText) that name
// a chat are counted.
type LimitStats struct {
	// Calls is every counted call, answered or refused.
	Calls int
	// Accepted is the calls answered ok (sends and edits).
	Accepted int
	// Limited is the calls answered 429 by the limits.
	Limited int
	// EarlyRetries is the calls that came before a retry_after given to
	// their bot and chat had elapsed (each is also Limited).
	EarlyRetries int
	// ByKind splits Limited by the limit hit.
	ByKind map[LimitKind]int
	// Dropped is the accepted sends whose connection was closed without an
	// answer (Options.DropAfterAccept).
	Dropped int
}

// LimitedShare is Limited/Calls, 0 when there were no calls.
func (st LimitStats) LimitedShare() float64 {
	if st.Calls == 0 {
		return 0
	}
	return float64(st.Limited) / float64(st.Calls)
}

// sendMethods send a message: they count against every limit, are written
// to the ledger and may be dropped after acceptance. A call that sends
// several messages (sendMediaGroup, forwardMessages, copyMessages) counts
// once: Telegram does not document otherwise.
var sendMethods = map[string]bool{
	"sendmessage": true, "sendphoto": true, "senddocument": true, "sendvideo": true,
	"sendaudio": true, "sendvoice": true, "sendanimation": true, "sendvideonote": true,
	"sendsticker": true, "sendlocation": true, "sendvenue": true, "sendcontact": true,
	"sendpoll": true, "senddice": true, "sendmediagroup": true, "sendinvoice": true,
	"sendgame": true, "sendpaidmedia": true,
	"copymessage": true, "copymessages": true, "forwardmessage": true, "forwardmessages": true,
}

// chatMethods change a chat without sending to it: they count against the
// chat's own limits (ChatInterval and, in a group, GroupPerMinute) but not
// against the bot-wide PerSecond, which Telegram states for sending. The
// others (sendChatAction, answerCallbackQuery, getMe, getFile, …) count
// against nothing.
var chatMethods = map[string]bool{"editmessagetext": true}

type chatKey struct{ token, chat string }

type block struct {
	until time.Time
	kind  LimitKind
}

// traffic is the Server's limit, ledger and drop state, guarded by
// Server.mu. Its zero value is ready: it takes its settings from Options
// on first use, so Reset can forget it by zeroing it.
type traffic struct {
	ready    bool
	limits   Limits
	drop     float64
	rng      *rand.Rand
	global   map[string][]time.Time  // per bot token, the last PerSecond sends
	last     map[chatKey]time.Time   // the last send or edit per chat
	group    map[chatKey][]time.Time // per group, the last GroupPerMinute
	blocks   map[chatKey]block       // the latest retry_after given per chat
	stats    LimitStats
	throttle []Throttle
	ledger   []Entry
}

func (s *Server) traffic0() *traffic {
	t := &s.traffic
	if !t.ready {
		*t = traffic{
			ready:  true,
			limits: s.opts.Limits.withDefaults(),
			drop:   s.opts.DropAfterAccept,
			rng:    rand.New(rand.NewPCG(s.opts.Seed, s.opts.Seed^0x9e3779b97f4a7c15)),
			global: map[string][]time.Time{},
			last:   map[chatKey]time.Time{},
			group:  map[chatKey][]time.Time{},
			blocks: map[chatKey]block{},
			stats:  LimitStats{ByKind: map[LimitKind]int{}},
		}
	}
	return t
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// SetLimits replaces the limits from now on; what was sent before still
// counts. Reset returns to Options.Limits.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traffic0().limits = l.withDefaults()
}

// SetDropAfterAccept makes the given fraction (0..1) of accepted sends
// close their connection instead of answering, chosen by the generator
// seeded with Options.Seed. Reset returns to Options.DropAfterAccept.
func (s *Server) SetDropAfterAccept(fraction float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traffic0().drop = fraction
}

// LimitStats returns what the limits did since the server started or was
// Reset.
func (s *Server) LimitStats() LimitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.traffic0().stats
	st.ByKind = make(map[LimitKind]int, len(st.ByKind))
	for k, v := range s.traffic.stats.ByKind {
		st.ByKind[k] = v
	}
	return st
}

// Throttles returns every 429 the limits answered, oldest first.
func (s *Server) Throttles() []Throttle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Throttle(nil), s.traffic0().throttle...)
}

// isGroup reports whether chat is a group or supergroup: Telegram gives
// them negative ids (channels' -100… ids too, but the stand-in answers
// negative ids as supergroups). "@name" addresses a channel.
func isGroup(chat string) bool {
	id, err := strconv.ParseInt(chat, 10, 64)
	return err == nil && id < 0
}

// wait returns how long a call of the given sort to chat must wait under
// l, and the limit that makes it longest.
func (t *traffic) wait(l Limits, k chatKey, send bool, now time.Time) (time.Duration, LimitKind) {
	var longest time.Duration
	var kind LimitKind
	consider := func(d time.Duration, k LimitKind) {
		if d > longest {
			longest, kind = d, k
		}
	}
	if send && l.PerSecond > 0 {
		consider(windowWait(t.global[k.token], l.PerSecond, l.Window, now), LimitGlobal)
	}
	if last, ok := t.last[k]; ok && l.ChatInterval > 0 {
		consider(last.Add(l.ChatInterval).Sub(now), LimitChat)
	}
	if l.GroupPerMinute > 0 && isGroup(k.chat) {
		consider(windowWait(t.group[k], l.GroupPerMinute, l.GroupWindow, now), LimitGroup)
	}
	return longest, kind
}

// windowWait is how long until fewer than n of sent (oldest first) fall
// in the window (now-window, now].
func windowWait(sent []time.Time, n int, window time.Duration, now time.Time) time.Duration {
	if len(sent) < n {
		return 0
	}
	return sent[len(sent)-n].Add(window).Sub(now)
}

func (t *traffic) accept(l Limits, k chatKey, send bool, now time.Time) {
	if send && l.PerSecond > 0 {
		t.global[k.token] = keepLast(append(t.global[k.token], now), l.PerSecond)
	}
	t.last[k] = now
	if l.GroupPerMinute > 0 && isGroup(k.chat) {
		t.group[k] = keepLast(append(t.group[k], now), l.GroupPerMinute)
	}
}

func keepLast(ts []time.Time, n int) []time.Time {
	if len(ts) > n {
		return append(ts[:0], ts[len(ts)-n:]...)
	}
	return ts
}

// held is the answer to a call that counts against the limits, kept until
// settle has seen whether Telegram would have accepted it.
type held struct {
	w      http.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer

	bot    *botState
	method string
	key    chatKey
	send   bool
	params map[string]any
	at     time.Time
}

func (h *held) Header() http.Header { return h.header }

func (h *held) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *held) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

// admit is the hook before a call may send: for a call that counts against
// the limits it either answers 429 and returns true, or returns a writer
// that holds the answer for settle. Other calls pass through untouched.
// s.mu is held.
func (s *Server) admit(w http.ResponseWriter, bot *botState, method string, params map[string]any) (http.ResponseWriter, bool) {
	m := strings.ToLower(method)
	send := sendMethods[m]
	if !send && !chatMethods[m] {
		return w, false
	}
	chat, _ := stringParam(params, "chat_id")
	if chat == "" {
		return w, false // an inline message, or a call the method refuses
	}
	t := s.traffic0()
	l := t.limits
	now := s.now()
	k := chatKey{bot.Token, chat}
	t.stats.Calls++

	if b, ok := t.blocks[k]; ok && now.Before(b.until) {
		until := b.until.Add(l.EarlyRetryPenalty)
		n := l.retryAfter(until.Sub(now))
		t.blocks[k] = block{until: laterOf(until, now.Add(time.Duration(n)*l.RetryUnit)), kind: b.kind}
		t.stats.EarlyRetries++
		s.throttled(w, Throttle{At: now, BotID: bot.ID, ChatID: chat, Method: method, Kind: b.kind, RetryAfter: n, Early: true})
		return w, true
	}
	if d, kind := t.wait(l, k, send, now); d > 0 {
		n := l.retryAfter(d)
		t.blocks[k] = block{until: now.Add(time.Duration(n) * l.RetryUnit), kind: kind}
		s.throttled(w, Throttle{At: now, BotID: bot.ID, ChatID: chat, Method: method, Kind: kind, RetryAfter: n})
		return w, true
	}
	return &held{w: w, header: http.Header{}, bot: bot, method: method, key: k, send: send, params: params, at: now}, false
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// throttled answers 429 the way Telegram does and records it.
func (s *Server) throttled(w http.ResponseWriter, th Throttle) {
	t := &s.traffic
	t.stats.Limited++
	t.stats.ByKind[th.Kind]++
	t.throttle = append(t.throttle, th)
	writeError(w, http.StatusTooManyRequests, defaultDescription(http.StatusTooManyRequests, th.RetryAfter), th.RetryAfter)
}

// settle is the hook after a call: when admit held its answer and the
// answer is ok, the call counts against the limits, a send goes into the
// ledger, and then either the answer is sent or, for the share of sends
// Options.DropAfterAccept names, the connection is closed without one.
// s.mu is held.
func (s *Server) settle(w http.ResponseWriter) {
	h, ok := w.(*held)
	if !ok {
		return
	}
	var env struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
	}
	if h.status == http.StatusOK && json.Unmarshal(h.body.Bytes(), &env) == nil && env.OK {
		t := s.traffic0()
		t.accept(t.limits, h.key, h.send, h.at)
		t.stats.Accepted++
		if h.send {
			dropped := t.drop > 0 && t.rng.Float64() < t.drop
			s.record(h, env.Result, dropped)
			if dropped {
				t.stats.Dropped++
				hangUp(h.w)
				return
			}
		}
	}
	for k, v := range h.header {
		h.w.Header()[k] = v
	}
	if h.status != 0 {
		h.w.WriteHeader(h.status)
	}
	_, _ = h.w.Write(h.body.Bytes())
}

// hangUp closes the connection under a request whose body has been read,
// without a byte of answer: the client sees its request leave and then a
// transport error, the "timeout after the request left" a sender cannot
// tell from a lost request.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2, or a recorder: net/http resets the stream instead.
	panic(http.ErrAbortHandler)
}
