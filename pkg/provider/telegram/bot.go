package telegram

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// DefaultBaseURL is the Bot API's address; main overrides it with
// TELEGRAM_API_BASE_URL for a self-hosted Bot API server or a stand-in.
const DefaultBaseURL = "https://api.telegram.org"

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

// Message is a sent message (sendMessage's result), reduced to what callers
// use.
type Message struct {
	MessageID int64  `json:"message_id"`
	From      *User  `json:"from,omitempty"`
	Chat      Chat   `json:"chat"`
	Date      int64  `json:"date"`
	Text      string `json:"text,omitempty"`
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

// SendMessage are sendMessage's parameters Gatehouse supports.
type SendMessage struct {
	// ChatID is an integer or "@channelusername", passed through as given.
	ChatID              json.RawMessage `json:"chat_id"`
	Text                string          `json:"text"`
	ParseMode           string          `json:"parse_mode,omitempty"`
	DisableNotification bool            `json:"disable_notification,omitempty"`
	// ReplyToMessageID is sent as reply_parameters.message_id, the form the
	// Bot API documents since 7.0.
	ReplyToMessageID int64 `json:"reply_to_message_id,omitempty"`
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

// SendMessage sends a text message. Errors: as GetMe.
func (b *Bot) SendMessage(ctx context.Context, m SendMessage) (Message, error) {
	type replyParameters struct {
		MessageID int64 `json:"message_id"`
	}
	body := struct {
		ChatID              json.RawMessage  `json:"chat_id"`
		Text                string           `json:"text"`
		ParseMode           string           `json:"parse_mode,omitempty"`
		DisableNotification bool             `json:"disable_notification,omitempty"`
		ReplyParameters     *replyParameters `json:"reply_parameters,omitempty"`
	}{ChatID: m.ChatID, Text: m.Text, ParseMode: m.ParseMode, DisableNotification: m.DisableNotification}
	if m.ReplyToMessageID != 0 {
		body.ReplyParameters = &replyParameters{MessageID: m.ReplyToMessageID}
	}
	var msg Message
	err := b.call(ctx, "sendMessage", body, &msg)
	return msg, err
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
	resp, err := b.client.Do(ctx, provider.Request{
		Method:     http.MethodPost,
		URL:        b.base + "/bot" + b.token + "/" + method,
		Body:       body,
		RetryAfter: bodyRetryAfter,
	})
	if err != nil {
		return err
	}
	var env envelope
	jsonErr := json.Unmarshal(resp.Body, &env)
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
