// Package rekeydynamo is key rotation's store (rekey.Store) over
// Gatehouse's DynamoDB table. It lives beside pkg/rekey rather than in
// pkg/dynamo so that only the rotate-credentials function links the
// rotation: it builds on pkg/dynamo's exported building blocks (the gateway
// item codec, the owner-index scan, the version-checked write).
package rekeydynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/dynamo"
	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/rekey"
)

// Key rotation's items. The checkpoint of the latest run is one item in a
// partition of its own, "ROTATION#CREDENTIALS"/"CHECKPOINT", so that IAM
// can grant a rotation exactly that besides the gateways' partitions. Its
// progress is stored as one JSON attribute: nothing queries it, and it
// changes shape with the number of segments.
//
// A gateway a run wrote carries the run's mark: rotationRun (the run id),
// rotationResult ("rotated" or "unreadable") and, when rotated,
// credentialsRotatedAt. An ordinary write of the gateway (a full Put)
// drops the mark, which is right: the gateway has changed since.
const (
	rotationPK        = "ROTATION#CREDENTIALS"
	skCheckpoint      = "CHECKPOINT"
	attrRotationRun   = "rotationRun"
	attrRotationRes   = "rotationResult"
	attrRotatedAt     = "credentialsRotatedAt"
	attrCheckpointRun = "runId"
	attrCheckpoint    = "state"
)

// Store is rekey.Store over the table.
type Store struct {
	client dynamo.ItemAPI
	table  string
	store  *dynamo.Store // for its transactions
}

var _ rekey.Store = (*Store)(nil)

// New returns a Store over table, whose audit events are written with
// opts (dynamo.WithAuditRetention). It does no I/O.
func New(client dynamo.ItemAPI, table string, opts ...dynamo.Option) *Store {
	return &Store{client: client, table: table, store: dynamo.New(client, table, opts...)}
}

// scan is segment seg of segments of the owner index, which holds gateway
// items only.
func (k *Store) scan(seg, segments int) dynamo.OwnerScan {
	return dynamo.OwnerScan{Client: k.client, Table: k.table, Segment: seg, Segments: segments, MaxSegments: rekey.MaxSegments}
}

// CountGateways counts the gateways of segment seg of segments with a
// Select COUNT Scan, page by page.
//
// Errors: CodeInvalid for a bad segment; CodeUnavailable; CodeInternal.
func (k *Store) CountGateways(ctx context.Context, seg, segments int) (int, error) {
	const op = "rekeydynamo.Store.CountGateways"
	in, err := k.scan(seg, segments).Input(op)
	if err != nil {
		return 0, err
	}
	in.Select = types.SelectCount
	n := 0
	for {
		out, err := k.client.Scan(ctx, in)
		if err != nil {
			return 0, dynamo.StoreError(op, err)
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ScanGateways reads up to limit (1..MaxLimit) gateways of segment seg of
// segments after start, every status included, with their rotation marks.
// The read is eventually consistent; rekey's writes are conditional on the
// version read. Its cursors are the health sweep's: owner-index keys.
//
// Errors: CodeInvalid for a bad segment, limit or cursor; CodeUnavailable;
// CodeInternal.
func (k *Store) ScanGateways(ctx context.Context, seg, segments int, start rekey.Cursor, limit int) (rekey.Page, error) {
	const op = "rekeydynamo.Store.ScanGateways"
	p, err := k.scan(seg, segments).Page(ctx, op, start, limit)
	if err != nil {
		return rekey.Page{}, err
	}
	page := rekey.Page{Entries: make([]rekey.Entry, 0, len(p.Items)), Keys: make([]rekey.Cursor, 0, len(p.Items)), Next: p.Next}
	for i, it := range p.Items {
		e, err := rekeyEntry(it)
		if err != nil {
			return rekey.Page{}, gateway.Internal(op, err)
		}
		page.Entries = append(page.Entries, e)
		page.Keys = append(page.Keys, p.Keys[i])
	}
	return page, nil
}

// rekeyEntry parses a gateway item and its rotation mark.
func rekeyEntry(item map[string]types.AttributeValue) (rekey.Entry, error) {
	g, err := dynamo.ParseGateway(item)
	if err != nil {
		return rekey.Entry{}, err
	}
	run, err := dynamo.StringAttr(item, attrRotationRun)
	if err != nil {
		return rekey.Entry{}, fmt.Errorf("gateway %s: %w", g.ID, err)
	}
	result, err := dynamo.StringAttr(item, attrRotationRes)
	if err != nil {
		return rekey.Entry{}, fmt.Errorf("gateway %s: %w", g.ID, err)
	}
	return rekey.Entry{Gateway: g, Run: run, Result: rekey.Result(result), UnmaskedInfo: dynamo.CredentialInfoUnmasked(item)}, nil
}

// GetGateway reads gateway id and its rotation mark with a consistent read.
//
// Errors: NotFound; CodeUnavailable; CodeInternal.
func (k *Store) GetGateway(ctx context.Context, id string) (rekey.Entry, error) {
	const op = "rekeydynamo.Store.GetGateway"
	out, err := k.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &k.table, Key: dynamo.GatewayKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return rekey.Entry{}, dynamo.StoreError(op, err)
	}
	if len(out.Item) == 0 {
		return rekey.Entry{}, gateway.NotFound()
	}
	e, err := rekeyEntry(out.Item)
	if err != nil {
		return rekey.Entry{}, gateway.Internal(op, err)
	}
	return e, nil
}

// WriteGateway applies w with one transaction: an UpdateItem of the
// gateway that sets only what the rotation owns (the credentials, or the
// status ERROR with lastError and lastErrorAt; version+1, updatedAt and the
// mark; the masked credentialInfo when w has one), conditional on
// w.Version, and the Put of the audit event. Fields the health sweep keeps
// (lastCheckedAt, …) are left as they are, so a rotation racing a sweep
// loses none of its bookkeeping.
//
// It reports false, having written nothing, when the gateway is gone, at
// another version, or still being written by another transaction.
//
// Errors: CodeUnavailable; CodeInternal (also for an incomplete w).
func (k *Store) WriteGateway(ctx context.Context, w rekey.Write) (bool, error) {
	const op = "rekeydynamo.Store.WriteGateway"
	names := map[string]string{
		"#version": "version", "#updatedAt": "updatedAt",
		"#run": attrRotationRun, "#result": attrRotationRes,
	}
	values := map[string]types.AttributeValue{
		":expected": num(w.Version), ":next": num(w.Version + 1), ":at": str(dynamo.FormatTime(w.At)),
		":run": str(w.Run), ":result": str(string(w.Result)),
	}
	sets := "#version = :next, #updatedAt = :at, #run = :run, #result = :result"
	switch {
	case w.GatewayID == "" || w.Run == "" || w.At.IsZero():
		return false, gateway.Internal(op, errors.New("incomplete rotation write"))
	case w.Result == rekey.ResultRotated && len(w.Sealed) > 0:
		names["#credentials"], names["#rotatedAt"] = "credentials", attrRotatedAt
		values[":credentials"] = &types.AttributeValueMemberB{Value: w.Sealed}
		sets += ", #credentials = :credentials, #rotatedAt = :at"
	case w.Result == rekey.ResultUnreadable && w.LastError != "":
		names["#status"], names["#lastError"], names["#lastErrorAt"] = "status", "lastError", "lastErrorAt"
		values[":error"], values[":lastError"] = str(string(gateway.StatusError)), str(w.LastError)
		sets += ", #status = :error, #lastError = :lastError, #lastErrorAt = :at"
	default:
		return false, gateway.Internal(op, fmt.Errorf("gateway %s: rotation write with result %q and nothing to write", w.GatewayID, w.Result))
	}
	if w.CredentialInfo != nil {
		info, err := dynamo.CredentialInfoValue(w.CredentialInfo)
		if err != nil {
			return false, gateway.Internal(op, fmt.Errorf("gateway %s: credentialInfo: %w", w.GatewayID, err))
		}
		names["#info"], values[":info"] = "credentialInfo", info
		sets += ", #info = :info"
	}
	// Still racing another write is false too: rekey re-reads and tries again.
	return k.store.WriteIfCurrent(ctx, op, &types.Update{
		TableName: &k.table, Key: dynamo.GatewayKey(w.GatewayID),
		UpdateExpression:          aws.String("SET " + sets),
		ConditionExpression:       aws.String(dynamo.CondVersion),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}, w.GatewayID, w.Event)
}

func checkpointKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{dynamo.AttrPK: str(rotationPK), dynamo.AttrSK: str(skCheckpoint)}
}

// LoadCheckpoint reads the checkpoint of the latest run, consistently.
//
// Errors: CodeUnavailable; CodeInternal.
func (k *Store) LoadCheckpoint(ctx context.Context) (rekey.Checkpoint, bool, error) {
	const op = "rekeydynamo.Store.LoadCheckpoint"
	out, err := k.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &k.table, Key: checkpointKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return rekey.Checkpoint{}, false, dynamo.StoreError(op, err)
	}
	if len(out.Item) == 0 {
		return rekey.Checkpoint{}, false, nil
	}
	state, err := dynamo.StringAttr(out.Item, attrCheckpoint)
	var cp rekey.Checkpoint
	if err == nil {
		err = json.Unmarshal([]byte(state), &cp)
	}
	if err != nil {
		return rekey.Checkpoint{}, false, gateway.Internal(op, fmt.Errorf("checkpoint: %w", err))
	}
	return cp, true, nil
}

// SaveCheckpoint writes cp with one PutItem: unconditionally when fresh
// (a new run takes over), otherwise only over cp's own run's checkpoint.
//
// Errors: CodeConflict when another run has taken the checkpoint over;
// CodeUnavailable; CodeInternal.
func (k *Store) SaveCheckpoint(ctx context.Context, cp rekey.Checkpoint, fresh bool) error {
	const op = "rekeydynamo.Store.SaveCheckpoint"
	if cp.RunID == "" {
		return gateway.Internal(op, errors.New("checkpoint without a run id"))
	}
	state, err := json.Marshal(cp)
	if err != nil {
		return gateway.Internal(op, err)
	}
	w := checkpointKey()
	w[attrCheckpointRun] = str(cp.RunID)
	w["updatedAt"] = str(dynamo.FormatTime(cp.UpdatedAt))
	w[attrCheckpoint] = str(string(state))
	in := &dynamodb.PutItemInput{TableName: &k.table, Item: w}
	if !fresh {
		in.ConditionExpression = aws.String("#run = :run")
		in.ExpressionAttributeNames = map[string]string{"#run": attrCheckpointRun}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":run": str(cp.RunID)}
	}
	_, err = k.client.PutItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &failed):
		return &gateway.Error{Code: gateway.CodeConflict, Message: "Another rotation run has taken over; this one stops.", Op: op, Err: err}
	default:
		return dynamo.StoreError(op, err)
	}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
