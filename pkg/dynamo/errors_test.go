package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// fakeAPI answers every call with err, or, for transactions, with the
// results of tx in turn.
type fakeAPI struct {
	err   error
	tx    []error
	calls atomic.Int32
}

func (f *fakeAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, f.err
}

func (f *fakeAPI) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, f.err
}

func (f *fakeAPI) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	i := int(f.calls.Add(1)) - 1
	if i < len(f.tx) {
		if f.tx[i] != nil {
			return nil, f.tx[i]
		}
		return &dynamodb.TransactWriteItemsOutput{}, nil
	}
	return nil, f.err
}

func cancelled(codes ...string) error {
	r := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		r[i] = types.CancellationReason{Code: aws.String(c)}
	}
	return &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: r}
}

// callAll runs every read and write of st and returns their errors by name.
func callAll(ctx context.Context, st *Store) map[string]error {
	g := minimalGateway("gw_1", alice, t0)
	ev := event("gw_1", "ev1", gateway.AuditCreated, t0)
	errs := map[string]error{}
	errs["CreateGateway"] = st.CreateGateway(ctx, g, ev, nil)
	_, errs["GetGateway"] = st.GetGateway(ctx, "gw_1")
	up := *g
	up.Version = 2
	errs["UpdateGateway"] = st.UpdateGateway(ctx, &up, 1, ev)
	errs["DeleteGateway"] = st.DeleteGateway(ctx, "gw_1", 1, ev)
	_, errs["ListGateways"] = st.ListGateways(ctx, alice, gateway.ListFilter{}, 5, "")
	_, errs["ListAudit"] = st.ListAudit(ctx, "gw_1", 5, "")
	_, errs["GetIdempotency"] = st.GetIdempotency(ctx, alice, "k")
	return errs
}

func TestErrorMapping(t *testing.T) {
	secret := "item-content-sk-live-123"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"throttled", &types.ThrottlingException{Message: aws.String("slow down")}, gateway.CodeUnavailable},
		{"throughput exceeded", &types.ProvisionedThroughputExceededException{Message: aws.String("x")}, gateway.CodeUnavailable},
		{"request limit", &types.RequestLimitExceeded{Message: aws.String("x")}, gateway.CodeUnavailable},
		{"dynamodb 500", &types.InternalServerError{Message: aws.String("x")}, gateway.CodeUnavailable},
		{"deadline", context.DeadlineExceeded, gateway.CodeUnavailable},
		{"answer cut short", &smithy.DeserializationError{Err: fmt.Errorf("failed to decode response body, %w", io.ErrUnexpectedEOF)}, gateway.CodeUnavailable},
		{"unexpected", errors.New("validation failed on value " + secret), gateway.CodeInternal},
		{"resource not found", &types.ResourceNotFoundException{Message: aws.String("no table")}, gateway.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for op, err := range callAll(t.Context(), New(&fakeAPI{err: tc.err}, "tbl")) {
				wantCode(t, op, err, tc.want)
				if msg := gateway.ErrorMessage(err); strings.Contains(msg, secret) || strings.Contains(msg, "slow down") {
					t.Errorf("%s: user message %q shows the cause", op, msg)
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("%s: %v does not wrap the cause", op, err)
				}
			}
		})
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	port, err := emulator.FreePort() // free now, so nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(emutest.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:" + strconv.Itoa(port))
		o.RetryMaxAttempts = 1
	})
	for op, err := range callAll(t.Context(), New(client, "tbl")) {
		wantCode(t, op, err, gateway.CodeUnavailable)
		if got := gateway.ErrorMessage(err); got != msgUnavailable {
			t.Errorf("%s: message %q, want %q", op, got, msgUnavailable)
		}
	}
}

func TestTransactionConflictRetry(t *testing.T) {
	conflict := cancelled(reasonConflict, "None")
	g := minimalGateway("gw_1", alice, t0)
	up := *g
	up.Version = 2
	ev := event("gw_1", "ev1", gateway.AuditUpdated, t0)

	tests := []struct {
		name      string
		tx        []error
		call      func(*Store) error
		wantCode  string
		wantCalls int32
	}{
		{"create succeeds after conflicts", []error{conflict, conflict, nil}, func(s *Store) error { return s.CreateGateway(t.Context(), g, ev, nil) }, "", 3},
		{"create keeps conflicting", []error{conflict, conflict, conflict, conflict, nil}, func(s *Store) error { return s.CreateGateway(t.Context(), g, ev, nil) }, gateway.CodeConflict, txAttempts},
		{"update keeps conflicting", []error{conflict, conflict, conflict, conflict, nil}, func(s *Store) error { return s.UpdateGateway(t.Context(), &up, 1, ev) }, gateway.CodeVersionMismatch, txAttempts},
		{"condition failure is not retried", []error{cancelled("ConditionalCheckFailed", reasonConflict), nil}, func(s *Store) error { return s.CreateGateway(t.Context(), g, ev, nil) }, gateway.CodeConflict, 1},
		{"throttled transaction", []error{cancelled("ThrottlingError", "None")}, func(s *Store) error { return s.CreateGateway(t.Context(), g, ev, nil) }, gateway.CodeUnavailable, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{tx: tc.tx, err: errors.New("unexpected call")}
			err := tc.call(New(f, "tbl"))
			wantCode(t, "call", err, tc.wantCode)
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Errorf("TransactWriteItems calls = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}
