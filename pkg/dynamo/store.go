// Package dynamo implements gateway.Store over one DynamoDB table.
//
// A gateway and everything about it share the partition "GW#<id>": the
// gateway item (sort key "GATEWAY") and its audit events ("AUDIT#<at>#<id>").
// The owner index lists an owner's gateways newest first. Idempotency
// records live in their own partitions and expire by TTL. Every change of a
// gateway is one TransactWriteItems that carries its audit event, so a
// gateway is never written without its trail or half-written.
//
// Errors are *gateway.Error: the codes gateway.Store documents, plus
// CodeUnavailable when DynamoDB throttles or cannot be reached, and
// CodeInternal for anything unexpected. Messages are generic; causes are
// kept for the log.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// API is the part of *dynamodb.Client the store uses; tests wrap it to
// inject failures.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is gateway.Store over the DynamoDB table described by TableInput.
type Store struct {
	client API
	table  string
	now    func() time.Time // decides idempotency expiry; tests may replace it
	// auditRetention is how long an audit event lives: its ttl is its
	// time plus this (gateway.AuditRetention unless WithAuditRetention).
	auditRetention time.Duration
	// gatewayQuota bounds an owner's gateways on create (0: no bound);
	// see quota.go.
	gatewayQuota int
}

var _ gateway.Store = (*Store)(nil)

// Option configures a Store, and the stores built over one (Health,
// Inbox, Routes), which write audit events through it.
type Option func(*Store)

// WithAuditRetention sets how long audit events are kept
// (AUDIT_RETENTION_DAYS): each event's ttl is its time plus d. Zero or
// less keeps gateway.AuditRetention. It applies to events written from
// now on; an event keeps the ttl it was written with.
func WithAuditRetention(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.auditRetention = d
		}
	}
}

// New returns a Store over table. It does no I/O: the table is assumed to
// exist (see EnsureTable).
func New(client API, table string, opts ...Option) *Store {
	s := &Store{client: client, table: table, now: time.Now, auditRetention: gateway.AuditRetention}
	for _, o := range opts {
		o(s)
	}
	return s
}

// MaxLimit is the largest page size ListGateways and ListAudit accept.
const MaxLimit = 1000

// txAttempts is how many times a transaction cancelled only by a conflict
// with another in-flight transaction is tried. Such a cancellation says
// nothing about our conditions; trying again turns it into the real answer
// (success, or a condition failure such as a version mismatch).
const txAttempts = 4

// CreateGateway writes g, its audit event ev and, if idem is not nil, the
// idempotency record (whose GatewayID is g.ID), all or nothing.
//
// With a gateway quota (WithGatewayQuota), the same transaction raises the
// owner's gateway count, on condition that it is under the quota (see
// quota.go).
//
// Errors: CodeIdempotencyConflict when a live record for idem's owner and key
// exists (nothing is written); CodeConflict when a gateway with g.ID exists;
// CodeQuotaExceeded when the owner has the quota's number of gateways
// already; CodeUnavailable; CodeInternal.
func (s *Store) CreateGateway(ctx context.Context, g *gateway.Gateway, ev gateway.AuditEvent, idem *gateway.Idempotency) error {
	const op = "dynamo.CreateGateway"
	if g == nil {
		return gateway.Internal(op, errors.New("nil gateway"))
	}
	item, err := gatewayItem(g)
	if err != nil {
		return gateway.Internal(op, fmt.Errorf("gateway %s: %w", g.ID, err))
	}
	audit, err := s.auditPut(g.ID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	writes := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		audit,
	}
	if idem != nil {
		rec, err := idemItem(idem, g.ID)
		if err != nil {
			return gateway.Internal(op, err)
		}
		// An expired record may still be there, since TTL deletes lazily;
		// it no longer counts, so it may be replaced.
		writes = append(writes, types.TransactWriteItem{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      rec,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR #ttl <= :now"),
			ExpressionAttributeNames:  map[string]string{"#ttl": AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": nv(s.now().Unix())},
		}})
	}
	fixed := len(writes)
	var cancel *types.TransactionCanceledException
	var raise *types.TransactWriteItem
	for round := 1; ; round++ {
		// The count is read again each round: a round lost to concurrent
		// creates of the same owner (a TransactionConflict on its
		// counter after transact's own retries) meets the new count.
		raise, err = s.quotaRaise(ctx, op, g.Owner())
		if err != nil {
			return err
		}
		writes = writes[:fixed]
		if raise != nil {
			writes = append(writes, *raise)
		}
		cancel, err = s.transact(ctx, writes)
		if err == nil || cancel == nil || raise == nil || round == quotaRounds ||
			!hasReason(cancel.CancellationReasons, reasonConflict) || hasReason(cancel.CancellationReasons, reasonConditionFailed) {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case cancel == nil:
		return storeError(op, err)
	case len(writes) > fixed && reasonCode(cancel.CancellationReasons, fixed) == reasonConditionFailed:
		return quotaExceeded(op, s.gatewayQuota)
	case idem != nil && reasonCode(cancel.CancellationReasons, 2) == reasonConditionFailed:
		return &gateway.Error{Code: gateway.CodeIdempotencyConflict, Message: "The Idempotency-Key has already been used.", Op: op}
	case reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		return &gateway.Error{Code: gateway.CodeConflict, Message: "A gateway with this id already exists.", Op: op}
	case reasonCode(cancel.CancellationReasons, 1) == reasonConditionFailed:
		return gateway.Internal(op, fmt.Errorf("audit event %s of gateway %s already recorded", ev.ID, g.ID))
	default:
		return cancelError(op, cancel.CancellationReasons, err)
	}
}

// UpdateGateway replaces the stored gateway with g, and records ev, if the
// stored version is expectedVersion. The caller has set g.Version to
// expectedVersion+1 and g.UpdatedAt; anything else is CodeInternal, because
// versions that skip or repeat would break If-Match.
//
// g.ClaimedBot moves the gateway's bot claim (see claims.go) in the same
// transaction: the stored item says which claim it holds (read first, at
// expectedVersion), and a claim it newly takes must be free.
//
// Errors: NotFound when the gateway does not exist; CodeVersionMismatch when
// it has another version or another write of it stayed in flight through
// our retries (nothing is written, not even ev); CodeConflict with
// gateway.MsgBotInUse when g.ClaimedBot is held by another gateway;
// CodeUnavailable; CodeInternal.
func (s *Store) UpdateGateway(ctx context.Context, g *gateway.Gateway, expectedVersion int64, ev gateway.AuditEvent) error {
	const op = "dynamo.UpdateGateway"
	if g == nil {
		return gateway.Internal(op, errors.New("nil gateway"))
	}
	if g.Version != expectedVersion+1 {
		return gateway.Internal(op, fmt.Errorf("gateway %s: new version %d does not follow %d", g.ID, g.Version, expectedVersion))
	}
	item, err := gatewayItem(g)
	if err != nil {
		return gateway.Internal(op, fmt.Errorf("gateway %s: %w", g.ID, err))
	}
	audit, err := s.auditPut(g.ID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	held := ""
	if g.Type == gateway.TypeTelegramBot || g.ClaimedBot != "" {
		if held, _, err = s.heldClaim(ctx, op, g.ID, expectedVersion); err != nil {
			return err
		}
	}
	names, values := versionCondition(expectedVersion)
	writes := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: &s.table, Item: item,
			ConditionExpression:                 aws.String(condVersion),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		audit,
	}
	put, del := s.claimWrites(g.ID, held, g.ClaimedBot)
	claimAt := -1
	if put != nil {
		claimAt = len(writes)
		writes = append(writes, *put)
	}
	if del != nil {
		writes = append(writes, *del)
	}
	return s.change(ctx, op, g.ID, writes, ev, claimAt)
}

// DeleteGateway deletes gateway id, and records ev, if the stored version is
// expectedVersion, and releases its bot claim if it holds one. The
// gateway's audit events stay: the trail has to outlive the gateway to
// answer who deleted it, and when.
//
// Errors: as UpdateGateway.
func (s *Store) DeleteGateway(ctx context.Context, id string, expectedVersion int64, ev gateway.AuditEvent) error {
	const op = "dynamo.DeleteGateway"
	audit, err := s.auditPut(id, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	held, owner, err := s.heldClaim(ctx, op, id, expectedVersion)
	if err != nil {
		return err
	}
	names, values := versionCondition(expectedVersion)
	writes := []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: gatewayKey(id),
			ConditionExpression:                 aws.String(condVersion),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		audit,
	}
	if _, del := s.claimWrites(id, held, ""); del != nil {
		writes = append(writes, *del)
	}
	if owner == "" {
		return s.change(ctx, op, id, writes, ev, -1)
	}
	// The owner's gateway count goes down with the gateway, where there
	// is a count to lower: an owner whose gateways predate the quota has
	// none, and the lowering's condition fails; the delete goes on
	// without it (quota.go).
	err = s.change(ctx, op, id, append(writes, s.quotaLower(owner)), ev, -1)
	if !errors.Is(err, errNoCount) {
		return err
	}
	return s.change(ctx, op, id, writes, ev, -1)
}

// errNoCount is change's answer when its last write, a quotaLower, found
// no count to lower.
var errNoCount = errors.New("dynamo: the owner has no gateway count to lower")

const condVersion = "attribute_exists(pk) AND #version = :expected"

func versionCondition(expected int64) (map[string]string, map[string]types.AttributeValue) {
	return map[string]string{"#version": "version"}, map[string]types.AttributeValue{":expected": nv(expected)}
}

// change runs a versioned write of gateway id (writes[0]) with its audit
// event (writes[1]), and any claim writes after them, and maps a failed
// version condition, and a failed claim at writes[claimAt] (-1: none).
func (s *Store) change(ctx context.Context, op, id string, writes []types.TransactWriteItem, ev gateway.AuditEvent, claimAt int) error {
	cancel, err := s.transact(ctx, writes)
	switch {
	case err == nil:
		return nil
	case cancel == nil:
		return storeError(op, err)
	case reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		// ALL_OLD returns the item when it exists; without it (or from an
		// emulator that omits it) a read tells a missing gateway from another version.
		if len(cancel.CancellationReasons[0].Item) > 0 {
			return versionMismatch(op)
		}
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &s.table, Key: gatewayKey(id), ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String(AttrPK),
		})
		if err != nil {
			return storeError(op, err)
		}
		if len(out.Item) == 0 {
			return gateway.NotFound()
		}
		return versionMismatch(op)
	case reasonCode(cancel.CancellationReasons, 1) == reasonConditionFailed:
		return gateway.Internal(op, fmt.Errorf("audit event %s of gateway %s already recorded", ev.ID, id))
	case claimAt >= 0 && reasonCode(cancel.CancellationReasons, claimAt) == reasonConditionFailed:
		return botInUse(op)
	case isQuotaLower(writes[len(writes)-1]) && reasonCode(cancel.CancellationReasons, len(writes)-1) == reasonConditionFailed:
		return errNoCount
	case hasReason(cancel.CancellationReasons, reasonConflict):
		// Still racing another write of this gateway after our retries:
		// that write changes the version, so the caller must re-read.
		e := versionMismatch(op)
		e.Err = err
		return e
	default:
		return cancelError(op, cancel.CancellationReasons, err)
	}
}

func versionMismatch(op string) *gateway.Error {
	return &gateway.Error{Code: gateway.CodeVersionMismatch, Message: "The gateway has been changed since it was read; fetch it again.", Op: op}
}

// auditPut is the write of ev into the trail of gateway id. Its condition
// keeps the trail append-only: an event is never overwritten.
func (s *Store) auditPut(id string, ev gateway.AuditEvent) (types.TransactWriteItem, error) {
	if ev.ID == "" {
		return types.TransactWriteItem{}, fmt.Errorf("audit event of gateway %s has no id", id)
	}
	if ev.GatewayID != "" && ev.GatewayID != id {
		return types.TransactWriteItem{}, fmt.Errorf("audit event %s names gateway %s, not %s", ev.ID, ev.GatewayID, id)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: auditItem(id, ev, s.auditRetention), ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}, nil
}

// writeIfCurrent commits a gateway's conditional update together with
// the Put of its audit event (and extra writes, such as a claim's
// release). It reports false, having written nothing,
// when the update's condition failed (the gateway is gone or not in the
// state the caller read) or another transaction is still writing the
// gateway after transact's retries: the caller re-reads, or leaves the
// gateway to the write that won.
//
// Errors: CodeUnavailable; CodeInternal (also for an audit event already
// recorded).
func (s *Store) writeIfCurrent(ctx context.Context, op string, update *types.Update, audit types.TransactWriteItem, gatewayID, eventID string, extra ...types.TransactWriteItem) (bool, error) {
	cancel, err := s.transact(ctx, append([]types.TransactWriteItem{{Update: update}, audit}, extra...))
	switch {
	case err == nil:
		return true, nil
	case cancel == nil:
		return false, storeError(op, err)
	case reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		return false, nil
	case reasonCode(cancel.CancellationReasons, 1) == reasonConditionFailed:
		return false, gateway.Internal(op, fmt.Errorf("audit event %s of gateway %s already recorded", eventID, gatewayID))
	case hasReason(cancel.CancellationReasons, reasonConflict):
		return false, nil
	default:
		return false, cancelError(op, cancel.CancellationReasons, err)
	}
}

// transact runs writes as one transaction. On failure it returns the
// cancellation, if that is what happened, and the error.
func (s *Store) transact(ctx context.Context, writes []types.TransactWriteItem) (*types.TransactionCanceledException, error) {
	for attempt := 1; ; attempt++ {
		// The SDK fills ClientRequestToken, so its own retries of a commit
		// whose answer was lost do not fail our conditions.
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes})
		if err == nil {
			return nil, nil
		}
		var cancel *types.TransactionCanceledException
		if !errors.As(err, &cancel) {
			return nil, err
		}
		r := cancel.CancellationReasons
		if attempt == txAttempts || !hasReason(r, reasonConflict) || hasReason(r, reasonConditionFailed) {
			return cancel, err
		}
		backoff := time.Duration(attempt) * (5*time.Millisecond + rand.N(20*time.Millisecond))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// GetGateway reads gateway id with a consistent read, so a client sees its
// own writes.
//
// Errors: NotFound; CodeUnavailable; CodeInternal.
func (s *Store) GetGateway(ctx context.Context, id string) (*gateway.Gateway, error) {
	const op = "dynamo.GetGateway"
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: gatewayKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, storeError(op, err)
	}
	if len(out.Item) == 0 {
		return nil, gateway.NotFound()
	}
	g, err := parseGateway(out.Item)
	if err != nil {
		return nil, gateway.Internal(op, fmt.Errorf("gateway %s: %w", id, err))
	}
	return g, nil
}

// GetIdempotency reads the record of owner's key. A record past its expiry
// is NotFound even while DynamoDB has not yet deleted it. ExpiresAt comes
// back in whole seconds.
//
// Errors: NotFound; CodeUnavailable; CodeInternal.
func (s *Store) GetIdempotency(ctx context.Context, owner gateway.Owner, key string) (*gateway.Idempotency, error) {
	const op = "dynamo.GetIdempotency"
	k, err := idemKey(owner, key)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, storeError(op, err)
	}
	if len(out.Item) == 0 {
		return nil, gateway.NotFound()
	}
	r := itemReader{m: out.Item}
	rec := &gateway.Idempotency{
		Owner:       owner,
		Key:         key,
		RequestHash: r.str("requestHash"),
		GatewayID:   r.str("gatewayId"),
		ExpiresAt:   time.Unix(r.num(AttrTTL), 0).UTC(),
	}
	if r.err != nil {
		return nil, gateway.Internal(op, fmt.Errorf("idempotency record of %s: %w", owner.Key(), r.err))
	}
	if !rec.ExpiresAt.After(s.now()) {
		return nil, gateway.NotFound()
	}
	return rec, nil
}

// ListGateways lists owner's gateways newest first, limit (1..MaxLimit) to a
// page, keeping those that match f. The page's Next resumes right after its
// last gateway and is empty on the last page.
//
// Errors: CodeInvalid (field "limit" or "cursor") for a bad limit or a cursor
// not issued for this owner's listing; CodeUnavailable; CodeInternal.
func (s *Store) ListGateways(ctx context.Context, owner gateway.Owner, f gateway.ListFilter, limit int, cursor string) (gateway.Page, error) {
	const op = "dynamo.ListGateways"
	if err := checkLimit(limit); err != nil {
		return gateway.Page{}, err
	}
	ownerKey, err := owner.CheckedKey()
	if err != nil {
		return gateway.Page{}, gateway.Internal(op, err)
	}
	scope := "gateways:" + ownerKey
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(OwnerIndex),
		KeyConditionExpression:    aws.String("#gpk = :owner"),
		ExpressionAttributeNames:  map[string]string{"#gpk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": sv(ownerKey)},
		ScanIndexForward:          aws.Bool(false),
	}
	var filters []string
	if f.Type != "" {
		filters = append(filters, "#type = :type")
		in.ExpressionAttributeNames["#type"] = "type"
		in.ExpressionAttributeValues[":type"] = sv(string(f.Type))
	}
	if f.Status != "" {
		filters = append(filters, "#status = :status")
		in.ExpressionAttributeNames["#status"] = "status"
		in.ExpressionAttributeValues[":status"] = sv(string(f.Status))
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	keyNames := []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}
	if cursor != "" {
		esk, err := decodeCursor(cursor, scope, keyNames, func(k map[string]string) bool {
			return k[AttrGSI1PK] == ownerKey && k[AttrSK] == skGateway && len(k[AttrPK]) > len(gatewayPrefix) && strings.HasPrefix(k[AttrPK], gatewayPrefix)
		})
		if err != nil {
			return gateway.Page{}, err
		}
		in.ExclusiveStartKey = esk
	}
	items, more, err := s.collect(ctx, in, limit, len(filters) > 0)
	if err != nil {
		return gateway.Page{}, storeError(op, err)
	}
	page := gateway.Page{Gateways: make([]*gateway.Gateway, 0, len(items))}
	for _, it := range items {
		g, err := parseGateway(it)
		if err != nil {
			return gateway.Page{}, gateway.Internal(op, fmt.Errorf("owner %s: %w", ownerKey, err))
		}
		page.Gateways = append(page.Gateways, g)
	}
	if more {
		key, err := keysOf(items[len(items)-1], keyNames...)
		if err != nil {
			return gateway.Page{}, gateway.Internal(op, err)
		}
		page.Next = encodeCursor(scope, key)
	}
	return page, nil
}

// ListAudit lists the audit events of gateway gatewayID newest first, limit
// (1..MaxLimit) to a page. It works for a deleted gateway too, whose trail
// is kept. Next is empty on the last page.
//
// Errors: CodeInvalid (field "limit" or "cursor") for a bad limit or a cursor
// not issued for this gateway's trail; CodeUnavailable; CodeInternal.
func (s *Store) ListAudit(ctx context.Context, gatewayID string, limit int, cursor string) (gateway.AuditPage, error) {
	const op = "dynamo.ListAudit"
	if err := checkLimit(limit); err != nil {
		return gateway.AuditPage{}, err
	}
	pk := gatewayPK(gatewayID)
	scope := "audit:" + gatewayID
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(pk), ":prefix": sv(auditPrefix)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	keyNames := []string{AttrPK, AttrSK}
	if cursor != "" {
		esk, err := decodeCursor(cursor, scope, keyNames, func(k map[string]string) bool {
			return k[AttrPK] == pk && strings.HasPrefix(k[AttrSK], auditPrefix)
		})
		if err != nil {
			return gateway.AuditPage{}, err
		}
		in.ExclusiveStartKey = esk
	}
	items, more, err := s.collect(ctx, in, limit, false)
	if err != nil {
		return gateway.AuditPage{}, storeError(op, err)
	}
	page := gateway.AuditPage{Events: make([]gateway.AuditEvent, 0, len(items))}
	for _, it := range items {
		ev, err := parseAudit(it)
		if err != nil {
			return gateway.AuditPage{}, gateway.Internal(op, fmt.Errorf("gateway %s: %w", gatewayID, err))
		}
		page.Events = append(page.Events, ev)
	}
	if more {
		key, err := keysOf(items[len(items)-1], keyNames...)
		if err != nil {
			return gateway.AuditPage{}, gateway.Internal(op, err)
		}
		page.Next = encodeCursor(scope, key)
	}
	return page, nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return gateway.Invalid(gateway.FieldError{Field: "limit", Message: "The limit must be between 1 and " + strconv.Itoa(MaxLimit) + "."})
	}
	return nil
}

// collect queries until it has limit items plus one more, or the query is
// exhausted. The extra item is looked ahead for, not returned: it tells
// whether there is a next page, so the last page has no cursor. DynamoDB
// applies Limit before a filter, so a filtered query may need several
// rounds; it reads bigger batches then, to need fewer.
func (s *Store) collect(ctx context.Context, in *dynamodb.QueryInput, limit int, filtered bool) (items []map[string]types.AttributeValue, more bool, err error) {
	fromCursor := in.ExclusiveStartKey != nil
	want := limit + 1
	for {
		need := want - len(items)
		if filtered {
			need = min(max(4*need, 25), MaxLimit)
		}
		in.Limit = aws.Int32(int32(need))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			var api smithy.APIError
			if fromCursor && errors.As(err, &api) && api.ErrorCode() == "ValidationException" {
				// Our checks should stop every bad cursor first; if one gets
				// through, it is still the caller's mistake, not a 500.
				return nil, false, &gateway.Error{Code: gateway.CodeInvalid, Message: "The request is invalid.",
					Fields: []gateway.FieldError{{Field: "cursor", Message: "The cursor is malformed."}}, Err: err}
			}
			return nil, false, err
		}
		fromCursor = false
		for _, it := range out.Items {
			items = append(items, it)
			if len(items) == want {
				return items[:limit], true, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, false, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
