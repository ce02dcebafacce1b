package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Rate-limit counters live in partitions of their own,
// "RATE#<scope>#<hash of the subject>", one item per window (sort key
// "WINDOW#<window start, Unix seconds>"), so they never share a partition
// with a gateway and IAM can grant them separately (dynamodb:LeadingKeys
// "RATE#*"). Each carries a TTL a little past its window's end, so old
// windows vanish without anyone deleting them.
const (
	ratePrefix   = "RATE#"
	windowPrefix = "WINDOW#"
	// AttrRateCount is a window's count of admitted events.
	AttrRateCount = "n"
	// rateTTLSlack keeps a window's item a while after the window ends:
	// TTL deletion is lazy anyway, and an item that outlives its window
	// is never read again (the next window is another item).
	rateTTLSlack = time.Minute
)

// validScope bounds the readable part of a counter's key: a lower-case
// letter, then at most 31 lower-case letters, digits or '-'. Scopes are
// names chosen in code ("test", "action", …), never user input.
func validScope(s string) bool {
	if len(s) < 1 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// RateAPI is the part of *dynamodb.Client the RateLimiter uses.
type RateAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// RateLimiter counts events per key in fixed windows, in DynamoDB, so every
// Lambda container shares one count: a limit held in a container's memory
// would multiply by the number of containers, which an attacker controls by
// sending requests in parallel.
//
// A check is one conditional UpdateItem: ADD 1 to the window's count on the
// condition that the count is below the limit. DynamoDB serializes writes to
// one item, so concurrent checks never admit more than the limit. Windows are
// fixed (aligned to multiples of their length since the Unix epoch), so a
// caller can fit at most twice the limit into any span of one window's length
// (the end of one window and the start of the next); sustained, the rate is
// bounded by the limit. A sliding approximation would cost a second read per
// check for little gain against this abuse: what matters is that checking
// stolen keys at speed is impossible.
//
// Counted events are not given back when the request fails later: an attempt
// is an attempt.
type RateLimiter struct {
	client RateAPI
	table  string
	now    func() time.Time
}

// RateOption configures a RateLimiter.
type RateOption func(*RateLimiter)

// RateClock replaces time.Now, for tests: the window is chosen by this clock.
func RateClock(now func() time.Time) RateOption { return func(l *RateLimiter) { l.now = now } }

// NewRateLimiter returns a RateLimiter over table. It does no I/O.
func NewRateLimiter(client RateAPI, table string, opts ...RateOption) *RateLimiter {
	l := &RateLimiter{client: client, table: table, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Allow counts one event of subject under scope and reports whether it is
// within limit events per window. When it is not, nothing is counted and
// retryAfter is the time until the window ends (more than zero). scope is a
// short name chosen in code (see validScope); subject may be anything of
// any length (a user id, a user and a gateway): only its SHA-256 is stored,
// so neither a long user id nor the id itself ends up in the item.
//
// The limiter fails closed: when DynamoDB cannot answer, Allow returns
// CodeUnavailable (throttling, an unreachable endpoint, a deadline) or
// CodeInternal (anything else) and the caller refuses the request. Failing
// open would switch the limit off exactly when someone floods the table.
//
// Errors: CodeUnavailable; CodeInternal (also for a bad scope, limit or
// window, which are programming errors).
func (l *RateLimiter) Allow(ctx context.Context, scope, subject string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	const op = "dynamo.RateLimiter.Allow"
	switch {
	case !validScope(scope):
		return false, 0, gateway.Internal(op, fmt.Errorf("scope %q is not a short lower-case name", scope))
	case limit < 1:
		return false, 0, gateway.Internal(op, fmt.Errorf("limit %d is not positive", limit))
	case window < time.Second || window%time.Second != 0:
		return false, 0, gateway.Internal(op, fmt.Errorf("window %v is not a whole number of seconds", window))
	}
	now := l.now()
	secs := int64(window / time.Second)
	start := now.Unix() - mod(now.Unix(), secs)
	end := time.Unix(start+secs, 0)
	_, err = l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &l.table,
		Key: map[string]types.AttributeValue{
			AttrPK: sv(RateKey(scope, subject)),
			AttrSK: sv(windowPrefix + strconv.FormatInt(start, 10)),
		},
		UpdateExpression:         aws.String("ADD #n :one SET #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{"#n": AttrRateCount, "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   nv(1),
			":limit": nv(int64(limit)),
			":ttl":   nv(end.Add(rateTTLSlack).Unix()),
		},
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, 0, nil
	case errors.As(err, &failed):
		return false, max(end.Sub(now), time.Nanosecond), nil
	default:
		return false, 0, storeError(op, err)
	}
}

// RateKey is the partition key of subject's counters under scope:
// "RATE#<scope>#" and the unpadded base64url SHA-256 of subject (43
// characters), whatever subject's length.
func RateKey(scope, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return ratePrefix + scope + "#" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// mod is a modulo that is never negative, for clocks before 1970.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
