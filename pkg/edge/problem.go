package edge

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string               `json:"type"`
	Title    string               `json:"title"`
	Status   int                  `json:"status"`
	Detail   string               `json:"detail,omitempty"`
	Instance string               `json:"instance,omitempty"`
	Errors   []gateway.FieldError `json:"errors,omitempty"`
}

// ProblemTypeBase prefixes every problem type URI.
const ProblemTypeBase = "https://gatehouse.dev/problems/"

// Codes of the edge itself, beside the domain's gateway.Code* values: what
// a router or API Gateway answers rather than a handler.
const (
	CodeMethodNotAllowed = "method_not_allowed" // 405: the path exists, the method does not
	CodeBadGateway       = "bad_gateway"        // 502: the function failed or answered nonsense
	CodeGatewayTimeout   = "gateway_timeout"    // 504: the function did not answer in time
)

// statuses is the one table that turns an error code into an HTTP status
// and a title. A code missing here is an internal error.
var statuses = map[string]struct {
	status int
	title  string
}{
	gateway.CodeInvalid:               {http.StatusBadRequest, "Invalid request"},
	gateway.CodeUnauthenticated:       {http.StatusUnauthorized, "Unauthorized"},
	gateway.CodeForbidden:             {http.StatusForbidden, "Forbidden"},
	gateway.CodeNotFound:              {http.StatusNotFound, "Not found"},
	gateway.CodeConflict:              {http.StatusConflict, "Conflict"},
	gateway.CodeCredentialsUnreadable: {http.StatusConflict, "Credentials unreadable"},
	gateway.CodeVersionMismatch:       {http.StatusPreconditionFailed, "Precondition failed"},
	gateway.CodeIdempotencyConflict:   {http.StatusUnprocessableEntity, "Idempotency key reused"},
	gateway.CodeUnprocessable:         {http.StatusUnprocessableEntity, "Unprocessable request"},
	gateway.CodeTooLarge:              {http.StatusRequestEntityTooLarge, "Request too large"},
	gateway.CodeUnsupportedMedia:      {http.StatusUnsupportedMediaType, "Unsupported media type"},
	gateway.CodeUnavailable:           {http.StatusServiceUnavailable, "Service unavailable"},
	gateway.CodeUnsupportedAction:     {http.StatusNotFound, "Unknown action"},
	gateway.CodeNotConnected:          {http.StatusConflict, "Gateway not connected"},
	gateway.CodeUpstreamRejected:      {http.StatusUnprocessableEntity, "Credentials rejected by the provider"},
	gateway.CodeUpstreamRateLimited:   {http.StatusTooManyRequests, "Rate limited by the provider"},
	gateway.CodeUpstreamUnreachable:   {http.StatusBadGateway, "Provider unreachable"},
	gateway.CodeUpstreamRefused:       {http.StatusUnprocessableEntity, "Request refused by the provider"},
	gateway.CodeUpstreamError:         {http.StatusBadGateway, "Provider error"},
	gateway.CodeRateLimited:           {http.StatusTooManyRequests, "Too many requests"},
	gateway.CodeHeadersTooLarge:       {http.StatusRequestHeaderFieldsTooLarge, "Request header fields too large"},
	gateway.CodeQuotaExceeded:         {http.StatusConflict, "Gateway quota exceeded"},
	CodeMethodNotAllowed:              {http.StatusMethodNotAllowed, "Method not allowed"},
	CodeBadGateway:                    {http.StatusBadGateway, "Bad gateway"},
	CodeGatewayTimeout:                {http.StatusGatewayTimeout, "Gateway timeout"},
}

// Status returns the HTTP status and title of an error code: 500 "Internal
// error" for gateway.CodeInternal and any code the table lacks.
func Status(code string) (int, string) {
	if s, ok := statuses[code]; ok {
		return s.status, s.title
	}
	return http.StatusInternalServerError, "Internal error"
}

// ProblemFor builds the problem for err. An internal error (a 500) carries
// a generic detail naming the request id; its cause is for the log only.
// Field errors of a *gateway.Error are kept.
func ProblemFor(err error, requestID string) Problem {
	status, title := Status(gateway.ErrorCode(err))
	p := Problem{Type: ProblemTypeBase + gateway.ErrorCode(err), Title: title, Status: status, Detail: gateway.ErrorMessage(err), Instance: requestID}
	if status == http.StatusInternalServerError {
		p.Type = ProblemTypeBase + gateway.CodeInternal
		p.Detail = "An internal error occurred. Quote request id " + requestID + " when reporting it."
	}
	var e *gateway.Error
	if errors.As(err, &e) {
		p.Errors = e.Fields
	}
	return p
}

// NewProblem is the problem of code with a fixed detail, for answers that
// are not a domain error (a router's 405, a function that timed out).
func NewProblem(code, detail, requestID string) Problem {
	status, title := Status(code)
	return Problem{Type: ProblemTypeBase + code, Title: title, Status: status, Detail: detail, Instance: requestID}
}

// Headers are the headers of every problem answer.
func problemHeaders(extra map[string]string) map[string]string {
	h := make(map[string]string, 2+len(extra))
	h["Content-Type"] = "application/problem+json"
	h["Cache-Control"] = "no-store"
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// Response is p as an API Gateway response, with extra headers.
func (p Problem) Response(extra map[string]string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(p) // strings, ints and field errors: cannot fail
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: problemHeaders(extra), Body: string(body)}
}

// Write writes p to w, with extra headers; for the local runner, which
// answers some requests itself, as API Gateway does.
func (p Problem) Write(w http.ResponseWriter, extra map[string]string) {
	body, _ := json.Marshal(p)
	for k, v := range problemHeaders(extra) {
		w.Header().Set(k, v)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// ErrorResponse is the answer for err: its problem and, when err is a
// *gateway.Error asking for a wait, its Retry-After header.
func ErrorResponse(err error, requestID string, extra map[string]string) events.APIGatewayV2HTTPResponse {
	var e *gateway.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		h := map[string]string{"Retry-After": strconv.Itoa(e.RetryAfter)}
		for k, v := range extra {
			h[k] = v
		}
		extra = h
	}
	return ProblemFor(err, requestID).Response(extra)
}
