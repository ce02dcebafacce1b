package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// Received Telegram updates share their gateway's partition, under sort key
// "UPDATE#<update_id, zero-padded to 20 digits>": the key makes a redelivered
// update a failed condition rather than a second item, and the padding makes
// sort order update order. They expire by TTL, and the table's stream
// (template.yaml) carries them to the consumers of the inbox.
const (
	updatePrefix = "UPDATE#"

	// AttrUpdateRaw holds the update's JSON as Telegram sent it.
	AttrUpdateRaw = "raw"
	// AttrUpdateRawGzip holds it gzip-compressed instead, for an update
	// whose JSON would not fit in an item (see maxInlineRaw).
	AttrUpdateRawGzip = "rawGzip"
	// AttrUpdateType is the update's type ("message", "callback_query", …).
	AttrUpdateType = "type"
	// AttrUpdateID is the update_id, as a number.
	AttrUpdateID = "updateId"
	// AttrUpdateGatewayID is the gateway id, as in the partition key.
	AttrUpdateGatewayID = "gatewayId"
	// AttrUpdateChatID, AttrUpdateSenderID: numbers, when the update has them.
	AttrUpdateChatID   = "chatId"
	AttrUpdateSenderID = "senderId"
	// AttrUpdateMessageDate and AttrUpdateReceivedAt are times in the
	// table's fixed-width RFC 3339 layout.
	AttrUpdateMessageDate = "messageDate"
	AttrUpdateReceivedAt  = "receivedAt"
)

// DynamoDB items are at most 400 KB, names and values together. Updates of
// up to maxInlineRaw bytes are stored as they came; larger ones (which the
// webhook accepts up to 1 MiB, and JSON compresses well) are stored
// gzip-compressed if that fits in maxStoredRaw.
const (
	maxInlineRaw = 350 << 10
	maxStoredRaw = 390 << 10
)

// Inbox is the inbox over the table, the store of pkg/telegramhook: the
// webhook's gateway read, the received updates and the gateway
// bookkeeping the webhook does.
type Inbox struct {
	client ItemAPI
	table  string
	store  *Store // for its transactions
}

// NewInbox returns an Inbox over table. It does no I/O.
func NewInbox(client ItemAPI, table string, opts ...Option) *Inbox {
	return &Inbox{client: client, table: table, store: New(client, table, opts...)}
}

// gatewayProjection is what the webhook reads of a gateway: never the
// sealed credentials, which it has no key to open anyway.
const gatewayProjection = "id, #type, #status, webhookSecretHash, lastConnectedAt, lastError"

// Gateway reads what the webhook needs of gateway id with one consistent
// GetItem, so a secret rotated a moment ago is seen.
//
// Errors: NotFound; CodeUnavailable; CodeInternal.
func (in *Inbox) Gateway(ctx context.Context, id string) (*inbox.Gateway, error) {
	const op = "dynamo.Inbox.Gateway"
	out, err := in.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &in.table, Key: gatewayKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String(gatewayProjection),
		ExpressionAttributeNames: map[string]string{"#type": "type", "#status": "status"},
	})
	if err != nil {
		return nil, storeError(op, err)
	}
	if len(out.Item) == 0 {
		return nil, gateway.NotFound()
	}
	r := itemReader{m: out.Item}
	g := &inbox.Gateway{
		ID:                r.str("id"),
		Type:              gateway.Type(r.str("type")),
		Status:            gateway.Status(r.str("status")),
		WebhookSecretHash: r.bytes("webhookSecretHash"),
		LastConnectedAt:   r.optTime("lastConnectedAt"),
		LastError:         r.str("lastError"),
	}
	if r.err != nil {
		return nil, gateway.Internal(op, fmt.Errorf("gateway %s: %w", id, r.err))
	}
	return g, nil
}

func updateSK(updateID int64) string {
	return updatePrefix + fmt.Sprintf("%020d", updateID)
}

// PutUpdate stores u with one conditional PutItem.
//
// Errors: inbox.ErrDuplicate (wrapped) when the gateway already has this
// update_id; CodeTooLarge when the update does not fit in an item even
// compressed; CodeInvalid for a negative update_id or a missing gateway id;
// CodeUnavailable; CodeInternal.
func (in *Inbox) PutUpdate(ctx context.Context, u *inbox.Update) error {
	const op = "dynamo.Inbox.PutUpdate"
	if u == nil || u.GatewayID == "" || u.UpdateID < 0 || len(u.Raw) == 0 {
		return &gateway.Error{Code: gateway.CodeInvalid, Message: "The update is invalid.", Op: op}
	}
	w, err := updateAttrs(u, op)
	if err != nil {
		return err
	}
	w[AttrPK], w[AttrSK] = sv(gatewayPK(u.GatewayID)), sv(updateSK(u.UpdateID))
	w.num(AttrTTL, u.ExpiresAt.Unix())
	_, err = in.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &in.table, Item: w,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &failed):
		return fmt.Errorf("%s: gateway %s update %d: %w", op, u.GatewayID, u.UpdateID, inbox.ErrDuplicate)
	default:
		return storeError(op, err)
	}
}

// TouchConnected sets lastConnectedAt to now with one conditional
// UpdateItem, if the gateway exists, is CONNECTED, and was last connected
// before notAfter (or never). It leaves version and updatedAt alone: see
// package inbox for why. A failed condition is (false, nil).
//
// Errors: CodeUnavailable; CodeInternal.
func (in *Inbox) TouchConnected(ctx context.Context, id string, now, notAfter time.Time) (bool, error) {
	const op = "dynamo.Inbox.TouchConnected"
	_, err := in.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &in.table,
		Key:                      gatewayKey(id),
		UpdateExpression:         aws.String("SET lastConnectedAt = :now"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #status = :connected AND (attribute_not_exists(lastConnectedAt) OR lastConnectedAt < :notAfter)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":       sv(formatTime(now)),
			":connected": sv(string(gateway.StatusConnected)),
			":notAfter":  sv(formatTime(notAfter)),
		},
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

// RecoverWebhookError moves gateway id from ERROR to CONNECTED, if its
// lastError starts with inbox.WebhookErrorPrefix, in one transaction with
// its audit event ev: the status change bumps version (so an edit based on
// the ERROR gateway gets a version mismatch instead of writing ERROR back)
// and sets updatedAt and lastConnectedAt. lastError and lastErrorAt are
// removed, as a successful connect or health check removes them (the error
// stays in the audit trail). A failed condition,
// or another write of the gateway still racing this one, is (false, nil):
// the next update tries again.
//
// Errors: CodeUnavailable; CodeInternal.
func (in *Inbox) RecoverWebhookError(ctx context.Context, id string, now time.Time, ev gateway.AuditEvent) (bool, error) {
	const op = "dynamo.Inbox.RecoverWebhookError"
	audit, err := in.store.auditPut(id, ev)
	if err != nil {
		return false, gateway.Internal(op, err)
	}
	at := sv(formatTime(now))
	return in.store.writeIfCurrent(ctx, op, &types.Update{
		TableName:                &in.table,
		Key:                      gatewayKey(id),
		UpdateExpression:         aws.String("SET #status = :connected, lastConnectedAt = :now, updatedAt = :now REMOVE lastError, lastErrorAt ADD #version :one"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #status = :error AND begins_with(lastError, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#version": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":connected": sv(string(gateway.StatusConnected)),
			":error":     sv(string(gateway.StatusError)),
			":prefix":    sv(inbox.WebhookErrorPrefix),
			":now":       at,
			":one":       nv(1),
		},
	}, audit, id, ev.ID)
}

// ListUpdates returns up to limit (1..MaxLimit) of gateway id's stored
// updates whose update_id is above after, in update_id order. Pass the last
// UpdateID returned to read on; pass -1 to start at the beginning.
//
// Errors: CodeInvalid (field "limit"); CodeUnavailable; CodeInternal.
func (in *Inbox) ListUpdates(ctx context.Context, id string, after int64, limit int) ([]inbox.Update, error) {
	page, err := in.ReadUpdates(ctx, id, inbox.UpdateQuery{After: after, Limit: limit})
	return page.Updates, err
}

// ReadUpdates reads gateway id's stored updates after q.After, in
// update_id order: one consistent Query of the gateway's partition, page
// by page, until q.Limit updates match q's type and chat, q.MaxBytes of raw
// updates are gathered, q.MaxRead updates were examined, or the partition
// ends. The read is strongly consistent, so an update the webhook answered
// 200 for is seen.
//
// Type and chat are matched here rather than by a FilterExpression:
// DynamoDB charges for the items a filter drops all the same, and only
// here does the read learn the last update it examined, which the page's
// Last must reach for a filtered reader not to examine it again.
//
// Errors: CodeInvalid (field "limit"); CodeUnavailable; CodeInternal.
func (in *Inbox) ReadUpdates(ctx context.Context, id string, q inbox.UpdateQuery) (inbox.UpdatePage, error) {
	const op = "dynamo.Inbox.ReadUpdates"
	page := inbox.UpdatePage{Last: q.After}
	if err := checkLimit(q.Limit); err != nil {
		return page, err
	}
	start := updatePrefix
	if q.After >= 0 {
		start = updateSK(q.After)
	}
	query := &dynamodb.QueryInput{
		TableName:              &in.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   sv(gatewayPK(id)),
			":from": sv(start),
			":to":   sv(updatePrefix + "~"), // after every digit
		},
		ConsistentRead: aws.Bool(true),
	}
	if q.Newest {
		return in.readNewest(ctx, op, query, q)
	}
	filtered := q.Type != "" || q.ChatID != nil
	read, size := 0, 0
	for {
		// One more than the page needs, so that a full page knows it is;
		// a filtered read reads ahead.
		want := q.Limit - len(page.Updates) + 1
		if filtered {
			want = min(max(4*want, 25), MaxLimit)
		}
		if q.MaxRead > 0 {
			want = min(want, q.MaxRead-read+1)
		}
		query.Limit = aws.Int32(int32(want))
		out, err := in.client.Query(ctx, query)
		if err != nil {
			return inbox.UpdatePage{Last: q.After}, storeError(op, err)
		}
		for _, item := range out.Items {
			u, err := parseUpdate(item)
			if err != nil {
				return inbox.UpdatePage{Last: q.After}, gateway.Internal(op, fmt.Errorf("gateway %s: %w", id, err))
			}
			if u.UpdateID <= q.After {
				continue // the From of the key condition is inclusive
			}
			match := (q.Type == "" || u.Type == q.Type) && (q.ChatID == nil || u.ChatID != nil && *u.ChatID == *q.ChatID)
			if match && (len(page.Updates) == q.Limit || q.MaxBytes > 0 && len(page.Updates) > 0 && size+len(u.Raw) > q.MaxBytes) {
				return page, nil // the next read starts with u
			}
			if q.MaxRead > 0 && read == q.MaxRead {
				return page, nil
			}
			read++
			page.Last = u.UpdateID
			if match {
				page.Updates = append(page.Updates, *u)
				size += len(u.Raw)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, nil
		}
		query.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// readNewest is ReadUpdates of the newest updates: query reads the
// partition backwards from its newest update; the matches are returned
// oldest first, and Last is the newest update examined.
func (in *Inbox) readNewest(ctx context.Context, op string, query *dynamodb.QueryInput, q inbox.UpdateQuery) (inbox.UpdatePage, error) {
	page := inbox.UpdatePage{Last: -1}
	query.ExpressionAttributeValues[":from"] = sv(updatePrefix)
	query.ScanIndexForward = aws.Bool(false)
	read, size := 0, 0
	for {
		want := min(max(q.Limit-len(page.Updates), 25), MaxLimit)
		if q.MaxRead > 0 {
			want = min(want, q.MaxRead-read)
		}
		query.Limit = aws.Int32(int32(want))
		out, err := in.client.Query(ctx, query)
		if err != nil {
			return inbox.UpdatePage{Last: -1}, storeError(op, err)
		}
		for _, item := range out.Items {
			u, err := parseUpdate(item)
			if err != nil {
				return inbox.UpdatePage{Last: -1}, gateway.Internal(op, err)
			}
			if page.Last < 0 {
				page.Last = u.UpdateID
			}
			read++
			if (q.Type == "" || u.Type == q.Type) && (q.ChatID == nil || u.ChatID != nil && *u.ChatID == *q.ChatID) {
				if q.MaxBytes > 0 && len(page.Updates) > 0 && size+len(u.Raw) > q.MaxBytes {
					slices.Reverse(page.Updates)
					return page, nil
				}
				page.Updates = append(page.Updates, *u)
				size += len(u.Raw)
			}
			if len(page.Updates) == q.Limit || q.MaxRead > 0 && read >= q.MaxRead {
				slices.Reverse(page.Updates)
				return page, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			slices.Reverse(page.Updates)
			return page, nil
		}
		query.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// updateAttrs are the attributes of update u in an item (the inbox's, a
// route's queue's): everything but the keys and the expiry.
func updateAttrs(u *inbox.Update, op string) (itemWriter, error) {
	w := itemWriter{}
	w.str(AttrUpdateGatewayID, u.GatewayID)
	w.num(AttrUpdateID, u.UpdateID)
	w.str(AttrUpdateType, u.Type)
	if u.ChatID != nil {
		w.num(AttrUpdateChatID, *u.ChatID)
	}
	if u.SenderID != nil {
		w.num(AttrUpdateSenderID, *u.SenderID)
	}
	w.optTime(AttrUpdateMessageDate, u.MessageDate)
	w.time(AttrUpdateReceivedAt, u.ReceivedAt)
	if len(u.Raw) <= maxInlineRaw {
		w.str(AttrUpdateRaw, string(u.Raw))
		return w, nil
	}
	z, err := gzipped(u.Raw)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	if len(z) > maxStoredRaw {
		return nil, &gateway.Error{Code: gateway.CodeTooLarge, Message: "The update is too large to store.", Op: op}
	}
	w.bytes(AttrUpdateRawGzip, z)
	return w, nil
}

// parseUpdate is the inverse of PutUpdate's item.
func parseUpdate(item map[string]types.AttributeValue) (*inbox.Update, error) {
	u, err := parseUpdateAttrs(item)
	if err != nil {
		return nil, err
	}
	sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
	if sk == nil || sk.Value != updateSK(u.UpdateID) {
		return nil, fmt.Errorf("attribute %q does not match updateId", AttrSK)
	}
	return u, nil
}

// parseUpdateAttrs is the inverse of updateAttrs (and reads the expiry
// when there is one).
func parseUpdateAttrs(item map[string]types.AttributeValue) (*inbox.Update, error) {
	r := itemReader{m: item}
	u := &inbox.Update{
		GatewayID:   r.str(AttrUpdateGatewayID),
		UpdateID:    r.num(AttrUpdateID),
		Type:        r.str(AttrUpdateType),
		ChatID:      r.optNum(AttrUpdateChatID),
		SenderID:    r.optNum(AttrUpdateSenderID),
		MessageDate: r.optTime(AttrUpdateMessageDate),
		ReceivedAt:  r.time(AttrUpdateReceivedAt),
		ExpiresAt:   time.Unix(r.num(AttrTTL), 0).UTC(),
	}
	if raw := r.str(AttrUpdateRaw); raw != "" {
		u.Raw = []byte(raw)
	} else if z := r.bytes(AttrUpdateRawGzip); len(z) > 0 {
		raw, err := gunzipped(z)
		if err != nil {
			r.fail(AttrUpdateRawGzip, "does not decompress")
		}
		u.Raw = raw
	}
	if r.err != nil {
		return nil, r.err
	}
	return u, nil
}

func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gunzipped(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	// Stored updates were at most 1 MiB before compression.
	return io.ReadAll(io.LimitReader(zr, 2<<20))
}
