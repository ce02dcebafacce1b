package telegram

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// The parameter types below carry the Bot API's own names (snake_case), so
// a body a bot author copies from Telegram's documentation works as it is.
// Each Check function decodes one request and reports every wrong value at
// once, as a *provider.InvalidParamsError whose fields start with the
// caller's prefix: "params" for the action route, "messages[3]" for one
// message of a batch. Nothing reaches Telegram unless its Check passed.

// ReplyParameters is the Bot API's ReplyParameters: the message to reply to.
type ReplyParameters struct {
	MessageID int64 `json:"message_id"`
	// ChatID is the chat of the message when it is another chat.
	ChatID                   json.RawMessage `json:"chat_id,omitempty"`
	AllowSendingWithoutReply bool            `json:"allow_sending_without_reply,omitempty"`
	Quote                    string          `json:"quote,omitempty"`
	QuoteParseMode           string          `json:"quote_parse_mode,omitempty"`
	QuotePosition            int64           `json:"quote_position,omitempty"`
	ChecklistTaskID          int64           `json:"checklist_task_id,omitempty"`
}

// LinkPreviewOptions is the Bot API's LinkPreviewOptions.
type LinkPreviewOptions struct {
	IsDisabled       bool   `json:"is_disabled,omitempty"`
	URL              string `json:"url,omitempty"`
	PreferSmallMedia bool   `json:"prefer_small_media,omitempty"`
	PreferLargeMedia bool   `json:"prefer_large_media,omitempty"`
	ShowAboveText    bool   `json:"show_above_text,omitempty"`
}

// SendMessage are sendMessage's parameters.
type SendMessage struct {
	// ChatID is an integer or "@channelusername", passed through as given.
	ChatID              json.RawMessage     `json:"chat_id"`
	MessageThreadID     int64               `json:"message_thread_id,omitempty"`
	Text                string              `json:"text"`
	ParseMode           string              `json:"parse_mode,omitempty"`
	LinkPreviewOptions  *LinkPreviewOptions `json:"link_preview_options,omitempty"`
	DisableNotification bool                `json:"disable_notification,omitempty"`
	ProtectContent      bool                `json:"protect_content,omitempty"`
	ReplyParameters     *ReplyParameters    `json:"reply_parameters,omitempty"`
	// ReplyToMessageID is the pre-7.0 form of ReplyParameters.MessageID,
	// kept for callers of Gatehouse's first sendMessage; SendMessage sends
	// it as reply_parameters.
	ReplyToMessageID int64 `json:"reply_to_message_id,omitempty"`
	// ReplyMarkup is an InlineKeyboardMarkup, ReplyKeyboardMarkup,
	// ReplyKeyboardRemove or ForceReply, checked by CheckSendMessage and
	// sent as it came.
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
}

// EditMessageText are editMessageText's parameters: ChatID and MessageID,
// or InlineMessageID for a message sent through inline mode.
type EditMessageText struct {
	ChatID             json.RawMessage     `json:"chat_id,omitempty"`
	MessageID          int64               `json:"message_id,omitempty"`
	InlineMessageID    string              `json:"inline_message_id,omitempty"`
	Text               string              `json:"text"`
	ParseMode          string              `json:"parse_mode,omitempty"`
	LinkPreviewOptions *LinkPreviewOptions `json:"link_preview_options,omitempty"`
	// ReplyMarkup is an InlineKeyboardMarkup, the only kind an edit takes.
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
}

// DeleteMessage are deleteMessage's parameters.
type DeleteMessage struct {
	ChatID    json.RawMessage `json:"chat_id"`
	MessageID int64           `json:"message_id"`
}

// AnswerCallbackQuery are answerCallbackQuery's parameters.
type AnswerCallbackQuery struct {
	CallbackQueryID string `json:"callback_query_id"`
	Text            string `json:"text,omitempty"`
	ShowAlert       bool   `json:"show_alert,omitempty"`
	URL             string `json:"url,omitempty"`
	CacheTime       int64  `json:"cache_time,omitempty"`
}

// SendChatAction are sendChatAction's parameters.
type SendChatAction struct {
	ChatID          json.RawMessage `json:"chat_id"`
	MessageThreadID int64           `json:"message_thread_id,omitempty"`
	Action          string          `json:"action"`
}

// SendMedia are the parameters of sendPhoto and sendDocument; Field says
// which ("photo" or "document") File is sent as.
type SendMedia struct {
	Field           string          `json:"-"`
	ChatID          json.RawMessage `json:"chat_id"`
	MessageThreadID int64           `json:"message_thread_id,omitempty"`
	// File is an http(s) URL Telegram downloads, or a file_id of a file
	// already on Telegram's servers.
	File                string           `json:"-"`
	Caption             string           `json:"caption,omitempty"`
	ParseMode           string           `json:"parse_mode,omitempty"`
	DisableNotification bool             `json:"disable_notification,omitempty"`
	ProtectContent      bool             `json:"protect_content,omitempty"`
	ReplyParameters     *ReplyParameters `json:"reply_parameters,omitempty"`
	ReplyMarkup         json.RawMessage  `json:"reply_markup,omitempty"`
}

// SendMessageDraft are sendMessageDraft's parameters (Bot API 9.3): a
// partial message streamed to a private chat while it is being generated.
// Drafts with the same DraftID replace each other, animated.
type SendMessageDraft struct {
	ChatID          int64  `json:"chat_id"`
	MessageThreadID int64  `json:"message_thread_id,omitempty"`
	DraftID         int64  `json:"draft_id"`
	Text            string `json:"text"`
	ParseMode       string `json:"parse_mode,omitempty"`
}

// GetFile are getFile's parameters.
type GetFile struct {
	FileID string `json:"file_id"`
}

// fileID is the shape of a Telegram file_id: URL-safe base64 characters.
var fileID = regexp.MustCompile(`^[A-Za-z0-9_-]{8,512}$`)

// chatIDDesc and friends are the descriptions shared by several actions'
// parameter lists.
const (
	chatIDDesc      = "Chat id (integer) or @channelusername."
	threadDesc      = "Forum topic (message thread) id."
	parseModeDesc   = "How Telegram formats the text: MarkdownV2, HTML or Markdown."
	silentDesc      = "Deliver silently."
	protectDesc     = "Protect the message from forwarding and saving."
	replyParamsDesc = "ReplyParameters: {\"message_id\":…} of the message to reply to."
	linkPrevDesc    = "LinkPreviewOptions, e.g. {\"is_disabled\":true}."
	inlineKbDesc    = "InlineKeyboardMarkup: {\"inline_keyboard\":[[{\"text\":…,\"callback_data\":…}]]}, at most 100 buttons."
)

var (
	sendMessageParams = []provider.Param{
		{Name: "chat_id", Type: provider.ParamID, Required: true, Description: chatIDDesc},
		{Name: "text", Type: provider.ParamString, Required: true, Description: "Message text, 1-4096 characters after entity parsing."},
		{Name: "parse_mode", Type: provider.ParamString, Enum: ParseModes, Description: parseModeDesc},
		{Name: "disable_notification", Type: provider.ParamBoolean, Description: silentDesc},
		{Name: "reply_to_message_id", Type: provider.ParamInteger, Description: "Id of the message to reply to (older form of reply_parameters)."},
		{Name: "reply_markup", Type: provider.ParamObject, Description: inlineKbDesc + " Also a ReplyKeyboardMarkup, ReplyKeyboardRemove or ForceReply."},
		{Name: "reply_parameters", Type: provider.ParamObject, Description: replyParamsDesc},
		{Name: "link_preview_options", Type: provider.ParamObject, Description: linkPrevDesc},
		{Name: "message_thread_id", Type: provider.ParamInteger, Description: threadDesc},
		{Name: "protect_content", Type: provider.ParamBoolean, Description: protectDesc},
	}
	editMessageTextParams = []provider.Param{
		{Name: "chat_id", Type: provider.ParamID, Description: chatIDDesc + " Required unless inline_message_id."},
		{Name: "message_id", Type: provider.ParamInteger, Description: "Id of the message to edit. Required unless inline_message_id."},
		{Name: "inline_message_id", Type: provider.ParamString, Description: "Id of an inline message, instead of chat_id and message_id."},
		{Name: "text", Type: provider.ParamString, Required: true, Description: "New text, 1-4096 characters after entity parsing."},
		{Name: "parse_mode", Type: provider.ParamString, Enum: ParseModes, Description: parseModeDesc},
		{Name: "reply_markup", Type: provider.ParamObject, Description: inlineKbDesc},
		{Name: "link_preview_options", Type: provider.ParamObject, Description: linkPrevDesc},
	}
	deleteMessageParams = []provider.Param{
		{Name: "chat_id", Type: provider.ParamID, Required: true, Description: chatIDDesc},
		{Name: "message_id", Type: provider.ParamInteger, Required: true, Description: "Id of the message to delete."},
	}
	answerCallbackQueryParams = []provider.Param{
		{Name: "callback_query_id", Type: provider.ParamString, Required: true, Description: "Id of the callback query (from the update)."},
		{Name: "text", Type: provider.ParamString, Description: "Notification text, 0-200 characters."},
		{Name: "show_alert", Type: provider.ParamBoolean, Description: "Show an alert instead of a notification."},
		{Name: "url", Type: provider.ParamString, Description: "URL the user's client opens (a game or a t.me/bot?start= link)."},
		{Name: "cache_time", Type: provider.ParamInteger, Description: "Seconds the client may cache the answer."},
	}
	sendChatActionParams = []provider.Param{
		{Name: "chat_id", Type: provider.ParamID, Required: true, Description: chatIDDesc},
		{Name: "action", Type: provider.ParamString, Required: true, Enum: ChatActions, Description: "What the bot is doing, shown for 5 seconds."},
		{Name: "message_thread_id", Type: provider.ParamInteger, Description: threadDesc},
	}
	sendMessageDraftParams = []provider.Param{
		{Name: "chat_id", Type: provider.ParamInteger, Required: true, Description: "Id of the private chat."},
		{Name: "draft_id", Type: provider.ParamInteger, Required: true, Description: "Non-zero id of the draft; drafts with the same id replace each other."},
		{Name: "text", Type: provider.ParamString, Required: true, Description: "Text so far, 1-4096 characters after entity parsing."},
		{Name: "parse_mode", Type: provider.ParamString, Enum: ParseModes, Description: parseModeDesc},
		{Name: "message_thread_id", Type: provider.ParamInteger, Description: threadDesc},
	}
	getFileParams = []provider.Param{
		{Name: "file_id", Type: provider.ParamString, Required: true, Description: "Id of the file (from a message); at most 20 MB."},
	}
)

func mediaParams(field string) []provider.Param {
	return []provider.Param{
		{Name: "chat_id", Type: provider.ParamID, Required: true, Description: chatIDDesc},
		{Name: field, Type: provider.ParamString, Required: true, Description: "An http(s) URL Telegram downloads, or the file_id of a file already sent."},
		{Name: "caption", Type: provider.ParamString, Description: "Caption, 0-1024 characters after entity parsing."},
		{Name: "parse_mode", Type: provider.ParamString, Enum: ParseModes, Description: parseModeDesc},
		{Name: "reply_markup", Type: provider.ParamObject, Description: inlineKbDesc},
		{Name: "reply_parameters", Type: provider.ParamObject, Description: replyParamsDesc},
		{Name: "disable_notification", Type: provider.ParamBoolean, Description: silentDesc},
		{Name: "message_thread_id", Type: provider.ParamInteger, Description: threadDesc},
		{Name: "protect_content", Type: provider.ParamBoolean, Description: protectDesc},
	}
}

// start checks raw is an object of params' names with every required one,
// and returns its fields (null values dropped).
func (c *checker) start(prefix string, params []provider.Param, raw json.RawMessage) map[string]json.RawMessage {
	if isNull(raw) {
		raw = json.RawMessage("{}")
	}
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	m := c.object(prefix, raw, names...)
	if m == nil {
		return nil
	}
	for _, p := range params {
		if _, ok := m[p.Name]; p.Required && !ok {
			c.add(prefix+"."+p.Name, "is required")
		}
	}
	return m
}

// common checks the fields several methods share, where present.
func (c *checker) common(prefix string, m map[string]json.RawMessage, keyboards bool) string {
	if v, ok := m["chat_id"]; ok {
		c.chatID(prefix+".chat_id", v, false)
	}
	if v, ok := m["message_thread_id"]; ok {
		c.positive(prefix+".message_thread_id", v)
	}
	c.optBool(prefix, m, "disable_notification", "protect_content", "show_alert")
	if v, ok := m["reply_markup"]; ok {
		c.replyMarkup(prefix+".reply_markup", v, keyboards)
	}
	if v, ok := m["reply_parameters"]; ok {
		c.replyParameters(prefix+".reply_parameters", v)
	}
	if v, ok := m["link_preview_options"]; ok {
		c.linkPreviewOptions(prefix+".link_preview_options", v)
	}
	return c.parseMode(prefix+".parse_mode", m, "parse_mode")
}

// decode unmarshals a checked body into dst; it cannot fail once the
// checks passed, but a failure is still a 400, never a call.
func decode(action, prefix string, raw json.RawMessage, dst any) error {
	if isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		c := &checker{}
		c.add(prefix, "does not match the parameters")
		return c.err(action)
	}
	return nil
}

// CheckSendMessage checks and decodes sendMessage's parameters, every field
// reported under prefix ("params", or "messages[3]" for one message of a
// batch). Errors: *provider.InvalidParamsError.
func CheckSendMessage(prefix string, raw json.RawMessage) (SendMessage, error) {
	c := &checker{}
	m := c.start(prefix, sendMessageParams, raw)
	if m == nil {
		return SendMessage{}, c.err("sendMessage")
	}
	mode := c.common(prefix, m, true)
	if v, ok := m["text"]; ok {
		c.text(prefix+".text", v, mode, 1, MaxTextLength)
	}
	if v, ok := m["reply_to_message_id"]; ok {
		c.positive(prefix+".reply_to_message_id", v)
		if _, both := m["reply_parameters"]; both {
			c.add(prefix+".reply_to_message_id", "must not be given with reply_parameters")
		}
	}
	if err := c.err("sendMessage"); err != nil {
		return SendMessage{}, err
	}
	var out SendMessage
	return out, decode("sendMessage", prefix, raw, &out)
}

// CheckEditMessageText checks and decodes editMessageText's parameters
// under prefix. Errors: *provider.InvalidParamsError.
func CheckEditMessageText(prefix string, raw json.RawMessage) (EditMessageText, error) {
	c := &checker{}
	m := c.start(prefix, editMessageTextParams, raw)
	if m == nil {
		return EditMessageText{}, c.err("editMessageText")
	}
	mode := c.common(prefix, m, false)
	if v, ok := m["text"]; ok {
		c.text(prefix+".text", v, mode, 1, MaxTextLength)
	}
	_, chat := m["chat_id"]
	_, msg := m["message_id"]
	inline, isInline := m["inline_message_id"]
	switch {
	case isInline:
		if s, ok := c.str(prefix+".inline_message_id", inline); ok && s == "" {
			c.add(prefix+".inline_message_id", "must not be empty")
		}
		if chat || msg {
			c.add(prefix+".inline_message_id", "must not be given with chat_id and message_id")
		}
	default:
		if !chat {
			c.add(prefix+".chat_id", "is required unless inline_message_id is given")
		}
		if !msg {
			c.add(prefix+".message_id", "is required unless inline_message_id is given")
		}
	}
	if msg {
		c.positive(prefix+".message_id", m["message_id"])
	}
	if err := c.err("editMessageText"); err != nil {
		return EditMessageText{}, err
	}
	var out EditMessageText
	return out, decode("editMessageText", prefix, raw, &out)
}

// CheckDeleteMessage checks and decodes deleteMessage's parameters under
// prefix. Errors: *provider.InvalidParamsError.
func CheckDeleteMessage(prefix string, raw json.RawMessage) (DeleteMessage, error) {
	c := &checker{}
	m := c.start(prefix, deleteMessageParams, raw)
	if m != nil {
		c.common(prefix, m, false)
		if v, ok := m["message_id"]; ok {
			c.positive(prefix+".message_id", v)
		}
	}
	if err := c.err("deleteMessage"); err != nil {
		return DeleteMessage{}, err
	}
	var out DeleteMessage
	return out, decode("deleteMessage", prefix, raw, &out)
}

// CheckAnswerCallbackQuery checks and decodes answerCallbackQuery's
// parameters under prefix. Errors: *provider.InvalidParamsError.
func CheckAnswerCallbackQuery(prefix string, raw json.RawMessage) (AnswerCallbackQuery, error) {
	c := &checker{}
	m := c.start(prefix, answerCallbackQueryParams, raw)
	if m != nil {
		c.common(prefix, m, false)
		if v, ok := m["callback_query_id"]; ok {
			if s, ok := c.str(prefix+".callback_query_id", v); ok && s == "" {
				c.add(prefix+".callback_query_id", "must not be empty")
			}
		}
		if v, ok := m["text"]; ok {
			if s, ok := c.str(prefix+".text", v); ok && utf8.RuneCountInString(s) > MaxCallbackText {
				c.add(prefix+".text", "must be 0-200 characters")
			}
		}
		if v, ok := m["url"]; ok {
			if s, ok := c.str(prefix+".url", v); ok && !buttonURL(s) {
				c.add(prefix+".url", "must be an http, https or tg:// URL")
			}
		}
		if v, ok := m["cache_time"]; ok {
			if n, ok := c.integer(prefix+".cache_time", v); ok && n < 0 {
				c.add(prefix+".cache_time", "must not be negative")
			}
		}
	}
	if err := c.err("answerCallbackQuery"); err != nil {
		return AnswerCallbackQuery{}, err
	}
	var out AnswerCallbackQuery
	return out, decode("answerCallbackQuery", prefix, raw, &out)
}

// CheckSendChatAction checks and decodes sendChatAction's parameters under
// prefix. Errors: *provider.InvalidParamsError.
func CheckSendChatAction(prefix string, raw json.RawMessage) (SendChatAction, error) {
	c := &checker{}
	m := c.start(prefix, sendChatActionParams, raw)
	if m != nil {
		c.common(prefix, m, false)
		if v, ok := m["action"]; ok {
			if s, ok := c.str(prefix+".action", v); ok && !slices.Contains(ChatActions, s) {
				c.add(prefix+".action", "must be one of "+strings.Join(ChatActions, ", "))
			}
		}
	}
	if err := c.err("sendChatAction"); err != nil {
		return SendChatAction{}, err
	}
	var out SendChatAction
	return out, decode("sendChatAction", prefix, raw, &out)
}

// CheckSendMedia checks and decodes the parameters of sendPhoto (field
// "photo") or sendDocument (field "document") under prefix. A URL must
// pass the SSRF guard's create-time check (ssrf.CheckURL with
// allowPrivate): Telegram downloads it, but a private address in a
// Gatehouse request is refused all the same, like every user-supplied URL.
// Errors: *provider.InvalidParamsError.
func CheckSendMedia(action, field, prefix string, raw json.RawMessage, allowPrivate bool) (SendMedia, error) {
	c := &checker{}
	m := c.start(prefix, mediaParams(field), raw)
	if m != nil {
		mode := c.common(prefix, m, true)
		if v, ok := m["caption"]; ok {
			c.text(prefix+".caption", v, mode, 0, MaxCaptionLength)
		}
		if v, ok := m[field]; ok {
			if s, ok := c.str(prefix+"."+field, v); ok {
				switch {
				case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
					if err := ssrf.CheckURL(s, allowPrivate); err != nil {
						c.add(prefix+"."+field, "is refused: "+err.Error())
					}
				case !fileID.MatchString(s):
					c.add(prefix+"."+field, "must be an http(s) URL or a file_id")
				}
			}
		}
	}
	if err := c.err(action); err != nil {
		return SendMedia{}, err
	}
	out := SendMedia{Field: field}
	if err := decode(action, prefix, raw, &out); err != nil {
		return SendMedia{}, err
	}
	_ = json.Unmarshal(m[field], &out.File)
	return out, nil
}

// CheckSendMessageDraft checks and decodes sendMessageDraft's parameters
// under prefix: Telegram streams drafts to private chats only, so chat_id
// is a user's (positive) id. Errors: *provider.InvalidParamsError.
func CheckSendMessageDraft(prefix string, raw json.RawMessage) (SendMessageDraft, error) {
	c := &checker{}
	m := c.start(prefix, sendMessageDraftParams, raw)
	if m != nil {
		if v, ok := m["chat_id"]; ok {
			if n, ok := c.integer(prefix+".chat_id", v); ok && n <= 0 {
				c.add(prefix+".chat_id", "must be the id of a private chat (a positive integer)")
			}
		}
		if v, ok := m["draft_id"]; ok {
			if n, ok := c.integer(prefix+".draft_id", v); ok && n == 0 {
				c.add(prefix+".draft_id", "must not be zero")
			}
		}
		if v, ok := m["message_thread_id"]; ok {
			c.positive(prefix+".message_thread_id", v)
		}
		mode := c.parseMode(prefix+".parse_mode", m, "parse_mode")
		if v, ok := m["text"]; ok {
			c.text(prefix+".text", v, mode, 1, MaxTextLength)
		}
	}
	if err := c.err("sendMessageDraft"); err != nil {
		return SendMessageDraft{}, err
	}
	var out SendMessageDraft
	return out, decode("sendMessageDraft", prefix, raw, &out)
}

// CheckGetFile checks and decodes getFile's parameters under prefix.
// Errors: *provider.InvalidParamsError.
func CheckGetFile(prefix string, raw json.RawMessage) (GetFile, error) {
	c := &checker{}
	m := c.start(prefix, getFileParams, raw)
	if v, ok := m["file_id"]; ok {
		if s, ok := c.str(prefix+".file_id", v); ok && !fileID.MatchString(s) {
			c.add(prefix+".file_id", "must be a Telegram file_id")
		}
	}
	if err := c.err("getFile"); err != nil {
		return GetFile{}, err
	}
	var out GetFile
	return out, decode("getFile", prefix, raw, &out)
}
