package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/route"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// Request limits.
const (
	MaxBodyBytes = 64 << 10
	DefaultLimit = 20
	MaxLimit     = 100
)

// API holds what every handler needs. Build one in main with New.
type API struct {
	life      *lifecycle.Service
	svc       *gateway.Service
	log       *slog.Logger
	orgsClaim string
	health    HealthSamples
	limiter   Limiter // nil: no abuse limits (see limits.go)
	limits    Limits
	// requestTimeout bounds a request's work (see BoundContext).
	requestTimeout time.Duration
	updates        UpdateReader    // nil: ListUpdates answers 503
	pollWaits      []time.Duration // between a long poll's reads
	routes         *route.Service  // nil: Routes answers 503
	messages       *send.Service   // nil: Messages answers 503
	paced          PacedSender     // nil: every action goes straight to Telegram
}

// Option configures an API.
type Option func(*API)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// WithOrgsClaim names the JWT claim listing the caller's organisations
// (default "orgs").
func WithOrgsClaim(name string) Option { return func(a *API) { a.orgsClaim = name } }

// WithRequestTimeout bounds each request's work (default
// edge.DefaultRequestTimeout); see edge.BoundContext.
func WithRequestTimeout(d time.Duration) Option { return func(a *API) { a.requestTimeout = d } }

// WithSettings are the options every route's function configures: the
// logger, the claim naming the caller's organisations (ORGS_CLAIM) and the
// request timeout (REQUEST_TIMEOUT; zero is the default).
func WithSettings(log *slog.Logger, orgsClaim string, requestTimeout time.Duration) Option {
	return func(a *API) {
		for _, o := range []Option{WithLogger(log), WithOrgsClaim(orgsClaim), WithRequestTimeout(requestTimeout)} {
			o(a)
		}
	}
}

// New returns the API over life (and the gateway service under it). It does
// no I/O.
func New(life *lifecycle.Service, opts ...Option) *API {
	a := &API{life: life, log: slog.Default(), orgsClaim: "orgs"}
	if life != nil {
		a.svc = life.Gateways()
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Handlers returns every route's handler by function name.
func (a *API) Handlers() map[string]Handler {
	return map[string]Handler{
		FnListGateways:  a.ListGateways,
		FnCreateGateway: a.CreateGateway,
		FnGetGateway:    a.GetGateway,
		FnUpdateGateway: a.UpdateGateway,
		FnUpdateStatus:  a.UpdateStatus,
		FnDeleteGateway: a.DeleteGateway,
		FnGatewayAudit:  a.GatewayAudit,
		FnTestGateway:   a.TestGateway,
		FnGatewayAction: a.GatewayAction,
		FnProviders:     a.Providers,
		FnHealthHistory: a.HealthHistory,
		FnListUpdates:   a.ListUpdates,
		FnRoutes:        a.Routes,
		FnMessages:      a.Messages,
	}
}

// request is one decoded API Gateway event with the caller's identity.
type request struct {
	ev    events.APIGatewayV2HTTPRequest
	actor gateway.Actor
}

// response is what a route returns on success.
type response struct {
	status  int
	body    any // marshalled as JSON; nil for no body
	headers map[string]string
}

// serve runs fn with the caller's identity, turning every error (and any
// panic) into problem+json, and logs one line per request without bodies,
// tokens or credentials.
func (a *API) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest, fn func(context.Context, *request) (response, error)) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	reqID := ev.RequestContext.RequestID
	caller := ctx
	ctx, cancel := edge.BoundContext(ctx, a.requestTimeout)
	defer cancel()
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = gateway.Internal("panic", edge.PanicCause(p))
			resp = edge.ErrorResponse(err, reqID, nil)
		}
		a.logRequest(ev, resp.StatusCode, err, time.Since(start), errors.Is(caller.Err(), context.Canceled))
	}()
	if err = checkBounds(ev); err != nil {
		return edge.ErrorResponse(err, reqID, nil), nil
	}
	r := &request{ev: ev}
	if r.actor, err = a.identify(ev); err != nil {
		return edge.ErrorResponse(err, reqID, map[string]string{"WWW-Authenticate": "Bearer"}), nil
	}
	out, err := response{}, checkPath(ev)
	if err == nil {
		out, err = fn(ctx, r)
	}
	if err != nil {
		return edge.ErrorResponse(err, reqID, nil), nil
	}
	return encode(out), nil
}

func encode(out response) events.APIGatewayV2HTTPResponse {
	h := map[string]string{"Cache-Control": "no-store"}
	for k, v := range out.headers {
		h[k] = v
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: out.status, Headers: h}
	if out.body != nil {
		b, err := json.Marshal(out.body)
		if err != nil {
			return edge.ErrorResponse(gateway.Internal("encode", err), "", nil)
		}
		h["Content-Type"] = "application/json"
		resp.Body = string(b)
	}
	return resp
}

// statusClientClosed is nginx's status for a request whose client closed
// the connection before the answer; it appears only in log lines.
const statusClientClosed = 499

// logRequest writes the request's one line. A request whose caller went
// away (cancelled) is not a server failure, whatever the cancellation did
// to the answer nobody reads: it is logged as cancelled, with nginx's 499.
func (a *API) logRequest(ev events.APIGatewayV2HTTPRequest, status int, err error, d time.Duration, cancelled bool) {
	if cancelled {
		status = statusClientClosed
	}
	attrs := []any{
		"requestId", ev.RequestContext.RequestID,
		"route", ev.RouteKey,
		"status", status,
		"ms", d.Milliseconds(),
	}
	if id := ev.PathParameters["id"]; id != "" {
		attrs = append(attrs, "gatewayId", truncate(id, 64))
	}
	switch {
	case cancelled:
		a.log.Info("request cancelled", attrs...)
	case status >= 500:
		// Internal causes are logged here and nowhere else; they never
		// include credentials (the service never puts them in errors).
		a.log.Error("request failed", append(attrs, "error", err)...)
	case err != nil:
		a.log.Info("request refused", append(attrs, "code", gateway.ErrorCode(err))...)
	default:
		a.log.Info("request", attrs...)
	}
}

// identify reads the caller from the JWT claims the authorizer verified.
// The user is sub and an organisation the X-Organization-Id header, both
// principal ids (gateway.PrincipalIDPattern); the organisation must be
// one the orgs claim lists (ParseOrgsClaim). The claim is read only when
// an organisation is selected: without one it grants nothing, and a
// token's other claims are none of Gatehouse's business.
//
// Errors: CodeUnauthenticated (401) without a sub or with one that is not
// a principal id; CodeInvalid (400, field X-Organization-Id) for a header
// that is not an organisation id; CodeForbidden (403) for an orgs claim
// that cannot be read unambiguously, or that does not list the
// organisation.
func (a *API) identify(ev events.APIGatewayV2HTTPRequest) (gateway.Actor, error) {
	var claims map[string]string
	if ev.RequestContext.Authorizer != nil && ev.RequestContext.Authorizer.JWT != nil {
		claims = ev.RequestContext.Authorizer.JWT.Claims
	}
	sub := claims["sub"]
	if sub == "" {
		return gateway.Actor{}, gateway.Errorf(gateway.CodeUnauthenticated, "A valid bearer token is required.")
	}
	if !gateway.ValidPrincipalID(sub) {
		return gateway.Actor{}, gateway.Errorf(gateway.CodeUnauthenticated, "The token's subject (sub) is not a valid user id.")
	}
	actor := gateway.Actor{
		UserID:    sub,
		SourceIP:  ev.RequestContext.HTTP.SourceIP,
		UserAgent: truncate(ev.RequestContext.HTTP.UserAgent, 256),
		RequestID: ev.RequestContext.RequestID,
	}
	if org := strings.TrimSpace(edge.Header(&ev, "x-organization-id")); org != "" {
		if !gateway.ValidPrincipalID(org) {
			return gateway.Actor{}, gateway.Invalid(gateway.FieldError{Field: "X-Organization-Id", Message: "must be an organization id: 1 to 255 letters, digits and . _ @ : | + = -, starting with a letter or digit"})
		}
		orgs, err := ParseOrgsClaim(claims[a.orgsClaim], a.orgsClaim, sub, edge.Header(&ev, "authorization"))
		if err != nil {
			return gateway.Actor{}, err
		}
		if !slices.Contains(orgs, org) {
			return gateway.Actor{}, gateway.Errorf(gateway.CodeForbidden, "You are not a member of organization %q.", org)
		}
		actor.OrganizationID = org
	}
	return actor, nil
}

// ParseOrgsClaim reads the organisations claim as the authorizer passed
// it, refusing every form in which one list could be read as another:
//
//   - "" is no organisation;
//   - a single organisation id, "acme", is that one;
//   - a JSON array of strings, `["acme","beta"]` (a claim whose value is a
//     string holding one), is its elements;
//   - API Gateway's rendering of an array claim, "[acme beta]", is read
//     from the token itself: the authorizer flattens ["acme","beta"],
//     ["acme beta"] and the string "[acme beta]" alike, so the list is
//     the named claim of the bearer token the authorizer verified (the
//     Authorization header, "Bearer " optional), which must be an array
//     of strings whose flattening is the claim, in a token whose sub is
//     sub.
//
// Every element must be a principal id (gateway.ValidPrincipalID): an
// invalid one refuses the whole claim rather than being dropped, so
// "acme corp" or "acme,corp" never makes anyone a member of "acme".
//
// Errors: CodeForbidden, naming the claim and never its value.
func ParseOrgsClaim(claim, name, sub, authorization string) ([]string, error) {
	refuse := gateway.Errorf(gateway.CodeForbidden, "The token's %q claim is not a list of valid organization ids, so no organization can be selected.", truncate(name, 64))
	v := strings.TrimSpace(claim)
	var list []string
	switch {
	case v == "":
		return nil, nil
	case !strings.HasPrefix(v, "["):
		list = []string{v}
	case json.Unmarshal([]byte(v), &list) == nil:
	default:
		var ok bool
		if list, ok = tokenList(authorization, name, sub); !ok || !slices.Equal(list, strings.Fields(strings.TrimSuffix(v[1:], "]"))) || !strings.HasSuffix(v, "]") {
			return nil, refuse
		}
	}
	for _, o := range list {
		if !gateway.ValidPrincipalID(o) {
			return nil, refuse
		}
	}
	return list, nil
}

// tokenList reads claim name of the bearer token in authorization as an
// array of strings, when the token's sub is sub. It checks no signature:
// the authorizer verified this very header before the function ran, and
// the claims it passed on must agree with it (sub here, the flattened list
// in ParseOrgsClaim).
func tokenList(authorization, name, sub string) ([]string, bool) {
	tok := strings.TrimSpace(authorization)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims map[string]json.RawMessage
	var tokSub string
	var list []string
	if json.Unmarshal(payload, &claims) != nil || json.Unmarshal(claims["sub"], &tokSub) != nil || tokSub != sub ||
		json.Unmarshal(claims[name], &list) != nil || list == nil {
		return nil, false
	}
	return list, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// jsonBody returns the request body after checking its media type and size.
func (r *request) jsonBody() ([]byte, error) { return edge.JSONBody(&r.ev, MaxBodyBytes) }

// ifMatch parses the If-Match header: a version as ETag ("3", W/"3" or 3).
func (r *request) ifMatch() (*int64, error) {
	v := strings.TrimSpace(edge.Header(&r.ev, "if-match"))
	if v == "" {
		return nil, nil
	}
	if v == "*" {
		return nil, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return nil, gateway.Invalid(gateway.FieldError{Field: "If-Match", Message: "must be an ETag returned by this API"})
	}
	return &n, nil
}

// idempotencyKey returns the request's Idempotency-Key ("" without one).
// Errors: CodeInvalid when the header is there but not a valid key.
func (r *request) idempotencyKey() (string, error) {
	key := edge.Header(&r.ev, "idempotency-key")
	if edge.HasHeader(&r.ev, "idempotency-key") && !validIdempotencyKey(key) {
		return "", gateway.Invalid(gateway.FieldError{Field: "Idempotency-Key", Message: "must be 1 to 255 visible ASCII characters"})
	}
	return key, nil
}

// validIdempotencyKey reports whether k is 1 to 255 visible ASCII
// characters. (A regular expression with a counted repetition this long
// compiles to a program of hundreds of instructions at every cold start.)
func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }
