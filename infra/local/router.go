package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

// DefaultTimeout is the deadline of a handler whose route has no Timeout:
// the template's Globals.Function.Timeout.
const DefaultTimeout = 10 * time.Second

// DefaultTokenTTL is how long tokens from POST /dev/token stay valid: a
// working day, so the dashboard does not sign out mid-session.
const DefaultTokenTTL = 12 * time.Hour

// DevTokenPath is the local-only sign-in route. It is never in
// template.yaml: in AWS the identity provider issues tokens.
const DevTokenPath = "/dev/token"

// Limits of POST /dev/token, chosen to keep tokens small and to match what
// an org id looks like elsewhere.
const (
	maxSubLen    = 128
	maxOrgs      = 20
	maxTokenBody = 4 << 10
)

var orgIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Server serves the template's routes by invoking their handlers with API
// Gateway HTTP API events, playing the JWT authorizer with development
// tokens. Create it with NewServer; it is safe for concurrent use.
type Server struct {
	routes   []compiledRoute
	handlers map[string]httpapi.Handler
	key      []byte
	static   http.Handler
	logger   *slog.Logger
	tokenTTL time.Duration
}

type compiledRoute struct {
	template.Route
	segments []string
}

// Option configures a Server.
type Option func(*Server)

// WithStatic serves h for every path outside /api that no route claims,
// typically the dashboard's files.
func WithStatic(h http.Handler) Option {
	return func(s *Server) { s.static = h }
}

// WithLogger sets where the request lines, handler errors and panics go;
// the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.logger = l }
}

// WithTokenTTL sets the lifetime of tokens minted by POST /dev/token;
// the default is DefaultTokenTTL.
func WithTokenTTL(d time.Duration) Option {
	return func(s *Server) { s.tokenTTL = d }
}

// NewServer returns a Server for routes, invoking handlers[route.Function]
// and verifying bearer tokens against key. A route whose function has no
// handler answers 502, as an API whose integration is missing does; use
// Unhandled to refuse to start instead.
func NewServer(routes []template.Route, handlers map[string]httpapi.Handler, key []byte, opts ...Option) *Server {
	s := &Server{
		handlers: handlers,
		key:      key,
		logger:   slog.Default(),
		tokenTTL: DefaultTokenTTL,
	}
	for _, r := range routes {
		s.routes = append(s.routes, compiledRoute{Route: r, segments: strings.Split(r.Path, "/")})
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Unhandled returns the sorted names of functions that routes refer to but
// that have no handler.
func (s *Server) Unhandled() []string {
	var out []string
	for _, r := range s.routes {
		if _, ok := s.handlers[r.Function]; !ok && !slices.Contains(out, r.Function) {
			out = append(out, r.Function)
		}
	}
	slices.Sort(out)
	return out
}

// ServeHTTP routes r and logs one line for each request it answers itself
// (the dashboard's files, the dev sign-in, 401, 404, 405, 502, 504):
// method, route, status and milliseconds, never headers or bodies, which
// carry tokens and credentials. A request a function answered, or is
// still answering for a client that went away, is logged by the function,
// as in AWS: one line per request, not two.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	entry := s.serve(rec, r)
	if entry.byFunction {
		return
	}
	attrs := []any{"method", r.Method, "route", entry.route, "status", rec.status, "ms", time.Since(start).Milliseconds()}
	if entry.note != "" {
		attrs = append(attrs, "note", entry.note)
	}
	s.logger.Info("request", attrs...)
}

// logEntry is what serve reports for the request's log line.
type logEntry struct {
	route string
	note  string
	// byFunction: the function logs the request's line itself.
	byFunction bool
}

func (s *Server) serve(w *statusRecorder, r *http.Request) logEntry {
	if r.URL.Path == DevTokenPath {
		s.devToken(w, r)
		return logEntry{route: "POST " + DevTokenPath}
	}
	route, params, allow := s.match(r.Method, r.URL.EscapedPath())
	switch {
	case route != nil:
		return s.invoke(w, r, route, params)
	case len(allow) > 0:
		edge.NewProblem(edge.CodeMethodNotAllowed, "This path does not accept "+r.Method+".", "").
			Write(w, map[string]string{"Allow": strings.Join(allow, ", ")})
		return logEntry{route: "-"}
	case s.static != nil && !isAPIPath(r.URL.Path):
		s.static.ServeHTTP(w, r)
		return logEntry{route: "static"}
	default:
		edge.NewProblem(gateway.CodeNotFound, "No route matches this path.", "").Write(w, nil)
		return logEntry{route: "-"}
	}
}

func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }

// match finds the route for method and the escaped path. Like API Gateway,
// it prefers the most specific template (a literal segment beats a
// parameter, an exact method beats ANY). With no route for the method but
// some for the path, allow lists their methods for a 405.
func (s *Server) match(method, escapedPath string) (*compiledRoute, map[string]string, []string) {
	segs := strings.Split(escapedPath, "/")
	var best *compiledRoute
	var bestParams map[string]string
	var allow []string
	for i := range s.routes {
		cr := &s.routes[i]
		params, ok := matchPath(cr.segments, segs)
		if !ok {
			continue
		}
		if cr.Method != method && cr.Method != "ANY" {
			if !slices.Contains(allow, cr.Method) {
				allow = append(allow, cr.Method)
			}
			continue
		}
		if best == nil || moreSpecific(cr, best) {
			best, bestParams = cr, params
		}
	}
	slices.Sort(allow)
	return best, bestParams, allow
}

// matchPath matches path segments against template segments exactly: no
// prefix match and no trailing slash, and a parameter never matches an
// empty segment. Parameter values are percent-decoded.
func matchPath(tmpl, segs []string) (map[string]string, bool) {
	if len(tmpl) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, t := range tmpl {
		seg, err := url.PathUnescape(segs[i])
		if err != nil {
			return nil, false
		}
		name, isParam := paramName(t)
		switch {
		case !isParam && seg != t:
			return nil, false
		case isParam && seg == "":
			return nil, false
		case isParam:
			if params == nil {
				params = map[string]string{}
			}
			params[name] = seg
		}
	}
	return params, true
}

func paramName(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

func moreSpecific(a, b *compiledRoute) bool {
	for i := range a.segments {
		_, ap := paramName(a.segments[i])
		_, bp := paramName(b.segments[i])
		if ap != bp {
			return !ap
		}
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// invoke plays API Gateway for one matched route: authorizer, event,
// function call under the function's timeout, response.
func (s *Server) invoke(w *statusRecorder, r *http.Request, route *compiledRoute, params map[string]string) logEntry {
	entry := logEntry{route: route.Key()}
	var claims map[string]string
	if route.Auth {
		c, err := s.authenticate(r)
		if err != nil {
			edge.NewProblem(gateway.CodeUnauthenticated, "A valid bearer token is required.", "").Write(w, map[string]string{"WWW-Authenticate": "Bearer"})
			entry.note = err.Error()
			return entry
		}
		claims = c.APIGatewayClaims()
	}
	ev, err := NewRequestEvent(r, route.Route, params, claims)
	if errors.Is(err, ErrBodyTooLarge) {
		edge.NewProblem(gateway.CodeTooLarge, "The request body exceeds 10 MiB.", "").Write(w, nil)
		return entry
	}
	if err != nil {
		edge.NewProblem(gateway.CodeInvalid, "The request body could not be read.", "").Write(w, nil)
		entry.note = err.Error()
		return entry
	}
	w.Header().Set("Apigw-Requestid", ev.RequestContext.RequestID)

	h, ok := s.handlers[route.Function]
	if !ok {
		edge.NewProblem(edge.CodeBadGateway, "The function failed to answer.", ev.RequestContext.RequestID).Write(w, nil)
		entry.note = "no handler for function " + route.Function
		return entry
	}
	timeout := route.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	// The call runs on its own goroutine so that a handler ignoring its
	// context still gets its 504 on time, as Lambda would stop it. Unlike
	// Lambda, nothing can stop the goroutine: it ends when the handler
	// returns, and its result is dropped.
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panicked: true, err: edge.PanicCause(p)}
			}
		}()
		resp, err := h(ctx, ev)
		done <- result{resp: resp, err: err}
	}()

	select {
	case res := <-done:
		if res.err != nil {
			msg := "handler failed"
			if res.panicked {
				msg = "handler panicked"
			}
			s.logger.Error(msg, "function", route.Function, "route", route.Key(), "requestId", ev.RequestContext.RequestID, "err", res.err)
			// 502, as API Gateway answers for a function that failed; the
			// request id lets the user point at the log line.
			id := ev.RequestContext.RequestID
			edge.NewProblem(edge.CodeBadGateway, "The function failed to answer. Quote request id "+id+" when reporting it.", id).Write(w, nil)
			return entry
		}
		WriteResponse(w, res.resp)
		entry.byFunction = true
	case <-ctx.Done():
		if r.Context().Err() != nil {
			// The client went away: nobody reads an answer, and the
			// function, which sees its context cancelled, logs the
			// request as cancelled when it returns.
			w.status = 499
			entry.byFunction = true
			return entry
		}
		edge.NewProblem(edge.CodeGatewayTimeout, "The function did not answer within its timeout.", ev.RequestContext.RequestID).Write(w, nil)
		entry.note = "handler timed out after " + timeout.String()
	}
	return entry
}

type result struct {
	resp     events.APIGatewayV2HTTPResponse
	err      error
	panicked bool
}

// authenticate reads the bearer token as the JWT authorizer's identity
// source $request.header.Authorization does.
func (s *Server) authenticate(r *http.Request) (Claims, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Claims{}, errors.New("no Authorization header")
	}
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Claims{}, errors.New("authorization header is not a bearer token")
	}
	return Verify(s.key, token)
}

type tokenRequest struct {
	Sub  string   `json:"sub"`
	Orgs []string `json:"orgs"`
}

type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}

// devToken answers POST /dev/token with a development token for the given
// user and organisations, to pages of this runner only (devTokenRefusal).
func (s *Server) devToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		edge.NewProblem(edge.CodeMethodNotAllowed, "This path does not accept "+r.Method+".", "").Write(w, map[string]string{"Allow": http.MethodPost})
		return
	}
	if why := devTokenRefusal(r); why != "" {
		edge.NewProblem(gateway.CodeForbidden, why, "").Write(w, nil)
		return
	}
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTokenBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		edge.NewProblem(gateway.CodeInvalid, `The body must be a JSON object {"sub": "...", "orgs": ["..."]}.`, "").Write(w, nil)
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		edge.NewProblem(gateway.CodeInvalid, "The body must hold exactly one JSON object.", "").Write(w, nil)
		return
	}
	if errs := validateTokenRequest(req); len(errs) > 0 {
		p := edge.NewProblem(gateway.CodeInvalid, "The token request is invalid.", "")
		p.Errors = errs
		p.Write(w, nil)
		return
	}
	token, exp, err := mint(s.key, req.Sub, req.Orgs, time.Now(), s.tokenTTL)
	if err != nil {
		s.logger.Error("mint dev token", "err", err)
		edge.NewProblem(gateway.CodeInternal, "The token could not be issued.", "").Write(w, nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(tokenResponse{Token: token, ExpiresAt: exp.UTC().Format(time.RFC3339)})
}

func validateTokenRequest(req tokenRequest) []gateway.FieldError {
	var errs []gateway.FieldError
	switch n := utf8.RuneCountInString(req.Sub); {
	case strings.TrimSpace(req.Sub) == "":
		errs = append(errs, gateway.FieldError{Field: "sub", Message: "is required"})
	case n > maxSubLen:
		errs = append(errs, gateway.FieldError{Field: "sub", Message: fmt.Sprintf("must be at most %d characters", maxSubLen)})
	case !gateway.ValidPrincipalID(req.Sub):
		errs = append(errs, gateway.FieldError{Field: "sub", Message: "must be a user id: letters, digits and . _ @ : | + = -, starting with a letter or digit"})
	}
	if len(req.Orgs) > maxOrgs {
		errs = append(errs, gateway.FieldError{Field: "orgs", Message: fmt.Sprintf("must have at most %d items", maxOrgs)})
	}
	for i, o := range req.Orgs {
		if !orgIDPattern.MatchString(o) {
			errs = append(errs, gateway.FieldError{Field: fmt.Sprintf("orgs[%d]", i), Message: "must be 1 to 64 letters, digits, '_' or '-'"})
		}
	}
	return errs
}

// statusRecorder remembers the status for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer, which the
// static file server may use.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
