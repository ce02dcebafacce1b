package dynamo

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// File links (pkg/filelink) are items of their own partition,
// "FILE#<hex SHA-256 of the link id>" with sort key "FILE": the link id is
// all a downloader has, so it must be the key, and it is stored only as its
// hash. They expire by TTL at the link's expiry.
const (
	fileLinkPrefix = "FILE#"
	skFileLink     = "FILE"
)

// FileLinkPut and FileLinkGet are what FileLinks needs of the client: the
// minting function only puts, the files function only gets.
type (
	FileLinkPut interface {
		PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	}
	FileLinkGet interface {
		GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	}
	fileLinkAPI interface {
		FileLinkPut
		FileLinkGet
	}
)

// FileLinks is filelink.Store over the table.
type FileLinks struct {
	client fileLinkAPI
	table  string
}

var _ filelink.Store = (*FileLinks)(nil)

// NewFileLinks returns the links of table. It does no I/O.
func NewFileLinks(client fileLinkAPI, table string) *FileLinks {
	return &FileLinks{client: client, table: table}
}

func fileLinkKey(hash []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(fileLinkPrefix + hex.EncodeToString(hash)), AttrSK: sv(skFileLink)}
}

// PutFileLink writes l; an item with the same hash (a collision of 256
// random bits) is a failed condition, never overwritten. Errors:
// CodeUnavailable; CodeInternal.
func (f *FileLinks) PutFileLink(ctx context.Context, l filelink.Link) error {
	const op = "dynamo.FileLinks.PutFileLink"
	w := itemWriter(fileLinkKey(l.Hash))
	w.str("gatewayId", l.GatewayID)
	w.str("userId", l.Owner.UserID)
	w.optStr("organizationId", l.Owner.OrganizationID)
	w.str("filePath", l.FilePath)
	w.num("size", l.Size)
	w.time("expiresAt", l.ExpiresAt)
	w.num(AttrTTL, l.ExpiresAt.Unix())
	_, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &f.table, Item: w,
		ConditionExpression: aws.String("attribute_not_exists(" + AttrPK + ")"),
	})
	if err != nil {
		return storeError(op, err)
	}
	return nil
}

// GetFileLink reads the link whose id hashes to hash, consistently: a link
// opened the moment getFile answered it must be found. Errors: NotFound;
// CodeUnavailable; CodeInternal.
func (f *FileLinks) GetFileLink(ctx context.Context, hash []byte) (filelink.Link, error) {
	const op = "dynamo.FileLinks.GetFileLink"
	out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &f.table, Key: fileLinkKey(hash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return filelink.Link{}, storeError(op, err)
	}
	if len(out.Item) == 0 {
		return filelink.Link{}, gateway.NotFound()
	}
	r := itemReader{m: out.Item}
	l := filelink.Link{
		Hash:      hash,
		GatewayID: r.str("gatewayId"),
		Owner:     gateway.Owner{UserID: r.str("userId"), OrganizationID: r.str("organizationId")},
		FilePath:  r.str("filePath"),
		Size:      r.num("size"),
		ExpiresAt: r.time("expiresAt"),
	}
	if r.err != nil {
		return filelink.Link{}, gateway.Internal(op, fmt.Errorf("file link: %w", r.err))
	}
	return l, nil
}
