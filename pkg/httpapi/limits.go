package httpapi

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Abuse limits. Testing a gateway, running its actions, connecting or
// disconnecting it and creating or updating one with credentials all make
// Gatehouse call a provider with credentials the caller supplied or
// stored: without a limit, the API is an oracle for checking stolen bot
// tokens and API keys at speed, paid for by our IP addresses' reputation. These routes therefore count each user's
// calls in a Limiter shared by every Lambda container (DynamoDB, see
// dynamo.RateLimiter) and answer 429 rate_limited with Retry-After beyond
// the limit. API Gateway's route throttling (template.yaml) bounds the
// whole API; these bound one user.

// Limiter counts events. dynamo.RateLimiter implements it.
type Limiter interface {
	// Allow counts one event of subject under scope and reports whether it
	// is within limit events per window; when it is not, retryAfter is the
	// time until the window ends. An error means the count is unknown: the
	// request is refused (fail closed).
	Allow(ctx context.Context, scope, subject string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// Limits is the abuse-limit policy: events per user per minute. Zero
// switches a limit off.
type Limits struct {
	// TestsPerMinute bounds POST /api/gateways/{id}/test per user per
	// gateway (RATE_LIMIT_TEST_PER_MINUTE).
	TestsPerMinute int
	// ActionsPerMinute bounds POST /api/gateways/{id}/actions/{action} per
	// user per gateway, all actions together (RATE_LIMIT_ACTIONS_PER_MINUTE).
	ActionsPerMinute int
	// ValidationsPerMinute bounds the live credential checks of creates and
	// of updates that replace credentials, per user across all gateways
	// (RATE_LIMIT_VALIDATIONS_PER_MINUTE).
	ValidationsPerMinute int
	// StatusChangesPerMinute bounds PATCH /api/gateways/{id}/status per
	// user per gateway, connects and disconnects together
	// (RATE_LIMIT_STATUS_PER_MINUTE): each calls the provider (Telegram:
	// getMe, setWebhook, getWebhookInfo) and writes audit events.
	StatusChangesPerMinute int
}

// DefaultLimits is the policy when nothing is configured.
var DefaultLimits = Limits{TestsPerMinute: 10, ActionsPerMinute: 30, ValidationsPerMinute: 10, StatusChangesPerMinute: 10}

// limitWindow is the window every limit counts in.
const limitWindow = time.Minute

// WithLimiter turns on the abuse limits of policy, counted by l. Without it
// (the tests' harnesses) nothing is limited.
func WithLimiter(l Limiter, policy Limits) Option {
	return func(a *API) { a.limiter, a.limits = l, policy }
}

// A limit is one of the policy's counters: its scope (part of the
// counter's key, so the limits never share a count) and how to describe it.
type limit struct {
	scope string
	what  string // "tests of this gateway", for the problem's detail
	per   func(Limits) int
}

var (
	limitTest       = limit{scope: "test", what: "tests of this gateway", per: func(l Limits) int { return l.TestsPerMinute }}
	limitAction     = limit{scope: "action", what: "actions on this gateway", per: func(l Limits) int { return l.ActionsPerMinute }}
	limitStatus     = limit{scope: "status", what: "connects and disconnects of this gateway", per: func(l Limits) int { return l.StatusChangesPerMinute }}
	limitValidation = limit{scope: "validate", what: "credential checks (creating gateways or replacing their credentials)", per: func(l Limits) int { return l.ValidationsPerMinute }}
)

// enabled reports whether lim is counted: a limiter is set and the
// policy's number for lim is positive.
func (a *API) enabled(lim limit) bool { return a.limiter != nil && lim.per(a.limits) > 0 }

// check counts one event of lim for the actor (and gatewayID, when the
// limit is per gateway). Callers call it after the gateway was found
// visible to the actor, so another tenant's gateway stays a plain 404, and
// before any provider call.
//
// Errors: CodeRateLimited with RetryAfter (>= 1 s); the limiter's errors,
// CodeUnavailable when it cannot count (fail closed).
func (a *API) check(ctx context.Context, lim limit, actor gateway.Actor, gatewayID string) error {
	if !a.enabled(lim) {
		return nil
	}
	n := lim.per(a.limits)
	// The user id comes first with its length, so that no user id and
	// gateway id pair can spell another pair's subject.
	subject := strconv.Itoa(len(actor.UserID)) + ":" + actor.UserID + "#" + gatewayID
	ok, wait, err := a.limiter.Allow(ctx, lim.scope, subject, n, limitWindow)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	return &gateway.Error{
		Code:       gateway.CodeRateLimited,
		Message:    "Too many " + lim.what + ": at most " + strconv.Itoa(n) + " a minute per user. Retry in " + plural(secs, "second") + ".",
		Op:         "httpapi.check(" + lim.scope + ")",
		RetryAfter: secs,
	}
}

// checkGateway counts one event of the per-gateway limit lim once gateway
// id is known to be visible to the actor: a missing gateway or another
// tenant's stays a plain 404 and counts nothing, so the limits tell nobody
// which ids exist. That costs one GetItem more per limited request, since
// lifecycle reads the gateway again; the count must come before lifecycle's
// provider call, and lifecycle offers no hook in between.
func (a *API) checkGateway(ctx context.Context, lim limit, actor gateway.Actor, id string) error {
	if !a.enabled(lim) {
		return nil
	}
	if _, err := a.svc.Get(ctx, actor, id); err != nil {
		return err
	}
	return a.check(ctx, lim, actor, id)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// Request bounds. API Gateway already caps a request (10 MB payload, 10 KB
// of request line and header values); these hold whatever is in front of the
// handlers (the local runner, another front end) and bound what those caps
// leave open: how many headers and query parameters, and how long each
// parameter is. Nothing this API legitimately receives comes near them.
const (
	MaxHeaderBytes      = 16 << 10 // header names and values (and cookies), together; more is 431
	MaxHeaders          = 64       // headers (cookies count as one); more is 431
	MaxQueryParams      = 16       // query parameters; more is 400
	MaxQueryParamBytes  = 1024     // each parameter's name, and each value; more is 400 naming it
	MaxActionNameBytes  = 64       // the {action} path parameter; longer is 404 unsupported_action
	maxEchoedFieldBytes = 64       // of a parameter's name, quoted back in a problem
)

// checkBounds refuses requests whose headers or query string exceed the
// bounds: 431 headers_too_large, or 400 naming the query parameter. It runs
// before anything else, authentication included: it needs nothing but the
// event, and a request this size is refused whoever sends it.
func checkBounds(ev events.APIGatewayV2HTTPRequest) error {
	n, size := len(ev.Headers), 0
	for k, v := range ev.Headers {
		size += len(k) + len(v)
	}
	// API Gateway moves Cookie headers into Cookies; they still arrived as
	// header bytes.
	if len(ev.Cookies) > 0 {
		n++
		size += len("cookie")
		for _, c := range ev.Cookies {
			size += len(c) + 2
		}
	}
	if n > MaxHeaders {
		return gateway.Errorf(gateway.CodeHeadersTooLarge, "The request has %d headers; at most %d are allowed.", n, MaxHeaders)
	}
	if size > MaxHeaderBytes {
		return gateway.Errorf(gateway.CodeHeadersTooLarge, "The request's headers are %d bytes; at most %d are allowed.", size, MaxHeaderBytes)
	}
	if len(ev.QueryStringParameters) > MaxQueryParams {
		return gateway.Errorf(gateway.CodeInvalid, "The request has %d query parameters; at most %d are allowed.", len(ev.QueryStringParameters), MaxQueryParams)
	}
	var fe []gateway.FieldError
	for k, v := range ev.QueryStringParameters {
		switch {
		case len(k) > MaxQueryParamBytes:
			fe = append(fe, gateway.FieldError{Field: paramField(k), Message: "is a query parameter name longer than " + strconv.Itoa(MaxQueryParamBytes) + " bytes"})
		case len(v) > MaxQueryParamBytes:
			fe = append(fe, gateway.FieldError{Field: paramField(k), Message: "must be at most " + strconv.Itoa(MaxQueryParamBytes) + " bytes"})
		}
	}
	if len(fe) > 0 {
		slices.SortFunc(fe, func(a, b gateway.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return gateway.Invalid(fe...)
	}
	return nil
}

// paramField names a query parameter in a problem's errors: as sent when
// that is short and printable, otherwise Go-quoted (so an empty name or a
// control character shows) and cut to maxEchoedFieldBytes with "…". The
// name is the caller's input: quoting it back whole would let a request
// choose what a problem (and a dashboard showing it) contains.
func paramField(k string) string {
	if k != "" && len(k) <= maxEchoedFieldBytes && utf8.ValidString(k) &&
		strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return k
	}
	q := strconv.QuoteToASCII(k)
	if len(q) > maxEchoedFieldBytes {
		q = q[:maxEchoedFieldBytes] + "…"
	}
	return q
}

// checkPath bounds the path parameters: an id that cannot be a gateway's is
// 404 without a read (as gateway.Service.Get answers it), an action name
// longer than any action is an unknown action. It runs after authentication,
// so an unauthenticated caller learns nothing but 401.
func checkPath(ev events.APIGatewayV2HTTPRequest) error {
	if id, ok := ev.PathParameters["id"]; ok && !gateway.ValidID(id) {
		return gateway.NotFound()
	}
	if action, ok := ev.PathParameters["action"]; ok && len(action) > MaxActionNameBytes {
		return gateway.Errorf(gateway.CodeUnsupportedAction, "Unknown action: action names are at most %d bytes.", MaxActionNameBytes)
	}
	return nil
}
