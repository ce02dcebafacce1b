package dynamo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// cursor is what an opaque page cursor holds: the listing it was issued for
// and the key of the last item returned. It is not signed; binding it to its
// listing and checking every key is enough, because a forged key can only
// move the start within the caller's own partition.
type cursor struct {
	Scope string            `json:"s"`
	Key   map[string]string `json:"k"`
}

// maxCursorLen bounds what is decoded at all: real cursors are ~200 bytes,
// and even keys at maxKeyLen fit.
const maxCursorLen = 8192

// maxKeyLen is the longest key value accepted from a cursor, below DynamoDB's
// 1024-byte sort key limit, so an overlong value is a 400 and not a 500.
const maxKeyLen = 1000

func encodeCursor(scope string, key map[string]string) string {
	b, _ := json.Marshal(cursor{Scope: scope, Key: key}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the ExclusiveStartKey that raw encodes, after checking
// that it was issued for scope, holds exactly the names and that valid
// accepts it. Every failure is CodeInvalid on field "cursor".
func decodeCursor(raw, scope string, names []string, valid func(map[string]string) bool) (map[string]types.AttributeValue, error) {
	malformed := gateway.Invalid(gateway.FieldError{Field: "cursor", Message: "The cursor is malformed."})
	if len(raw) > maxCursorLen {
		return nil, malformed
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, malformed
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, malformed
	}
	if c.Scope != scope {
		return nil, gateway.Invalid(gateway.FieldError{Field: "cursor", Message: "The cursor belongs to another listing."})
	}
	if len(c.Key) != len(names) {
		return nil, malformed
	}
	esk := make(map[string]types.AttributeValue, len(names))
	for _, name := range names {
		v, ok := c.Key[name]
		if !ok || v == "" || len(v) > maxKeyLen {
			return nil, malformed
		}
		esk[name] = sv(v)
	}
	if !valid(c.Key) {
		return nil, malformed
	}
	return esk, nil
}
