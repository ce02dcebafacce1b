package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// The table's building blocks for the adapters that live beside their
// consumer instead of here (pkg/rekey/rekeydynamo): a function links the
// packages it imports, so a store of a consumer only one function has (key
// rotation) is kept out of this package, which every function links, and
// builds on these instead of copying them.

// GatewayKey is the primary key of gateway id's item.
func GatewayKey(id string) map[string]types.AttributeValue { return gatewayKey(id) }

// ParseGateway reads a gateway item. Errors: an attribute of the wrong
// type or shape (for an internal error, never a user's).
func ParseGateway(item map[string]types.AttributeValue) (*gateway.Gateway, error) {
	return parseGateway(item)
}

// CredentialInfoUnmasked reports whether a gateway item's stored
// credentialInfo holds a URL that ParseGateway masks as it reads (an item
// written before URLs were masked): one a rewrite must mask in storage.
func CredentialInfoUnmasked(item map[string]types.AttributeValue) bool {
	av, ok := item["credentialInfo"]
	if !ok {
		return false
	}
	v, err := anyFrom(av)
	m, isMap := v.(map[string]any)
	if err != nil || !isMap {
		return false
	}
	_, changed := gateway.MaskCredentialInfo(m)
	return changed
}

// CredentialInfoValue is info as the gateway item stores it.
// Errors: a value DynamoDB cannot hold (a NaN).
func CredentialInfoValue(info map[string]any) (types.AttributeValue, error) {
	return anyValue(info)
}

// StoreError classifies an error of a DynamoDB call made by op:
// CodeUnavailable for what a retry may cure (throttling, a network error,
// a cancelled or timed-out context), CodeInternal otherwise.
func StoreError(op string, err error) error { return storeError(op, err) }

// StringAttr is the value of the string attribute name of item: "" when
// it is missing, an error when it is not a string.
func StringAttr(item map[string]types.AttributeValue, name string) (string, error) {
	r := itemReader{m: item}
	v := r.str(name)
	return v, r.err
}

// CondVersion is the condition of a gateway write made against the
// version read: the item exists at :expected (with #version named).
const CondVersion = condVersion

// OwnerScan is segment Segment of a parallel Scan of the owner index split
// into Segments (at most MaxSegments): it reads gateway items only.
type OwnerScan struct {
	Client                         ItemAPI
	Table                          string
	Segment, Segments, MaxSegments int
}

// OwnerPage is one page of an OwnerScan: the items read, each one's index
// key, and the cursor of the next page (nil at the segment's end).
type OwnerPage struct {
	Items []map[string]types.AttributeValue
	Keys  []map[string]string
	Next  map[string]string
}

func (s OwnerScan) scan() ownerScan {
	return ownerScan{client: s.Client, table: s.Table, seg: s.Segment, segments: s.Segments, max: s.MaxSegments}
}

// Input is the segment's Scan, or CodeInvalid for a bad segment.
func (s OwnerScan) Input(op string) (*dynamodb.ScanInput, error) { return s.scan().input(op) }

// Page reads up to limit (1..MaxLimit) items after start (nil for the
// segment's beginning).
//
// Errors: CodeInvalid for a bad segment, limit or cursor; CodeUnavailable;
// CodeInternal.
func (s OwnerScan) Page(ctx context.Context, op string, start map[string]string, limit int) (OwnerPage, error) {
	p, err := s.scan().page(ctx, op, start, limit, nil)
	return OwnerPage{Items: p.items, Keys: p.keys, Next: p.next}, err
}

// WriteIfCurrent commits update, a conditional update of gateway
// gatewayID, together with the audit event ev, in one transaction. It
// reports false, having written nothing, when the update's condition
// failed (the gateway is gone or not in the state the caller read) or
// another transaction is still writing the gateway: the caller re-reads,
// or leaves the gateway to the write that won.
//
// Errors: CodeUnavailable; CodeInternal (also for an audit event without
// an id or already recorded).
func (s *Store) WriteIfCurrent(ctx context.Context, op string, update *types.Update, gatewayID string, ev gateway.AuditEvent) (bool, error) {
	audit, err := s.auditPut(gatewayID, ev)
	if err != nil {
		return false, gateway.Internal(op, err)
	}
	return s.writeIfCurrent(ctx, op, update, audit, gatewayID, ev.ID)
}

// FormatTime is t in the table's fixed-width RFC 3339 layout, which sorts
// as time does.
func FormatTime(t time.Time) string { return formatTime(t) }
