// Package telegram is the provider of TELEGRAM_BOT gateways: it checks a bot
// token (its shape, then getMe), registers and deletes the webhook through
// which Gatehouse receives updates, and runs the actions bots need: getMe,
// sendMessage, editMessageText, deleteMessage, answerCallbackQuery,
// sendChatAction, sendPhoto, sendDocument, sendMessageDraft, getFile,
// setWebhook, deleteWebhook and getWebhookInfo.
//
// It talks to the Bot API through Bot, a small typed client of its own,
// rather than github.com/go-telegram/bot: that library calls getMe inside
// bot.New (network I/O in a constructor, unless told otherwise) and runs
// update handlers in goroutines of its own, while a Lambda must do no hidden
// I/O at construction and leave no goroutine behind when an invocation
// returns. The methods Gatehouse needs are few and their JSON is short.
//
// # Parameters
//
// Every action's parameters carry Telegram's own names and are checked
// before any call (the Check functions: CheckSendMessage and its
// siblings), so bad input is a 400 naming each wrong field as the body has
// it — params.reply_markup.inline_keyboard[0][1].callback_data — and never
// reaches Telegram. The checks are exported with a field prefix so that a
// batch of messages can name messages[3].text the same way. They follow the
// Bot API's rules: text 1-4096 and captions 0-1024 characters after entity
// parsing (counted as a lower bound: markup is not counted, so nothing
// Telegram takes is refused), callback_data 1-64 bytes, exactly one action
// per inline button, at most MaxButtons buttons. Photo and document URLs
// pass the SSRF guard's create-time check (Options.AllowPrivate).
//
// # Files
//
// getFile never answers Telegram's file URL, which is
// {base}/file/bot<token>/<file_path>: it holds the token. Its result is a
// provider.RemoteFile; the gateway service (pkg/lifecycle) turns it into a
// short-lived link Gatehouse serves itself, GET /api/files/{linkId}
// (package filelink, which says why a link and not a copy in S3). This
// package only knows the file; the service knows the gateway, so the link
// is minted there.
//
// The Bot API base URL is configurable (main reads TELEGRAM_API_BASE_URL),
// so a self-hosted Bot API server or the telegramtest stand-in works.
//
// Webhook secret: Connect generates 32 random bytes, sends them
// base64url-encoded without padding (43 characters, all in the A-Z a-z 0-9 _ -
// alphabet Telegram allows, 1-256 long) as setWebhook's secret_token, and
// returns only their SHA-256 for the store. Telegram sends the token back in
// X-Telegram-Bot-Api-Secret-Token with each update; the webhook function
// compares hashes, so it needs no KMS access.
package telegram

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// WebhookPath is the path under the public API URL where Telegram delivers
// a gateway's updates: {publicURL}/api/webhooks/telegram/{gatewayID}.
const WebhookPath = "/api/webhooks/telegram/"

// SecretHeader is the header carrying the webhook secret in each update.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// DefaultAllowedUpdates is the allowed_updates list of a gateway whose
// config names none: messages, edits, channel posts and button presses.
// Telegram's own default also changes with the previous setWebhook call,
// so an explicit list keeps Connect repeatable.
var DefaultAllowedUpdates = []string{"message", "edited_message", "channel_post", "edited_channel_post", "callback_query"}

// TokenPattern is the shape of a bot token: the bot's numeric id, a colon,
// and a secret of URL-safe characters (35 in tokens issued today; a range
// allows for change without accepting anything else). It is the one
// definition in Go: CheckCredentials applies it, and GET /api/providers
// hands it to the dashboard (credential field "botToken"), which mirrors it.
const TokenPattern = `^[0-9]{5,16}:[A-Za-z0-9_-]{30,64}$`

// tokenShape is TokenPattern compiled on first use, not at start-up: only
// the functions that check new credentials need it, and a compile at init
// would cost every function's cold start.
var tokenShape = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(TokenPattern) })

// ValidToken reports whether token has a bot token's shape. It makes no
// call.
func ValidToken(token string) bool { return tokenShape().MatchString(token) }

// Config is a Telegram gateway's config object.
type Config struct {
	// AllowedUpdates is setWebhook's allowed_updates; empty means
	// DefaultAllowedUpdates.
	AllowedUpdates []string `json:"allowedUpdates,omitempty"`
	// DropPendingUpdates is deleteWebhook's drop_pending_updates on
	// disconnect.
	DropPendingUpdates bool `json:"dropPendingUpdates,omitempty"`
	// MaxConnections is setWebhook's max_connections (1-100); 0 leaves
	// Telegram's default of 40.
	MaxConnections int `json:"maxConnections,omitempty"`
}

var configParams = []provider.Param{
	{Name: "allowedUpdates", Type: provider.ParamArray, Items: provider.ParamString, Default: DefaultAllowedUpdates,
		Description: "Update types Telegram delivers to the webhook (setWebhook allowed_updates)."},
	{Name: "dropPendingUpdates", Type: provider.ParamBoolean, Default: false,
		Description: "Drop updates not yet delivered when the gateway is disconnected."},
	{Name: "maxConnections", Type: provider.ParamInteger,
		Description: "Simultaneous webhook connections Telegram may open, 1-100 (default 40)."},
}

// ParseConfig checks and decodes a gateway's config. Errors:
// *provider.InvalidParamsError with "config.<name>" fields.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if err := provider.DecodeParams("", "config", configParams, raw, &c); err != nil {
		return Config{}, err
	}
	var bad []gateway.FieldError
	for _, u := range c.AllowedUpdates {
		if !inbox.IsUpdateType(u) {
			bad = append(bad, gateway.FieldError{Field: "config.allowedUpdates", Message: strconv.Quote(u) + " is not a Telegram update type"})
		}
	}
	if c.MaxConnections != 0 && (c.MaxConnections < 1 || c.MaxConnections > 100) {
		bad = append(bad, gateway.FieldError{Field: "config.maxConnections", Message: "must be between 1 and 100"})
	}
	if len(bad) > 0 {
		return Config{}, &provider.InvalidParamsError{Fields: bad}
	}
	if len(c.AllowedUpdates) == 0 {
		c.AllowedUpdates = DefaultAllowedUpdates
	}
	return c, nil
}

// Options configure a Provider.
type Options struct {
	// BaseURL is the Bot API's address; "" means DefaultBaseURL.
	BaseURL string
	// Client sends the requests; nil means provider.NewClient(nil). The
	// Bot API address is operator configuration, not user input, so it
	// needs no SSRF guard.
	Client *provider.Client
	// AllowPrivate lets sendPhoto and sendDocument name URLs on loopback
	// and private addresses (GATEHOUSE_ALLOW_PRIVATE_NETWORKS, as for the
	// AI and webhook providers); otherwise such a URL is a 400.
	AllowPrivate bool
}

// Provider is the TELEGRAM_BOT provider. It is stateless and safe for
// concurrent use.
type Provider struct {
	base         string
	client       *provider.Client
	allowPrivate bool
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider. It does no I/O.
func New(opts Options) *Provider {
	c := opts.Client
	if c == nil {
		c = provider.NewClient(nil)
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	return &Provider{base: base, client: c, allowPrivate: opts.AllowPrivate}
}

// Type returns gateway.TypeTelegramBot.
func (p *Provider) Type() gateway.Type { return gateway.TypeTelegramBot }

// CheckConfig checks a gateway's config with ParseConfig.
func (p *Provider) CheckConfig(raw json.RawMessage) error {
	_, err := ParseConfig(raw)
	return err
}

// Info describes the provider for the dashboard.
func (p *Provider) Info() provider.Info {
	return provider.Info{
		Type:        gateway.TypeTelegramBot,
		Name:        "Telegram Bot",
		Description: "A Telegram bot: Gatehouse validates its token, registers its webhook, receives its updates and sends messages.",
		Credentials: []provider.CredentialField{{
			Name: "botToken", Label: "Bot token", Required: true, Secret: true, Pattern: TokenPattern,
			Description: "The token @BotFather gave you, like 123456789:AAE…",
		}},
		Config:  configParams,
		Actions: p.Actions(),
	}
}

// Actions lists getMe, the sending and editing actions bots need
// (sendMessage, editMessageText, deleteMessage, answerCallbackQuery,
// sendChatAction, sendPhoto, sendDocument, sendMessageDraft), getFile, and
// the webhook actions setWebhook, deleteWebhook and getWebhookInfo. Every
// action that sends or changes what a chat shows requires a connected
// gateway.
func (p *Provider) Actions() []provider.Action {
	return []provider.Action{
		{Name: "getMe", Description: "Returns the bot's id, name and username."},
		{Name: "sendMessage", Description: "Sends a text message to a chat, with an optional keyboard.", RequiresConnection: true, Params: sendMessageParams},
		{Name: "editMessageText", Description: "Replaces the text (and inline keyboard) of a message the bot sent.", RequiresConnection: true, Params: editMessageTextParams},
		{Name: "deleteMessage", Description: "Deletes a message.", RequiresConnection: true, Params: deleteMessageParams},
		{Name: "answerCallbackQuery", Description: "Answers a press of an inline keyboard button.", RequiresConnection: true, Params: answerCallbackQueryParams},
		{Name: "sendChatAction", Description: "Shows \"typing…\" or another action in a chat for 5 seconds.", RequiresConnection: true, Params: sendChatActionParams},
		{Name: "sendPhoto", Description: "Sends a photo by URL or file_id.", RequiresConnection: true, Params: mediaParams("photo")},
		{Name: "sendDocument", Description: "Sends a file by URL or file_id.", RequiresConnection: true, Params: mediaParams("document")},
		{Name: "sendMessageDraft", Description: "Streams a partial reply to a private chat while it is being generated.", RequiresConnection: true, Params: sendMessageDraftParams},
		{Name: "getFile", Description: "Returns a short-lived Gatehouse link to download a file the bot received (up to 4 MiB).", RequiresConnection: true, Params: getFileParams},
		{Name: "setWebhook", Description: "Registers a webhook URL by hand (Connect does this for Gatehouse's own URL).", Params: []provider.Param{
			{Name: "url", Type: provider.ParamString, Required: true, Description: "HTTPS URL Telegram delivers updates to; empty removes the webhook."},
			{Name: "secret_token", Type: provider.ParamString, Description: "Sent back in X-Telegram-Bot-Api-Secret-Token; 1-256 of A-Z a-z 0-9 _ -."},
			{Name: "allowed_updates", Type: provider.ParamArray, Items: provider.ParamString, Description: "Update types to deliver."},
			{Name: "drop_pending_updates", Type: provider.ParamBoolean, Description: "Drop updates not yet delivered."},
			{Name: "max_connections", Type: provider.ParamInteger, Description: "Simultaneous connections, 1-100."},
		}},
		{Name: "deleteWebhook", Description: "Removes the webhook.", Params: []provider.Param{
			{Name: "drop_pending_updates", Type: provider.ParamBoolean, Description: "Drop updates not yet delivered."},
		}},
		{Name: "getWebhookInfo", Description: "Returns the webhook's URL, pending updates and last delivery error."},
	}
}

// bot checks the token's shape and returns a client for it. Errors:
// *provider.InvalidCredentialsError.
func (p *Provider) bot(creds gateway.Credentials) (*Bot, error) {
	if !ValidToken(creds.BotToken) {
		return nil, &provider.InvalidCredentialsError{
			Field:   "credentials.botToken",
			Message: "the bot token must look like 123456789:AAE… (the bot id, a colon and the secret from @BotFather)",
		}
	}
	return NewBot(p.base, creds.BotToken, p.client), nil
}

// rejected turns a Bot API rejection of the token into an
// *provider.InvalidCredentialsError and leaves other errors alone.
func rejected(err error) error {
	if provider.Classify(err) == provider.OutcomeInvalidCredentials {
		return &provider.InvalidCredentialsError{Field: "credentials.botToken", Message: "Telegram rejected the bot token", Err: err}
	}
	return err
}

func botInfo(u User) map[string]any {
	return map[string]any{"botId": strconv.FormatInt(u.ID, 10), "botUsername": u.Username, "botName": u.FirstName}
}

// ValidateCredentials checks the token's shape, then calls getMe. It
// returns the bot's id, username and name as CredentialInfo. Errors:
// *provider.InvalidCredentialsError (bad shape, or Telegram's 401/404),
// *APIError, *provider.UnreachableError, *provider.ResponseError.
func (p *Provider) ValidateCredentials(ctx context.Context, creds gateway.Credentials) (provider.Validation, error) {
	start := time.Now()
	b, err := p.bot(creds)
	if err != nil {
		return provider.Validation{}, err
	}
	u, err := b.GetMe(ctx)
	if err != nil {
		return provider.Validation{}, rejected(err)
	}
	return provider.Validation{CredentialInfo: botInfo(u), LatencyMs: time.Since(start).Milliseconds()}, nil
}

// Connect checks the token with getMe, registers the webhook at
// {PublicURL}/api/webhooks/telegram/{GatewayID} with a fresh secret token and
// the config's allowed_updates, and confirms it with getWebhookInfo. It
// returns the secret's SHA-256 and the bot's id and username. Errors: as
// ValidateCredentials, plus *provider.InvalidParamsError for a bad config or
// a missing PublicURL or GatewayID, and *provider.ResponseError when
// getWebhookInfo does not show the webhook.
func (p *Provider) Connect(ctx context.Context, req provider.ConnectRequest) (provider.ConnectResult, error) {
	start := time.Now()
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return provider.ConnectResult{}, err
	}
	hookURL, err := WebhookURL(req.PublicURL, req.GatewayID)
	if err != nil {
		return provider.ConnectResult{}, err
	}
	b, err := p.bot(req.Credentials)
	if err != nil {
		return provider.ConnectResult{}, err
	}
	u, err := b.GetMe(ctx)
	if err != nil {
		return provider.ConnectResult{}, rejected(err)
	}
	secret := NewSecretToken()
	err = b.SetWebhook(ctx, SetWebhook{
		URL:            hookURL,
		SecretToken:    secret,
		AllowedUpdates: cfg.AllowedUpdates,
		MaxConnections: cfg.MaxConnections,
	})
	if err != nil {
		return provider.ConnectResult{}, rejected(err)
	}
	info, err := b.GetWebhookInfo(ctx)
	if err != nil {
		return provider.ConnectResult{}, rejected(err)
	}
	if info.URL != hookURL {
		return provider.ConnectResult{}, &provider.ResponseError{Provider: "Telegram", Reason: "getWebhookInfo does not show the webhook that was set"}
	}
	hash := sha256.Sum256([]byte(secret))
	return provider.ConnectResult{
		CredentialInfo:    botInfo(u),
		WebhookSecretHash: hash[:],
		Details: map[string]any{
			"webhookUrl":         info.URL,
			"allowedUpdates":     cfg.AllowedUpdates,
			"pendingUpdateCount": info.PendingUpdateCount,
		},
		LatencyMs: time.Since(start).Milliseconds(),
	}, nil
}

// WebhookURL returns {publicURL}/api/webhooks/telegram/{gatewayID}. Errors:
// *provider.InvalidParamsError when publicURL is not an absolute http(s)
// URL or gatewayID is empty.
func WebhookURL(publicURL, gatewayID string) (string, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", &provider.InvalidParamsError{Action: "connect", Fields: []gateway.FieldError{{Field: "publicUrl", Message: "must be the absolute http(s) URL of the API"}}}
	}
	if gatewayID == "" {
		return "", &provider.InvalidParamsError{Action: "connect", Fields: []gateway.FieldError{{Field: "gatewayId", Message: "is required"}}}
	}
	return strings.TrimRight(publicURL, "/") + WebhookPath + url.PathEscape(gatewayID), nil
}

// NewSecretToken returns 32 random bytes in unpadded base64url: 43
// characters of A-Z a-z 0-9 _ -, the alphabet setWebhook's secret_token
// allows.
func NewSecretToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it panics instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// Disconnect deletes the webhook, dropping pending updates when the config
// says so. Errors: as ValidateCredentials, plus *provider.InvalidParamsError
// for a bad config.
func (p *Provider) Disconnect(ctx context.Context, req provider.DisconnectRequest) error {
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return err
	}
	b, err := p.bot(req.Credentials)
	if err != nil {
		return err
	}
	return rejected(b.DeleteWebhook(ctx, cfg.DropPendingUpdates))
}

// ok is the result of the actions Telegram answers with true.
var ok = map[string]bool{"ok": true}

// Execute runs one of Actions. Every parameter is checked before the token
// is used (the Check functions), so bad input never reaches Telegram.
// Results: getMe User; sendMessage, sendPhoto, sendDocument Message;
// editMessageText Message ({"ok":true} for an inline message);
// deleteMessage, answerCallbackQuery, sendChatAction, sendMessageDraft,
// setWebhook and deleteWebhook {"ok":true}; getWebhookInfo WebhookInfo;
// getFile a provider.RemoteFile, which the caller turns into a Gatehouse
// link. Errors: *provider.UnsupportedActionError,
// *provider.InvalidParamsError, *provider.InvalidCredentialsError (token
// shape), *APIError, *provider.UnreachableError, *provider.ResponseError.
func (p *Provider) Execute(ctx context.Context, creds gateway.Credentials, _ json.RawMessage, action string, params json.RawMessage) (any, error) {
	a, found := provider.FindAction(p.Actions(), action)
	if !found {
		return nil, &provider.UnsupportedActionError{Type: gateway.TypeTelegramBot, Action: action}
	}
	call, err := p.prepare(a, params)
	if err != nil {
		return nil, err
	}
	b, err := p.bot(creds)
	if err != nil {
		return nil, err
	}
	return call(ctx, b)
}

// prepare checks params for action a and returns the call to make.
func (p *Provider) prepare(a provider.Action, params json.RawMessage) (func(context.Context, *Bot) (any, error), error) {
	const prefix = "params"
	switch a.Name {
	case "getMe":
		return func(ctx context.Context, b *Bot) (any, error) { return b.GetMe(ctx) }, provider.DecodeParams(a.Name, prefix, a.Params, params, nil)
	case "getWebhookInfo":
		return func(ctx context.Context, b *Bot) (any, error) { return b.GetWebhookInfo(ctx) }, provider.DecodeParams(a.Name, prefix, a.Params, params, nil)
	case "sendMessage":
		m, err := CheckSendMessage(prefix, params)
		return func(ctx context.Context, b *Bot) (any, error) { return b.SendMessage(ctx, m) }, err
	case "editMessageText":
		e, err := CheckEditMessageText(prefix, params)
		return func(ctx context.Context, b *Bot) (any, error) {
			msg, err := b.EditMessageText(ctx, e)
			if err != nil || msg == nil {
				return ok, err
			}
			return msg, nil
		}, err
	case "deleteMessage":
		d, err := CheckDeleteMessage(prefix, params)
		return confirmed(func(ctx context.Context, b *Bot) error { return b.DeleteMessage(ctx, d) }), err
	case "answerCallbackQuery":
		q, err := CheckAnswerCallbackQuery(prefix, params)
		return confirmed(func(ctx context.Context, b *Bot) error { return b.AnswerCallbackQuery(ctx, q) }), err
	case "sendChatAction":
		c, err := CheckSendChatAction(prefix, params)
		return confirmed(func(ctx context.Context, b *Bot) error { return b.SendChatAction(ctx, c) }), err
	case "sendPhoto", "sendDocument":
		field := "document"
		if a.Name == "sendPhoto" {
			field = "photo"
		}
		m, err := CheckSendMedia(a.Name, field, prefix, params, p.allowPrivate)
		return func(ctx context.Context, b *Bot) (any, error) { return b.SendMedia(ctx, m) }, err
	case "sendMessageDraft":
		d, err := CheckSendMessageDraft(prefix, params)
		return confirmed(func(ctx context.Context, b *Bot) error { return b.SendMessageDraft(ctx, d) }), err
	case "getFile":
		g, err := CheckGetFile(prefix, params)
		return func(ctx context.Context, b *Bot) (any, error) {
			f, err := b.GetFile(ctx, g.FileID)
			if err != nil {
				return nil, err
			}
			if f.FilePath == "" {
				return nil, &provider.ResponseError{Provider: "Telegram", Reason: "getFile answered no file_path"}
			}
			return remoteFile{f}, nil
		}, err
	case "setWebhook":
		var w SetWebhook
		err := provider.DecodeParams(a.Name, prefix, a.Params, params, &w)
		return confirmed(func(ctx context.Context, b *Bot) error { return b.SetWebhook(ctx, w) }), err
	default: // deleteWebhook
		var d struct {
			DropPendingUpdates bool `json:"drop_pending_updates"`
		}
		err := provider.DecodeParams(a.Name, prefix, a.Params, params, &d)
		return confirmed(func(ctx context.Context, b *Bot) error { return b.DeleteWebhook(ctx, d.DropPendingUpdates) }), err
	}
}

// confirmed adapts a call answered by true to an action result.
func confirmed(f func(context.Context, *Bot) error) func(context.Context, *Bot) (any, error) {
	return func(ctx context.Context, b *Bot) (any, error) {
		if err := f(ctx, b); err != nil {
			return nil, err
		}
		return ok, nil
	}
}

// FileLink is getFile's answer through Gatehouse: Telegram's file facts
// and a Gatehouse link in place of Telegram's file URL.
type FileLink struct {
	FileID       string    `json:"file_id"`
	FileUniqueID string    `json:"file_unique_id"`
	FileSize     int64     `json:"file_size,omitempty"`
	URL          string    `json:"url"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// remoteFile is getFile's result before the caller links it.
type remoteFile struct{ f File }

var _ provider.RemoteFile = remoteFile{}

// RemotePath returns the file's path at Telegram and its size.
func (r remoteFile) RemotePath() (string, int64) { return r.f.FilePath, r.f.FileSize }

// Linked returns the FileLink for url.
func (r remoteFile) Linked(url string, expiresAt time.Time) any {
	return FileLink{FileID: r.f.FileID, FileUniqueID: r.f.FileUniqueID, FileSize: r.f.FileSize, URL: url, ExpiresAt: expiresAt.UTC()}
}

// MarshalJSON leaves the path out: a result that escaped unlinked shows no
// way to the file.
func (r remoteFile) MarshalJSON() ([]byte, error) {
	return json.Marshal(FileLink{FileID: r.f.FileID, FileUniqueID: r.f.FileUniqueID, FileSize: r.f.FileSize})
}

// CheckHealth calls getMe and, when it succeeds, getWebhookInfo, whose
// delivery state (URL, pending updates, last error) it reports in Webhook,
// and for people in Details. Healthy means the token works; a webhook
// delivery error is reported, not counted, because it is Gatehouse's
// endpoint that failed, not the bot.
func (p *Provider) CheckHealth(ctx context.Context, creds gateway.Credentials, _ json.RawMessage) provider.HealthResult {
	start := time.Now()
	b, err := p.bot(creds)
	if err != nil {
		return provider.NewHealthResult(time.Since(start), nil, err)
	}
	u, err := b.GetMe(ctx)
	if err != nil {
		return provider.NewHealthResult(time.Since(start), nil, rejected(err))
	}
	details := botInfo(u)
	var hook *provider.WebhookState
	if info, err := b.GetWebhookInfo(ctx); err == nil {
		hook = &provider.WebhookState{URL: info.URL, PendingUpdateCount: int64(info.PendingUpdateCount)}
		details["webhookUrl"] = info.URL
		details["pendingUpdateCount"] = info.PendingUpdateCount
		if info.LastErrorMessage != "" {
			hook.LastError, hook.LastErrorAt = info.LastErrorMessage, time.Unix(info.LastErrorDate, 0).UTC()
			details["lastWebhookError"] = info.LastErrorMessage
			details["lastWebhookErrorAt"] = hook.LastErrorAt.Format(time.RFC3339)
		}
	}
	h := provider.NewHealthResult(time.Since(start), details, nil)
	h.Webhook = hook
	return h
}

// WebhookURL returns the URL Connect registers for gatewayID under
// publicURL (the package's WebhookURL), so that the health sweep can tell
// Gatehouse's webhook from another program's. Errors: as WebhookURL.
func (p *Provider) WebhookURL(publicURL, gatewayID string) (string, error) {
	return WebhookURL(publicURL, gatewayID)
}
