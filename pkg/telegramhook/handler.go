// Package telegramhook is the telegram-webhook function: Telegram's calls
// to POST and GET /api/webhooks/telegram/{gatewayId}, which receive a
// TELEGRAM_BOT gateway's updates into the inbox (pkg/inbox).
//
// # Contract
//
// An update is answered 200 only after it is stored: one item per (gateway,
// update_id), written with a condition so that a repeat of the same update
// (Telegram's retries, or ours) is answered 200 and not stored twice. When
// the store cannot be reached the answer is 503, so Telegram retries; an
// update answered 200 is never lost.
//
// Requests are authenticated by X-Telegram-Bot-Api-Secret-Token, whose
// SHA-256 is compared in constant time with the gateway's stored
// WebhookSecretHash. The secret itself is never stored, so the function
// needs no KMS access. Answers: 401 for an id that is not a TELEGRAM_BOT
// gateway, a missing or wrong secret, or a gateway without one (the same
// answer, byte for byte, for all four: the route is public, and a caller
// without the secret must not learn which ids are gateways); 400 for a
// body that is not a JSON object with a non-negative integer update_id,
// is not UTF-8, or exceeds inbox.MaxBodyBytes; 403, before any read, for a sender outside the
// configured source ranges (WithSourceRanges); 503 for an id the container
// does not know while its budget of reads that find nothing is spent (see
// below). Updates are accepted whatever the gateway's status: a valid
// secret shows that Telegram sent them, and refusing them would lose them.
//
// GET answers {id, type, status} only to a caller presenting the secret;
// without it, or with a wrong one, an existing gateway is answered exactly
// as an id that never existed (404, same headers and body), so the public
// route tells nobody which ids are gateways or whether their bots run.
//
// # Gateway reads and the cache
//
// Every update reads the gateway (one GetItem, projected to the fields
// verification needs) unless a warm container read it less than CacheTTL
// ago. A secret that does not match a cached gateway is checked once more
// against a fresh read, at most once per SecretRecheckInterval (5 s) per
// gateway: a newly rotated secret works at once, or at worst 5 s later
// when wrong secrets are flooding the gateway, while an old one stops
// working at the latest CacheTTL (30 s) after rotation — within the 60 s
// the design allows. A wrong secret never replaces or evicts the cached
// gateway: only a read does.
//
// # What junk costs
//
// The route is public, so made-up requests must not cost a read each. An
// id read as absent is answered 404 from memory for NegativeTTL (30 s;
// at most 4096 ids). Reads of ids the container has never read spend a
// token bucket when they find nothing (MissBurst 20, one more a second):
// with it empty such ids are answered 503, which Telegram retries, without
// a read. Wrong secrets for a real gateway cost one read per
// SecretRecheckInterval. So per container a flood of any variety costs at
// most 20 + t/1 s reads for ids and t/5 s per gateway for secrets over t.
// The price: while the budget is spent, a POST with a wrong secret is 401
// for a gateway the container has read and 503 for any other id, which
// tells whoever spent it which ids that container served recently (never
// their status); GET answers 404 for both.
//
// # Gateway bookkeeping
//
// lastConnectedAt is refreshed at most once a minute per gateway, by a
// conditional UpdateItem that does not change the gateway's version: the
// version is the ETag users edit against, and bumping it every minute on a
// busy bot would make every dashboard edit fail with 412. The price is that
// a user's edit made from an older read writes back the older
// lastConnectedAt; the next update within a minute refreshes it again.
//
// A gateway in ERROR because of webhook delivery — its lastError starts
// with inbox.WebhookErrorPrefix — returns to CONNECTED when updates arrive
// again. That is a status change users see, so it is written like the
// service's own status changes: one transaction that bumps the version,
// sets updatedAt and lastConnectedAt, and appends a gateway.status_changed
// audit event. Detection rides on lastError, not on an attribute of its
// own, because the gateway store rewrites whole items and would drop an
// attribute the domain does not know.
//
// # Logs
//
// One JSON line per request: gatewayId, updateId, type, outcome, status
// and duration; never the secret, the body or any text of the update.
package telegramhook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// FnTelegramWebhook is the function name: its folder functions/<name>/ and
// its CodeUri in template.yaml.
const FnTelegramWebhook = "telegram-webhook"

// SecretHeader carries the webhook's secret_token in each update.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// auditActor is the System actor of the audit events the webhook writes.
const auditActor = FnTelegramWebhook

// Store is what the webhook needs of the table. pkg/dynamo's Inbox
// implements it.
type Store interface {
	// Gateway reads gateway id. Errors: gateway.CodeNotFound,
	// gateway.CodeUnavailable, gateway.CodeInternal.
	Gateway(ctx context.Context, id string) (*inbox.Gateway, error)
	// PutUpdate stores u unless u.GatewayID already has u.UpdateID.
	// Errors: inbox.ErrDuplicate; gateway.CodeTooLarge when u cannot be
	// stored at any size the table allows; CodeUnavailable; CodeInternal.
	PutUpdate(ctx context.Context, u *inbox.Update) error
	// TouchConnected sets lastConnectedAt to now if the gateway is
	// CONNECTED and its lastConnectedAt is missing or before notAfter. It
	// reports whether it wrote. Errors: CodeUnavailable; CodeInternal.
	TouchConnected(ctx context.Context, id string, now, notAfter time.Time) (bool, error)
	// RecoverWebhookError moves the gateway from ERROR to CONNECTED, with
	// the audit event ev, if its lastError starts with
	// inbox.WebhookErrorPrefix, and clears lastError. It reports whether it wrote. Errors:
	// CodeUnavailable; CodeInternal.
	RecoverWebhookError(ctx context.Context, id string, now time.Time, ev gateway.AuditEvent) (bool, error)
}

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
	// OutcomeForbidden: the sender's address is outside the configured
	// source ranges.
	OutcomeForbidden = "forbidden"
	// OutcomeShed: an id the container does not know, while the budget
	// of reads that find nothing is spent (see MissBurst).
	OutcomeShed = "shed"
)

// Handler is the telegram-webhook function. Build it with New; it is safe
// for concurrent use.
type Handler struct {
	store     Store
	log       *slog.Logger
	now       func() time.Time
	cache     *cache
	updateTTL time.Duration
	// requestTimeout bounds an update's work (see edge.BoundContext): a
	// store that hangs costs Telegram a 503 it retries, not a delivery
	// held open until the function's timeout.
	requestTimeout time.Duration
	// sourceRanges, when not empty, are the only addresses updates are
	// accepted from (WithSourceRanges).
	sourceRanges []netip.Prefix
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets where the per-request lines go (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithRequestTimeout bounds each request's work (default
// edge.DefaultRequestTimeout; in Lambda, the function's deadline less
// edge.DeadlineReserve bounds it too).
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
// inbox.DefaultUpdateTTL); zero or less keeps the default.
func WithUpdateTTL(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.updateTTL = d
		}
	}
}

// WithSourceRanges accepts updates (POST) only from addresses in ranges,
// as API Gateway reports its TCP peer (requestContext.http.sourceIp, not
// X-Forwarded-For, which the sender writes); others are answered 403
// before any read. None, the default, accepts every address. Telegram
// publishes the ranges its webhooks come from (TelegramSourceRanges); a
// self-hosted Bot API server sends from its own.
func WithSourceRanges(ranges []netip.Prefix) Option {
	return func(h *Handler) { h.sourceRanges = slices.Clone(ranges) }
}

// New returns the Handler over store. It does no I/O.
func New(store Store, opts ...Option) *Handler {
	h := &Handler{store: store, log: slog.Default(), now: time.Now, cache: newCache(DefaultCacheTTL), updateTTL: inbox.DefaultUpdateTTL}
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
			rec.err = edge.PanicCause(p)
			resp = rec.problem(http.StatusInternalServerError, OutcomeInternal)
		}
		h.logRequest(ctx, &rec, resp.StatusCode)
	}()
	ctx, cancel := edge.BoundContext(ctx, h.requestTimeout)
	defer cancel()
	switch ev.RequestContext.HTTP.Method {
	case http.MethodPost:
		return h.receive(ctx, &ev, &rec), nil
	case http.MethodGet:
		return h.status(ctx, &ev, &rec), nil
	default:
		resp = rec.problem(http.StatusMethodNotAllowed, OutcomeMethod)
		resp.Headers["Allow"] = "GET, POST"
		return resp, nil
	}
}

// receive handles POST: find the gateway, verify the secret, parse, store,
// then the gateway's bookkeeping.
func (h *Handler) receive(ctx context.Context, ev *events.APIGatewayV2HTTPRequest, rec *record) events.APIGatewayV2HTTPResponse {
	if !h.fromAllowedSource(ev.RequestContext.HTTP.SourceIP) {
		return rec.problem(http.StatusForbidden, OutcomeForbidden)
	}
	now := h.now()
	g, resp, ok := h.authenticate(ctx, edge.Header(ev, "x-telegram-bot-api-secret-token"), rec, now)
	if !ok {
		if resp.StatusCode == http.StatusNotFound {
			// The same answer as a wrong secret: a caller without the
			// secret learns nothing of which ids are gateways (the log
			// keeps the outcome).
			return rec.problem(http.StatusUnauthorized, rec.outcome)
		}
		return resp
	}

	body, err := edge.Body(ev, inbox.MaxBodyBytes)
	if err != nil {
		// Too large or not base64: both are the sender's fault, and
		// Telegram should not retry them (a 400, as the contract says).
		rec.err = err
		if gateway.IsCode(err, gateway.CodeTooLarge) {
			rec.err = inbox.ErrTooLarge
		}
		return rec.problem(http.StatusBadRequest, OutcomeInvalid)
	}
	u, err := inbox.ParseUpdate(body)
	if err != nil {
		rec.err = err
		return rec.problem(http.StatusBadRequest, OutcomeInvalid)
	}
	rec.updateID, rec.hasUpdateID, rec.updateType = u.UpdateID, true, u.Type
	u.GatewayID, u.ReceivedAt, u.ExpiresAt = g.ID, now, now.Add(h.updateTTL)

	switch err := h.store.PutUpdate(ctx, u); {
	case err == nil:
		rec.outcome = OutcomeStored
	case errors.Is(err, inbox.ErrDuplicate):
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
	h.bookkeep(ctx, &g, now, rec)
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK}
}

// authenticate finds the TELEGRAM_BOT gateway of the path and checks
// secret against it; otherwise it returns the response to send (404, 401
// or 503).
func (h *Handler) authenticate(ctx context.Context, secret string, rec *record, now time.Time) (inbox.Gateway, events.APIGatewayV2HTTPResponse, bool) {
	g, resp, ok := h.telegramGateway(ctx, rec, now, false)
	if !ok {
		return g, resp, false
	}
	if secretMatches(g.WebhookSecretHash, secret) {
		return g, resp, true
	}
	// A cached gateway may predate a rotation; a fresh read decides, at
	// most once per SecretRecheckInterval per gateway, so that a flood of
	// wrong secrets costs no read per request.
	if !rec.cached || !h.cache.claimRecheck(g.ID, now) {
		return inbox.Gateway{}, rec.problem(http.StatusUnauthorized, OutcomeUnauthorized), false
	}
	rec.cached = false
	fresh, resp, ok := h.telegramGateway(ctx, rec, now, true)
	if !ok {
		return fresh, resp, false
	}
	if !secretMatches(fresh.WebhookSecretHash, secret) {
		return inbox.Gateway{}, rec.problem(http.StatusUnauthorized, OutcomeUnauthorized), false
	}
	return fresh, resp, true
}

// fromAllowedSource reports whether sourceIP, API Gateway's TCP peer, is
// in the configured source ranges; with none configured, every address is.
func (h *Handler) fromAllowedSource(sourceIP string) bool {
	if len(h.sourceRanges) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(sourceIP)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range h.sourceRanges {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// status handles GET: {id, type, status} of a Telegram gateway, for a
// caller that presents its secret. Any other caller gets the answer of a
// gateway that does not exist, whether it exists or not: the route is
// public, and would otherwise tell anyone which ids are gateways and
// whether their bots are connected. Only a store failure (503) differs,
// and equally for every id the container has not cached.
func (h *Handler) status(ctx context.Context, ev *events.APIGatewayV2HTTPRequest, rec *record) events.APIGatewayV2HTTPResponse {
	secret := edge.Header(ev, "x-telegram-bot-api-secret-token")
	if secret == "" || !gateway.ValidID(rec.gatewayID) {
		return rec.problem(http.StatusNotFound, OutcomeNotFound)
	}
	g, resp, ok := h.authenticate(ctx, secret, rec, h.now())
	if !ok {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return rec.problem(http.StatusNotFound, OutcomeUnauthorized)
		case http.StatusServiceUnavailable:
			if rec.outcome == OutcomeShed {
				return rec.problem(http.StatusNotFound, OutcomeShed)
			}
		}
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
// The gateway is a copy: the cache's stays as it was read.
func (h *Handler) telegramGateway(ctx context.Context, rec *record, now time.Time, fresh bool) (inbox.Gateway, events.APIGatewayV2HTTPResponse, bool) {
	// Ids have one shape; anything else cannot exist and costs no read.
	if !gateway.ValidID(rec.gatewayID) {
		return inbox.Gateway{}, rec.problem(http.StatusNotFound, OutcomeNotFound), false
	}
	var g inbox.Gateway
	ok := false
	if !fresh {
		g, ok = h.cache.get(rec.gatewayID, now)
		if !ok && h.cache.isAbsent(rec.gatewayID, now) {
			rec.cached = true
			return inbox.Gateway{}, rec.problem(http.StatusNotFound, OutcomeNotFound), false
		}
	}
	if ok {
		rec.cached = true
	} else {
		if !h.cache.mayMiss(rec.gatewayID, now) {
			// Reads of unknown ids are finding nothing faster than the
			// budget allows: a flood of made-up ids. Telegram retries a
			// 503, so a real gateway new to this container waits, never
			// loses an update.
			return inbox.Gateway{}, rec.problem(http.StatusServiceUnavailable, OutcomeShed), false
		}
		read, err := h.store.Gateway(ctx, rec.gatewayID)
		if err != nil {
			if gateway.IsCode(err, gateway.CodeNotFound) {
				h.cache.spendMiss(now)
				h.cache.putAbsent(rec.gatewayID, now)
				return inbox.Gateway{}, rec.problem(http.StatusNotFound, OutcomeNotFound), false
			}
			rec.err = err
			return inbox.Gateway{}, rec.problem(http.StatusServiceUnavailable, OutcomeUnavailable), false
		}
		g = *read
		h.cache.put(g, now)
	}
	if g.Type != gateway.TypeTelegramBot {
		return inbox.Gateway{}, rec.problem(http.StatusNotFound, OutcomeNotFound), false
	}
	return g, events.APIGatewayV2HTTPResponse{}, true
}

// bookkeep refreshes lastConnectedAt, or recovers the gateway from a webhook
// delivery error, when due. Its failures are logged, never answered: the
// update is stored either way.
func (h *Handler) bookkeep(ctx context.Context, g *inbox.Gateway, now time.Time, rec *record) {
	recovery := g.Status == gateway.StatusError && strings.HasPrefix(g.LastError, inbox.WebhookErrorPrefix)
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
	// Telegram's secret_token is 1 to 256 characters: hashing a copy on the
	// stack saves the request an allocation.
	var buf [256]byte
	b := buf[:0]
	if len(secret) <= len(buf) {
		b = append(b, secret...)
	} else {
		b = []byte(secret)
	}
	sum := sha256.Sum256(b)
	var zero [sha256.Size]byte
	want := stored
	if len(want) != sha256.Size {
		want = zero[:]
	}
	eq := subtle.ConstantTimeCompare(sum[:], want) == 1
	return eq && len(stored) == sha256.Size && secret != ""
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
	code, detail := gateway.CodeInternal, "An internal error occurred. Quote request id "+r.requestID+" when reporting it."
	switch status {
	case http.StatusBadRequest:
		code, detail = gateway.CodeInvalid, gateway.ErrorMessage(r.err)
	case http.StatusUnauthorized:
		code, detail = gateway.CodeUnauthenticated, "The webhook secret token is missing or wrong."
	case http.StatusForbidden:
		code, detail = gateway.CodeForbidden, "Updates are accepted only from the Telegram Bot API's addresses."
	case http.StatusNotFound:
		code, detail = gateway.CodeNotFound, "Gateway not found."
	case http.StatusMethodNotAllowed:
		code, detail = edge.CodeMethodNotAllowed, "This path accepts GET and POST."
	case http.StatusRequestEntityTooLarge:
		code, detail = gateway.CodeTooLarge, "The update is too large to store."
	case http.StatusServiceUnavailable:
		code, detail = gateway.CodeUnavailable, "The update could not be stored; retry."
	}
	var extra map[string]string
	if status == http.StatusServiceUnavailable {
		// Telegram retries on its own schedule; other senders (and the
		// API's own 503s) get the same hint as every other route.
		extra = map[string]string{"Retry-After": "2"}
	}
	return edge.NewProblem(code, detail, r.requestID).Response(extra)
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
	var buf [12]slog.Attr
	attrs := append(buf[:0],
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
