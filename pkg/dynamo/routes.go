package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// A bot's routes and their delivery state share the bot's partition:
//
//	ROUTE#<route>                      the route: its spec and delivery state
//	LANE#<route>#<chat>                one ordering lane: lease, backlog count,
//	                                   last delivered update, retry schedule
//	DLV#<route>#<chat>#<update_id>     an update queued on a lane
//	DEAD#<route>#<update_id>           a dead letter
//
// A WEBHOOK target's partition holds a back-reference per route that
// targets it, "ROUTEIN#<bot>#<route>", so deleting the target can pause
// them. Lanes that need the sweep have a marker in one of dueShards small
// partitions "DUE#<n>", sort key "<bot>#<route>#<chat>", attribute dueAt
// (Unix milliseconds); all of a route's markers share a shard.
const (
	routePrefix    = "ROUTE#"
	routeInPrefix  = "ROUTEIN#"
	lanePrefix     = "LANE#"
	queuePrefix    = "DLV#"
	deadPrefix     = "DEAD#"
	duePrefix      = "DUE#"
	dueShards      = 4
	queuedTTL      = 8 * 24 * time.Hour  // past the inbox's 7 days: a paused route's backlog
	deadLetterTTL  = 14 * 24 * time.Hour // a dead letter is kept two weeks
	maxTransaction = 100
)

// Routes is the store of routes and their delivery queues: route.Store
// for the routes API and delivery.Store for the delivery engine.
type Routes struct {
	client RoutesAPI
	table  string
	store  *Store
	now    func() time.Time
}

var (
	_ route.Store    = (*Routes)(nil)
	_ delivery.Store = (*Routes)(nil)
)

// NewRoutes returns the store over table. It does no I/O.
func NewRoutes(client RoutesAPI, table string, opts ...Option) *Routes {
	return &Routes{client: client, table: table, store: New(client, table, opts...), now: time.Now}
}

func routeKey(botID, routeID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(gatewayPK(botID)), AttrSK: sv(routePrefix + routeID)}
}

func routeInKey(r *route.Route) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(gatewayPK(r.Target.GatewayID)), AttrSK: sv(routeInPrefix + r.GatewayID + "#" + r.ID)}
}

func laneKey(l delivery.Lane) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(gatewayPK(l.BotID)), AttrSK: sv(lanePrefix + l.RouteID + "#" + l.Chat)}
}

func queueSK(l delivery.Lane, updateID int64) string {
	return queuePrefix + l.RouteID + "#" + l.Chat + "#" + fmt.Sprintf("%020d", updateID)
}

func deadSK(routeID string, updateID int64) string {
	return deadPrefix + routeID + "#" + fmt.Sprintf("%020d", updateID)
}

func dueShard(botID, routeID string) string {
	h := fnv.New32a()
	h.Write([]byte(botID + "#" + routeID))
	return duePrefix + strconv.Itoa(int(h.Sum32()%dueShards))
}

func markerKey(l delivery.Lane) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(dueShard(l.BotID, l.RouteID)), AttrSK: sv(l.BotID + "#" + l.RouteID + "#" + l.Chat)}
}

func ms(t time.Time) types.AttributeValue { return nv(t.UnixMilli()) }

// spec is the stored JSON of a route's target and filters.
type spec struct {
	Target  route.Target  `json:"target"`
	Filters route.Filters `json:"filters"`
}

func routeItem(r *route.Route) (map[string]types.AttributeValue, error) {
	b, err := json.Marshal(spec{Target: r.Target, Filters: r.Filters})
	if err != nil {
		return nil, err
	}
	w := itemWriter(routeKey(r.GatewayID, r.ID))
	w.str("id", r.ID)
	w.str("gatewayId", r.GatewayID)
	w.str("owner", r.Owner)
	w.str("spec", string(b))
	w.str("status", string(r.Status))
	w.optStr("statusReason", r.StatusReason)
	w.time("createdAt", r.CreatedAt)
	w.time("updatedAt", r.UpdatedAt)
	w.num("version", r.Version)
	return w, nil
}

func parseRoute(item map[string]types.AttributeValue) (*route.Route, error) {
	r := itemReader{m: item}
	out := &route.Route{
		ID: r.str("id"), GatewayID: r.str("gatewayId"), Owner: r.str("owner"),
		Status: route.Status(r.str("status")), StatusReason: r.str("statusReason"),
		CreatedAt: r.time("createdAt"), UpdatedAt: r.time("updatedAt"), Version: r.num("version"),
		LastDeliveredUpdateID: r.optNum("lastDeliveredUpdateId"), LastDeliveredAt: r.optTime("lastDeliveredAt"),
		LastLagMs: r.optNum("lastLagMs"), ConsecutiveFailures: r.num("consecutiveFailures"),
		LastError: r.str("lastError"), LastErrorAt: r.optTime("lastErrorAt"), DeadLetters: r.num("deadLetters"),
	}
	var s spec
	if err := json.Unmarshal([]byte(r.str("spec")), &s); err != nil {
		r.fail("spec", "is not a route spec")
	}
	out.Target, out.Filters = s.Target, s.Filters
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

func routeNotFound() error {
	return &gateway.Error{Code: gateway.CodeNotFound, Message: "Route not found."}
}

func routeVersionMismatch(op string) error {
	return &gateway.Error{Code: gateway.CodeVersionMismatch, Message: "The route has been changed since it was read; fetch it again.", Op: op}
}

// CreateRoute writes r, its target's back-reference and its audit event in
// one transaction that also checks the bot and the target exist.
func (s *Routes) CreateRoute(ctx context.Context, r *route.Route, ev gateway.AuditEvent) error {
	const op = "dynamo.CreateRoute"
	item, err := routeItem(r)
	if err != nil {
		return gateway.Internal(op, err)
	}
	audit, err := s.store.auditPut(r.GatewayID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	writes := []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: gatewayKey(r.GatewayID), ConditionExpression: aws.String("attribute_exists(pk)")}},
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		audit,
	}
	if r.Target.Type == route.TargetWebhook {
		writes = append(writes,
			types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: gatewayKey(r.Target.GatewayID), ConditionExpression: aws.String("attribute_exists(pk)")}},
			types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: routeInKey(r)}})
	}
	cancel, err := s.store.transact(ctx, writes)
	switch {
	case err == nil:
		return nil
	case cancel == nil:
		return storeError(op, err)
	case reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		return gateway.NotFound()
	case reasonCode(cancel.CancellationReasons, 3) == reasonConditionFailed:
		return fmt.Errorf("%s: %w", op, route.ErrTargetGone)
	default:
		return cancelError(op, cancel.CancellationReasons, err)
	}
}

// GetRoute reads one route with a consistent read.
func (s *Routes) GetRoute(ctx context.Context, botID, routeID string) (*route.Route, error) {
	const op = "dynamo.GetRoute"
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: routeKey(botID, routeID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, storeError(op, err)
	}
	if len(out.Item) == 0 {
		return nil, routeNotFound()
	}
	r, err := parseRoute(out.Item)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	return r, nil
}

// ListRoutes reads every route of a bot (there are at most
// route.MaxRoutesPerBot), oldest first.
func (s *Routes) ListRoutes(ctx context.Context, botID string) ([]*route.Route, error) {
	const op = "dynamo.ListRoutes"
	items, err := s.queryAll(ctx, op, gatewayPK(botID), routePrefix, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*route.Route, 0, len(items))
	for _, it := range items {
		r, err := parseRoute(it)
		if err != nil {
			return nil, gateway.Internal(op, err)
		}
		out = append(out, r)
	}
	// Oldest first: ids are random, so sort by creation.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].CreatedAt.Before(out[j-1].CreatedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// queryAll reads the items of partition pk whose sort key starts with
// prefix, following pages, at most max items (0: all); projection, when
// set, limits the attributes read.
func (s *Routes) queryAll(ctx context.Context, op, pk, prefix, projection string, max int) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(pk), ":p": sv(prefix)},
		ConsistentRead:            aws.Bool(true),
	}
	if projection != "" {
		in.ProjectionExpression = aws.String(projection)
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, storeError(op, err)
		}
		items = append(items, out.Items...)
		if max > 0 && len(items) >= max {
			return items[:max], nil
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// UpdateRoute writes r's spec and status if the stored version is
// previous.Version, moving the target's back-reference when it changed.
func (s *Routes) UpdateRoute(ctx context.Context, r *route.Route, previous *route.Route, ev gateway.AuditEvent) error {
	const op = "dynamo.UpdateRoute"
	b, err := json.Marshal(spec{Target: r.Target, Filters: r.Filters})
	if err != nil {
		return gateway.Internal(op, err)
	}
	audit, err := s.store.auditPut(r.GatewayID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	update := "SET spec = :spec, #status = :status, updatedAt = :at, version = :v"
	values := map[string]types.AttributeValue{":spec": sv(string(b)), ":status": sv(string(r.Status)), ":at": sv(formatTime(r.UpdatedAt)), ":v": nv(r.Version), ":expected": nv(previous.Version)}
	if r.StatusReason != "" {
		update += ", statusReason = :reason"
		values[":reason"] = sv(r.StatusReason)
	} else {
		update += " REMOVE statusReason"
	}
	writes := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
			UpdateExpression:          aws.String(update),
			ConditionExpression:       aws.String("attribute_exists(pk) AND version = :expected"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: values,
		}},
		audit,
	}
	if r.Target != previous.Target {
		if previous.Target.Type == route.TargetWebhook {
			writes = append(writes, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: routeInKey(previous)}})
		}
		if r.Target.Type == route.TargetWebhook {
			writes = append(writes,
				types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: gatewayKey(r.Target.GatewayID), ConditionExpression: aws.String("attribute_exists(pk)")}},
				types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: routeInKey(r)}})
		}
	}
	cancel, err := s.store.transact(ctx, writes)
	switch {
	case err == nil:
		return nil
	case cancel == nil:
		return storeError(op, err)
	case reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		if _, err := s.GetRoute(ctx, r.GatewayID, r.ID); err != nil {
			return err
		}
		return routeVersionMismatch(op)
	case hasReason(cancel.CancellationReasons, reasonConditionFailed):
		return fmt.Errorf("%s: %w", op, route.ErrTargetGone)
	case hasReason(cancel.CancellationReasons, reasonConflict):
		return routeVersionMismatch(op)
	default:
		return cancelError(op, cancel.CancellationReasons, err)
	}
}

// DeleteRoute deletes the route's lanes, queue, markers and dead letters,
// then the route, its back-reference and audit event in one transaction,
// then what was queued for it meanwhile. In this order a failure leaves
// the route in place for a retry to finish, rather than items of a route
// that is gone, which nothing would ever clean up (its due markers would
// come back to every sweep).
func (s *Routes) DeleteRoute(ctx context.Context, r *route.Route, ev gateway.AuditEvent) error {
	const op = "dynamo.DeleteRoute"
	audit, err := s.store.auditPut(r.GatewayID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	if err := s.purgeRoute(ctx, op, r.GatewayID, r.ID); err != nil {
		return err
	}
	writes := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: routeKey(r.GatewayID, r.ID), ConditionExpression: aws.String("attribute_exists(pk)")}},
		audit,
	}
	if r.Target.Type == route.TargetWebhook {
		writes = append(writes, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: routeInKey(r)}})
	}
	cancel, err := s.store.transact(ctx, writes)
	switch {
	case err == nil:
	case cancel == nil:
		return storeError(op, err)
	case reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		return routeNotFound()
	default:
		return cancelError(op, cancel.CancellationReasons, err)
	}
	return s.purgeRoute(ctx, op, r.GatewayID, r.ID)
}

// purgeRoute deletes what a deleted route leaves: lanes, queue, dead
// letters and markers.
func (s *Routes) purgeRoute(ctx context.Context, op, botID, routeID string) error {
	var keys []map[string]types.AttributeValue
	for _, prefix := range []string{lanePrefix, queuePrefix, deadPrefix} {
		items, err := s.queryAll(ctx, op, gatewayPK(botID), prefix+routeID+"#", "pk, sk", 0)
		if err != nil {
			return err
		}
		for _, it := range items {
			keys = append(keys, map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]})
		}
	}
	markers, err := s.queryAll(ctx, op, dueShard(botID, routeID), botID+"#"+routeID+"#", "pk, sk", 0)
	if err != nil {
		return err
	}
	for _, it := range markers {
		keys = append(keys, map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]})
	}
	return s.deleteKeys(ctx, op, keys)
}

// deleteKeys deletes items in batches of 25, retrying what DynamoDB
// leaves unprocessed.
func (s *Routes) deleteKeys(ctx context.Context, op string, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(len(keys), 25)
		reqs := make([]types.WriteRequest, n)
		for i, k := range keys[:n] {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		keys = keys[n:]
		in := &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}}
		for attempt := 0; ; attempt++ {
			out, err := s.client.BatchWriteItem(ctx, in)
			if err != nil {
				return storeError(op, err)
			}
			left := out.UnprocessedItems[s.table]
			if len(left) == 0 {
				break
			}
			if attempt == 8 {
				return unavailable(op, errors.New("batch delete left items unprocessed"))
			}
			in.RequestItems = map[string][]types.WriteRequest{s.table: left}
			select {
			case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
			case <-ctx.Done():
				return storeError(op, ctx.Err())
			}
		}
	}
	return nil
}

// Backlog counts the route's queued updates (up to route.MaxBacklogCount)
// and finds the oldest one's receipt.
func (s *Routes) Backlog(ctx context.Context, r *route.Route) (route.Backlog, error) {
	const op = "dynamo.Backlog"
	items, err := s.queryAll(ctx, op, gatewayPK(r.GatewayID), queuePrefix+r.ID+"#", AttrUpdateReceivedAt, route.MaxBacklogCount+1)
	if err != nil {
		return route.Backlog{}, err
	}
	b := route.Backlog{Pending: min(len(items), route.MaxBacklogCount), Capped: len(items) > route.MaxBacklogCount}
	for _, it := range items {
		rd := itemReader{m: it}
		t := rd.time(AttrUpdateReceivedAt)
		if rd.err == nil && (b.Oldest == nil || t.Before(*b.Oldest)) {
			b.Oldest = &t
		}
	}
	return b, nil
}

// DeadLetters reads a page of the route's dead letters, oldest update
// first. The cursor is the last update id of the page before; the last
// page has none.
//
// Errors: CodeInvalid (field "limit" or "cursor"); CodeUnavailable;
// CodeInternal.
func (s *Routes) DeadLetters(ctx context.Context, r *route.Route, limit int, cursor string) (route.DeadLetterPage, error) {
	const op = "dynamo.DeadLetters"
	if err := checkLimit(limit); err != nil {
		return route.DeadLetterPage{}, err
	}
	// One more than the page, so that a full last page knows it is last.
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(gatewayPK(r.GatewayID)), ":p": sv(deadPrefix + r.ID + "#")},
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	if cursor != "" {
		after, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || after < 0 {
			return route.DeadLetterPage{}, gateway.Invalid(gateway.FieldError{Field: "cursor", Message: "must be a nextCursor of this route's dead letters"})
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{AttrPK: sv(gatewayPK(r.GatewayID)), AttrSK: sv(deadSK(r.ID, after))}
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return route.DeadLetterPage{}, storeError(op, err)
	}
	// A page DynamoDB cut at 1 MB has fewer items, and a LastEvaluatedKey.
	more := len(out.Items) > limit || len(out.LastEvaluatedKey) > 0
	var page route.DeadLetterPage
	for _, it := range out.Items[:min(len(out.Items), limit)] {
		u, err := parseUpdateAttrs(it)
		if err != nil {
			return page, gateway.Internal(op, err)
		}
		rd := itemReader{m: it}
		d := route.DeadLetter{Update: *u, FailedAt: rd.time("failedAt"), Attempts: rd.num("attempts"), LastError: rd.str("lastError")}
		if rd.err != nil {
			return page, gateway.Internal(op, rd.err)
		}
		page.Items = append(page.Items, d)
	}
	if more && len(page.Items) > 0 {
		page.Next = strconv.FormatInt(page.Items[len(page.Items)-1].Update.UpdateID, 10)
	}
	return page, nil
}

// Enqueue puts items on the route's lanes and marks those lanes due now.
func (s *Routes) Enqueue(ctx context.Context, r *route.Route, items []route.Queued) error {
	byLane := map[delivery.Lane][]route.Queued{}
	var order []delivery.Lane
	for _, q := range items {
		l := delivery.Lane{BotID: r.GatewayID, RouteID: r.ID, Chat: route.ChatKey(q.Update.ChatID, q.Update.SenderID)}
		if _, ok := byLane[l]; !ok {
			order = append(order, l)
		}
		byLane[l] = append(byLane[l], q)
	}
	now := s.now()
	for _, l := range order {
		if err := s.Persist(ctx, l, byLane[l], now, "", nil); err != nil {
			return err
		}
	}
	return nil
}

// RequeueDeadLetters moves dead letters back onto their lanes.
func (s *Routes) RequeueDeadLetters(ctx context.Context, r *route.Route, limit int) (int, bool, error) {
	const op = "dynamo.RequeueDeadLetters"
	items, err := s.queryAll(ctx, op, gatewayPK(r.GatewayID), deadPrefix+r.ID+"#", "", limit+1)
	if err != nil {
		return 0, false, err
	}
	more := len(items) > limit
	items = items[:min(len(items), limit)]
	var queued []route.Queued
	var keys []map[string]types.AttributeValue
	for _, it := range items {
		u, err := parseUpdateAttrs(it)
		if err != nil {
			return 0, false, gateway.Internal(op, err)
		}
		queued = append(queued, route.Queued{Update: *u, Replay: true})
		keys = append(keys, map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]})
	}
	if err := s.Enqueue(ctx, r, queued); err != nil {
		return 0, false, err
	}
	// Queued first, then removed: a failure in between leaves a dead
	// letter that is also queued, never neither.
	if err := s.deleteKeys(ctx, op, keys); err != nil {
		return 0, false, err
	}
	if len(items) > 0 {
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
			UpdateExpression:          aws.String("ADD deadLetters :n"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": nv(-int64(len(items)))},
		})
		if err != nil && !isConditionFailed(err) {
			return 0, false, storeError(op, err)
		}
	}
	return len(items), more, nil
}

func isConditionFailed(err error) bool {
	var failed *types.ConditionalCheckFailedException
	return errors.As(err, &failed)
}

// Kick makes every marker of the route due now and clears its lanes'
// retry waits, so the next sweep retries at once.
func (s *Routes) Kick(ctx context.Context, r *route.Route) error {
	const op = "dynamo.Kick"
	lanes, err := s.queryAll(ctx, op, gatewayPK(r.GatewayID), lanePrefix+r.ID+"#", "pk, sk, pending", 0)
	if err != nil {
		return err
	}
	now := s.now()
	for _, it := range lanes {
		rd := itemReader{m: it}
		sk := rd.str(AttrSK)
		l := delivery.Lane{BotID: r.GatewayID, RouteID: r.ID, Chat: strings.TrimPrefix(sk, lanePrefix+r.ID+"#")}
		if rd.num("pending") <= 0 {
			continue
		}
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: &s.table, Key: laneKey(l), UpdateExpression: aws.String("REMOVE nextAttemptAt")}},
			{Put: &types.Put{TableName: &s.table, Item: markerItem(l, now)}},
		}})
		if err != nil {
			return storeError(op, err)
		}
	}
	return nil
}

// Audit records ev in the bot's trail on its own.
func (s *Routes) Audit(ctx context.Context, botID string, ev gateway.AuditEvent) error {
	const op = "dynamo.AuditRoute"
	w, err := s.store.auditPut(botID, ev)
	if err != nil {
		return gateway.Internal(op, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: w.Put.Item, ConditionExpression: w.Put.ConditionExpression})
	if err != nil {
		return storeError(op, err)
	}
	return nil
}

func markerItem(l delivery.Lane, due time.Time) map[string]types.AttributeValue {
	w := itemWriter(markerKey(l))
	w["dueAt"] = ms(due)
	w.str("bot", l.BotID)
	w.str("route", l.RouteID)
	w.str("chat", l.Chat)
	return w
}

// GatewayRemoved cleans up after a deleted gateway: a bot's routes go
// with everything queued for them; routes that targeted it are paused.
func (s *Routes) GatewayRemoved(ctx context.Context, id string) error {
	const op = "dynamo.GatewayRemoved"
	routes, err := s.ListRoutes(ctx, id)
	if err != nil {
		return err
	}
	for _, r := range routes {
		// What the route left first, the route last: a failure leaves it
		// for the retry to find.
		if err := s.purgeRoute(ctx, op, r.GatewayID, r.ID); err != nil {
			return err
		}
		var keys []map[string]types.AttributeValue
		keys = append(keys, routeKey(r.GatewayID, r.ID))
		if r.Target.Type == route.TargetWebhook {
			keys = append(keys, routeInKey(r))
		}
		if err := s.deleteKeys(ctx, op, keys); err != nil {
			return err
		}
	}
	refs, err := s.queryAll(ctx, op, gatewayPK(id), routeInPrefix, "pk, sk", 0)
	if err != nil {
		return err
	}
	now := s.now()
	for _, ref := range refs {
		rd := itemReader{m: ref}
		bot, rid, ok := strings.Cut(strings.TrimPrefix(rd.str(AttrSK), routeInPrefix), "#")
		if !ok {
			continue
		}
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: routeKey(bot, rid),
			UpdateExpression:          aws.String("SET #status = :paused, statusReason = :why, updatedAt = :at ADD version :one"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":paused": sv(string(route.StatusPaused)), ":why": sv("The target gateway was deleted; point the route at another WEBHOOK gateway and resume it."), ":at": sv(formatTime(now)), ":one": nv(1)},
		})
		if err != nil && !isConditionFailed(err) {
			return storeError(op, err)
		}
		if err := s.deleteKeys(ctx, op, []map[string]types.AttributeValue{{AttrPK: ref[AttrPK], AttrSK: ref[AttrSK]}}); err != nil {
			return err
		}
	}
	return nil
}

// ParseStreamUpdate reads an inbox update from a stream record's new
// image, given as the table's attribute values; ok is false for an item
// that is not a received update.
func ParseStreamUpdate(item map[string]types.AttributeValue) (*inbox.Update, bool, error) {
	sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
	if sk == nil || !strings.HasPrefix(sk.Value, updatePrefix) {
		return nil, false, nil
	}
	u, err := parseUpdate(item)
	return u, err == nil, err
}

// IsGatewayItem reports whether keys are a gateway item's, and whose.
func IsGatewayItem(keys map[string]types.AttributeValue) (string, bool) {
	pk, _ := keys[AttrPK].(*types.AttributeValueMemberS)
	sk, _ := keys[AttrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil || sk.Value != skGateway || !strings.HasPrefix(pk.Value, gatewayPrefix) {
		return "", false
	}
	return strings.TrimPrefix(pk.Value, gatewayPrefix), true
}

// KickTargeting kicks every route that targets gateway id and has failed
// since its last delivery (found through the target's back-references).
func (s *Routes) KickTargeting(ctx context.Context, id string) error {
	const op = "dynamo.KickTargeting"
	refs, err := s.queryAll(ctx, op, gatewayPK(id), routeInPrefix, "pk, sk", 0)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		rd := itemReader{m: ref}
		bot, rid, ok := strings.Cut(strings.TrimPrefix(rd.str(AttrSK), routeInPrefix), "#")
		if !ok {
			continue
		}
		r, err := s.GetRoute(ctx, bot, rid)
		if gateway.IsCode(err, gateway.CodeNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if r.ConsecutiveFailures == 0 || r.Status == route.StatusPaused {
			continue
		}
		if err := s.Kick(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
