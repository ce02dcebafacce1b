package telegram

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// DefaultBaseURL is the Bot API's address; main overrides it with
// TELEGRAM_API_BASE_URL for a self-hosted Bot API server or a stand-in.
const DefaultBaseURL = "https://api.telegram.org"

// Caps on the Bot API's answers (its address is the operator's, but a
// health check must not read without bound whatever answers there).
const (
	// MaxAnswerBytes caps a method's answer: the largest Gatehouse calls
	// for — a sent message echoed back with its 4,096 characters, entities
	// and reply markup, a chat's full info — are tens of kilobytes; getMe
	// and setWebhook answer a few hundred bytes.
	MaxAnswerBytes = 1 << 20
	// MaxDownloadBytes caps a file fetched from the file server: twice
	// what a file link serves (filelink.MaxBytes, 4 MiB), so a file a
	// little too large is told apart (413) from an answer that is broken.
	MaxDownloadBytes = 8 << 20
)

// APIError is the Bot API's error answer
// {"ok":false,"error_code":…,"description":…,"parameters":{…}}. Its message
// never holds the token.
type APIError struct {
	Method      string
	ErrorCode   int // the Bot API's error_code, equal to the HTTP status
	Description string
	// RetryAfter is parameters.retry_after, for 429.
	RetryAfter time.Duration
	// MigrateToChatID is parameters.migrate_to_chat_id: the group became a
	// supergroup with this id.
	MigrateToChatID int64
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *APIError) Error() string {
	return "Telegram " + e.Method + " failed (" + strconv.Itoa(e.ErrorCode) + "): " + e.Description
}

// Outcome classifies the error. 401 (token revoked) and 404 (no bot has
// this token: the Bot API answers Not Found for it) are
// invalid_credentials; 403 is not, it means the bot was blocked or removed
// from a chat. 429 is rate_limited, 5xx unreachable.
func (e *APIError) Outcome() provider.Outcome {
	switch {
	case e.ErrorCode == http.StatusUnauthorized, e.ErrorCode == http.StatusNotFound:
		return provider.OutcomeInvalidCredentials
	case e.ErrorCode == http.StatusTooManyRequests:
		return provider.OutcomeRateLimited
	case e.ErrorCode >= 500:
		return provider.OutcomeUnreachable
	}
	return provider.OutcomeProviderError
}

// RetryDelay returns RetryAfter.
func (e *APIError) RetryDelay() time.Duration { return e.RetryAfter }

// HTTPStatus returns the Bot API's error_code.
func (e *APIError) HTTPStatus() int { return e.ErrorCode }

// User is a Telegram user or bot (getMe's result).
type User struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	CanJoinGroups           bool   `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool   `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   bool   `json:"supports_inline_queries,omitempty"`
}

// Chat is the chat a message belongs to.
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
}

// Message is a sent or edited message (the result of sendMessage,
// editMessageText, sendPhoto, sendDocument), reduced to what callers use.
type Message struct {
	MessageID       int64           `json:"message_id"`
	MessageThreadID int64           `json:"message_thread_id,omitempty"`
	From            *User           `json:"from,omitempty"`
	Chat            Chat            `json:"chat"`
	Date            int64           `json:"date"`
	EditDate        int64           `json:"edit_date,omitempty"`
	Text            string          `json:"text,omitempty"`
	Caption         string          `json:"caption,omitempty"`
	Photo           []PhotoSize     `json:"photo,omitempty"`
	Document        *Document       `json:"document,omitempty"`
	ReplyMarkup     json.RawMessage `json:"reply_markup,omitempty"`
}

// PhotoSize is one size of a photo Telegram holds.
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Document is a general file Telegram holds.
type Document struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// File is getFile's result. FilePath is where Telegram serves the file, at
// {base}/file/bot<token>/<file_path>: a URL holding the token, so Gatehouse
// never hands it out (see the package comment).
type File struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileSize     int64  `json:"file_size,omitempty"`
	FilePath     string `json:"file_path,omitempty"`
}

// WebhookInfo is getWebhookInfo's result.
type WebhookInfo struct {
	URL                          string   `json:"url"`
	HasCustomCertificate         bool     `json:"has_custom_certificate"`
	PendingUpdateCount           int      `json:"pending_update_count"`
	IPAddress                    string   `json:"ip_address,omitempty"`
	LastErrorDate                int64    `json:"last_error_date,omitempty"`
	LastErrorMessage             string   `json:"last_error_message,omitempty"`
	LastSynchronizationErrorDate int64    `json:"last_synchronization_error_date,omitempty"`
	MaxConnections               int      `json:"max_connections,omitempty"`
	AllowedUpdates               []string `json:"allowed_updates,omitempty"`
}

// SetWebhook are setWebhook's parameters Gatehouse supports.
type SetWebhook struct {
	URL                string   `json:"url"`
	SecretToken        string   `json:"secret_token,omitempty"`
	AllowedUpdates     []string `json:"allowed_updates,omitempty"`
	DropPendingUpdates bool     `json:"drop_pending_updates,omitempty"`
	MaxConnections     int      `json:"max_connections,omitempty"`
}

// Bot is a Bot API client for one token. It holds no connection and does
// no I/O until a method is called.
type Bot struct {
	base   string
	token  string
	client *provider.Client
}

// NewBot returns a client for token against baseURL ("" means
// DefaultBaseURL) that sends through c.
func NewBot(baseURL, token string, c *provider.Client) *Bot {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Bot{base: strings.TrimRight(baseURL, "/"), token: token, client: c}
}

// GetMe returns the bot's user. Errors: *APIError, or the Client's
// *provider.UnreachableError and *provider.ResponseError.
func (b *Bot) GetMe(ctx context.Context) (User, error) {
	var u User
	err := b.call(ctx, "getMe", nil, &u)
	return u, err
}

// SendMessage sends a text message with every parameter of m (checked by
// CheckSendMessage); reply_to_message_id goes out as reply_parameters, the
// form the Bot API documents since 7.0. Errors: as GetMe.
func (b *Bot) SendMessage(ctx context.Context, m SendMessage) (Message, error) {
	if m.ReplyToMessageID != 0 && m.ReplyParameters == nil {
		m.ReplyParameters = &ReplyParameters{MessageID: m.ReplyToMessageID}
	}
	m.ReplyToMessageID = 0
	var msg Message
	err := b.call(ctx, "sendMessage", m, &msg)
	return msg, err
}

// EditMessageText replaces a message's text (and inline keyboard). It
// returns the edited message, or nil for an inline message, for which
// Telegram answers only true. Errors: as GetMe.
func (b *Bot) EditMessageText(ctx context.Context, e EditMessageText) (*Message, error) {
	var raw json.RawMessage
	if err := b.call(ctx, "editMessageText", e, &raw); err != nil {
		return nil, err
	}
	if e.InlineMessageID != "" {
		return nil, nil
	}
	var msg Message
	if err := json.Unmarshal(raw, &msg); err != nil || msg.MessageID == 0 {
		return nil, &provider.ResponseError{Provider: "Telegram", Reason: "editMessageText answered an unexpected result"}
	}
	return &msg, nil
}

// DeleteMessage deletes a message. Errors: as SetWebhook.
func (b *Bot) DeleteMessage(ctx context.Context, d DeleteMessage) error {
	return b.confirm(ctx, "deleteMessage", d)
}

// AnswerCallbackQuery answers a button press. Errors: as SetWebhook.
func (b *Bot) AnswerCallbackQuery(ctx context.Context, a AnswerCallbackQuery) error {
	return b.confirm(ctx, "answerCallbackQuery", a)
}

// SendChatAction shows "typing…" or another action for five seconds.
// Errors: as SetWebhook.
func (b *Bot) SendChatAction(ctx context.Context, a SendChatAction) error {
	return b.confirm(ctx, "sendChatAction", a)
}

// SendMedia sends a photo (m.Field "photo", method sendPhoto) or a
// document ("document", sendDocument) by URL or file_id. Errors: as GetMe.
func (b *Bot) SendMedia(ctx context.Context, m SendMedia) (Message, error) {
	method, body, err := m.request()
	if err != nil {
		return Message{}, err
	}
	var msg Message
	err = b.call(ctx, method, body, &msg)
	return msg, err
}

// request is the method and the body that send m: its fields with the
// file under m.Field.
func (m SendMedia) request() (string, json.RawMessage, error) {
	method := "sendDocument"
	if m.Field == "photo" {
		method = "sendPhoto"
	}
	body, err := json.Marshal(m)
	if err != nil {
		return method, nil, &provider.InvalidParamsError{Action: method}
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields)
	fields[m.Field], _ = json.Marshal(m.File)
	body, err = json.Marshal(fields)
	if err != nil {
		return method, nil, &provider.InvalidParamsError{Action: method}
	}
	return method, body, nil
}

// SendMessageDraft streams a partial message to a private chat. Errors: as
// SetWebhook.
func (b *Bot) SendMessageDraft(ctx context.Context, d SendMessageDraft) error {
	return b.confirm(ctx, "sendMessageDraft", d)
}

// GetFile asks Telegram where a file is. Its FilePath must never leave
// Gatehouse as a URL: see FileURL. Errors: as GetMe.
func (b *Bot) GetFile(ctx context.Context, fileID string) (File, error) {
	var f File
	err := b.call(ctx, "getFile", GetFile{FileID: fileID}, &f)
	return f, err
}

// FileURL is where Telegram serves filePath for this bot. It holds the
// token: it is for Gatehouse's own download (pkg/filelink), never for a
// response, a log line or an error.
func (b *Bot) FileURL(filePath string) string {
	return b.base + "/file/bot" + b.token + "/" + strings.TrimLeft(filePath, "/")
}

// SetWebhook registers the webhook. Errors: as GetMe, and a
// *provider.ResponseError when the answer's result is not true.
func (b *Bot) SetWebhook(ctx context.Context, w SetWebhook) error {
	return b.confirm(ctx, "setWebhook", w)
}

// DeleteWebhook removes the webhook, dropping undelivered updates when
// dropPending is true. Errors: as SetWebhook.
func (b *Bot) DeleteWebhook(ctx context.Context, dropPending bool) error {
	body := struct {
		DropPendingUpdates bool `json:"drop_pending_updates"`
	}{dropPending}
	return b.confirm(ctx, "deleteWebhook", body)
}

// confirm calls a method that answers "result": true on success. Any other
// result is a *provider.ResponseError: a proxy or a broken server answering
// {"ok":true} with something else must not pass for a change Telegram made.
func (b *Bot) confirm(ctx context.Context, method string, params any) error {
	var done bool
	if err := b.call(ctx, method, params, &done); err != nil {
		return err
	}
	if !done {
		return &provider.ResponseError{Provider: "Telegram", Reason: method + " did not confirm the change"}
	}
	return nil
}

// GetWebhookInfo returns the webhook's state. Errors: as GetMe.
func (b *Bot) GetWebhookInfo(ctx context.Context) (WebhookInfo, error) {
	var info WebhookInfo
	err := b.call(ctx, "getWebhookInfo", nil, &info)
	return info, err
}

type envelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call POSTs params as JSON to /bot<token>/<method> and decodes the result
// into result (nil to ignore it).
func (b *Bot) call(ctx context.Context, method string, params, result any) error {
	body := []byte("{}")
	if params != nil {
		var err error
		if body, err = json.Marshal(params); err != nil {
			return &provider.InvalidParamsError{Action: method}
		}
	}
	// A 2xx answer is decoded as it arrives, within MaxAnswerBytes; an
	// error answer is read (its first provider.MaxErrorBytes) for its
	// description and retry_after.
	var env envelope
	var jsonErr error
	resp, err := b.client.Do(ctx, provider.Request{
		Method:     http.MethodPost,
		URL:        b.base + "/bot" + b.token + "/" + method,
		Body:       body,
		RetryAfter: bodyRetryAfter,
		MaxBytes:   MaxAnswerBytes,
		Decode: func(r io.Reader) error {
			jsonErr = json.NewDecoder(r).Decode(&env)
			return nil
		},
	})
	if err != nil {
		return err
	}
	if resp.Status/100 != 2 {
		jsonErr = json.Unmarshal(resp.Body, &env)
	}
	if resp.Status/100 != 2 || (jsonErr == nil && !env.OK) {
		apiErr := &APIError{Method: method, ErrorCode: resp.Status, Description: http.StatusText(resp.Status)}
		if jsonErr == nil && !env.OK {
			if env.ErrorCode != 0 {
				apiErr.ErrorCode = env.ErrorCode
			}
			if env.Description != "" {
				apiErr.Description = provider.Redact(env.Description, b.token)
			}
			apiErr.RetryAfter = time.Duration(env.Parameters.RetryAfter) * time.Second
			apiErr.MigrateToChatID = env.Parameters.MigrateToChatID
		}
		if apiErr.RetryAfter == 0 {
			apiErr.RetryAfter = provider.RetryAfterHeader(resp.Header)
		}
		return apiErr
	}
	if jsonErr != nil {
		return &provider.ResponseError{Provider: "Telegram", Reason: method + " did not answer JSON"}
	}
	if result != nil {
		if err := json.Unmarshal(env.Result, result); err != nil {
			return &provider.ResponseError{Provider: "Telegram", Reason: method + " answered an unexpected result"}
		}
	}
	return nil
}

// bodyRetryAfter reads parameters.retry_after: the Bot API says how long
// to wait in the body, not in a header.
func bodyRetryAfter(r *provider.Response) time.Duration {
	var env envelope
	if json.Unmarshal(r.Body, &env) != nil {
		return 0
	}
	return time.Duration(env.Parameters.RetryAfter) * time.Second
}

// Download is a file fetched from Telegram's file server.
type Download struct {
	Body []byte
	// ContentType is Telegram's, or "" when it sent none.
	ContentType string
}

// DownloadFile fetches filePath (getFile's file_path) from Telegram's file
// server, whose URL holds the token: it never appears in an error. Errors:
// *APIError (404 when the file is gone, or the token changed),
// *provider.UnreachableError, *provider.ResponseError (a body over the
// Client's bound).
func (b *Bot) DownloadFile(ctx context.Context, filePath string) (Download, error) {
	resp, err := b.client.Do(ctx, provider.Request{Method: http.MethodGet, URL: b.FileURL(filePath), MaxBytes: MaxDownloadBytes})
	if err != nil {
		return Download{}, err
	}
	if resp.Status/100 != 2 {
		apiErr := &APIError{Method: "file download", ErrorCode: resp.Status, Description: http.StatusText(resp.Status)}
		var env envelope
		if json.Unmarshal(resp.Body, &env) == nil && env.Description != "" {
			apiErr.Description = provider.Redact(env.Description, b.token)
		}
		return Download{}, apiErr
	}
	return Download{Body: resp.Body, ContentType: resp.Header.Get("Content-Type")}, nil
}
