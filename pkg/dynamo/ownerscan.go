package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// ItemAPI is the part of *dynamodb.Client that the stores besides Store
// use: Health (the sweep), Inbox (the webhook) and Rekey (key rotation).
type ItemAPI interface {
	API
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// The health sweep and key rotation read gateways with a parallel Scan of
// the owner index, not the table: only gateway items carry the index's
// keys, so a Scan of the index reads gateways and nothing of their audit
// trails, samples or updates, which outnumber them by thousands. Both page
// through it with the same cursors: an index item's key, as strings.

// indexKeyNames are the attributes of an owner-index item's key: the
// index's and the table's, which an ExclusiveStartKey of the index needs.
var indexKeyNames = []string{AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK}

// ownerScan is segment seg of a parallel Scan of the owner index split
// into segments (at most maxSegments).
type ownerScan struct {
	client             ItemAPI
	table              string
	seg, segments, max int
}

// input is the segment's Scan, or CodeInvalid for a bad segment.
func (s ownerScan) input(op string) (*dynamodb.ScanInput, error) {
	if s.segments < 1 || s.segments > s.max || s.seg < 0 || s.seg >= s.segments {
		return nil, &gateway.Error{Code: gateway.CodeInvalid, Message: "The segment is invalid.", Op: op}
	}
	return &dynamodb.ScanInput{
		TableName:     aws.String(s.table),
		IndexName:     aws.String(OwnerIndex),
		Segment:       aws.Int32(int32(s.seg)),
		TotalSegments: aws.Int32(int32(s.segments)),
	}, nil
}

// ownerPage is one page of an ownerScan: the items read, each one's index
// key, and the cursor of the next page (nil at the segment's end).
type ownerPage struct {
	items []map[string]types.AttributeValue
	keys  []map[string]string
	next  map[string]string
}

// page reads up to limit (1..MaxLimit) items after start (nil for the
// segment's beginning). filter, when not nil, completes the Scan with a
// FilterExpression; DynamoDB applies Limit before it, so a page may hold
// fewer items than limit and still have a next one.
//
// Errors: CodeInvalid for a bad segment, limit or cursor; CodeUnavailable;
// CodeInternal.
func (s ownerScan) page(ctx context.Context, op string, start map[string]string, limit int, filter func(*dynamodb.ScanInput)) (ownerPage, error) {
	in, err := s.input(op)
	if err != nil {
		return ownerPage{}, err
	}
	if err := checkLimit(limit); err != nil {
		return ownerPage{}, err
	}
	in.Limit = aws.Int32(int32(limit))
	if filter != nil {
		filter(in)
	}
	if start != nil {
		esk, err := cursorKey(start)
		if err != nil {
			return ownerPage{}, &gateway.Error{Code: gateway.CodeInvalid, Message: "The cursor is malformed.", Op: op, Err: err}
		}
		in.ExclusiveStartKey = esk
	}
	out, err := s.client.Scan(ctx, in)
	if err != nil {
		return ownerPage{}, storeError(op, err)
	}
	page := ownerPage{items: out.Items, keys: make([]map[string]string, 0, len(out.Items))}
	for _, it := range out.Items {
		key, err := keysOf(it, indexKeyNames...)
		if err != nil {
			return ownerPage{}, gateway.Internal(op, err)
		}
		page.keys = append(page.keys, key)
	}
	if len(out.LastEvaluatedKey) > 0 {
		if page.next, err = keysOf(out.LastEvaluatedKey, indexKeyNames...); err != nil {
			return ownerPage{}, gateway.Internal(op, fmt.Errorf("LastEvaluatedKey: %w", err))
		}
	}
	return page, nil
}

// cursorKey is the ExclusiveStartKey of cursor c, which must name a
// gateway's owner-index item.
func cursorKey(c map[string]string) (map[string]types.AttributeValue, error) {
	if len(c) != len(indexKeyNames) {
		return nil, errors.New("cursor has the wrong attributes")
	}
	esk := make(map[string]types.AttributeValue, len(c))
	for _, name := range indexKeyNames {
		v, ok := c[name]
		if !ok || v == "" || len(v) > maxKeyLen {
			return nil, fmt.Errorf("cursor lacks %q", name)
		}
		esk[name] = sv(v)
	}
	if !strings.HasPrefix(c[AttrPK], gatewayPrefix) || c[AttrSK] != skGateway {
		return nil, errors.New("cursor does not name a gateway")
	}
	return esk, nil
}
