package httpapi

import (
	"encoding/json"
	"net/http"

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

// statusOf maps an error code to its HTTP status and title. This is the one
// place where domain errors become HTTP.
func statusOf(code string) (int, string) {
	switch code {
	case gateway.CodeInvalid:
		return http.StatusBadRequest, "Invalid request"
	case gateway.CodeUnauthenticated:
		return http.StatusUnauthorized, "Unauthorized"
	case gateway.CodeForbidden:
		return http.StatusForbidden, "Forbidden"
	case gateway.CodeNotFound:
		return http.StatusNotFound, "Not found"
	case gateway.CodeConflict:
		return http.StatusConflict, "Conflict"
	case gateway.CodeCredentialsUnreadable:
		return http.StatusConflict, "Credentials unreadable"
	case gateway.CodeVersionMismatch:
		return http.StatusPreconditionFailed, "Precondition failed"
	case gateway.CodeIdempotencyConflict:
		return http.StatusUnprocessableEntity, "Idempotency key reused"
	case gateway.CodeTooLarge:
		return http.StatusRequestEntityTooLarge, "Request too large"
	case gateway.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType, "Unsupported media type"
	case gateway.CodeUnavailable:
		return http.StatusServiceUnavailable, "Service unavailable"
	case gateway.CodeUnsupportedAction:
		return http.StatusNotFound, "Unknown action"
	case gateway.CodeNotConnected:
		return http.StatusConflict, "Gateway not connected"
	case gateway.CodeUpstreamRejected:
		return http.StatusUnprocessableEntity, "Credentials rejected by the provider"
	case gateway.CodeUpstreamRateLimited:
		return http.StatusTooManyRequests, "Rate limited by the provider"
	case gateway.CodeUpstreamUnreachable:
		return http.StatusBadGateway, "Provider unreachable"
	case gateway.CodeUpstreamRefused:
		return http.StatusUnprocessableEntity, "Request refused by the provider"
	case gateway.CodeUpstreamError:
		return http.StatusBadGateway, "Provider error"
	case gateway.CodeRateLimited:
		return http.StatusTooManyRequests, "Too many requests"
	case gateway.CodeHeadersTooLarge:
		return http.StatusRequestHeaderFieldsTooLarge, "Request header fields too large"
	default:
		return http.StatusInternalServerError, "Internal error"
	}
}

// problemFor builds the problem for err. Internal errors carry a generic
// detail; their cause is for the log only.
func problemFor(err error, requestID string) Problem {
	code := gateway.ErrorCode(err)
	status, title := statusOf(code)
	p := Problem{Type: ProblemTypeBase + code, Title: title, Status: status, Detail: gateway.ErrorMessage(err), Instance: requestID}
	if status == http.StatusInternalServerError {
		p.Type = ProblemTypeBase + gateway.CodeInternal
		p.Detail = "An internal error occurred. Quote request id " + requestID + " when reporting it."
	}
	var e *gateway.Error
	if asError(err, &e) {
		p.Errors = e.Fields
	}
	return p
}

func problemResponse(p Problem, extra map[string]string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(p)
	h := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}
	for k, v := range extra {
		h[k] = v
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: h, Body: string(body)}
}
