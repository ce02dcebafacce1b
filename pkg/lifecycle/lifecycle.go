// Package lifecycle moves gateways through their providers' lifecycle: the
// live validation of credentials at create and update, the connection test,
// connect and disconnect, provider actions, and the best-effort cleanup on
// delete.
//
// Providers are stateless (a Lambda container may be new on every request),
// so the gateway's status in the store is its connection state. This package
// writes it around each provider call, through gateway.Service.Modify, so
// every transition is one conditional write with its audit event:
// CONNECTING while connecting, then CONNECTED, or ERROR with lastError and
// lastErrorAt. A successful connect or test clears lastError and
// lastErrorAt in that same write: an error that no longer applies must not
// sit beside a green status; its history stays in the audit trail.
//
// It sits above pkg/gateway (which imports no provider) and pkg/provider
// (which imports the domain types), so neither depends on the other.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// Service runs provider lifecycles over the gateway service.
type Service struct {
	gw           *gateway.Service
	registry     *provider.Registry
	publicURL    string
	allowPrivate bool
	ports        []uint16
	files        FileLinker
	now          func() time.Time
}

// FileLinker makes the link through which Gatehouse serves a file a
// provider's action named (a provider.RemoteFile, such as Telegram's
// getFile): the remote address must not be handed out, so Execute answers
// this link instead. Package filelink's Minter is the implementation.
type FileLinker interface {
	// MintFileLink stores a link to filePath of g and returns its URL and
	// expiry.
	MintFileLink(ctx context.Context, g *gateway.Gateway, filePath string, size int64) (url string, expiresAt time.Time, err error)
}

// WithFileLinks sets the FileLinker; without one, an action answering a
// provider.RemoteFile fails with CodeInternal rather than hand out the
// remote address.
func WithFileLinks(f FileLinker) Option { return func(s *Service) { s.files = f } }

// Option configures a Service.
type Option func(*Service)

// WithPublicURL sets Gatehouse's public API base URL (PUBLIC_API_URL), where
// Telegram delivers updates.
func WithPublicURL(u string) Option {
	return func(s *Service) { s.publicURL = strings.TrimRight(u, "/") }
}

// WithAllowPrivateNetworks lets user-supplied URLs name loopback and private
// addresses (GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true; `make run` sets it so an
// Ollama on localhost works).
func WithAllowPrivateNetworks(allow bool) Option {
	return func(s *Service) { s.allowPrivate = allow }
}

// WithOutboundPorts sets the ports user-supplied URLs may name
// (OUTBOUND_PORTS); nil means ssrf.DefaultPorts. Private networks allowed
// allow every port.
func WithOutboundPorts(ports []uint16) Option {
	return func(s *Service) { s.ports = ports }
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service. It does no I/O.
func New(gw *gateway.Service, registry *provider.Registry, opts ...Option) *Service {
	s := &Service{gw: gw, registry: registry, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Gateways is the underlying gateway service.
func (s *Service) Gateways() *gateway.Service { return s.gw }

// Registry is the provider registry.
func (s *Service) Registry() *provider.Registry { return s.registry }

// Create validates a create request against the live provider and stores the
// gateway. Only invalid_credentials refuses it (CodeInvalid naming the
// credential field); an inconclusive check (rate limited, unreachable,
// provider error) is recorded as the new gateway's lastError.
func (s *Service) Create(ctx context.Context, actor gateway.Actor, req gateway.CreateRequest, idemKey string) (*gateway.Gateway, bool, error) {
	if err := s.checkConfig(req.Type, req.Config); err != nil {
		return nil, false, err
	}
	v, err := s.validate(ctx, req.Type, req.Credentials)
	if err != nil {
		return nil, false, err
	}
	req.Learned, req.Warning = v.learned, v.warning
	return s.gw.Create(ctx, actor, req, idemKey)
}

// Update validates new credentials (if any) against the live provider, as
// Create does, then applies the update.
//
// New credentials on a gateway whose webhook is registered (a connected
// Telegram bot: it holds a webhook secret) re-register it (issue 16, item
// 6), or the old bot's updates would keep arriving under the old secret
// while the new bot's never came:
//
//  1. the update itself forgets the old secret, moves the gateway to
//     CONNECTING and its bot claim to the new bot, in one transaction
//     (gateway.Service.Update): from then on the old secret is refused;
//  2. the old bot's webhook is deleted with the old credentials, best
//     effort (a revoked token cannot do it; the outcome is in the audit
//     event), before anything is registered, so that a token of the same
//     bot does not delete the webhook it has just set;
//  3. the new bot's webhook is registered with a new secret (Connect),
//     and recorded as a connect is: CONNECTED, or ERROR with lastError.
//
// A failed registration leaves the gateway in ERROR with no secret and no
// claim, rather than connected to nothing; the update stands (its answer
// is the gateway, 200), and connecting again retries. Disconnecting instead
// would hide why the bot stopped, which lastError tells.
func (s *Service) Update(ctx context.Context, actor gateway.Actor, g *gateway.Gateway, req gateway.UpdateRequest, ifMatch *int64) (*gateway.Gateway, error) {
	if req.Config != nil {
		if err := s.checkConfig(g.Type, req.Config); err != nil {
			return nil, err
		}
	}
	if req.Credentials != nil {
		v, err := s.validate(ctx, g.Type, *req.Credentials)
		if err != nil {
			return nil, err
		}
		req.Learned, req.Warning = v.learned, v.warning
	}
	if req.Credentials == nil || g.WebhookSecretHash == nil {
		return s.gw.Update(ctx, actor, g.ID, req, ifMatch)
	}
	// The old credentials are opened before they are replaced: only they
	// can delete the old bot's webhook.
	old, oerr := s.gw.Credentials(ctx, g)
	if oerr != nil && !gateway.IsCode(oerr, gateway.CodeCredentialsUnreadable) {
		return nil, oerr
	}
	p, err := s.provider(g.Type)
	if err != nil {
		return nil, err
	}
	up, err := s.gw.Update(ctx, actor, g.ID, req, ifMatch)
	if err != nil || up.Status != gateway.StatusConnecting || up.WebhookSecretHash != nil {
		// Not rebound: an error, or a concurrent disconnect had already
		// released the webhook when the update was applied.
		return up, err
	}
	extra := map[string]string{"reason": "credentials replaced"}
	if oerr != nil {
		extra["oldWebhook"] = "not removed: " + gateway.ErrorMessage(oerr)
	} else if derr := p.Disconnect(ctx, provider.DisconnectRequest{GatewayID: g.ID, Credentials: old, Config: g.Config}); derr != nil {
		extra["oldWebhook"] = "not removed: " + provider.Message(derr)
	} else {
		extra["oldWebhook"] = "removed"
	}
	res, cerr := p.Connect(ctx, provider.ConnectRequest{GatewayID: up.ID, Credentials: *req.Credentials, Config: up.Config, PublicURL: s.publicURL})
	return s.recordConnect(ctx, actor, up.ID, res, cerr, extra)
}

// checkConfig checks a config object against the type's provider before
// anything is stored or called, so a config that connect would refuse
// later is a 400 now, naming its fields.
func (s *Service) checkConfig(t gateway.Type, raw json.RawMessage) error {
	p, err := s.provider(t)
	if err != nil {
		return err
	}
	var params *provider.InvalidParamsError
	if err := provider.CheckConfig(p, raw); errors.As(err, &params) {
		e := gateway.Invalid(params.Fields...)
		e.Message = "The configuration is invalid."
		return e
	} else if err != nil {
		return gateway.Internal("lifecycle.checkConfig", err)
	}
	return nil
}

type validation struct {
	learned map[string]any
	warning string
}

// validate checks literal URLs against the SSRF policy, then asks the
// provider to validate the credentials with a free live call.
func (s *Service) validate(ctx context.Context, t gateway.Type, c gateway.Credentials) (validation, error) {
	var fe []gateway.FieldError
	for field, raw := range map[string]string{"credentials.baseUrl": c.BaseURL, "credentials.url": c.URL} {
		if raw == "" {
			continue
		}
		if err := (ssrf.Guard{AllowPrivate: s.allowPrivate, Ports: s.ports}).CheckURL(raw); err != nil {
			fe = append(fe, gateway.FieldError{Field: field, Message: "is not allowed: " + provider.Message(err)})
		}
	}
	if len(fe) > 0 {
		return validation{}, gateway.Invalid(fe...)
	}
	p, err := s.provider(t)
	if err != nil {
		return validation{}, err
	}
	res, err := p.ValidateCredentials(ctx, c)
	switch provider.Classify(err) {
	case provider.OutcomeOK:
		return validation{learned: res.CredentialInfo}, nil
	case provider.OutcomeInvalidCredentials:
		return validation{}, gateway.Invalid(gateway.FieldError{Field: credentialField(t, c), Message: "was rejected: " + provider.Message(err)})
	default:
		return validation{warning: "Credentials could not be verified: " + provider.Message(err)}, nil
	}
}

// credentialField names the field a provider's refusal is about.
func credentialField(t gateway.Type, c gateway.Credentials) string {
	switch {
	case t == gateway.TypeTelegramBot:
		return "credentials.botToken"
	case t == gateway.TypeAI && c.APIKey != "":
		return "credentials.apiKey"
	case t == gateway.TypeAI:
		return "credentials.baseUrl"
	case c.SigningSecret != "":
		return "credentials.signingSecret"
	default:
		return "credentials.url"
	}
}

func (s *Service) provider(t gateway.Type) (provider.Provider, error) {
	p, err := s.registry.Get(t)
	if err != nil {
		return nil, gateway.Internal("lifecycle.provider", err)
	}
	return p, nil
}

// TestResult is the answer of POST /api/gateways/{id}/test.
type TestResult struct {
	Success           bool             `json:"success"`
	LatencyMs         int64            `json:"latencyMs"`
	Result            provider.Outcome `json:"result"`
	Error             string           `json:"error,omitempty"`
	RetryAfterSeconds int              `json:"retryAfterSeconds,omitempty"`
	Details           map[string]any   `json:"details"`
	Gateway           *gateway.Gateway `json:"-"`
}

// Test runs the provider's health check now and records the result: a
// healthy check returns a gateway in ERROR to CONNECTED (or DISCONNECTED if it
// never connected) and clears lastError; a failed one moves it to ERROR with
// lastError. Errors:
// those of Get and Credentials (CodeCredentialsUnreadable).
func (s *Service) Test(ctx context.Context, actor gateway.Actor, id string) (TestResult, error) {
	g, creds, p, err := s.open(ctx, actor, id)
	if err != nil {
		return TestResult{}, err
	}
	h := p.CheckHealth(ctx, creds, g.Config)
	res := TestResult{Success: h.Healthy, LatencyMs: h.LatencyMs, Result: h.Outcome, Error: h.Error,
		RetryAfterSeconds: h.RetryAfterSeconds, Details: h.Details}
	if res.Details == nil {
		res.Details = map[string]any{}
	}
	// The check's outcome is recorded even if the user changed the gateway
	// meanwhile, so Modify re-reads rather than pinning a version.
	res.Gateway, err = s.gw.Modify(ctx, actor, id, nil, func(g *gateway.Gateway) (gateway.Change, error) {
		now := s.now().UTC()
		latency := h.LatencyMs
		g.LastCheckedAt, g.LastLatencyMs = &now, &latency
		from := g.Status
		details := map[string]string{"result": string(h.Outcome), "latencyMs": strconv.FormatInt(h.LatencyMs, 10)}
		cleared := false
		if h.Healthy {
			learn(g, h.Details, "botId", "botUsername")
			g.ConsecutiveFailures = 0
			switch {
			case g.Status == gateway.StatusError && g.LastConnectedAt != nil:
				g.Status = gateway.StatusConnected
			case g.Status == gateway.StatusError:
				g.Status = gateway.StatusDisconnected
			}
			if g.Status == gateway.StatusConnected {
				g.LastConnectedAt = &now
			}
			cleared = clearLastError(g)
		} else {
			g.Status, g.LastError, g.LastErrorAt = gateway.StatusError, h.Error, &now
			g.ConsecutiveFailures++
			details["error"] = h.Error
		}
		fields := []string{"lastCheckedAt"}
		if cleared {
			fields = append(fields, "lastError")
		}
		if g.Status != from {
			fields = append(fields, "status")
			details["from"], details["to"] = string(from), string(g.Status)
		}
		return gateway.Change{Action: gateway.AuditTested, Fields: fields, Details: details}, nil
	})
	return res, err
}

// clearLastError forgets g's last error, reporting whether there was one.
func clearLastError(g *gateway.Gateway) bool {
	had := g.LastError != "" || g.LastErrorAt != nil
	g.LastError, g.LastErrorAt = "", nil
	return had
}

// learn copies non-secret facts a provider reported into credentialInfo.
func learn(g *gateway.Gateway, from map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := from[k]; ok && v != nil && v != "" {
			if g.CredentialInfo == nil {
				g.CredentialInfo = map[string]any{}
			}
			g.CredentialInfo[k] = v
		}
	}
}

// Connect moves the gateway to CONNECTING, calls the provider's Connect
// (Telegram: registers the webhook with a fresh secret) and records
// CONNECTED, clearing lastError, or ERROR with lastError. A failed connect is returned as an
// upstream error (422 rejected credentials, 429, 502) after being recorded.
//
// Connecting a gateway that is already CONNECTED is a no-op: the gateway
// is returned as it is, nothing is written (no version, no audit event)
// and the provider is not called, so repeating the request costs nothing
// and cannot churn the webhook's secret. To register the webhook afresh,
// disconnect and connect.
func (s *Service) Connect(ctx context.Context, actor gateway.Actor, id string, ifMatch *int64) (*gateway.Gateway, error) {
	g, err := s.gw.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != nil && g.Version != *ifMatch {
		return nil, versionMismatch(g.Version)
	}
	if g.Status == gateway.StatusConnected {
		return g, nil
	}
	p, err := s.provider(g.Type)
	if err != nil {
		return nil, err
	}
	creds, err := s.gw.Credentials(ctx, g)
	if err != nil {
		return nil, err
	}
	if _, err := s.transition(ctx, actor, id, gateway.StatusConnecting, nil); err != nil {
		return nil, err
	}
	res, cerr := p.Connect(ctx, provider.ConnectRequest{GatewayID: g.ID, Credentials: creds, Config: g.Config, PublicURL: s.publicURL})
	// Record the outcome even if the request's own deadline has passed.
	g, err = s.recordConnect(ctx, actor, id, res, cerr, nil)
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return g, upstream("Connecting failed", cerr)
	}
	return g, nil
}

// recordConnect writes the outcome of a provider Connect (res, or the
// failure cerr) over gateway id, which the caller moved to CONNECTING:
// CONNECTED with the new webhook secret and learnt facts, clearing
// lastError, or ERROR with lastError. extra are more details for the
// audit event. The write happens even if the request's own deadline has
// passed: the provider already acted.
func (s *Service) recordConnect(ctx context.Context, actor gateway.Actor, id string, res provider.ConnectResult, cerr error, extra map[string]string) (*gateway.Gateway, error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.gw.Modify(wctx, actor, id, nil, func(g *gateway.Gateway) (gateway.Change, error) {
		now := s.now().UTC()
		details := map[string]string{"from": string(g.Status)}
		for k, v := range extra {
			details[k] = v
		}
		if cerr != nil {
			g.Status, g.LastError, g.LastErrorAt = gateway.StatusError, provider.Message(cerr), &now
			details["to"], details["error"], details["result"] = string(g.Status), g.LastError, string(provider.Classify(cerr))
			return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}, Details: details}, nil
		}
		g.Status, g.LastConnectedAt = gateway.StatusConnected, &now
		g.WebhookSecretHash = res.WebhookSecretHash
		g.ConsecutiveFailures = 0
		for k, v := range res.CredentialInfo {
			if g.CredentialInfo == nil {
				g.CredentialInfo = map[string]any{}
			}
			g.CredentialInfo[k] = v
		}
		details["to"] = string(g.Status)
		if u, ok := res.Details["webhookUrl"].(string); ok {
			details["webhookUrl"] = u
		}
		fields := []string{"status"}
		if res.WebhookSecretHash != nil {
			fields = append(fields, "webhookSecret")
		}
		if clearLastError(g) {
			fields = append(fields, "lastError")
		}
		return gateway.Change{Action: gateway.AuditStatusChanged, Fields: fields, Details: details}, nil
	})
}

// Disconnect calls the provider's Disconnect (Telegram: deletes the webhook)
// and records DISCONNECTED. The user's intent wins: if the provider call
// fails, the gateway is still disconnected (its webhook secret forgotten, so
// no update is accepted) and the failure is noted in the audit trail.
//
// A gateway that is already disconnected and holds no webhook secret is
// left alone, a no-op like connecting a connected one: nothing is written
// and the provider is not called, so a webhook someone set up for the bot
// outside Gatehouse is never removed by a disconnect of ours.
func (s *Service) Disconnect(ctx context.Context, actor gateway.Actor, id string, ifMatch *int64) (*gateway.Gateway, error) {
	g, err := s.gw.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != nil && g.Version != *ifMatch {
		return nil, versionMismatch(g.Version)
	}
	if g.Status == gateway.StatusDisconnected && g.WebhookSecretHash == nil {
		return g, nil
	}
	p, err := s.provider(g.Type)
	if err != nil {
		return nil, err
	}
	creds, err := s.gw.Credentials(ctx, g)
	if err != nil && !gateway.IsCode(err, gateway.CodeCredentialsUnreadable) {
		return nil, err
	}
	var derr error
	if err == nil {
		derr = p.Disconnect(ctx, provider.DisconnectRequest{GatewayID: g.ID, Credentials: creds, Config: g.Config})
	} else {
		derr = err
	}
	return s.gw.Modify(ctx, actor, id, nil, func(g *gateway.Gateway) (gateway.Change, error) {
		if g.Status == gateway.StatusDisconnected && g.WebhookSecretHash == nil {
			return gateway.Change{}, nil
		}
		details := map[string]string{"from": string(g.Status), "to": string(gateway.StatusDisconnected)}
		if derr != nil {
			details["warning"] = "The provider could not be told: " + provider.Message(derr)
		}
		g.Status, g.WebhookSecretHash = gateway.StatusDisconnected, nil
		return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}, Details: details}, nil
	})
}

// link answers a provider.RemoteFile with a link Gatehouse serves (its
// RemotePath stays in the store); other results pass as they are. The
// provider knows the file but not the gateway, the service the gateway but
// not the file: this is where the two meet.
func (s *Service) link(ctx context.Context, g *gateway.Gateway, out any) (any, error) {
	rf, ok := out.(provider.RemoteFile)
	if !ok {
		return out, nil
	}
	if s.files == nil {
		return nil, gateway.Internal("lifecycle.Execute", errors.New("no FileLinker for a RemoteFile result"))
	}
	path, size := rf.RemotePath()
	url, exp, err := s.files.MintFileLink(ctx, g, path, size)
	if err != nil {
		return nil, err
	}
	return rf.Linked(url, exp), nil
}

// transition sets a status with its audit event.
func (s *Service) transition(ctx context.Context, actor gateway.Actor, id string, to gateway.Status, ifMatch *int64) (*gateway.Gateway, error) {
	return s.gw.Modify(ctx, actor, id, ifMatch, func(g *gateway.Gateway) (gateway.Change, error) {
		if g.Status == to {
			return gateway.Change{}, nil
		}
		details := map[string]string{"from": string(g.Status), "to": string(to)}
		g.Status = to
		return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}, Details: details}, nil
	})
}

// Execute runs a provider action. Errors: CodeUnsupportedAction (404) for an
// action the type does not have, CodeInvalid for bad params, CodeNotConnected
// (409) when the action needs a connected gateway, and upstream codes for the
// provider's failures. A provider refusing the credentials also moves the
// gateway to ERROR.
func (s *Service) Execute(ctx context.Context, actor gateway.Actor, id, action string, params []byte) (any, error) {
	g, err := s.gw.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	p, err := s.provider(g.Type)
	if err != nil {
		return nil, err
	}
	if _, err := provider.CheckAction(p, action, g.ID, g.Status); err != nil {
		return nil, actionError(err)
	}
	creds, err := s.gw.Credentials(ctx, g)
	if err != nil {
		return nil, err
	}
	out, err := p.Execute(ctx, creds, g.Config, action, params)
	if err == nil {
		return s.link(ctx, g, out)
	}
	if e := actionError(err); e != nil && !isUpstream(e) {
		return nil, e
	}
	if provider.Classify(err) == provider.OutcomeInvalidCredentials {
		s.CredentialsRefused(ctx, actor, id, action, provider.Message(err))
	}
	e := upstream("The "+action+" action failed", err)
	if provider.RefusedRequest(err) {
		// The provider read the request and refused what it asked for
		// (a chat that does not exist, an unknown model): the caller's
		// parameters, a 4xx, not a provider fault.
		e.Code = gateway.CodeUpstreamRefused
	}
	return nil, e
}

// CredentialsRefused records that the provider refused the gateway's
// credentials when action ran (msg says how): the gateway moves to ERROR
// with msg as its last error, audited. Execute calls it; so does the
// action route for a call sent through the bot's paced queue. A failure
// to record is left to the next health check, which finds the same.
func (s *Service) CredentialsRefused(ctx context.Context, actor gateway.Actor, id, action, msg string) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = s.gw.Modify(wctx, actor, id, nil, func(g *gateway.Gateway) (gateway.Change, error) {
		now := s.now().UTC()
		details := map[string]string{"from": string(g.Status), "to": string(gateway.StatusError), "error": msg, "action": action}
		g.Status, g.LastError, g.LastErrorAt = gateway.StatusError, msg, &now
		return gateway.Change{Action: gateway.AuditStatusChanged, Fields: []string{"status"}, Details: details}, nil
	})
}

// actionError maps the provider's typed refusals to domain errors; it
// returns an upstream error for anything else.
func actionError(err error) error {
	var unsupported *provider.UnsupportedActionError
	var notConnected *provider.NotConnectedError
	var params *provider.InvalidParamsError
	switch {
	case errors.As(err, &unsupported):
		return gateway.Errorf(gateway.CodeUnsupportedAction, "%s", unsupported.Error())
	case errors.As(err, &notConnected):
		return gateway.Errorf(gateway.CodeNotConnected, "%s", notConnected.Error())
	case errors.As(err, &params):
		e := gateway.Invalid(params.Fields...)
		e.Message = "The action's parameters are invalid."
		return e
	}
	return upstream("The provider call failed", err)
}

func isUpstream(err error) bool {
	switch gateway.ErrorCode(err) {
	case gateway.CodeUpstreamRejected, gateway.CodeUpstreamRateLimited, gateway.CodeUpstreamUnreachable, gateway.CodeUpstreamError, gateway.CodeUpstreamRefused:
		return true
	}
	return false
}

// upstream turns a classified provider error into a domain error whose
// message is safe to show (providers never put credentials in theirs).
func upstream(what string, err error) *gateway.Error {
	msg := what + ": " + provider.Message(err)
	e := &gateway.Error{Message: msg, Op: "lifecycle", Err: err}
	switch provider.Classify(err) {
	case provider.OutcomeInvalidCredentials:
		e.Code = gateway.CodeUpstreamRejected
	case provider.OutcomeRateLimited:
		e.Code = gateway.CodeUpstreamRateLimited
		e.RetryAfter = int((provider.RetryAfter(err) + time.Second - 1) / time.Second)
	case provider.OutcomeUnreachable:
		e.Code = gateway.CodeUpstreamUnreachable
	default:
		e.Code = gateway.CodeUpstreamError
	}
	return e
}

// Delete removes a gateway; for a connected Telegram gateway it first
// deletes the webhook, best effort (a failure never blocks the delete).
//
// A stale If-Match is refused before anything is touched, and the
// credentials are opened only when there is a webhook to remove, so a
// gateway that never registered one can be deleted while KMS is down.
func (s *Service) Delete(ctx context.Context, actor gateway.Actor, id string, ifMatch *int64) error {
	g, err := s.gw.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if ifMatch != nil && g.Version != *ifMatch {
		return versionMismatch(g.Version)
	}
	if g.WebhookSecretHash != nil {
		g, creds, p, err := s.open(ctx, actor, id)
		if err != nil && !gateway.IsCode(err, gateway.CodeCredentialsUnreadable) {
			return err
		}
		if err == nil {
			dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_ = p.Disconnect(dctx, provider.DisconnectRequest{GatewayID: g.ID, Credentials: creds, Config: g.Config})
			cancel()
		}
	}
	return s.gw.Delete(ctx, actor, id, ifMatch)
}

func versionMismatch(current int64) *gateway.Error {
	return gateway.Errorf(gateway.CodeVersionMismatch, "The gateway was changed since you read it (it is now at version %d); reload it and retry.", current)
}

// open reads the actor's gateway, its credentials and its provider. On
// CodeCredentialsUnreadable it still returns the gateway.
func (s *Service) open(ctx context.Context, actor gateway.Actor, id string) (*gateway.Gateway, gateway.Credentials, provider.Provider, error) {
	g, err := s.gw.Get(ctx, actor, id)
	if err != nil {
		return nil, gateway.Credentials{}, nil, err
	}
	p, err := s.provider(g.Type)
	if err != nil {
		return g, gateway.Credentials{}, nil, err
	}
	creds, err := s.gw.Credentials(ctx, g)
	return g, creds, p, err
}

// WebhookURL is where Telegram delivers a gateway's updates.
func (s *Service) WebhookURL(id string) string {
	return s.publicURL + "/api/webhooks/telegram/" + url.PathEscape(id)
}
