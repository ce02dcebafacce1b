package gateway

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in pkg/httpapi.
const (
	CodeInvalid               = "invalid"                // 400: the request is malformed or fails validation
	CodeUnauthenticated       = "unauthenticated"        // 401
	CodeForbidden             = "forbidden"              // 403: e.g. an organisation the caller is not in
	CodeNotFound              = "not_found"              // 404: missing, or another tenant's
	CodeConflict              = "conflict"               // 409: the resource is not in a state that allows this
	CodeVersionMismatch       = "version_mismatch"       // 412: If-Match names another version
	CodeIdempotencyConflict   = "idempotency_conflict"   // 422: key reused with another body
	CodeUnprocessable         = "unprocessable"          // 422: well-formed, but what it names or combines cannot be acted on (Fields say which)
	CodeCredentialsUnreadable = "credentials_unreadable" // 409: stored credentials do not decrypt for this gateway
	CodeTooLarge              = "too_large"              // 413
	CodeUnsupportedMedia      = "unsupported_media_type" // 415
	CodeUnavailable           = "unavailable"            // 503: a dependency is down; retry
	CodeUnsupportedAction     = "unsupported_action"     // 404: the gateway's provider has no such action
	CodeNotConnected          = "not_connected"          // 409: the action needs a connected gateway
	CodeUpstreamRejected      = "upstream_rejected"      // 422: the provider refused the gateway's credentials
	CodeUpstreamRateLimited   = "upstream_rate_limited"  // 429: the provider asked us to slow down
	CodeUpstreamUnreachable   = "upstream_unreachable"   // 502: the provider could not be reached (timeout, DNS, refused, 5xx)
	CodeUpstreamError         = "upstream_error"         // 502: the provider answered with an error
	CodeUpstreamRefused       = "upstream_refused"       // 422: the provider refused the action's request (a 4xx about its parameters)
	CodeRateLimited           = "rate_limited"           // 429: the caller exceeded one of Gatehouse's abuse limits; RetryAfter says when to retry
	CodeHeadersTooLarge       = "headers_too_large"      // 431: too many request headers, or too many header bytes
	CodeQuotaExceeded         = "quota_exceeded"         // 409: the owner has as many gateways as the gateway quota allows
	CodeInternal              = "internal"               // 500
)

// FieldError names one invalid field of a request. Field is a dotted path
// such as "credentials.botToken".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is Gatehouse's one error type: a code, a message that is safe to show
// a user, optional field errors, and the wrapped internal cause (never shown).
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Op is the operation that failed, for logs.
	Op  string
	Err error
	// RetryAfter is the wait, in seconds, a client should observe (429, 503).
	RetryAfter int
}

func (e *Error) Error() string {
	// A cause that is an *Error of the same code and message says them
	// already: a log line says them once, after the ops that led there.
	var inner *Error
	if errors.As(e.Err, &inner) && inner.Code == e.Code && inner.Message == e.Message {
		if e.Op == "" {
			return e.Err.Error()
		}
		return e.Op + ": " + e.Err.Error()
	}
	s := e.Code + ": " + e.Message
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a CodeInvalid error carrying field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: CodeInvalid, Message: "The request is invalid.", Fields: fields}
}

// Unprocessable returns a CodeUnprocessable error carrying field errors: the
// request is well-formed, but a field names something that cannot be used
// (a route target that is not one of the caller's WEBHOOK gateways) or the
// fields given do not go together.
func Unprocessable(fields ...FieldError) *Error {
	return &Error{Code: CodeUnprocessable, Message: "The request cannot be processed as it stands.", Fields: fields}
}

// Internal wraps an unexpected error; its text is logged, never shown.
func Internal(op string, err error) *Error {
	return &Error{Code: CodeInternal, Message: "An internal error occurred.", Op: op, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// IsCode reports whether err carries code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }

var errNotFound = &Error{Code: CodeNotFound, Message: "Gateway not found."}

// NotFound returns the error for a gateway that does not exist or that the
// caller may not see; the two are indistinguishable on purpose.
func NotFound() *Error { e := *errNotFound; return &e }
