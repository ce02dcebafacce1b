// Package webhook is the provider of WEBHOOK gateways: it POSTs JSON events
// to the user's URL, signed the Standard Webhooks way
// (https://www.standardwebhooks.com), and pings that URL as its health
// check.
//
// Every request carries three headers:
//
//	webhook-id         msg_<random>, the same on retries, so receivers can de-duplicate
//	webhook-timestamp  Unix seconds
//	webhook-signature  v1,<base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))>
//
// The key comes from the credentials' signingSecret: a secret with the
// "whsec_" prefix (the form Standard Webhooks libraries generate and
// expect) is the standard base64 encoding of the key after the prefix;
// any other secret is used as raw bytes, so a receiver verifying with its
// own HMAC code can use the string it was given. Without a signingSecret
// events are sent unsigned (no webhook-signature header).
//
// The body is the Standard Webhooks envelope
// {"type": …, "timestamp": RFC 3339, "data": …}. The URL passes the SSRF
// guard when credentials are validated and at every dial, redirects
// included; a 2xx answer is a delivery.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Event types Gatehouse sends on its own.
const (
	// PingType is the health check's event.
	PingType = "gatehouse.ping"
	// DefaultEventType is the type of a send without one.
	DefaultEventType = "gatehouse.event"
)

// SecretPrefix marks a base64-encoded signing key.
const SecretPrefix = "whsec_"

// SigningKey returns the HMAC key of a signing secret: the base64-decoded
// remainder of a "whsec_" secret, or the secret's bytes. An empty secret
// gives a nil key (unsigned delivery). Errors: *provider.InvalidCredentialsError
// for a "whsec_" secret that is not base64 or decodes to nothing.
func SigningKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return nil, &provider.InvalidCredentialsError{Field: "credentials.signingSecret",
			Message: `a signing secret starting with "whsec_" must continue with a base64-encoded key`}
	}
	return key, nil
}

// Sign returns the webhook-signature value of body: "v1," and the base64 of
// HMAC-SHA256(key, id.timestamp.body).
func Sign(key []byte, id string, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Event is the body of every request.
type Event struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Delivery is the result of a send.
type Delivery struct {
	WebhookID string `json:"webhookId"`
	Status    int    `json:"status"`
	Attempts  int    `json:"attempts"`
	LatencyMs int64  `json:"latencyMs"`
}

// DeliveryError is a non-2xx answer of the user's endpoint. Its message
// holds only the status: the body is the user's and may echo anything.
type DeliveryError struct {
	Status     int
	RetryAfter time.Duration
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *DeliveryError) Error() string {
	return "the webhook endpoint answered HTTP " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
}

// Outcome classifies the answer: 401 and 403 are invalid_credentials (the
// endpoint refused our signature), 429 rate_limited, 5xx unreachable.
func (e *DeliveryError) Outcome() provider.Outcome {
	switch {
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return provider.OutcomeInvalidCredentials
	case e.Status == http.StatusTooManyRequests:
		return provider.OutcomeRateLimited
	case e.Status >= 500:
		return provider.OutcomeUnreachable
	}
	return provider.OutcomeProviderError
}

// RetryDelay returns RetryAfter.
func (e *DeliveryError) RetryDelay() time.Duration { return e.RetryAfter }

// HTTPStatus returns the endpoint's HTTP status.
func (e *DeliveryError) HTTPStatus() int { return e.Status }

// Options configure a Provider.
type Options struct {
	// Guard checks the URL when credentials are validated. Its
	// AllowPrivate comes from GATEHOUSE_ALLOW_PRIVATE_NETWORKS.
	Guard ssrf.Guard
	// Client sends the requests; nil means one dialling through Guard. A
	// Client given here must dial through the same guard.
	Client *provider.Client
	// Now stamps events; nil means time.Now.
	Now func() time.Time
}

// Provider is the WEBHOOK provider. It is stateless and safe for
// concurrent use.
type Provider struct {
	guard  ssrf.Guard
	client *provider.Client
	now    func() time.Time
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider. It does no I/O.
func New(opts Options) *Provider {
	c := opts.Client
	if c == nil {
		c = provider.NewClient(opts.Guard.Client())
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Provider{guard: opts.Guard, client: c, now: now}
}

// Type returns gateway.TypeWebhook.
func (p *Provider) Type() gateway.Type { return gateway.TypeWebhook }

// Info describes the provider.
func (p *Provider) Info() provider.Info {
	return provider.Info{
		Type:        gateway.TypeWebhook,
		Name:        "Outgoing webhook",
		Description: "Sends signed JSON events (Standard Webhooks) to your URL and pings it as a health check.",
		Credentials: []provider.CredentialField{
			{Name: "url", Label: "URL", Required: true, Pattern: `^https?://`, Description: "Where events are POSTed."},
			{Name: "signingSecret", Label: "Signing secret", Secret: true,
				Description: `Signs each event (webhook-signature). "whsec_<base64 key>" or any string; empty sends unsigned events.`},
		},
		Actions: p.Actions(),
	}
}

var sendParams = []provider.Param{
	{Name: "payload", Type: provider.ParamAny, Required: true, Description: "The event's data: any JSON value."},
	{Name: "type", Type: provider.ParamString, Default: DefaultEventType, Description: "The event type, e.g. order.created."},
}

// Actions lists send.
func (p *Provider) Actions() []provider.Action {
	return []provider.Action{{
		Name: "send", Description: "POSTs a signed event {type, timestamp, data: payload} to the URL.",
		Params: sendParams, RequiresConnection: true,
	}}
}

// endpoint checks the credentials' shape. Errors:
// *provider.InvalidCredentialsError.
func (p *Provider) endpoint(creds gateway.Credentials) (string, []byte, error) {
	if strings.TrimSpace(creds.URL) == "" {
		return "", nil, &provider.InvalidCredentialsError{Field: "credentials.url", Message: "a URL is required"}
	}
	if err := p.guard.CheckURL(creds.URL); err != nil {
		// Refused by the SSRF policy: unreachable by policy, not a wrong
		// credential; a malformed URL is the credential's fault.
		var blocked *ssrf.BlockedError
		if errors.As(err, &blocked) {
			return "", nil, &provider.UnreachableError{Reason: blocked.Error(), Err: err}
		}
		return "", nil, &provider.InvalidCredentialsError{Field: "credentials.url", Message: "the URL is not usable: " + err.Error(), Err: err}
	}
	key, err := SigningKey(creds.SigningSecret)
	if err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(creds.URL), key, nil
}

// Send POSTs a signed event. Errors: *provider.InvalidCredentialsError
// (shape), *DeliveryError (non-2xx), *provider.UnreachableError.
func (p *Provider) Send(ctx context.Context, creds gateway.Credentials, eventType string, data json.RawMessage) (Delivery, error) {
	url, key, err := p.endpoint(creds)
	if err != nil {
		return Delivery{}, err
	}
	if eventType == "" {
		eventType = DefaultEventType
	}
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	now := p.now()
	body, err := json.Marshal(Event{Type: eventType, Timestamp: now.UTC(), Data: data})
	if err != nil {
		return Delivery{}, &provider.InvalidParamsError{Action: "send", Fields: []gateway.FieldError{{Field: "params.payload", Message: "is not valid JSON"}}}
	}
	return p.post(ctx, url, key, newMessageID(), now, body)
}

// Deliver POSTs body, a JSON document, signed as message id: a caller
// that retries a message on its own passes the same id every time, so the
// receiver can tell a retry from a new message. Errors: as Send.
func (p *Provider) Deliver(ctx context.Context, creds gateway.Credentials, id string, body []byte) (Delivery, error) {
	url, key, err := p.endpoint(creds)
	if err != nil {
		return Delivery{}, err
	}
	return p.post(ctx, url, key, id, p.now(), body)
}

func (p *Provider) post(ctx context.Context, url string, key []byte, id string, now time.Time, body []byte) (Delivery, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Gatehouse-Webhook/1")
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	if key != nil {
		h.Set(HeaderSignature, Sign(key, id, now, body))
	}
	// Only the status counts: the body is the receiver's and may be
	// anything, so none of it is read (a webhook target's answer costs
	// nothing, however large).
	resp, err := p.client.Do(ctx, provider.Request{Method: http.MethodPost, URL: url, Header: h, Body: body, DiscardBody: true})
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{WebhookID: id, Status: resp.Status, Attempts: resp.Attempts, LatencyMs: resp.Latency.Milliseconds()}
	if resp.Status/100 != 2 {
		return d, &DeliveryError{Status: resp.Status, RetryAfter: provider.RetryAfterHeader(resp.Header)}
	}
	return d, nil
}

func newMessageID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it panics instead
	return "msg_" + base64.RawURLEncoding.EncodeToString(b)
}

func (p *Provider) ping(ctx context.Context, creds gateway.Credentials) (Delivery, error) {
	data, _ := json.Marshal(map[string]string{"message": "Gatehouse is checking that this endpoint receives events."})
	return p.Send(ctx, creds, PingType, data)
}

// rejected turns the endpoint's 401/403 into an
// *provider.InvalidCredentialsError on the field it most likely concerns.
func rejected(creds gateway.Credentials, err error) error {
	var ice *provider.InvalidCredentialsError
	if provider.Classify(err) != provider.OutcomeInvalidCredentials || errors.As(err, &ice) {
		return err
	}
	field := "credentials.url"
	if creds.SigningSecret != "" {
		field = "credentials.signingSecret"
	}
	return &provider.InvalidCredentialsError{Field: field, Message: "the endpoint refused the signed ping", Err: err}
}

// ValidateCredentials checks the URL (scheme, host, SSRF guard) and the
// signing secret, then sends a ping. Errors: *provider.InvalidCredentialsError
// (shape, refused URL, or a 401/403 answer), *DeliveryError,
// *provider.UnreachableError.
func (p *Provider) ValidateCredentials(ctx context.Context, creds gateway.Credentials) (provider.Validation, error) {
	d, err := p.ping(ctx, creds)
	if err != nil {
		return provider.Validation{}, rejected(creds, err)
	}
	return provider.Validation{LatencyMs: d.LatencyMs}, nil
}

// Connect pings the endpoint; a webhook has nothing to register. Errors: as
// ValidateCredentials.
func (p *Provider) Connect(ctx context.Context, req provider.ConnectRequest) (provider.ConnectResult, error) {
	d, err := p.ping(ctx, req.Credentials)
	if err != nil {
		return provider.ConnectResult{}, rejected(req.Credentials, err)
	}
	return provider.ConnectResult{Details: map[string]any{"status": d.Status}, LatencyMs: d.LatencyMs}, nil
}

// Disconnect does nothing: the endpoint holds no registration. It returns
// nil.
func (p *Provider) Disconnect(context.Context, provider.DisconnectRequest) error { return nil }

// Execute runs send and returns its Delivery. Errors:
// *provider.UnsupportedActionError, *provider.InvalidParamsError, and Send's.
func (p *Provider) Execute(ctx context.Context, creds gateway.Credentials, _ json.RawMessage, action string, params json.RawMessage) (any, error) {
	a, ok := provider.FindAction(p.Actions(), action)
	if !ok {
		return nil, &provider.UnsupportedActionError{Type: gateway.TypeWebhook, Action: action}
	}
	var in struct {
		Payload json.RawMessage `json:"payload"`
		Type    string          `json:"type"`
	}
	if err := provider.DecodeParams(action, "params", a.Params, params, &in); err != nil {
		return nil, err
	}
	return p.Send(ctx, creds, in.Type, in.Payload)
}

// CheckHealth sends a signed ping; any 2xx is healthy. Details hold the
// answer's status.
func (p *Provider) CheckHealth(ctx context.Context, creds gateway.Credentials, _ json.RawMessage) provider.HealthResult {
	start := time.Now()
	d, err := p.ping(ctx, creds)
	var details map[string]any
	if d.Status != 0 {
		details = map[string]any{"status": d.Status}
	}
	return provider.NewHealthResult(time.Since(start), details, rejected(creds, err))
}
