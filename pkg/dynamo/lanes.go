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

	"github.com/gatehouse/gatehouse/pkg/delivery"
	"github.com/gatehouse/gatehouse/pkg/route"
)

// RoutesAPI is the part of *dynamodb.Client that Routes uses.
type RoutesAPI interface {
	ItemAPI
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Lane items' attributes.
const (
	attrPending   = "pending"
	attrThrough   = "deliveredThrough"
	attrNextAt    = "nextAttemptAt"
	attrAttempts  = "attempts"
	attrLeaseBy   = "leaseOwner"
	attrLeaseTill = "leaseUntil"
)

func parseLane(item map[string]types.AttributeValue, now time.Time) delivery.LaneState {
	r := itemReader{m: item}
	st := delivery.LaneState{DeliveredThrough: -1, Pending: r.num(attrPending), Attempts: r.num(attrAttempts)}
	if t := r.optNum(attrThrough); t != nil {
		st.DeliveredThrough = *t
	}
	if n := r.optNum(attrNextAt); n != nil {
		t := time.UnixMilli(*n)
		st.NextAttemptAt = &t
	}
	if until := r.optNum(attrLeaseTill); until != nil && *until >= now.UnixMilli() {
		st.Leased = true
	}
	return st
}

// Acquire leases lane l with one conditional UpdateItem.
func (s *Routes) Acquire(ctx context.Context, l delivery.Lane, owner string, until, now time.Time, mode delivery.AcquireMode) (delivery.LaneState, bool, error) {
	const op = "dynamo.Acquire"
	cond := "(attribute_not_exists(leaseUntil) OR leaseUntil < :now) AND (attribute_not_exists(nextAttemptAt) OR nextAttemptAt <= :now)"
	if mode == delivery.AcquireIdle {
		cond += " AND (attribute_not_exists(pending) OR pending <= :zero)"
	}
	values := map[string]types.AttributeValue{":now": ms(now), ":until": ms(until), ":owner": sv(owner)}
	if mode == delivery.AcquireIdle {
		values[":zero"] = nv(0)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: laneKey(l),
		UpdateExpression:                    aws.String("SET leaseOwner = :owner, leaseUntil = :until"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return parseLane(out.Attributes, now), true, nil
	case errors.As(err, &failed):
		item := failed.Item
		if item == nil {
			got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: laneKey(l), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return delivery.LaneState{}, false, storeError(op, err)
			}
			item = got.Item
		}
		return parseLane(item, now), false, nil
	default:
		return delivery.LaneState{}, false, storeError(op, err)
	}
}

// releaseUpdate is the lane update that lets owner's lease go.
func (s *Routes) releaseUpdate(l delivery.Lane, owner string, rel delivery.Release) *types.Update {
	set := []string{"deliveredThrough = :through"}
	values := map[string]types.AttributeValue{":owner": sv(owner), ":through": nv(rel.DeliveredThrough), ":delta": nv(rel.PendingDelta)}
	remove := []string{"leaseOwner", "leaseUntil"}
	if rel.NextAttemptAt != nil {
		set = append(set, "nextAttemptAt = :next", "attempts = :attempts", "lastError = :err")
		values[":next"], values[":attempts"], values[":err"] = ms(*rel.NextAttemptAt), nv(rel.Attempts), sv(rel.LastError)
	} else {
		remove = append(remove, "nextAttemptAt", "attempts")
	}
	return &types.Update{
		TableName: &s.table, Key: laneKey(l),
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ") + " ADD pending :delta REMOVE " + strings.Join(remove, ", ")),
		ConditionExpression:       aws.String("leaseOwner = :owner"),
		ExpressionAttributeValues: values,
	}
}

// headUpdate stamps the failed head item's attempts.
func (s *Routes) headUpdate(l delivery.Lane, rel delivery.Release) *types.Update {
	values := map[string]types.AttributeValue{":attempts": nv(rel.Attempts), ":err": sv(rel.LastError)}
	update := "SET attempts = :attempts, lastError = :err"
	if rel.FirstAttemptAt != nil {
		update += ", firstAttemptAt = if_not_exists(firstAttemptAt, :first)"
		values[":first"] = ms(*rel.FirstAttemptAt)
	}
	return &types.Update{
		TableName: &s.table, Key: map[string]types.AttributeValue{AttrPK: sv(gatewayPK(l.BotID)), AttrSK: sv(queueSK(l, rel.Head.Update.UpdateID))},
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: values,
	}
}

// Release lets owner's lease of l go, with the head item's attempt
// recorded in the same transaction when rel has one.
func (s *Routes) Release(ctx context.Context, l delivery.Lane, owner string, rel delivery.Release) (delivery.LaneState, bool, error) {
	const op = "dynamo.Release"
	up := s.releaseUpdate(l, owner, rel)
	if rel.Head != nil {
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: up}, {Update: s.headUpdate(l, rel)}}})
		var cancel *types.TransactionCanceledException
		switch {
		case errors.As(err, &cancel) && reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
			return delivery.LaneState{}, true, nil
		case err != nil:
			return delivery.LaneState{}, false, storeError(op, err)
		}
		return delivery.LaneState{DeliveredThrough: rel.DeliveredThrough}, false, nil
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: up.TableName, Key: up.Key, UpdateExpression: up.UpdateExpression,
		ConditionExpression: up.ConditionExpression, ExpressionAttributeValues: up.ExpressionAttributeValues,
		ReturnValues: types.ReturnValueAllNew,
	})
	switch {
	case isConditionFailed(err):
		return delivery.LaneState{}, true, nil
	case err != nil:
		return delivery.LaneState{}, false, storeError(op, err)
	}
	return parseLane(out.Attributes, s.now()), false, nil
}

// queueItem is the item of q queued on lane l.
func queueItem(l delivery.Lane, q route.Queued, first *time.Time, attempts int64, op string) (map[string]types.AttributeValue, error) {
	w, err := updateAttrs(&q.Update, op)
	if err != nil {
		return nil, err
	}
	w[AttrPK], w[AttrSK] = sv(gatewayPK(l.BotID)), sv(queueSK(l, q.Update.UpdateID))
	w.num(AttrTTL, time.Now().Add(queuedTTL).Unix())
	if q.Replay {
		w["replay"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if first != nil {
		w["firstAttemptAt"] = ms(*first)
		w.num("attempts", attempts)
	}
	return w, nil
}

// Persist queues items on l in transactions of at most 100 writes: the
// items, the lane's backlog count, its marker, and (in the last) the
// release of owner's lease.
func (s *Routes) Persist(ctx context.Context, l delivery.Lane, items []route.Queued, due time.Time, owner string, rel *delivery.Release) error {
	const op = "dynamo.Persist"
	for len(items) > 0 {
		n := min(len(items), maxTransaction-3)
		chunk := items[:n]
		items = items[n:]
		writes := make([]types.TransactWriteItem, 0, n+3)
		for i, q := range chunk {
			var first *time.Time
			var attempts int64
			if i == 0 && rel != nil && rel.FirstAttemptAt != nil {
				first, attempts = rel.FirstAttemptAt, rel.Attempts
			}
			item, err := queueItem(l, q, first, attempts, op)
			if err != nil {
				return err
			}
			writes = append(writes, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}})
		}
		writes = append(writes, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: markerItem(l, due)}})
		if len(items) == 0 && owner != "" && rel != nil {
			r := *rel
			r.PendingDelta += int64(n)
			writes = append(writes, types.TransactWriteItem{Update: s.releaseUpdate(l, owner, r)})
		} else {
			writes = append(writes, types.TransactWriteItem{Update: &types.Update{
				TableName: &s.table, Key: laneKey(l), UpdateExpression: aws.String("ADD pending :n"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": nv(int64(n))},
			}})
		}
		if _, err := s.store.transact(ctx, writes); err != nil {
			return storeError(op, err)
		}
	}
	return nil
}

// Queue reads up to limit queued updates of l, oldest first.
func (s *Routes) Queue(ctx context.Context, l delivery.Lane, limit int) ([]delivery.Pending, error) {
	const op = "dynamo.Queue"
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(gatewayPK(l.BotID)), ":p": sv(queuePrefix + l.RouteID + "#" + l.Chat + "#")},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, storeError(op, err)
	}
	items := make([]delivery.Pending, 0, len(out.Items))
	for _, it := range out.Items {
		u, err := parseUpdateAttrs(it)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		rd := itemReader{m: it}
		p := delivery.Pending{Queued: route.Queued{Update: *u}, Attempts: rd.num("attempts")}
		if b, ok := it["replay"].(*types.AttributeValueMemberBOOL); ok {
			p.Replay = b.Value
		}
		if f := rd.optNum("firstAttemptAt"); f != nil {
			t := time.UnixMilli(*f)
			p.FirstAttemptAt = &t
		}
		items = append(items, p)
	}
	return items, nil
}

// Done deletes delivered updates from l's queue with batch writes.
func (s *Routes) Done(ctx context.Context, l delivery.Lane, updateIDs []int64) error {
	keys := make([]map[string]types.AttributeValue, len(updateIDs))
	for i, id := range updateIDs {
		keys[i] = map[string]types.AttributeValue{AttrPK: sv(gatewayPK(l.BotID)), AttrSK: sv(queueSK(l, id))}
	}
	return s.deleteKeys(ctx, "dynamo.Done", keys)
}

// DeadLetter moves p from l's queue to the route's dead letters in one
// transaction, counting it on the route and off the lane.
func (s *Routes) DeadLetter(ctx context.Context, l delivery.Lane, p delivery.Pending, failedAt time.Time, lastError string) error {
	const op = "dynamo.DeadLetter"
	w, err := updateAttrs(&p.Update, op)
	if err != nil {
		return err
	}
	w[AttrPK], w[AttrSK] = sv(gatewayPK(l.BotID)), sv(deadSK(l.RouteID, p.Update.UpdateID))
	w.time("failedAt", failedAt)
	w.num("attempts", p.Attempts+1)
	w.str("lastError", lastError)
	w.num(AttrTTL, failedAt.Add(deadLetterTTL).Unix())
	_, err = s.store.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: map[string]types.AttributeValue{AttrPK: sv(gatewayPK(l.BotID)), AttrSK: sv(queueSK(l, p.Update.UpdateID))}}},
		{Put: &types.Put{TableName: &s.table, Item: w}},
		{Update: &types.Update{TableName: &s.table, Key: laneKey(l), UpdateExpression: aws.String("ADD pending :m"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":m": nv(-1)}}},
		{Update: &types.Update{TableName: &s.table, Key: routeKey(l.BotID, l.RouteID), UpdateExpression: aws.String("ADD deadLetters :one"),
			ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": nv(1)}}},
	})
	if err != nil {
		return storeError(op, err)
	}
	return nil
}

// Due reads the markers due at now from every shard.
func (s *Routes) Due(ctx context.Context, now time.Time, limit int) ([]delivery.Lane, error) {
	const op = "dynamo.Due"
	var lanes []delivery.Lane
	for shard := 0; shard < dueShards; shard++ {
		in := &dynamodb.QueryInput{
			TableName:                 &s.table,
			KeyConditionExpression:    aws.String("pk = :pk"),
			FilterExpression:          aws.String("dueAt <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(fmt.Sprintf("%s%d", duePrefix, shard)), ":now": ms(now)},
		}
		for {
			out, err := s.client.Query(ctx, in)
			if err != nil {
				return nil, storeError(op, err)
			}
			for _, it := range out.Items {
				rd := itemReader{m: it}
				lanes = append(lanes, delivery.Lane{BotID: rd.str("bot"), RouteID: rd.str("route"), Chat: rd.str("chat")})
				if len(lanes) == limit {
					return lanes, nil
				}
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return lanes, nil
}

// Settle takes done off l's backlog count, deletes its marker and
// releases owner's lease in one transaction, if the count is at most done.
func (s *Routes) Settle(ctx context.Context, l delivery.Lane, owner string, through, done int64) (bool, int64, error) {
	const op = "dynamo.Settle"
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: laneKey(l),
			UpdateExpression:                    aws.String("SET deliveredThrough = :through, pending = :zero REMOVE leaseOwner, leaseUntil, nextAttemptAt, attempts"),
			ConditionExpression:                 aws.String("leaseOwner = :owner AND (attribute_not_exists(pending) OR pending <= :done)"),
			ExpressionAttributeValues:           map[string]types.AttributeValue{":through": nv(through), ":zero": nv(0), ":owner": sv(owner), ":done": nv(done)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: markerKey(l)}},
	}})
	var cancel *types.TransactionCanceledException
	switch {
	case err == nil:
		return true, 0, nil
	case errors.As(err, &cancel) && reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		item := cancel.CancellationReasons[0].Item
		if item == nil {
			got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: laneKey(l), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return false, 0, storeError(op, err)
			}
			item = got.Item
		}
		rd := itemReader{m: item}
		if rd.str(attrLeaseBy) != owner {
			return false, 0, fmt.Errorf("%s: the lease of the lane was lost", op)
		}
		return false, rd.num(attrPending), nil
	default:
		return false, 0, storeError(op, err)
	}
}

// Reschedule moves l's marker to at.
func (s *Routes) Reschedule(ctx context.Context, l delivery.Lane, at time.Time) error {
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: markerItem(l, at)}); err != nil {
		return storeError("dynamo.Reschedule", err)
	}
	return nil
}

// Delivered records a delivery on the route: its last delivered update
// (if newer), the lag, and the end of a failure streak (an ERROR route
// turns ACTIVE again).
func (s *Routes) Delivered(ctx context.Context, r *route.Route, updateID int64, at time.Time, lag time.Duration) error {
	const op = "dynamo.Delivered"
	values := map[string]types.AttributeValue{":u": nv(updateID), ":at": sv(formatTime(at)), ":lag": nv(lag.Milliseconds()), ":zero": nv(0)}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
		UpdateExpression:          aws.String("SET lastDeliveredUpdateId = :u, lastDeliveredAt = :at, lastLagMs = :lag, consecutiveFailures = :zero"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND (attribute_not_exists(lastDeliveredUpdateId) OR lastDeliveredUpdateId < :u)"),
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		// An older update (another chat's lane, or a replay): only the streak ends.
		out, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
			UpdateExpression:          aws.String("SET consecutiveFailures = :zero"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND consecutiveFailures > :zero"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": nv(0)},
			ReturnValues:              types.ReturnValueAllNew,
		})
		if isConditionFailed(err) {
			return nil // nothing to end
		}
	}
	if err != nil {
		return storeError(op, err)
	}
	// r is shared by the invocation's lanes and read-only here: the
	// route's stored status says whether a streak of failures ends.
	if rd := (itemReader{m: out.Attributes}); rd.str("status") == string(route.StatusError) {
		_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
			UpdateExpression:          aws.String("SET #status = :active REMOVE statusReason"),
			ConditionExpression:       aws.String("#status = :error"),
			ExpressionAttributeNames:  map[string]string{"#status": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":active": sv(string(route.StatusActive)), ":error": sv(string(route.StatusError))},
		})
		if err != nil && !isConditionFailed(err) {
			return storeError(op, err)
		}
	}
	return nil
}

// Failed records a failed attempt on the route; the errorAfter-th failure
// in a row turns an ACTIVE route to ERROR.
func (s *Routes) Failed(ctx context.Context, r *route.Route, at time.Time, msg string, errorAfter int64) error {
	const op = "dynamo.Failed"
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
		UpdateExpression:          aws.String("SET lastError = :msg, lastErrorAt = :at ADD consecutiveFailures :one"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":msg": sv(msg), ":at": sv(formatTime(at)), ":one": nv(1)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return storeError(op, err)
	}
	rd := itemReader{m: out.Attributes}
	if rd.num("consecutiveFailures") < errorAfter || rd.str("status") != string(route.StatusActive) {
		return nil
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: routeKey(r.GatewayID, r.ID),
		UpdateExpression:          aws.String("SET #status = :error, statusReason = :why"),
		ConditionExpression:       aws.String("#status = :active"),
		ExpressionAttributeNames:  map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":active": sv(string(route.StatusActive)), ":error": sv(string(route.StatusError)), ":why": sv(fmt.Sprintf("The target failed %d deliveries in a row; they are being retried.", errorAfter))},
	})
	if err != nil && !isConditionFailed(err) {
		return storeError(op, err)
	}
	return nil
}

// ForgetLane deletes l's marker, lane item and queue: what is left of a
// lane whose route was deleted.
func (s *Routes) ForgetLane(ctx context.Context, l delivery.Lane) error {
	const op = "dynamo.ForgetLane"
	items, err := s.queryAll(ctx, op, gatewayPK(l.BotID), queuePrefix+l.RouteID+"#"+l.Chat+"#", "pk, sk", 0)
	if err != nil {
		return err
	}
	keys := []map[string]types.AttributeValue{markerKey(l), laneKey(l)}
	for _, it := range items {
		keys = append(keys, map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]})
	}
	return s.deleteKeys(ctx, op, keys)
}

// Extend moves owner's lease of l to until.
func (s *Routes) Extend(ctx context.Context, l delivery.Lane, owner string, until time.Time) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: laneKey(l),
		UpdateExpression:          aws.String("SET leaseUntil = :until"),
		ConditionExpression:       aws.String("leaseOwner = :owner"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": ms(until), ":owner": sv(owner)},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("dynamo.Extend: the lease of the lane was lost")
	}
	if err != nil {
		return storeError("dynamo.Extend", err)
	}
	return nil
}
