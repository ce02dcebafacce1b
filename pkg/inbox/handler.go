package inbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// auditActor is the System actor of the audit events the webhook writes.
const auditActor = FnTelegramWebhook

// Outcomes, as logged.
const (
	OutcomeStored       = "stored"
	OutcomeDuplicate    = "duplicate"
	OutcomeUnauthorized = "unauthorized"
	OutcomeNotFound     = "not_found"
	OutcomeInvalid      = "invalid"
	OutcomeTooLarge     = "too_large"
	OutcomeUnavailable  = "unavailable"
	OutcomeStatus       = "status"
	OutcomeMethod       = "method_not_allowed"
	OutcomeInternal     = "internal"
)

// Handler is the telegram-webhook function. Build it with New; it is safe
// for concurrent use.
type Handler struct {
	store     Store
	log       *slog.Logger
	now       func() time.Time
	cache     *cache
	updateTTL time.Duration
	// requestTimeout bounds an update's work (see httpapi.BoundContext):
	// a store that hangs costs Telegram a 503 it retries, not a delivery
	// held open until the function's timeout.
	requestTimeout time.Duration
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets where the per-request lines go (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithRequestTimeout bounds each request's work (default
// httpapi.DefaultRequestTimeout; in Lambda, the function's deadline less
// httpapi.DeadlineReserve bounds it too).
func WithRequestTimeout(d time.Duration) Option { return func(h *Handler) { h.requestTimeout = d } }

// WithClock sets the clock that stamps updates and ages the cache; tests
// use it to pass a minute without sleeping.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithCacheTTL sets how long a gateway read is reused (default
// DefaultCacheTTL); zero or less turns the cache off, and more than
// MaxCacheTTL is MaxCacheTTL.
func WithCacheTTL(d time.Duration) Option {
	return func(h *Handler) { h.cache = newCache(min(max(d, 0), MaxCacheTTL)) }
}

// WithUpdateTTL sets how long stored updates live (default
// DefaultUpdateTTL); zero or less keeps the default.
func WithUpdateTTL(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.updateTTL = d
		}
	}
}

// New returns the Handler over store. It does no I/O.
func New(store Store, opts ...Option) *Handler {
	h := &Handler{store: store, log: slog.Default(), now: time.Now, cache: newCache(DefaultCacheTTL), updateTTL: DefaultUpdateTTL}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Handle answers both routes of the function: POST receives an update, GET
// tells whether the gateway exists and its status. It never returns an
// error: every failure is a problem+json response.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	rec := record{start: time.Now(), gatewayID: ev.PathParameters["gatewayId"], requestID: ev.RequestContext.RequestID}
	defer func() {
		if p := recover(); p != nil {
			rec.err = panicCause(p, debug.Stack())
			resp = rec.problem(http.StatusInternalServerError, OutcomeInternal)
		}
		h.logRequest(ctx, &rec, resp.StatusCode)
	}()
	ctx, cancel := httpapi.BoundContext(ctx, h.requestTimeout)
	defer cancel()
	switch ev.RequestContext.HTTP.Method {
	case http.MethodPost:
		return h.receive(ctx, ev, &rec), nil
	case http.MethodGet:
		return h.status(ctx, &rec), nil
	default:
		resp = rec.problem(http.StatusMethodNotAllowed, OutcomeMethod)
		resp.Headers["Allow"] = "GET, POST"
		return resp, nil
	}
}

// panicCause is what the log says of a recovered panic: the value's type
// and the stack, never the value's text, which may quote a secret
// (panic(fmt.Sprintf("bad token %s", t)) is enough). The stack names
// functions, files and lines, and shows arguments as machine words, never
// string contents. A runtime error's message is kept: the runtime writes it
// from types and indexes alone.
func panicCause(p any, stack []byte) error {
	what := fmt.Sprintf("a value of type %T (its text is not logged: it may hold a secret)", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	return fmt.Errorf("panic: %s\n%s", what, stack)
}

// receive handles POST: find the gateway, verify the secret, parse, store,
// then the gateway's bookkeeping.
func (h *Handler) receive(ctx context.Context, ev events.APIGatewayV2HTTPRequest, rec *record) events.APIGatewayV2HTTPResponse {
	now := h.now()
	g, resp, ok := h.telegramGateway(ctx, rec, now, false)
	if !ok {
		return resp
	}
	secret := header(ev, "x-telegram-bot-api-secret-token")
	if !secretMatches(g.WebhookSecretHash, secret) {
		// A cached gateway may predate a rotation; a fresh read decides.
		if !rec.cached {
			return rec.problem(http.StatusUnauthorized, OutcomeUnauthorized)
		}
		rec.cached = false
		fresh, resp, ok := h.telegramGateway(ctx, rec, now, true)
		if !ok {
			return resp
		}
		if !secretMatches(fresh.WebhookSecretHash, secret) {
			return rec.problem(http.StatusUnauthorized, OutcomeUnauthorized)
		}
		g = fresh
	}

	body, err := bodyOf(ev)
	if err != nil {
		rec.err = err
		return rec.problem(http.StatusBadRequest, OutcomeInvalid)
	}
	u, err := ParseUpdate(body)
	if err != nil {
		rec.err = err
		return rec.problem(http.StatusBadRequest, OutcomeInvalid)
	}
	rec.updateID, rec.hasUpdateID, rec.updateType = u.UpdateID, true, u.Type
	u.GatewayID, u.ReceivedAt, u.ExpiresAt = g.ID, now, now.Add(h.updateTTL)

	switch err := h.store.PutUpdate(ctx, u); {
	case err == nil:
		rec.outcome = OutcomeStored
	case errors.Is(err, ErrDuplicate):
		rec.outcome = OutcomeDuplicate
	case gateway.IsCode(err, gateway.CodeTooLarge):
		rec.err = err
		return rec.problem(http.StatusRequestEntityTooLarge, OutcomeTooLarge)
	default:
		// Whatever failed, the update is not known to be stored: Telegram
		// must send it again.
		rec.err = err
		return rec.problem(http.StatusServiceUnavailable, OutcomeUnavailable)
	}
	h.bookkeep(ctx, g, now, rec)
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK}
}

// status handles GET: {id, type, status} of a Telegram gateway.
func (h *Handler) status(ctx context.Context, rec *record) events.APIGatewayV2HTTPResponse {
	g, resp, ok := h.telegramGateway(ctx, rec, h.now(), false)
	if !ok {
		return resp
	}
	rec.outcome = OutcomeStatus
	body, _ := json.Marshal(statusJSON{ID: g.ID, Type: g.Type, Status: g.Status})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(body),
	}
}

// statusJSON is the GET answer: nothing about the secret or the owner.
type statusJSON struct {
	ID     string         `json:"id"`
	Type   gateway.Type   `json:"type"`
	Status gateway.Status `json:"status"`
}

// telegramGateway finds the TELEGRAM_BOT gateway of the path, from the
// cache unless fresh is set; otherwise it returns the response to send.
func (h *Handler) telegramGateway(ctx context.Context, rec *record, now time.Time, fresh bool) (*Gateway, events.APIGatewayV2HTTPResponse, bool) {
	// Ids have one shape; anything else cannot exist and costs no read.
	if !gateway.ValidID(rec.gatewayID) {
		return nil, rec.problem(http.StatusNotFound, OutcomeNotFound), false
	}
	var g *Gateway
	ok := false
	if !fresh {
		g, ok = h.cache.get(rec.gatewayID, now)
	}
	if ok {
		rec.cached = true
	} else {
		var err error
		if g, err = h.read(ctx, rec.gatewayID, now); err != nil {
			if gateway.IsCode(err, gateway.CodeNotFound) {
				return nil, rec.problem(http.StatusNotFound, OutcomeNotFound), false
			}
			rec.err = err
			return nil, rec.problem(http.StatusServiceUnavailable, OutcomeUnavailable), false
		}
	}
	if g.Type != gateway.TypeTelegramBot {
		return nil, rec.problem(http.StatusNotFound, OutcomeNotFound), false
	}
	return g, events.APIGatewayV2HTTPResponse{}, true
}

// read reads gateway id from the store and caches it.
func (h *Handler) read(ctx context.Context, id string, now time.Time) (*Gateway, error) {
	g, err := h.store.Gateway(ctx, id)
	if err != nil {
		return nil, err
	}
	h.cache.put(g, now)
	return g, nil
}

// bookkeep refreshes lastConnectedAt, or recovers the gateway from a webhook
// delivery error, when due. Its failures are logged, never answered: the
// update is stored either way.
func (h *Handler) bookkeep(ctx context.Context, g *Gateway, now time.Time, rec *record) {
	recovery := g.Status == gateway.StatusError && strings.HasPrefix(g.LastError, WebhookErrorPrefix)
	stale := g.Status == gateway.StatusConnected && (g.LastConnectedAt == nil || g.LastConnectedAt.Before(now.Add(-TouchInterval)))
	if (!recovery && !stale) || !h.cache.claimTouch(g.ID, now) {
		return
	}
	if recovery {
		ev := gateway.AuditEvent{
			ID: newToken(), GatewayID: g.ID, Action: gateway.AuditStatusChanged,
			Actor: gateway.Actor{System: auditActor, RequestID: rec.requestID}, At: now,
			Changes: []string{"status"},
			Details: map[string]string{"from": string(gateway.StatusError), "to": string(gateway.StatusConnected), "reason": "webhook updates are arriving again"},
		}
		ok, err := h.store.RecoverWebhookError(ctx, g.ID, now, ev)
		switch {
		case err != nil:
			rec.bookkeeping, rec.bookErr = "recover_failed", err
		case ok:
			rec.bookkeeping = "recovered"
			h.cache.touched(g.ID, now, true)
		}
		return
	}
	ok, err := h.store.TouchConnected(ctx, g.ID, now, now.Add(-TouchInterval))
	if err != nil {
		rec.bookkeeping, rec.bookErr = "touch_failed", err
		return
	}
	if ok {
		rec.bookkeeping = "touched"
	}
	// Written by us or, when the condition failed, recently by another
	// container: either way it is fresh.
	h.cache.touched(g.ID, now, false)
}

// secretMatches compares the SHA-256 of secret with stored in constant
// time. A gateway without a stored hash matches nothing; the comparison
// still runs, so that case takes as long as a wrong secret.
func secretMatches(stored []byte, secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	want := stored
	if len(want) != sha256.Size {
		want = make([]byte, sha256.Size)
	}
	eq := subtle.ConstantTimeCompare(sum[:], want) == 1
	return eq && len(stored) == sha256.Size && secret != ""
}

// bodyOf returns the request body, decoding it when API Gateway passed it
// base64-encoded (any Content-Type it does not consider text).
func bodyOf(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !ev.IsBase64Encoded {
		if len(ev.Body) > MaxBodyBytes {
			return nil, errTooLarge
		}
		return []byte(ev.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(ev.Body)) > MaxBodyBytes+3 {
		return nil, errTooLarge
	}
	b, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "The request body could not be decoded.")
	}
	return b, nil
}

// header returns a request header; API Gateway lower-cases their names,
// other callers may not.
func header(ev events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := ev.Headers[name]; ok {
		return v
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// newToken returns 128 random bits in lower-case base32, like the service's
// ids, for audit event ids.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// record is what one request reports in its log line.
type record struct {
	start       time.Time
	requestID   string
	gatewayID   string
	updateID    int64
	hasUpdateID bool
	updateType  string
	outcome     string
	cached      bool
	err         error
	bookkeeping string
	bookErr     error
}

// problem returns the problem+json answer of status, recording outcome.
// Details are fixed per status: they say nothing about why a secret failed
// or which gateways exist beyond the 404.
func (r *record) problem(status int, outcome string) events.APIGatewayV2HTTPResponse {
	r.outcome = outcome
	code, title, detail := gateway.CodeInternal, "Internal error", "An internal error occurred. Quote request id "+r.requestID+" when reporting it."
	switch status {
	case http.StatusBadRequest:
		code, title, detail = gateway.CodeInvalid, "Invalid request", gateway.ErrorMessage(r.err)
	case http.StatusUnauthorized:
		code, title, detail = gateway.CodeUnauthenticated, "Unauthorized", "The webhook secret token is missing or wrong."
	case http.StatusNotFound:
		code, title, detail = gateway.CodeNotFound, "Not found", "Gateway not found."
	case http.StatusMethodNotAllowed:
		code, title, detail = "method_not_allowed", "Method not allowed", "This path accepts GET and POST."
	case http.StatusRequestEntityTooLarge:
		code, title, detail = gateway.CodeTooLarge, "Request too large", "The update is too large to store."
	case http.StatusServiceUnavailable:
		code, title, detail = gateway.CodeUnavailable, "Service unavailable", "The update could not be stored; retry."
	}
	body, _ := json.Marshal(httpapi.Problem{Type: httpapi.ProblemTypeBase + code, Title: title, Status: status, Detail: detail, Instance: r.requestID})
	headers := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}
	if status == http.StatusServiceUnavailable {
		// Telegram retries on its own schedule; other senders (and the
		// API's own 503s) get the same hint as every other route.
		headers["Retry-After"] = "2"
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: string(body)}
}

// maxLoggedID bounds the gateway id in a log line: the path segment is
// whatever the caller sent.
const maxLoggedID = 64

// logRequest writes the request's one line. It never includes the secret,
// the body or any text of the update; errors come from the store and the
// parser, neither of which quotes item contents.
func (h *Handler) logRequest(ctx context.Context, r *record, status int) {
	id := r.gatewayID
	if len(id) > maxLoggedID {
		id = id[:maxLoggedID]
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("requestId", r.requestID),
		slog.String("gatewayId", id),
	)
	if r.hasUpdateID {
		attrs = append(attrs, slog.Int64("updateId", r.updateID), slog.String("type", r.updateType))
	}
	attrs = append(attrs,
		slog.String("outcome", r.outcome),
		slog.Int("status", status),
		slog.Bool("cached", r.cached),
		slog.Int64("ms", time.Since(r.start).Milliseconds()),
	)
	if r.bookkeeping != "" {
		attrs = append(attrs, slog.String("gatewayWrite", r.bookkeeping))
	}
	level := slog.LevelInfo
	if status >= 500 && r.err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", r.err.Error()))
	}
	if r.bookErr != nil {
		if level < slog.LevelWarn {
			level = slog.LevelWarn
		}
		attrs = append(attrs, slog.String("gatewayWriteError", r.bookErr.Error()))
	}
	h.log.LogAttrs(ctx, level, "telegram webhook", attrs...)
}
