// Package telegramtest is a stand-in for the Telegram Bot API: an
// http.Handler that answers getMe, sendMessage, editMessageText,
// deleteMessage, answerCallbackQuery, sendChatAction, sendPhoto,
// sendDocument, sendMessageDraft, getFile, setWebhook, deleteWebhook and
// getWebhookInfo at /bot<token>/<method> the way the Bot API documents them,
// including its error bodies
// ({"ok":false,"error_code":429,"description":"...","parameters":{"retry_after":5}}),
// and serves files at /file/bot<token>/<file_path> as Telegram's file
// server does.
//
// It keeps each bot's messages (with ids increasing across chats, as
// Telegram's are within one), so edits and deletes of unknown messages get
// Telegram's own errors; tests register callback query ids
// (AddCallbackQuery) and files (AddFile) a bot may answer and download.
//
// It records every call (so a test can read the secret_token a setWebhook
// carried), can be told to fail the next calls with given codes and
// retry_after, and to answer slowly. Unit tests mount it on httptest; the
// integration and browser tests can run it as a standalone process:
//
//	http.ListenAndServe("127.0.0.1:8081", telegramtest.NewServer(telegramtest.Options{AcceptAnyToken: true}))
//
// and point TELEGRAM_API_BASE_URL at it.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Bots are the tokens the server knows.
	Bots []Bot
	// AcceptAnyToken makes every well-formed token ("<digits>:<30 or more
	// of A-Z a-z 0-9 _ ->") a bot whose id is the digits, so that a
	// standalone server works with whatever token a user types. Tokens of
	// other shapes get 404, known-shaped unknown tokens 401, as Telegram does.
	AcceptAnyToken bool
	// RequireHTTPS refuses setWebhook URLs that are not https, as Telegram
	// does; off by default so local runs can register http URLs.
	RequireHTTPS bool

	// Limits are the flood limits enforced per bot (limits.go); the zero
	// value enforces none.
	Limits Limits
	// DropAfterAccept is the fraction (0..1) of accepted sends whose
	// connection is closed instead of answered (limits.go).
	DropAfterAccept float64
	// Seed seeds the choice of dropped sends, so a run is repeatable.
	Seed uint64
	// Now is the clock of the limits and the ledger; nil means time.Now.
	Now func() time.Time
}

// Bot is one bot the server knows.
type Bot struct {
	Token     string
	ID        int64
	Username  string
	FirstName string
}

// Webhook is a bot's webhook as the server holds it.
type Webhook struct {
	URL                string
	SecretToken        string
	AllowedUpdates     []string
	MaxConnections     int
	PendingUpdateCount int
	LastErrorDate      int64
	LastErrorMessage   string
}

// Call is one request the server answered.
type Call struct {
	Method string
	Token  string
	// Params are the request's parameters, from a JSON body, a form or the
	// query string, with JSON numbers as json.Number.
	Params map[string]any
	At     time.Time
}

// Failure makes the server answer matching calls with a Bot API error.
type Failure struct {
	// Method is the Bot API method to fail ("" for any), case-insensitive.
	Method string
	// ErrorCode is both the HTTP status and the body's error_code.
	ErrorCode int
	// Description defaults to Telegram's wording for the code.
	Description string
	// RetryAfter, when positive, is sent as parameters.retry_after (seconds).
	RetryAfter int
	// Times is how many calls fail; 0 means 1, a negative number means all.
	Times int
}

// SentMessage is a message a bot sent through sendMessage, sendPhoto or
// sendDocument, as it stands after later edits.
type SentMessage struct {
	MessageID int64
	ChatID    string
	// Text is the text as Telegram shows it: after entity parsing (for
	// parse_mode HTML), without surrounding whitespace.
	Text string
	// Raw is the text parameter as sent.
	Raw                 string
	ParseMode           string
	DisableNotification bool
	ReplyToMessageID    int64
	// ReplyMarkup is the message's keyboard as sent (JSON), nil for none.
	ReplyMarkup json.RawMessage
	// Kind is "text", "photo" or "document"; Caption and File (the URL or
	// file_id sent) belong to the last two.
	Kind    string
	Caption string
	File    string
	// Edits counts editMessageText calls that changed the message;
	// Deleted is set by deleteMessage.
	Edits   int
	Deleted bool
}

type botState struct {
	Bot
	webhook  Webhook
	messages []SentMessage
	// callbacks are the callback query ids the bot may answer, true once
	// answered; files are the files getFile knows, by file_id; drafts
	// are the sendMessageDraft calls, in order.
	callbacks map[string]bool
	files     map[string]File
	drafts    []Draft
}

// Server is the stand-in. It is an http.Handler and is safe for concurrent
// use.
type Server struct {
	opts Options

	mu        sync.Mutex
	bots      map[string]*botState
	calls     []Call
	failures  []Failure
	delay     time.Duration
	messageID int64
	traffic   traffic
}

// tokenShape is what the stand-in, like Telegram, takes for a token: it
// answers 404 to anything else, and 401 to a token of this shape it does
// not know (unless Options.AcceptAnyToken). It is deliberately not
// telegram.TokenPattern: that is Gatehouse's own, stricter check, and this
// models the remote system the check is made against. Sharing one pattern
// would make the stand-in agree with Gatehouse by construction, so no test
// could show what Telegram does with a token Gatehouse would refuse, nor
// catch the two drifting apart.
var tokenShape = regexp.MustCompile(`^([0-9]{1,20}):[A-Za-z0-9_-]{30,}$`)

// NewServer returns a server that knows opts.Bots. It does no I/O.
func NewServer(opts Options) *Server {
	s := &Server{opts: opts, bots: map[string]*botState{}}
	for _, b := range opts.Bots {
		s.AddBot(b)
	}
	return s
}

// AddBot makes token b.Token valid. A zero ID is taken from the token, an
// empty Username becomes "test_<id>_bot".
func (s *Server) AddBot(b Bot) {
	if b.ID == 0 {
		if m := tokenShape.FindStringSubmatch(b.Token); m != nil {
			b.ID, _ = strconv.ParseInt(m[1], 10, 64)
		}
	}
	if b.Username == "" {
		b.Username = fmt.Sprintf("test_%d_bot", b.ID)
	}
	if b.FirstName == "" {
		b.FirstName = "Test Bot"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bots[b.Token] = &botState{Bot: b}
}

// Calls returns the calls of method (case-insensitive), or every call for "".
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// Webhook returns the webhook of token's bot and whether the bot exists.
func (s *Server) Webhook(token string) (Webhook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bots[token]
	if !ok {
		return Webhook{}, false
	}
	return b.webhook, true
}

// SetWebhook replaces the webhook state of token's bot (to simulate pending
// updates or delivery errors).
func (s *Server) SetWebhook(token string, wh Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bots[token]; ok {
		b.webhook = wh
	}
}

// Messages returns what token's bot sent.
func (s *Server) Messages(token string) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bots[token]; ok {
		return append([]SentMessage(nil), b.messages...)
	}
	return nil
}

// Fail queues f: the next f.Times matching calls get its error.
func (s *Server) Fail(f Failure) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// SetDelay makes every answer wait d (or until the client gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Reset forgets calls, failures, delay, webhooks, messages, the ledger and
// what the limits counted; bots stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.failures, s.delay = nil, nil, 0
	s.traffic = traffic{}
	for _, b := range s.bots {
		b.webhook, b.messages = Webhook{}, nil
		b.callbacks, b.files, b.drafts = nil, nil, nil
	}
}

type response struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

// ServeHTTP answers one Bot API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/file/bot") {
		s.serveFile(w, r)
		return
	}
	token, method, ok := splitPath(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}

	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Token: token, Params: params, At: time.Now()})
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.takeFailure(method); ok {
		desc := f.Description
		if desc == "" {
			desc = defaultDescription(f.ErrorCode, f.RetryAfter)
		}
		writeError(w, f.ErrorCode, desc, f.RetryAfter)
		return
	}
	bot, status := s.bot(token)
	if status != 0 {
		writeError(w, status, defaultDescription(status, 0), 0)
		return
	}
	// The limits, the ledger and dropped answers (limits.go): admit
	// refuses a call over a limit or holds its answer, settle (run before
	// the unlock above) counts what was accepted and answers or hangs up.
	w, limited := s.admit(w, bot, method, params)
	if limited {
		return
	}
	defer s.settle(w)
	switch strings.ToLower(method) {
	case "getme":
		writeOK(w, map[string]any{
			"id": bot.ID, "is_bot": true, "first_name": bot.FirstName, "username": bot.Username,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
		}, "")
	case "sendmessage":
		s.sendMessage(w, bot, params)
	case "editmessagetext":
		s.editMessageText(w, bot, params)
	case "deletemessage":
		s.deleteMessage(w, bot, params)
	case "answercallbackquery":
		s.answerCallbackQuery(w, bot, params)
	case "sendchataction":
		s.sendChatAction(w, params)
	case "sendphoto":
		s.sendMedia(w, bot, params, "photo")
	case "senddocument":
		s.sendMedia(w, bot, params, "document")
	case "sendmessagedraft":
		s.sendMessageDraft(w, bot, params)
	case "getfile":
		s.getFile(w, bot, params)
	case "setwebhook":
		s.setWebhook(w, bot, params)
	case "deletewebhook":
		pending := bot.webhook.PendingUpdateCount
		if drop, _ := boolParam(params, "drop_pending_updates"); drop {
			pending = 0
		}
		bot.webhook = Webhook{PendingUpdateCount: pending}
		writeOK(w, true, "Webhook was deleted")
	case "getwebhookinfo":
		wh := bot.webhook
		info := map[string]any{
			"url":                    wh.URL,
			"has_custom_certificate": false,
			"pending_update_count":   wh.PendingUpdateCount,
		}
		if wh.URL != "" {
			info["max_connections"] = wh.MaxConnections
			if len(wh.AllowedUpdates) > 0 {
				info["allowed_updates"] = wh.AllowedUpdates
			}
		}
		if wh.LastErrorMessage != "" {
			info["last_error_date"] = wh.LastErrorDate
			info["last_error_message"] = wh.LastErrorMessage
		}
		writeOK(w, info, "")
	default:
		writeError(w, http.StatusNotFound, "Not Found", 0)
	}
}

func (s *Server) sendMessage(w http.ResponseWriter, bot *botState, params map[string]any) {
	chat, _ := stringParam(params, "chat_id")
	text, _ := stringParam(params, "text")
	parseMode, _ := stringParam(params, "parse_mode")
	switch {
	case chat == "":
		writeError(w, http.StatusBadRequest, "Bad Request: chat_id is empty", 0)
		return
	case chat == "0" || chat == "@unknown":
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
		return
	case parseMode != "" && parseMode != "HTML" && parseMode != "Markdown" && parseMode != "MarkdownV2":
		writeError(w, http.StatusBadRequest, "Bad Request: unsupported parse_mode", 0)
		return
	}
	raw := text
	text, problem := checkText(text, parseMode)
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem, 0)
		return
	}
	silent, _ := boolParam(params, "disable_notification")
	replyTo, _ := intParam(params, "reply_to_message_id")
	if rp, ok := params["reply_parameters"].(map[string]any); ok {
		replyTo, _ = intParam(rp, "message_id")
	}
	s.messageID++
	bot.messages = append(bot.messages, SentMessage{
		MessageID: s.messageID, ChatID: chat, Text: text, Raw: raw, ParseMode: parseMode,
		DisableNotification: silent, ReplyToMessageID: replyTo,
		Kind: "text", ReplyMarkup: rawParam(params, "reply_markup"),
	})
	writeOK(w, s.messageObject(bot, bot.messages[len(bot.messages)-1]), "")
}

var secretShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(w http.ResponseWriter, bot *botState, params map[string]any) {
	url, _ := stringParam(params, "url")
	if url == "" {
		bot.webhook = Webhook{PendingUpdateCount: bot.webhook.PendingUpdateCount}
		writeOK(w, true, "Webhook was deleted")
		return
	}
	if s.opts.RequireHTTPS && !strings.HasPrefix(url, "https://") {
		writeError(w, http.StatusBadRequest, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook", 0)
		return
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		writeError(w, http.StatusBadRequest, "Bad Request: bad webhook: Failed to resolve host: Name or service not known", 0)
		return
	}
	secret, _ := stringParam(params, "secret_token")
	if _, present := params["secret_token"]; present && !secretShape.MatchString(secret) {
		writeError(w, http.StatusBadRequest, "Bad Request: secret token contains unallowed characters", 0)
		return
	}
	maxConn, ok := intParam(params, "max_connections")
	if !ok {
		maxConn = 40
	}
	if maxConn < 1 || maxConn > 100 {
		writeError(w, http.StatusBadRequest, "Bad Request: invalid max_connections specified", 0)
		return
	}
	wh := Webhook{URL: url, SecretToken: secret, MaxConnections: int(maxConn), AllowedUpdates: stringsParam(params, "allowed_updates")}
	if drop, _ := boolParam(params, "drop_pending_updates"); !drop {
		wh.PendingUpdateCount = bot.webhook.PendingUpdateCount
	}
	bot.webhook = wh
	writeOK(w, true, "Webhook was set")
}

func (s *Server) takeFailure(method string) (Failure, bool) {
	for i, f := range s.failures {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Times > 0 {
			s.failures[i].Times--
			if s.failures[i].Times == 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
		}
		return f, true
	}
	return Failure{}, false
}

// bot returns token's bot, or the status Telegram answers: 404 for a token
// of the wrong shape, 401 for an unknown one.
func (s *Server) bot(token string) (*botState, int) {
	if b, ok := s.bots[token]; ok {
		return b, 0
	}
	m := tokenShape.FindStringSubmatch(token)
	if m == nil {
		return nil, http.StatusNotFound
	}
	if !s.opts.AcceptAnyToken {
		return nil, http.StatusUnauthorized
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	b := &botState{Bot: Bot{Token: token, ID: id, Username: fmt.Sprintf("test_%d_bot", id), FirstName: "Test Bot"}}
	s.bots[token] = b
	return b, 0
}

func splitPath(p string) (token, method string, ok bool) {
	rest, found := strings.CutPrefix(p, "/bot")
	if !found {
		return "", "", false
	}
	token, method, found = strings.Cut(rest, "/")
	if !found || token == "" || method == "" || strings.Contains(method, "/") {
		return "", "", false
	}
	return token, method, true
}

// readParams reads parameters the ways the Bot API accepts them: the query
// string, a form (urlencoded or multipart) or a JSON object.
func readParams(r *http.Request) (map[string]any, error) {
	params := map[string]any{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&params); err != nil {
			return nil, fmt.Errorf("can't parse JSON object")
		}
	}
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, fmt.Errorf("can't parse multipart form")
		}
	} else if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("can't parse form")
	}
	for k, v := range r.Form {
		if _, set := params[k]; !set && len(v) > 0 {
			params[k] = v[0]
		}
	}
	return params, nil
}

func stringParam(p map[string]any, k string) (string, bool) {
	switch v := p[k].(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func intParam(p map[string]any, k string) (int64, bool) {
	s, ok := stringParam(p, k)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func boolParam(p map[string]any, k string) (bool, bool) {
	s, ok := stringParam(p, k)
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// stringsParam reads a list given as a JSON array or as a JSON-encoded
// string (the form encoding of arrays in the Bot API).
func stringsParam(p map[string]any, k string) []string {
	var out []string
	switch v := p[k].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case string:
		_ = json.Unmarshal([]byte(v), &out)
	}
	return out
}

func defaultDescription(code, retryAfter int) string {
	switch code {
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusNotFound:
		return "Not Found"
	case http.StatusForbidden:
		return "Forbidden: bot was blocked by the user"
	case http.StatusConflict:
		return "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	case http.StatusTooManyRequests:
		return fmt.Sprintf("Too Many Requests: retry after %d", retryAfter)
	case http.StatusBadRequest:
		return "Bad Request: chat not found"
	case http.StatusBadGateway:
		return "Bad Gateway"
	case http.StatusInternalServerError:
		return "Internal Server Error"
	}
	return http.StatusText(code)
}

func writeOK(w http.ResponseWriter, result any, description string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(response{OK: true, Result: result, Description: description})
}

func writeError(w http.ResponseWriter, code int, description string, retryAfter int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	resp := response{OK: false, ErrorCode: code, Description: description}
	if retryAfter > 0 {
		resp.Parameters = &responseParams{RetryAfter: retryAfter}
	}
	_ = json.NewEncoder(w).Encode(resp)
}
