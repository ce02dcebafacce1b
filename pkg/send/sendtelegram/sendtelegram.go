// Package sendtelegram connects the send engine (pkg/send) to Telegram:
// it opens a gateway's bot (its token decrypted with KMS) and makes one
// sendMessage request per send, telling the engine whether Telegram took
// the message, refused it, asked to wait, or whether the request left
// and no answer came — the one case in which a message is never sent
// again.
package sendtelegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// Gateways is what Bots needs of the gateway service.
type Gateways interface {
	GetGateway(ctx context.Context, id string) (*gateway.Gateway, error)
	Credentials(ctx context.Context, g *gateway.Gateway) (gateway.Credentials, error)
}

// Bots opens gateways' bots for the engine.
type Bots struct {
	gateways Gateways
	base     string
	client   *provider.Client
}

var _ send.Bots = (*Bots)(nil)

// NewBots returns the opener. base is the Bot API's address ("" for
// Telegram's); client sends the requests, and its retries are turned
// off: the engine decides what goes again. A nil client means one that
// keeps its connections to the Bot API open while a sender runs — a new
// TLS connection per message would cost more than the message and make
// the time a request reaches Telegram vary more than the pacer's margin
// — and closes them when the sender ends (Bot.Close).
func NewBots(gws Gateways, base string, client *provider.Client) *Bots {
	if client == nil {
		client = provider.NewClient(&http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}})
	}
	c := *client
	c.MaxRetries = 0
	return &Bots{gateways: gws, base: base, client: &c}
}

// Open returns the bot of gatewayID. Errors: gateway.CodeNotFound (gone,
// or not a Telegram bot), gateway.CodeNotConnected, and the store's and
// KMS's errors.
func (b *Bots) Open(ctx context.Context, gatewayID string) (send.Bot, error) {
	g, err := b.gateways.GetGateway(ctx, gatewayID)
	if err != nil {
		return nil, err
	}
	if g.Type != gateway.TypeTelegramBot {
		return nil, gateway.NotFound()
	}
	if g.Status != gateway.StatusConnected {
		return nil, gateway.Errorf(gateway.CodeNotConnected, "The gateway is not connected.")
	}
	creds, err := b.gateways.Credentials(ctx, g)
	if err != nil {
		return nil, err
	}
	return &Bot{bot: telegram.NewBot(b.base, creds.BotToken, b.client), http: b.client.HTTP}, nil
}

// Bot sends one gateway's messages.
type Bot struct {
	bot  *telegram.Bot
	http *http.Client
}

// Close closes the connections kept open for the sender, so that none
// (and no goroutine of one) outlives the invocation.
func (b *Bot) Close() error {
	if b.http != nil {
		b.http.CloseIdleConnections()
	}
	return nil
}

// Send makes one request of method (sendMessage, sendPhoto, sendDocument
// or editMessageText: each answers the Message) and classifies its
// outcome.
func (b *Bot) Send(ctx context.Context, method string, params json.RawMessage) send.Result {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	m, err := b.bot.Send(ctx, method, params)
	return Classify(m, err, wrote.Load())
}

// Classify turns a send's answer into the engine's outcome. wrote tells
// whether the request was written to the connection.
func Classify(m telegram.Message, err error, wrote bool) send.Result {
	if err == nil {
		raw, _ := json.Marshal(m)
		return send.Result{Outcome: send.Sent, MessageID: m.MessageID, Message: raw}
	}
	var api *telegram.APIError
	if errors.As(err, &api) {
		switch {
		case api.ErrorCode == http.StatusTooManyRequests:
			return send.Result{Outcome: send.Retry, RetryAfter: api.RetryAfter, Error: api.Error()}
		case api.ErrorCode >= 500:
			// Telegram's 5xx answers come before a message is stored.
			return send.Result{Outcome: send.Retry, Error: api.Error()}
		}
		answer, _ := json.Marshal(errorAnswer{ErrorCode: api.ErrorCode, Description: api.Description})
		return send.Result{Outcome: send.Failed, Error: api.Error(), Message: answer, CantParse: strings.Contains(api.Description, "can't parse entities"),
			Rejected: api.Outcome() == provider.OutcomeInvalidCredentials}
	}
	var unreachable *provider.UnreachableError
	if errors.As(err, &unreachable) && !wrote {
		return send.Result{Outcome: send.Retry, Error: unreachable.Error()}
	}
	// The request left: a timeout, a dropped connection, or an answer
	// that could not be read. Telegram may have taken the message.
	return send.Result{Outcome: send.Unknown, Error: err.Error()}
}

// errorAnswer is the Bot API's error answer, as a failed item keeps it.
type errorAnswer struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
}
