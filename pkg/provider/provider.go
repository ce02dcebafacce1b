// Package provider is the contract between Gatehouse's gateway service and
// the systems a gateway connects to (pkg/provider/telegram, .../ai,
// .../webhook), the Registry that maps a gateway type to its Provider, the
// typed errors every provider returns, the classification of every outcome
// (Classify), and the outbound HTTP Client they share (timeouts, retries,
// Retry-After).
//
// A Provider is stateless. A Lambda container may be new on every request,
// so a provider keeps nothing between calls: the gateway's status in the
// store is its connection state, and the service, not the provider, moves it
// (CONNECTING, then CONNECTED, or ERROR with lastError) around Connect and
// Disconnect, and persists what they return (ConnectResult).
//
// A provider owns what Gatehouse knows of its gateway type: its credential
// and config fields (Info), their shape (CheckCredentials, CheckConfig),
// what of the credentials may be shown (CredentialInfo), its actions and
// its remote API. Other packages ask it rather than keep such knowledge
// themselves: the domain through the Registry (gateway.CredentialRules),
// the health sweep through HealthResult.Webhook and health's small
// WebhookRegistrar interface. Its failures are the typed errors of this
// package (InvalidCredentialsError, InvalidParamsError,
// UnsupportedActionError, NotConnectedError, UnreachableError,
// ResponseError) and the remote API's own (telegram.APIError, ai.APIError,
// webhook.DeliveryError), each classified by Classify.
package provider

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Provider connects gateways of one type to their external system.
// Implementations hold no state between calls and are safe for concurrent
// use. Every method that calls out is bounded by ctx and by the Client's
// timeout; every error it returns is classified by Classify and carries a
// message safe to show the gateway's owner (Message), never a credential.
type Provider interface {
	// Type is the gateway type this provider serves.
	Type() gateway.Type

	// Info describes the provider for the dashboard: its credential and
	// config fields and its actions.
	Info() Info

	// Actions lists the actions Execute accepts, with their parameters.
	Actions() []Action

	// ValidateCredentials checks the credentials' format, then makes one
	// live call that costs nothing (Telegram getMe, an AI provider's model
	// list, a webhook ping). A bad format or a rejection by the remote
	// system is an *InvalidCredentialsError (outcome invalid_credentials);
	// other failures (rate_limited, unreachable, provider_error) say nothing
	// about the credentials and should be reported, not refused.
	ValidateCredentials(ctx context.Context, creds gateway.Credentials) (Validation, error)

	// Connect makes the gateway ready to use (Telegram: registers the
	// webhook). It returns what the service must store. Errors: as
	// ValidateCredentials, plus *InvalidParamsError for a bad config or a
	// missing ConnectRequest field.
	Connect(ctx context.Context, req ConnectRequest) (ConnectResult, error)

	// Disconnect undoes Connect (Telegram: deletes the webhook). Errors: as
	// Connect.
	Disconnect(ctx context.Context, req DisconnectRequest) error

	// Execute runs one action and returns its JSON-serialisable result.
	// Errors: *UnsupportedActionError for an action not in Actions,
	// *InvalidParamsError for params that do not match the action's
	// parameters (checked before any call), *InvalidCredentialsError for
	// credentials of the wrong shape, and the provider's API errors
	// otherwise. Whether the gateway must be connected is the caller's
	// check (Action.RequiresConnection, CheckAction): a provider does not
	// know the gateway's status.
	Execute(ctx context.Context, creds gateway.Credentials, config json.RawMessage, action string, params json.RawMessage) (any, error)

	// CheckHealth makes the provider's free health call and reports it; it
	// never returns an error, the result carries it.
	CheckHealth(ctx context.Context, creds gateway.Credentials, config json.RawMessage) HealthResult
}

// ConnectRequest is what Connect needs to know of a gateway.
type ConnectRequest struct {
	GatewayID   string
	Credentials gateway.Credentials
	// Config is the gateway's config object; nil or empty means {}.
	Config json.RawMessage
	// PublicURL is the public base URL of Gatehouse's API (PUBLIC_API_URL),
	// where a Telegram webhook is registered:
	// {PublicURL}/api/webhooks/telegram/{GatewayID}.
	PublicURL string
}

// ConnectResult is what Connect learnt; the service stores it with the
// CONNECTED status.
type ConnectResult struct {
	// CredentialInfo holds non-secret facts to merge into the gateway's
	// credentialInfo (Telegram: botId, botUsername).
	CredentialInfo map[string]any
	// WebhookSecretHash is the SHA-256 of the Telegram webhook secret token
	// (the token itself is never returned, so it is never stored); nil for
	// other types.
	WebhookSecretHash []byte
	// Details are non-secret facts for the audit trail and the response
	// (e.g. the registered webhook URL).
	Details map[string]any
	// LatencyMs is the time Connect spent calling out.
	LatencyMs int64
}

// DisconnectRequest is what Disconnect needs to know of a gateway.
type DisconnectRequest struct {
	GatewayID   string
	Credentials gateway.Credentials
	Config      json.RawMessage
}

// Validation is the result of a successful ValidateCredentials.
type Validation struct {
	// CredentialInfo holds non-secret facts learnt from the live call, to
	// merge into the gateway's credentialInfo.
	CredentialInfo map[string]any
	LatencyMs      int64
}

// HealthResult is the report of one health check.
type HealthResult struct {
	Healthy bool    `json:"healthy"`
	Outcome Outcome `json:"outcome"`
	// LatencyMs covers every call the check made, retries included.
	LatencyMs int64 `json:"latencyMs"`
	// Error is the user-safe message of the failure; empty when healthy.
	Error string `json:"error,omitempty"`
	// RetryAfterSeconds is the wait the remote system asked for, when
	// rate limited.
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
	// Details are non-secret facts (bot username, webhook state, model
	// count, HTTP status), for people: they are shown as they are. Code
	// reads typed fields such as Webhook instead.
	Details   map[string]any `json:"details,omitempty"`
	CheckedAt time.Time      `json:"checkedAt"`
	// Webhook is the state of the webhook through which the remote system
	// delivers the gateway's updates (Telegram), when the check could read
	// it; nil for other providers. It is never serialised: Details show it.
	Webhook *WebhookState `json:"-"`
	// Err is the classified error, for logs; it is never serialised.
	Err error `json:"-"`
}

// WebhookState is what a health check learnt of a gateway's webhook at the
// remote system: where the system delivers updates, how many wait, and its
// last failed delivery. The health sweep judges it (is the webhook still
// Gatehouse's, is delivery failing).
type WebhookState struct {
	// URL is where the remote system delivers the gateway's updates; empty
	// when it has no webhook for it (something may be polling instead).
	URL string
	// PendingUpdateCount is how many updates wait for delivery.
	PendingUpdateCount int64
	// LastError is the remote system's message about its last failed
	// delivery, and LastErrorAt when that was; empty and zero when it
	// reported none.
	LastError   string
	LastErrorAt time.Time
}

// NewHealthResult builds the HealthResult of a check that took latency and
// ended with err (nil when healthy).
func NewHealthResult(latency time.Duration, details map[string]any, err error) HealthResult {
	h := HealthResult{
		Healthy:   err == nil,
		Outcome:   Classify(err),
		LatencyMs: latency.Milliseconds(),
		Details:   details,
		CheckedAt: time.Now().UTC(),
		Err:       err,
	}
	if err != nil {
		h.Error = Message(err)
		if d := RetryAfter(err); d > 0 {
			h.RetryAfterSeconds = int((d + time.Second - 1) / time.Second)
		}
	}
	return h
}

// Info describes a provider to the dashboard, which builds its forms from it.
type Info struct {
	Type        gateway.Type `json:"type"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	// Credentials are the fields of gateway.Credentials this type uses.
	Credentials []CredentialField `json:"credentialFields"`
	// Config are the keys of the gateway's config object this type reads.
	Config  []Param  `json:"configFields,omitempty"`
	Actions []Action `json:"actions"`
	// AIProviders lists, for the AI type, each provider with its defaults.
	AIProviders []AIProviderInfo `json:"aiProviders,omitempty"`
}

// CredentialField describes one credential a form must ask for.
type CredentialField struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	// Secret fields are masked in forms and never shown again.
	Secret bool `json:"secret"`
	// Pattern is a regular expression (ECMAScript-compatible) the value
	// must match; empty when any value is allowed.
	Pattern     string   `json:"pattern,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description,omitempty"`
}

// AIProviderInfo describes one AI provider an AI gateway may name.
type AIProviderInfo struct {
	Name           string   `json:"name"`
	Label          string   `json:"label"`
	DefaultBaseURL string   `json:"defaultBaseUrl"`
	RequiresAPIKey bool     `json:"requiresApiKey"`
	DefaultModel   string   `json:"defaultModel"`
	ExampleModels  []string `json:"exampleModels"`
}

// RemoteFile is an action result naming a file the remote system holds at
// an address that must not leave Gatehouse (Telegram's file URL carries the
// bot token). Whoever runs the action replaces it with a link Gatehouse
// serves itself (Linked); a RemoteFile is never answered as it is.
type RemoteFile interface {
	// RemotePath is the file's path at the remote system and its size in
	// bytes (0 when unknown).
	RemotePath() (path string, size int64)
	// Linked returns the result to answer: the file's facts with url, a
	// Gatehouse link that serves the file until expiresAt.
	Linked(url string, expiresAt time.Time) any
}
