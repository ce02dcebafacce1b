// Package telegram is the provider of TELEGRAM_BOT gateways: it checks a bot
// token (its shape, then getMe), registers and deletes the webhook through
// which Gatehouse receives updates, and runs the actions getMe, sendMessage,
// setWebhook, deleteWebhook and getWebhookInfo.
//
// It talks to the Bot API through Bot, a small typed client of its own,
// rather than github.com/go-telegram/bot: that library calls getMe inside
// bot.New (network I/O in a constructor, unless told otherwise) and runs
// update handlers in goroutines of its own, while a Lambda must do no hidden
// I/O at construction and leave no goroutine behind when an invocation
// returns. Gatehouse needs five methods; their JSON is short enough to write.
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
}

// Provider is the TELEGRAM_BOT provider. It is stateless and safe for
// concurrent use.
type Provider struct {
	base   string
	client *provider.Client
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
	return &Provider{base: base, client: c}
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

// Actions lists getMe, sendMessage, setWebhook, deleteWebhook and
// getWebhookInfo.
func (p *Provider) Actions() []provider.Action {
	return []provider.Action{
		{Name: "getMe", Description: "Returns the bot's id, name and username."},
		{Name: "sendMessage", Description: "Sends a text message to a chat.", RequiresConnection: true, Params: []provider.Param{
			{Name: "chat_id", Type: provider.ParamID, Required: true, Description: "Chat id (integer) or @channelusername."},
			{Name: "text", Type: provider.ParamString, Required: true, Description: "Message text, 1-4096 characters."},
			{Name: "parse_mode", Type: provider.ParamString, Enum: []string{"MarkdownV2", "HTML", "Markdown"}, Description: "How Telegram formats the text."},
			{Name: "disable_notification", Type: provider.ParamBoolean, Description: "Deliver silently."},
			{Name: "reply_to_message_id", Type: provider.ParamInteger, Description: "Id of the message to reply to."},
		}},
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

// Execute runs one of Actions. Results: getMe User, sendMessage Message,
// setWebhook and deleteWebhook {"ok":true}, getWebhookInfo WebhookInfo.
// Errors: *provider.UnsupportedActionError, *provider.InvalidParamsError,
// *provider.InvalidCredentialsError (token shape), *APIError,
// *provider.UnreachableError, *provider.ResponseError.
func (p *Provider) Execute(ctx context.Context, creds gateway.Credentials, _ json.RawMessage, action string, params json.RawMessage) (any, error) {
	a, ok := provider.FindAction(p.Actions(), action)
	if !ok {
		return nil, &provider.UnsupportedActionError{Type: gateway.TypeTelegramBot, Action: action}
	}
	switch action {
	case "getMe", "getWebhookInfo":
		if err := provider.DecodeParams(action, "params", a.Params, params, nil); err != nil {
			return nil, err
		}
	}
	b, err := p.bot(creds)
	if err != nil {
		return nil, err
	}
	switch action {
	case "getMe":
		return b.GetMe(ctx)
	case "sendMessage":
		var m SendMessage
		if err := provider.DecodeParams(action, "params", a.Params, params, &m); err != nil {
			return nil, err
		}
		if n := len([]rune(m.Text)); n == 0 || n > 4096 {
			return nil, &provider.InvalidParamsError{Action: action, Fields: []gateway.FieldError{{Field: "params.text", Message: "must be 1-4096 characters"}}}
		}
		return b.SendMessage(ctx, m)
	case "setWebhook":
		var w SetWebhook
		if err := provider.DecodeParams(action, "params", a.Params, params, &w); err != nil {
			return nil, err
		}
		if err := b.SetWebhook(ctx, w); err != nil {
			return nil, err
		}
		return map[string]bool{"ok": true}, nil
	case "deleteWebhook":
		var d struct {
			DropPendingUpdates bool `json:"drop_pending_updates"`
		}
		if err := provider.DecodeParams(action, "params", a.Params, params, &d); err != nil {
			return nil, err
		}
		if err := b.DeleteWebhook(ctx, d.DropPendingUpdates); err != nil {
			return nil, err
		}
		return map[string]bool{"ok": true}, nil
	default: // getWebhookInfo
		return b.GetWebhookInfo(ctx)
	}
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
