// Package inbox is what Gatehouse knows of the Telegram updates it
// receives: the Update as stored, once per (gateway, update_id), the view
// of a gateway the receiving webhook needs, and ParseUpdate, which reads an
// update's body. The webhook that receives updates is pkg/telegramhook; the
// DynamoDB store is pkg/dynamo's Inbox; the table's stream carries stored
// updates on to their consumers.
//
// The package holds no HTTP code, so a store and every consumer of updates
// can depend on it without linking a handler.
package inbox

import (
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// WebhookErrorPrefix starts the lastError of a gateway that is in ERROR
// because Telegram could not deliver updates to Gatehouse (for example
// getWebhookInfo's last_error_message, as "webhook delivery: Wrong response
// from the webhook: 502 Bad Gateway"). Whoever sets such an error must use
// this prefix; only such errors are cleared by arriving updates.
const WebhookErrorPrefix = "webhook delivery: "

// DefaultUpdateTTL is how long stored updates live before DynamoDB's TTL
// removes them.
const DefaultUpdateTTL = 7 * 24 * time.Hour

// ErrDuplicate is returned (possibly wrapped) by a store asked to put an
// update whose gateway already has one with that update_id.
var ErrDuplicate = errors.New("inbox: update already stored")

// Gateway is what the receiving webhook needs to know of a gateway.
type Gateway struct {
	ID     string
	Type   gateway.Type
	Status gateway.Status
	// WebhookSecretHash is the SHA-256 of the secret_token; empty when the
	// gateway has none.
	WebhookSecretHash []byte
	LastConnectedAt   *time.Time
	LastError         string
}

// Update is one received update as the inbox stores it.
type Update struct {
	GatewayID string
	UpdateID  int64
	// Type is the update's kind: the name of its one optional field
	// ("message", "callback_query", ...), or "unknown".
	Type string
	// ChatID, SenderID and MessageDate are copied out of the update where
	// its type has them, so consumers can filter without parsing Raw.
	ChatID      *int64
	SenderID    *int64
	MessageDate *time.Time
	ReceivedAt  time.Time
	// ExpiresAt is when DynamoDB's TTL may delete the item.
	ExpiresAt time.Time
	// Raw is the update's JSON exactly as Telegram sent it.
	Raw []byte
}

// UpdateQuery selects a gateway's stored updates, in update_id order.
type UpdateQuery struct {
	// After is the update_id to read on from; -1 starts at the oldest
	// update still kept.
	After int64
	// Limit bounds the updates returned.
	Limit int
	// Type, when set, keeps updates of that type only.
	Type string
	// ChatID, when set, keeps updates of that chat only.
	ChatID *int64
	// MaxBytes, when positive, bounds the raw updates returned, together:
	// the page ends before the update that would pass it (but holds at
	// least one).
	MaxBytes int
	// MaxRead, when positive, bounds the updates a read examines, matching
	// or not, so that a filter that matches little costs a bounded read;
	// the page then ends early, with Last where the read stopped.
	MaxRead int
	// Newest reads the newest matching updates instead of those after
	// After (which it ignores): still returned oldest first, with Last the
	// newest update kept, from which to read on.
	Newest bool
}

// UpdatePage is one read of a gateway's updates.
type UpdatePage struct {
	// Updates are the matching updates, oldest first.
	Updates []Update
	// Last is the update_id the read reached, matching or not: the
	// position to read on from. It is the query's After when nothing
	// newer exists.
	Last int64
}
