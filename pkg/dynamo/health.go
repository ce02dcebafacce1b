package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/health"
)

// Health samples share their gateway's partition, under sort key
// "HEALTH#<at>" (the fixed-width time, so a Query reads them in time
// order), and expire by TTL. The sweep's own bookkeeping — one item per
// segment of a split, holding its lease and cursor — lives in the
// partition "SWEEP#HEALTH" under "SEGMENT#<segments>#<segment>", so a
// change of the segment count starts fresh cursors instead of misreading
// old ones.
//
// The sweep reads gateways from the owner index (see ownerScan).
const (
	healthPrefix  = "HEALTH#"
	sweepPK       = "SWEEP#HEALTH"
	segmentPrefix = "SEGMENT#"
)

// Health is health.Store over the table, and the reader of health samples
// for GET /api/gateways/{id}/health.
type Health struct {
	client ItemAPI
	table  string
	store  *Store // for its transactions
	now    func() time.Time
}

var _ health.Store = (*Health)(nil)

// NewHealth returns a Health over table. It does no I/O.
func NewHealth(client ItemAPI, table string, opts ...Option) *Health {
	return &Health{client: client, table: table, store: New(client, table, opts...), now: time.Now}
}

// ScanGateways reads up to limit owner-index items (1..MaxLimit) of
// segment seg of a parallel Scan split into segments, after start, and
// returns the gateways among them that are not DISCONNECTED. The read is
// eventually consistent; the sweep's writes are conditional on the version
// it read, so a stale item costs a skipped write, never a wrong one.
//
// Errors: CodeInvalid for a bad segment, limit or cursor; CodeUnavailable;
// CodeInternal.
func (h *Health) ScanGateways(ctx context.Context, seg, segments int, start health.Cursor, limit int) (health.GatewayPage, error) {
	const op = "dynamo.Health.ScanGateways"
	scan := ownerScan{client: h.client, table: h.table, seg: seg, segments: segments, max: health.MaxSegments}
	p, err := scan.page(ctx, op, start, limit, func(in *dynamodb.ScanInput) {
		in.FilterExpression = aws.String("#status <> :disconnected")
		in.ExpressionAttributeNames = map[string]string{"#status": "status"}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":disconnected": sv(string(gateway.StatusDisconnected))}
	})
	if err != nil {
		return health.GatewayPage{}, err
	}
	page := health.GatewayPage{Gateways: make([]*gateway.Gateway, 0, len(p.items)), Keys: make([]health.Cursor, 0, len(p.items)), Next: p.next}
	for i, it := range p.items {
		g, err := parseGateway(it)
		if err != nil {
			return health.GatewayPage{}, gateway.Internal(op, err)
		}
		page.Gateways = append(page.Gateways, g)
		page.Keys = append(page.Keys, p.keys[i])
	}
	return page, nil
}

// RecordCheck writes a check's result to gateway w.GatewayID if its stored
// version is still w.Version, with one UpdateItem that sets only the fields
// the check owns: lastCheckedAt, lastLatencyMs, consecutiveFailures, and
// lastError, lastErrorAt and lastConnectedAt when given (w.ClearLastError
// removes the first two instead). Everything else —
// name, config, credentials, the webhook secret — is left as stored.
//
// A status change (w.Status set) also sets updatedAt, bumps the version
// (so an edit made from the old state gets a version mismatch instead of
// writing the old status back) and appends w.Event, in one transaction.
// Bookkeeping alone leaves version and updatedAt alone, as the webhook's
// lastConnectedAt refresh does: a dashboard editing against the version
// is not refused every sweep, and an edit made from an older read merely
// writes back the older bookkeeping, which the next sweep refreshes.
//
// It reports false, having written nothing, when the gateway is at another
// version (the user changed it meanwhile), is gone, or is being written by
// another transaction.
//
// Errors: CodeUnavailable; CodeInternal (also for a status without event).
func (h *Health) RecordCheck(ctx context.Context, w health.CheckWrite) (bool, error) {
	const op = "dynamo.Health.RecordCheck"
	names := map[string]string{"#version": "version"}
	values := map[string]types.AttributeValue{
		":expected": nv(w.Version),
		":checked":  sv(formatTime(w.CheckedAt)),
		":latency":  nv(w.LatencyMs),
		":failures": nv(int64(w.ConsecutiveFailures)),
	}
	sets := []string{"lastCheckedAt = :checked", "lastLatencyMs = :latency", "consecutiveFailures = :failures"}
	if w.LastError != nil {
		sets = append(sets, "lastError = :lastError")
		values[":lastError"] = sv(*w.LastError)
	}
	if w.LastErrorAt != nil {
		sets = append(sets, "lastErrorAt = :lastErrorAt")
		values[":lastErrorAt"] = sv(formatTime(*w.LastErrorAt))
	}
	if w.LastConnectedAt != nil {
		sets = append(sets, "lastConnectedAt = :lastConnectedAt")
		values[":lastConnectedAt"] = sv(formatTime(*w.LastConnectedAt))
	}
	expr := ""
	if w.ClearLastError {
		if w.LastError != nil || w.LastErrorAt != nil {
			return false, gateway.Internal(op, fmt.Errorf("gateway %s: lastError both set and cleared", w.GatewayID))
		}
		expr = " REMOVE lastError, lastErrorAt"
	}
	var extra []types.TransactWriteItem
	if w.ReleaseClaim != "" {
		if w.Status == "" {
			return false, gateway.Internal(op, fmt.Errorf("gateway %s: claim released without a status change", w.GatewayID))
		}
		if expr == "" {
			expr = " REMOVE " + attrClaimedBot
		} else {
			expr += ", " + attrClaimedBot
		}
		if _, del := h.store.claimWrites(w.GatewayID, w.ReleaseClaim, ""); del != nil {
			extra = append(extra, *del)
		}
	}
	if w.Status != "" {
		if w.Event == nil {
			return false, gateway.Internal(op, fmt.Errorf("status change of gateway %s without an audit event", w.GatewayID))
		}
		sets = append(sets, "#status = :status", "updatedAt = :checked")
		names["#status"] = "status"
		values[":status"] = sv(string(w.Status))
		values[":one"] = nv(1)
		expr += " ADD #version :one"
	}
	update := &types.Update{
		TableName:                 &h.table,
		Key:                       gatewayKey(w.GatewayID),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ") + expr),
		ConditionExpression:       aws.String(condVersion),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	if w.Status == "" {
		_, err := h.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
			ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
		var failed *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &failed):
			return false, nil
		default:
			return false, storeError(op, err)
		}
	}
	audit, err := h.store.auditPut(w.GatewayID, *w.Event)
	if err != nil {
		return false, gateway.Internal(op, err)
	}
	// Still racing another write of the gateway is false too: it wins.
	return h.store.writeIfCurrent(ctx, op, update, audit, w.GatewayID, w.Event.ID, extra...)
}

// Attributes of health samples.
const (
	attrSampleAt      = "at"
	attrSampleOutcome = "outcome"
	attrSampleLatency = "latencyMs"
	attrSampleStatus  = "status"
	attrSampleError   = "error"
	attrSamplePending = "pendingUpdateCount"
)

// PutSample stores s under its gateway with s.ExpiresAt as its TTL, with
// one unconditional PutItem (a sample is written once; a retry rewrites
// the same item).
//
// Errors: CodeInvalid for a sample without gateway or time; CodeUnavailable;
// CodeInternal.
func (h *Health) PutSample(ctx context.Context, s health.Sample) error {
	const op = "dynamo.Health.PutSample"
	if s.GatewayID == "" || s.At.IsZero() || s.ExpiresAt.IsZero() {
		return &gateway.Error{Code: gateway.CodeInvalid, Message: "The sample is invalid.", Op: op}
	}
	w := itemWriter{AttrPK: sv(gatewayPK(s.GatewayID)), AttrSK: sv(healthPrefix + formatTime(s.At))}
	w.time(attrSampleAt, s.At)
	w.str(attrSampleOutcome, string(s.Outcome))
	w.num(attrSampleLatency, s.LatencyMs)
	w.optStr(attrSampleStatus, string(s.Status))
	w.optStr(attrSampleError, s.Error)
	if s.PendingUpdateCount != nil {
		w.num(attrSamplePending, *s.PendingUpdateCount)
	}
	w.num(AttrTTL, s.ExpiresAt.Unix())
	if _, err := h.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &h.table, Item: w}); err != nil {
		return storeError(op, err)
	}
	return nil
}

// ListSamples returns up to limit (1..MaxLimit) of gateway id's samples,
// newest first, leaving out those past their TTL that DynamoDB has not
// deleted yet. ExpiresAt comes back in whole seconds.
//
// Errors: CodeInvalid (field "limit"); CodeUnavailable; CodeInternal.
func (h *Health) ListSamples(ctx context.Context, id string, limit int) ([]health.Sample, error) {
	const op = "dynamo.Health.ListSamples"
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	q := &dynamodb.QueryInput{
		TableName:                 &h.table,
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(gatewayPK(id)), ":prefix": sv(healthPrefix)},
		ScanIndexForward:          aws.Bool(false),
	}
	now := h.now()
	out := make([]health.Sample, 0, min(limit, 64))
	for len(out) < limit {
		q.Limit = aws.Int32(int32(limit - len(out)))
		page, err := h.client.Query(ctx, q)
		if err != nil {
			return nil, storeError(op, err)
		}
		for _, it := range page.Items {
			s, err := parseSample(id, it)
			if err != nil {
				return nil, gateway.Internal(op, fmt.Errorf("gateway %s: %w", id, err))
			}
			if s.ExpiresAt.After(now) {
				out = append(out, s)
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		q.ExclusiveStartKey = page.LastEvaluatedKey
	}
	return out, nil
}

func parseSample(id string, item map[string]types.AttributeValue) (health.Sample, error) {
	r := itemReader{m: item}
	s := health.Sample{
		GatewayID:          id,
		At:                 r.time(attrSampleAt),
		Outcome:            health.Outcome(r.str(attrSampleOutcome)),
		LatencyMs:          r.num(attrSampleLatency),
		Status:             gateway.Status(r.str(attrSampleStatus)),
		Error:              r.str(attrSampleError),
		PendingUpdateCount: r.optNum(attrSamplePending),
		ExpiresAt:          time.Unix(r.num(AttrTTL), 0).UTC(),
	}
	return s, r.err
}

// Attributes of segment items. Several are DynamoDB reserved words, so
// every expression names them through placeholders.
const (
	attrSegment    = "segment"
	attrSegments   = "segments"
	attrSweep      = "sweep"
	attrState      = "state"
	attrOwner      = "owner"
	attrLeaseUntil = "leaseUntil"
	attrCursor     = "cursor"
	attrUpdatedAt  = "updatedAt"
)

func segmentPrefixOf(segments int) string { return fmt.Sprintf("%s%04d#", segmentPrefix, segments) }

func segmentKey(seg, segments int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(sweepPK), AttrSK: sv(fmt.Sprintf("%s%04d", segmentPrefixOf(segments), seg))}
}

// ListSegments returns the bookkeeping of the segments of a split into
// segments parts that have been claimed at least once, in segment order,
// with one consistent Query.
//
// Errors: CodeInvalid for a bad count; CodeUnavailable; CodeInternal.
func (h *Health) ListSegments(ctx context.Context, segments int) ([]health.SegmentState, error) {
	const op = "dynamo.Health.ListSegments"
	if segments < 1 || segments > health.MaxSegments {
		return nil, &gateway.Error{Code: gateway.CodeInvalid, Message: "The segment count is invalid.", Op: op}
	}
	q := &dynamodb.QueryInput{
		TableName:                 &h.table,
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(sweepPK), ":prefix": sv(segmentPrefixOf(segments))},
		ConsistentRead:            aws.Bool(true),
	}
	var out []health.SegmentState
	for {
		page, err := h.client.Query(ctx, q)
		if err != nil {
			return nil, storeError(op, err)
		}
		for _, it := range page.Items {
			s, err := parseSegment(it)
			if err != nil {
				return nil, gateway.Internal(op, err)
			}
			out = append(out, s)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		q.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// ClaimSegment takes segment c.Segment of c.Segments for c.Owner and sweep
// c.Sweep until c.LeaseUntil, with one conditional UpdateItem that succeeds
// only if the segment is claimable (health.SegmentState.Claimable): never
// claimed; done or paused in an earlier sweep; or running under a lease
// that has run out. The cursor stays, so a paused or abandoned segment
// resumes where it stopped. It returns the segment's state after the claim.
//
// Errors: CodeUnavailable; CodeInternal.
func (h *Health) ClaimSegment(ctx context.Context, c health.Claim) (health.SegmentState, bool, error) {
	const op = "dynamo.Health.ClaimSegment"
	out, err := h.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &h.table,
		Key:       segmentKey(c.Segment, c.Segments),
		UpdateExpression: aws.String("SET #segment = :segment, #segments = :segments, #sweep = :sweep, #state = :running, " +
			"#owner = :owner, #lease = :lease, #updated = :now"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR (#state = :running AND #lease < :now) OR (#state <> :running AND #sweep < :sweep)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#segment": attrSegment, "#segments": attrSegments, "#sweep": attrSweep,
			"#state": attrState, "#owner": attrOwner, "#lease": attrLeaseUntil, "#updated": attrUpdatedAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":segment": nv(int64(c.Segment)), ":segments": nv(int64(c.Segments)), ":sweep": sv(c.Sweep),
			":running": sv(health.StateRunning), ":owner": sv(c.Owner), ":lease": sv(formatTime(c.LeaseUntil)),
			":now": sv(formatTime(c.Now)),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return health.SegmentState{}, false, nil
	case err != nil:
		return health.SegmentState{}, false, storeError(op, err)
	}
	s, err := parseSegment(out.Attributes)
	if err != nil {
		return health.SegmentState{}, false, gateway.Internal(op, err)
	}
	return s, true, nil
}

// SaveSegment records s.State and s.Cursor (none for a finished segment)
// if s.Owner still holds the segment, running. It reports false when the
// lease was lost to another worker, whose progress then stands.
//
// Errors: CodeUnavailable; CodeInternal.
func (h *Health) SaveSegment(ctx context.Context, s health.SegmentSave) (bool, error) {
	const op = "dynamo.Health.SaveSegment"
	values := map[string]types.AttributeValue{
		":state": sv(s.State), ":now": sv(formatTime(s.Now)), ":owner": sv(s.Owner), ":running": sv(health.StateRunning),
	}
	expr := "SET #state = :state, #updated = :now REMOVE #cursor"
	if s.Cursor != nil {
		m := make(map[string]types.AttributeValue, len(s.Cursor))
		for k, v := range s.Cursor {
			m[k] = sv(v)
		}
		values[":cursor"] = &types.AttributeValueMemberM{Value: m}
		expr = "SET #state = :state, #updated = :now, #cursor = :cursor"
	}
	_, err := h.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &h.table,
		Key:                 segmentKey(s.Segment, s.Segments),
		UpdateExpression:    aws.String(expr),
		ConditionExpression: aws.String("#owner = :owner AND #state = :running"),
		ExpressionAttributeNames: map[string]string{
			"#state": attrState, "#owner": attrOwner, "#updated": attrUpdatedAt, "#cursor": attrCursor,
		},
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &failed):
		return false, nil
	default:
		return false, storeError(op, err)
	}
}

func parseSegment(item map[string]types.AttributeValue) (health.SegmentState, error) {
	r := itemReader{m: item}
	s := health.SegmentState{
		Segment:    int(r.num(attrSegment)),
		Segments:   int(r.num(attrSegments)),
		Sweep:      r.str(attrSweep),
		State:      r.str(attrState),
		Owner:      r.str(attrOwner),
		LeaseUntil: r.time(attrLeaseUntil),
		UpdatedAt:  r.time(attrUpdatedAt),
	}
	if c := r.strMap(attrCursor); c != nil {
		s.Cursor = health.Cursor(c)
	}
	if r.err != nil {
		return health.SegmentState{}, fmt.Errorf("segment item: %w", r.err)
	}
	return s, nil
}
