package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
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
}

// Option configures an API.
type Option func(*API)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.log = l } }

// WithOrgsClaim names the JWT claim listing the caller's organisations
// (default "orgs").
func WithOrgsClaim(name string) Option { return func(a *API) { a.orgsClaim = name } }

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
	ctx, cancel := BoundContext(ctx, a.requestTimeout)
	defer cancel()
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = gateway.Internal("panic", panicCause(r))
			resp = problemResponse(problemFor(err, reqID), nil)
		}
		a.logRequest(ev, resp.StatusCode, err, time.Since(start))
	}()
	if err = checkBounds(ev); err != nil {
		return problemResponse(problemFor(err, reqID), nil), nil
	}
	r := &request{ev: ev}
	if r.actor, err = a.identify(ev); err != nil {
		return problemResponse(problemFor(err, reqID), map[string]string{"WWW-Authenticate": "Bearer"}), nil
	}
	out, err := response{}, checkPath(ev)
	if err == nil {
		out, err = fn(ctx, r)
	}
	if err != nil {
		var extra map[string]string
		var e *gateway.Error
		if errors.As(err, &e) && e.RetryAfter > 0 {
			extra = map[string]string{"Retry-After": strconv.Itoa(e.RetryAfter)}
		}
		return problemResponse(problemFor(err, reqID), extra), nil
	}
	return encode(out), nil
}

// panicCause describes a recovered panic for the log: its type and the
// stack, never the value's text, which may quote a secret (a handler that
// panics with a token in its message). A runtime error's text is the
// runtime's own and says what went wrong, so it is kept.
func panicCause(r any) error {
	what := fmt.Sprintf("panic of type %T", r)
	if re, ok := r.(runtime.Error); ok {
		what = "panic: " + re.Error()
	}
	return fmt.Errorf("%s\n%s", what, debug.Stack())
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
			return problemResponse(problemFor(gateway.Internal("encode", err), ""), nil)
		}
		h["Content-Type"] = "application/json"
		resp.Body = string(b)
	}
	return resp
}

func (a *API) logRequest(ev events.APIGatewayV2HTTPRequest, status int, err error, d time.Duration) {
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
func (a *API) identify(ev events.APIGatewayV2HTTPRequest) (gateway.Actor, error) {
	var claims map[string]string
	if ev.RequestContext.Authorizer != nil && ev.RequestContext.Authorizer.JWT != nil {
		claims = ev.RequestContext.Authorizer.JWT.Claims
	}
	sub := claims["sub"]
	if sub == "" {
		return gateway.Actor{}, gateway.Errorf(gateway.CodeUnauthenticated, "A valid bearer token is required.")
	}
	actor := gateway.Actor{
		UserID:    sub,
		SourceIP:  ev.RequestContext.HTTP.SourceIP,
		UserAgent: truncate(ev.RequestContext.HTTP.UserAgent, 256),
		RequestID: ev.RequestContext.RequestID,
	}
	if org := strings.TrimSpace(header(ev, "x-organization-id")); org != "" {
		member := false
		for _, o := range ParseClaimList(claims[a.orgsClaim]) {
			member = member || o == org
		}
		if !member {
			return gateway.Actor{}, gateway.Errorf(gateway.CodeForbidden, "You are not a member of organization %q.", truncate(org, 64))
		}
		actor.OrganizationID = org
	}
	return actor, nil
}

// ParseClaimList reads a list claim as API Gateway passes it: flattened to
// "[a b]", or as a JSON array, or comma-separated.
func ParseClaimList(v string) []string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") {
		var list []string
		if json.Unmarshal([]byte(v), &list) == nil {
			return list
		}
		v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
		return strings.Fields(v)
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

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

// hasHeader reports whether the request has the header at all, in any case:
// API Gateway lower-cases names, other callers of the handlers may not.
func hasHeader(ev events.APIGatewayV2HTTPRequest, name string) bool {
	for k := range ev.Headers {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// jsonBody returns the request body after checking its media type and size.
func (r *request) jsonBody() ([]byte, error) {
	body := []byte(r.ev.Body)
	if r.ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.ev.Body); err != nil {
			return nil, gateway.Errorf(gateway.CodeInvalid, "The request body could not be decoded.")
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, gateway.Errorf(gateway.CodeTooLarge, "The request body must be at most %d bytes.", MaxBodyBytes)
	}
	ct := header(r.ev, "content-type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, gateway.Errorf(gateway.CodeUnsupportedMedia, "The request body must be application/json.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, gateway.Errorf(gateway.CodeUnsupportedMedia, "The request body must be UTF-8 encoded.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, gateway.Errorf(gateway.CodeInvalid, "A JSON request body is required.")
	}
	return body, nil
}

// ifMatch parses the If-Match header: a version as ETag ("3", W/"3" or 3).
func (r *request) ifMatch() (*int64, error) {
	v := strings.TrimSpace(header(r.ev, "if-match"))
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

var idemKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func asError(err error, target **gateway.Error) bool { return errors.As(err, target) }
