package telegram

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// Limits of the Bot API that Gatehouse checks before it calls Telegram, so a
// request Telegram would refuse is a 400 naming the field, not a call.
const (
	// MaxTextLength is a message's length in characters after entity
	// parsing (sendMessage, editMessageText, sendMessageDraft).
	MaxTextLength = 4096
	// MaxCaptionLength is a photo's or document's caption after entity
	// parsing.
	MaxCaptionLength = 1024
	// MaxCallbackData is an inline button's callback_data, in bytes.
	MaxCallbackData = 64
	// MaxCallbackText is answerCallbackQuery's notification text.
	MaxCallbackText = 200
	// MaxButtons bounds the buttons of one keyboard. The Bot API documents
	// no number, but Telegram refuses larger keyboards in practice
	// ("Bad Request: reply markup is too long"); 100 is the limit bot
	// authors observe and the one Gatehouse enforces.
	MaxButtons = 100
)

// ParseModes are the parse_mode values the Bot API knows.
var ParseModes = []string{"MarkdownV2", "HTML", "Markdown"}

// ChatActions are sendChatAction's action values.
var ChatActions = []string{
	"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
	"upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}

// checker collects every wrong value of one request, each under the field
// path the caller's body has, so one 400 names them all.
type checker struct {
	bad []gateway.FieldError
}

func (c *checker) add(field, msg string) {
	c.bad = append(c.bad, gateway.FieldError{Field: field, Message: msg})
}

// err returns the collected errors as a *provider.InvalidParamsError, or nil.
func (c *checker) err(action string) error {
	if len(c.bad) == 0 {
		return nil
	}
	return &provider.InvalidParamsError{Action: action, Fields: c.bad}
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// object decodes raw as a JSON object whose keys must be among known. It
// reports a non-object or unknown keys and returns nil for a non-object.
func (c *checker) object(path string, raw json.RawMessage, known ...string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		c.add(path, "must be an object")
		return nil
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		c.add(path+"."+gateway.PrintableField(k), "is not a known parameter")
	}
	for k, v := range m {
		if isNull(v) {
			delete(m, k)
		}
	}
	return m
}

func (c *checker) array(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil || a == nil {
		c.add(path, "must be an array")
		return nil, false
	}
	return a, true
}

func (c *checker) str(path string, raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		c.add(path, "must be a string")
		return "", false
	}
	return s, true
}

func (c *checker) boolean(path string, raw json.RawMessage) {
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		c.add(path, "must be true or false")
	}
}

func (c *checker) integer(path string, raw json.RawMessage) (int64, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if i, err := n.Int64(); err == nil {
			return i, true
		}
	}
	c.add(path, "must be an integer")
	return 0, false
}

// channelUsername is "@" and a public chat's username: 5-32 of A-Z a-z
// 0-9 _, starting with a letter (4 allowed for the short collectible names).
var channelUsername = regexp.MustCompile(`^@[A-Za-z][A-Za-z0-9_]{3,31}$`)

// checkChatID checks a chat_id: an integer, or "@channelusername" (a
// string holding an integer is accepted too, as Telegram does).
func (c *checker) chatID(path string, raw json.RawMessage, privateOnly bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if _, err := n.Int64(); err == nil {
			return
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && !privateOnly {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil || channelUsername.MatchString(s) {
			return
		}
	}
	if privateOnly {
		c.add(path, "must be an integer (the id of a private chat)")
		return
	}
	c.add(path, "must be an integer or @channelusername")
}

// positive checks an integer id that Telegram numbers from 1.
func (c *checker) positive(path string, raw json.RawMessage) {
	if n, ok := c.integer(path, raw); ok && n <= 0 {
		c.add(path, "must be a positive integer")
	}
}

var (
	htmlTag    = regexp.MustCompile(`<[^>]*>`)
	htmlEntity = regexp.MustCompile(`&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);`)
)

// visibleLength is a lower bound of text's length after Telegram parses its
// entities: HTML tags do not count and an entity counts once; Markdown's
// markup characters do not count. A text Gatehouse lets through may still
// be too long for Telegram (its answer is then a 400 from upstream); a text
// Telegram would take is never refused here.
func visibleLength(text, parseMode string) int {
	switch parseMode {
	case "HTML":
		text = htmlEntity.ReplaceAllString(htmlTag.ReplaceAllString(text, ""), "&")
	case "MarkdownV2", "Markdown":
		text = strings.Map(func(r rune) rune {
			if strings.ContainsRune("\\_*[]()~`>#+-=|{}.!", r) {
				return -1
			}
			return r
		}, text)
	}
	return utf8.RuneCountInString(text)
}

// text checks a message text of 1 to max characters after entity parsing.
func (c *checker) text(path string, raw json.RawMessage, parseMode string, min, max int) string {
	s, ok := c.str(path, raw)
	if !ok {
		return ""
	}
	if min > 0 && strings.TrimSpace(s) == "" {
		c.add(path, "must not be empty")
		return s
	}
	if n := visibleLength(s, parseMode); n > max {
		c.add(path, "must be "+strconv.Itoa(min)+"-"+strconv.Itoa(max)+" characters (after entity parsing)")
	}
	return s
}

func (c *checker) parseMode(path string, m map[string]json.RawMessage, key string) string {
	raw, ok := m[key]
	if !ok {
		return ""
	}
	s, ok := c.str(path, raw)
	if ok && !slices.Contains(ParseModes, s) {
		c.add(path, "must be one of MarkdownV2, HTML, Markdown")
		return ""
	}
	return s
}

// httpURL reports whether s is an absolute http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// buttonURL accepts what an inline button's url may be: http(s) or tg://.
func buttonURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && ((u.Scheme == "http" || u.Scheme == "https") && u.Host != "" || u.Scheme == "tg")
}

// inlineButtonActions are the fields of InlineKeyboardButton of which
// exactly one must be set.
var inlineButtonActions = []string{
	"url", "callback_data", "web_app", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
	"copy_text", "callback_game", "pay",
}

// replyMarkup checks reply_markup: an InlineKeyboardMarkup, or, when
// keyboards is true (messages, not edits), a ReplyKeyboardMarkup,
// ReplyKeyboardRemove or ForceReply.
func (c *checker) replyMarkup(path string, raw json.RawMessage, keyboards bool) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil || probe == nil {
		c.add(path, "must be an object")
		return
	}
	switch {
	case probe["inline_keyboard"] != nil || !keyboards:
		c.inlineKeyboard(path, raw)
	case probe["keyboard"] != nil:
		c.replyKeyboard(path, raw)
	case probe["remove_keyboard"] != nil:
		m := c.object(path, raw, "remove_keyboard", "selective")
		c.mustBeTrue(path+".remove_keyboard", m["remove_keyboard"])
		c.optBool(path, m, "selective")
	case probe["force_reply"] != nil:
		m := c.object(path, raw, "force_reply", "input_field_placeholder", "selective")
		c.mustBeTrue(path+".force_reply", m["force_reply"])
		c.placeholder(path, m)
		c.optBool(path, m, "selective")
	default:
		c.add(path, "must have inline_keyboard, keyboard, remove_keyboard or force_reply")
	}
}

func (c *checker) mustBeTrue(path string, raw json.RawMessage) {
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil || !b {
		c.add(path, "must be true")
	}
}

func (c *checker) optBool(path string, m map[string]json.RawMessage, keys ...string) {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			c.boolean(path+"."+k, v)
		}
	}
}

func (c *checker) placeholder(path string, m map[string]json.RawMessage) {
	if v, ok := m["input_field_placeholder"]; ok {
		if s, ok := c.str(path+".input_field_placeholder", v); ok && utf8.RuneCountInString(s) > 64 {
			c.add(path+".input_field_placeholder", "must be 0-64 characters")
		}
	}
}

// rows checks an array of rows of buttons and calls button for each; it
// enforces MaxButtons over the whole keyboard.
func (c *checker) rows(path string, raw json.RawMessage, button func(path string, raw json.RawMessage)) {
	rows, ok := c.array(path, raw)
	if !ok {
		return
	}
	total := 0
	for i, rowRaw := range rows {
		rowPath := path + "[" + strconv.Itoa(i) + "]"
		row, ok := c.array(rowPath, rowRaw)
		if !ok {
			continue
		}
		total += len(row)
		for j, b := range row {
			button(rowPath+"["+strconv.Itoa(j)+"]", b)
		}
	}
	if total > MaxButtons {
		c.add(path, "must have at most "+strconv.Itoa(MaxButtons)+" buttons in total")
	}
}

func (c *checker) inlineKeyboard(path string, raw json.RawMessage) {
	m := c.object(path, raw, "inline_keyboard")
	if m == nil {
		return
	}
	kb, ok := m["inline_keyboard"]
	if !ok {
		c.add(path+".inline_keyboard", "is required")
		return
	}
	c.rows(path+".inline_keyboard", kb, c.inlineButton)
}

func (c *checker) inlineButton(path string, raw json.RawMessage) {
	m := c.object(path, raw, append([]string{"text"}, inlineButtonActions...)...)
	if m == nil {
		return
	}
	c.buttonText(path, m)
	var set []string
	for _, k := range inlineButtonActions {
		if _, ok := m[k]; ok {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		c.add(path, "must have exactly one of url, callback_data, web_app, login_url, switch_inline_query, switch_inline_query_current_chat, switch_inline_query_chosen_chat, copy_text, callback_game, pay")
	}
	for _, k := range set {
		v, p := m[k], path+"."+k
		switch k {
		case "url":
			if s, ok := c.str(p, v); ok && !buttonURL(s) {
				c.add(p, "must be an http, https or tg:// URL")
			}
		case "callback_data":
			if s, ok := c.str(p, v); ok && (len(s) < 1 || len(s) > MaxCallbackData) {
				c.add(p, "must be 1-64 bytes")
			}
		case "switch_inline_query", "switch_inline_query_current_chat":
			c.str(p, v)
		case "web_app", "login_url":
			if o := c.object(p, v, "url", "forward_text", "bot_username", "request_write_access"); o != nil {
				if s, ok := c.str(p+".url", o["url"]); ok && !strings.HasPrefix(s, "https://") {
					c.add(p+".url", "must be an https URL")
				}
			}
		case "copy_text":
			if o := c.object(p, v, "text"); o != nil {
				if s, ok := c.str(p+".text", o["text"]); ok && (s == "" || utf8.RuneCountInString(s) > 256) {
					c.add(p+".text", "must be 1-256 characters")
				}
			}
		case "switch_inline_query_chosen_chat":
			o := c.object(p, v, "query", "allow_user_chats", "allow_bot_chats", "allow_group_chats", "allow_channel_chats")
			if q, ok := o["query"]; ok {
				c.str(p+".query", q)
			}
			c.optBool(p, o, "allow_user_chats", "allow_bot_chats", "allow_group_chats", "allow_channel_chats")
		case "callback_game":
			c.object(p, v)
		case "pay":
			c.mustBeTrue(p, v)
		}
	}
}

func (c *checker) buttonText(path string, m map[string]json.RawMessage) {
	v, ok := m["text"]
	if !ok {
		c.add(path+".text", "is required")
		return
	}
	if s, ok := c.str(path+".text", v); ok && strings.TrimSpace(s) == "" {
		c.add(path+".text", "must not be empty")
	}
}

func (c *checker) replyKeyboard(path string, raw json.RawMessage) {
	m := c.object(path, raw, "keyboard", "is_persistent", "resize_keyboard", "one_time_keyboard", "input_field_placeholder", "selective")
	if m == nil {
		return
	}
	c.rows(path+".keyboard", m["keyboard"], func(p string, b json.RawMessage) {
		if s, ok := stringValue(b); ok {
			if strings.TrimSpace(s) == "" {
				c.add(p, "must not be empty")
			}
			return
		}
		o := c.object(p, b, "text", "request_users", "request_chat", "request_contact", "request_location", "request_poll", "web_app")
		if o == nil {
			return
		}
		c.buttonText(p, o)
		c.optBool(p, o, "request_contact", "request_location")
		for _, k := range []string{"request_users", "request_chat", "request_poll", "web_app"} {
			if v, ok := o[k]; ok {
				var x map[string]json.RawMessage
				if json.Unmarshal(v, &x) != nil || x == nil {
					c.add(p+"."+k, "must be an object")
				}
			}
		}
	})
	c.optBool(path, m, "is_persistent", "resize_keyboard", "one_time_keyboard", "selective")
	c.placeholder(path, m)
}

func stringValue(raw json.RawMessage) (string, bool) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// replyParameters checks a ReplyParameters object.
func (c *checker) replyParameters(path string, raw json.RawMessage) {
	m := c.object(path, raw, "message_id", "chat_id", "allow_sending_without_reply", "quote", "quote_parse_mode", "quote_position", "checklist_task_id")
	if m == nil {
		return
	}
	if v, ok := m["message_id"]; ok {
		c.positive(path+".message_id", v)
	} else {
		c.add(path+".message_id", "is required")
	}
	if v, ok := m["chat_id"]; ok {
		c.chatID(path+".chat_id", v, false)
	}
	c.optBool(path, m, "allow_sending_without_reply")
	if v, ok := m["quote"]; ok {
		if s, ok := c.str(path+".quote", v); ok && (s == "" || utf8.RuneCountInString(s) > 1024) {
			c.add(path+".quote", "must be 1-1024 characters")
		}
	}
	c.parseMode(path+".quote_parse_mode", m, "quote_parse_mode")
	for _, k := range []string{"quote_position", "checklist_task_id"} {
		if v, ok := m[k]; ok {
			if n, ok := c.integer(path+"."+k, v); ok && n < 0 {
				c.add(path+"."+k, "must not be negative")
			}
		}
	}
}

// linkPreviewOptions checks a LinkPreviewOptions object.
func (c *checker) linkPreviewOptions(path string, raw json.RawMessage) {
	m := c.object(path, raw, "is_disabled", "url", "prefer_small_media", "prefer_large_media", "show_above_text")
	if m == nil {
		return
	}
	c.optBool(path, m, "is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text")
	if v, ok := m["url"]; ok {
		if s, ok := c.str(path+".url", v); ok && !httpURL(s) {
			c.add(path+".url", "must be an http or https URL")
		}
	}
	var small, large bool
	_ = json.Unmarshal(m["prefer_small_media"], &small)
	_ = json.Unmarshal(m["prefer_large_media"], &large)
	if small && large {
		c.add(path, "must not prefer both small and large media")
	}
}
