package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

// Outcome is the class of a call's result. Only OutcomeInvalidCredentials
// refuses a create or update; the others are reported, not fatal.
type Outcome string

// The outcome classes.
const (
	OutcomeOK                 Outcome = "ok"
	OutcomeInvalidCredentials Outcome = "invalid_credentials" // 401/403; Telegram 401/404
	OutcomeRateLimited        Outcome = "rate_limited"        // 429, with retry-after when given
	OutcomeUnreachable        Outcome = "unreachable"         // timeout, DNS, connection, SSRF refusal, 5xx
	OutcomeProviderError      Outcome = "provider_error"      // anything else
)

// Classifier is implemented by errors that know their outcome class. Every
// error type of this package and of the provider packages implements it.
type Classifier interface {
	Outcome() Outcome
}

// Classify returns the outcome class of err: OutcomeOK for nil, the class
// of the first Classifier in err's chain, OutcomeUnreachable for SSRF
// refusals, context and network errors, and OutcomeProviderError otherwise.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var c Classifier
	if errors.As(err, &c) {
		return c.Outcome()
	}
	var blocked *ssrf.BlockedError
	var netErr net.Error
	switch {
	case errors.As(err, &blocked),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled),
		errors.As(err, &netErr):
		return OutcomeUnreachable
	}
	return OutcomeProviderError
}

// Message returns a message about err that is safe to show the gateway's
// owner: the text of the first Classifier or *gateway.Error in its chain,
// or a generic sentence for anything else (whose text may hold internals).
func Message(err error) string {
	if err == nil {
		return ""
	}
	var c Classifier
	if errors.As(err, &c) {
		if e, ok := c.(error); ok {
			return e.Error()
		}
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return ge.Message
	}
	var blocked *ssrf.BlockedError
	if errors.As(err, &blocked) {
		return blocked.Error()
	}
	return "The provider call failed unexpectedly."
}

// RetryAfter returns the wait the remote system asked for in err's chain,
// or 0.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryDelay() time.Duration }
	if errors.As(err, &r) {
		return r.RetryDelay()
	}
	return 0
}

// NotConnectedError says that an action that needs a connected gateway was
// asked of one that is not. The service returns it (CheckAction); providers
// do not know a gateway's status.
type NotConnectedError struct {
	GatewayID string
	Action    string
	Status    gateway.Status
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *NotConnectedError) Error() string {
	return fmt.Sprintf("the gateway is %s; connect it before running %q", e.Status, e.Action)
}

// Outcome is OutcomeProviderError: nothing was called.
func (e *NotConnectedError) Outcome() Outcome { return OutcomeProviderError }

// UnsupportedActionError reports an action the provider does not have.
type UnsupportedActionError struct {
	Type   gateway.Type
	Action string
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *UnsupportedActionError) Error() string {
	return fmt.Sprintf("%s gateways have no action %q", e.Type, e.Action)
}

// Outcome is OutcomeProviderError: nothing was called.
func (e *UnsupportedActionError) Outcome() Outcome { return OutcomeProviderError }

// InvalidCredentialsError reports credentials of the wrong shape or rejected
// by the remote system. Field names the credential at fault
// ("credentials.botToken") when known; Err is the remote rejection or the
// format check's error.
type InvalidCredentialsError struct {
	Field   string
	Message string
	Err     error
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *InvalidCredentialsError) Error() string { return "invalid credentials: " + e.Message }

// Unwrap returns the cause.
func (e *InvalidCredentialsError) Unwrap() error { return e.Err }

// Outcome is OutcomeInvalidCredentials.
func (e *InvalidCredentialsError) Outcome() Outcome { return OutcomeInvalidCredentials }

// InvalidParamsError reports action parameters or config values that do not
// match their description. Field paths are "params.<name>" or
// "config.<name>".
type InvalidParamsError struct {
	Action string
	Fields []gateway.FieldError
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *InvalidParamsError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	what := "invalid parameters"
	if e.Action != "" {
		what += " for " + e.Action
	}
	return what + ": " + strings.Join(parts, "; ")
}

// Outcome is OutcomeProviderError: nothing was called.
func (e *InvalidParamsError) Outcome() Outcome { return OutcomeProviderError }

// UnreachableError reports a call that got no HTTP response: a timeout, a
// DNS failure, a refused or failed connection, a destination refused by the
// SSRF guard, or too many redirects. Its message names the host, never the
// URL (a Telegram URL holds the bot token).
type UnreachableError struct {
	Host   string
	Reason string
	Err    error
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *UnreachableError) Error() string {
	var blocked *ssrf.BlockedError
	if errors.As(e.Err, &blocked) || e.Host == "" {
		return e.Reason
	}
	return "could not reach " + e.Host + ": " + e.Reason
}

// Unwrap returns the cause, stripped of the request URL.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Outcome is OutcomeUnreachable.
func (e *UnreachableError) Outcome() Outcome { return OutcomeUnreachable }

// statusReporter is implemented by errors that carry the provider's HTTP
// status (the Bot API's error_code, an AI vendor's or a webhook endpoint's
// answer).
type statusReporter interface {
	HTTPStatus() int
}

// RefusedRequest reports whether err is the provider refusing the request
// itself with a 4xx other than an authentication or rate-limit answer: a
// chat that does not exist, an unknown model, a payload the endpoint
// rejects. Such a refusal is about the caller's parameters, not a fault of
// the provider or of Gatehouse.
func RefusedRequest(err error) bool {
	var s statusReporter
	if !errors.As(err, &s) || Classify(err) != OutcomeProviderError {
		return false
	}
	st := s.HTTPStatus()
	return st >= 400 && st < 500
}

// ResponseError reports a response the provider could not understand (not
// JSON, a missing field, an unconfirmed webhook).
type ResponseError struct {
	Provider string
	Reason   string
	Err      error
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *ResponseError) Error() string {
	return e.Provider + " returned an unexpected response: " + e.Reason
}

// Unwrap returns the cause.
func (e *ResponseError) Unwrap() error { return e.Err }

// Outcome is OutcomeProviderError.
func (e *ResponseError) Outcome() Outcome { return OutcomeProviderError }

// Redact replaces every occurrence of each non-empty secret in s, so that a
// remote system echoing a key back cannot put it in an error message.
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}
