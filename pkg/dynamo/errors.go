package dynamo

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// msgUnavailable is the user-safe message of CodeUnavailable.
const msgUnavailable = "The data store is unavailable; retry."

// retryAfterSeconds is the Retry-After every CodeUnavailable error of the
// store carries. By the time an error reaches the store the SDK has already
// retried with backoff, so an immediate retry by the client would most
// likely fail again; two seconds spaces the clients out without making a
// user wait long for a throttle or a restarting endpoint that has passed.
const retryAfterSeconds = 2

// Cancellation reason codes of TransactWriteItems.
const (
	reasonConditionFailed = "ConditionalCheckFailed"
	reasonConflict        = "TransactionConflict"
)

// storeError turns an SDK error into a *gateway.Error: CodeUnavailable when
// retrying later may succeed (throttling, DynamoDB's own 500s, an endpoint
// that cannot be reached, an answer cut short, a deadline), CodeInternal
// otherwise. The cause is
// kept for the log; the message is generic, so no item content reaches users.
func storeError(op string, err error) error {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return err
	}
	if transient(err) {
		return unavailable(op, err)
	}
	return gateway.Internal(op, err)
}

// unavailable is the CodeUnavailable error of op, with retryAfterSeconds so
// that every 503 tells the client when to come back.
func unavailable(op string, err error) *gateway.Error {
	return &gateway.Error{Code: gateway.CodeUnavailable, Message: msgUnavailable, Op: op, Err: err, RetryAfter: retryAfterSeconds}
}

// transient reports whether err is worth a retry by the caller. The SDK has
// already retried these with backoff by the time they reach the store.
func transient(err error) bool {
	// An answer cut short (the endpoint went away while sending it) is
	// as transient as one never received.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
			"TransactionConflictException":
			return true
		}
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// reasonCode returns the cancellation code of the i-th write, "" when absent.
func reasonCode(reasons []types.CancellationReason, i int) string {
	if i < len(reasons) {
		return aws.ToString(reasons[i].Code)
	}
	return ""
}

// hasReason reports whether any write of a cancelled transaction failed with code.
func hasReason(reasons []types.CancellationReason, code string) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}

// cancelError maps a cancelled transaction whose condition failures the
// caller has already handled: a conflict with another transaction is
// CodeConflict (the caller re-reads and retries), capacity trouble is
// CodeUnavailable, anything else internal.
func cancelError(op string, reasons []types.CancellationReason, err error) error {
	switch {
	case hasReason(reasons, reasonConflict):
		return &gateway.Error{Code: gateway.CodeConflict, Message: "The gateway is being changed by another request; retry.", Op: op, Err: err}
	case hasReason(reasons, "ThrottlingError"), hasReason(reasons, "ProvisionedThroughputExceeded"):
		return unavailable(op, err)
	default:
		return gateway.Internal(op, err)
	}
}
