// Package inbox receives Telegram Bot API updates for TELEGRAM_BOT gateways:
// the telegram-webhook function behind POST and GET
// /api/webhooks/telegram/{gatewayId}.
//
// # Contract
//
// An update is answered 200 only after it is stored: one item per (gateway,
// update_id), written with a condition so that a repeat of the same update
// (Telegram's retries, or ours) is answered 200 and not stored twice. When
// the store cannot be reached the answer is 503, so Telegram retries; an
// update answered 200 is never lost.
//
// Requests are authenticated by X-Telegram-Bot-Api-Secret-Token, whose
// SHA-256 is compared in constant time with the gateway's stored
// WebhookSecretHash. The secret itself is never stored, so the function
// needs no KMS access. Answers: 404 for an id that is not a TELEGRAM_BOT
// gateway; 401 for a missing or wrong secret or a gateway without one (the
// same answer for all three); 400 for a body that is not a JSON object with
// a non-negative integer update_id, is not UTF-8, or exceeds MaxBodyBytes.
// Updates are accepted whatever the gateway's status: a valid secret shows
// that Telegram sent them, and refusing them would lose them.
//
// # Gateway reads and the cache
//
// Every update reads the gateway (one GetItem, projected to the fields
// verification needs) unless a warm container read it less than CacheTTL
// ago. A secret that does not match a cached gateway is checked once more
// against a fresh read, so a newly rotated secret works at once, while an
// old one stops working at the latest CacheTTL (30 s) after rotation —
// within the 60 s the design allows.
//
// # Gateway bookkeeping
//
// lastConnectedAt is refreshed at most once a minute per gateway, by a
// conditional UpdateItem that does not change the gateway's version: the
// version is the ETag users edit against, and bumping it every minute on a
// busy bot would make every dashboard edit fail with 412. The price is that
// a user's edit made from an older read writes back the older
// lastConnectedAt; the next update within a minute refreshes it again.
//
// A gateway in ERROR because of webhook delivery — its lastError starts
// with WebhookErrorPrefix — returns to CONNECTED when updates arrive again.
// That is a status change users see, so it is written like the service's
// own status changes: one transaction that bumps the version, sets
// updatedAt and lastConnectedAt, and appends a gateway.status_changed audit
// event. Detection rides on lastError, not on an attribute of its own,
// because the gateway store rewrites whole items and would drop an
// attribute the domain does not know.
//
// # Logs
//
// One JSON line per request: gatewayId, updateId, type, outcome, status
// and duration; never the secret, the body or any text of the update.
package inbox

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// FnTelegramWebhook is the function name: its folder functions/<name>/ and
// its CodeUri in template.yaml.
const FnTelegramWebhook = "telegram-webhook"

// WebhookErrorPrefix starts the lastError of a gateway that is in ERROR
// because Telegram could not deliver updates to Gatehouse (for example
// getWebhookInfo's last_error_message, as "webhook delivery: Wrong response
// from the webhook: 502 Bad Gateway"). Whoever sets such an error must use
// this prefix; only such errors are cleared by arriving updates.
const WebhookErrorPrefix = "webhook delivery: "

// SecretHeader carries the webhook's secret_token in each update.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// DefaultUpdateTTL is how long stored updates live before DynamoDB's TTL
// removes them.
const DefaultUpdateTTL = 7 * 24 * time.Hour

// ErrDuplicate is returned (possibly wrapped) by Store.PutUpdate when the
// gateway already has an update with that update_id.
var ErrDuplicate = errors.New("inbox: update already stored")

// Gateway is what the webhook needs to know of a gateway.
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

// Store is what the webhook needs of the table. pkg/dynamo implements it.
type Store interface {
	// Gateway reads gateway id. Errors: gateway.CodeNotFound,
	// gateway.CodeUnavailable, gateway.CodeInternal.
	Gateway(ctx context.Context, id string) (*Gateway, error)
	// PutUpdate stores u unless u.GatewayID already has u.UpdateID.
	// Errors: ErrDuplicate; gateway.CodeTooLarge when u cannot be stored
	// at any size the table allows; CodeUnavailable; CodeInternal.
	PutUpdate(ctx context.Context, u *Update) error
	// TouchConnected sets lastConnectedAt to now if the gateway is
	// CONNECTED and its lastConnectedAt is missing or before notAfter. It
	// reports whether it wrote. Errors: CodeUnavailable; CodeInternal.
	TouchConnected(ctx context.Context, id string, now, notAfter time.Time) (bool, error)
	// RecoverWebhookError moves the gateway from ERROR to CONNECTED, with
	// the audit event ev, if its lastError starts with WebhookErrorPrefix.
	// It reports whether it wrote. Errors: CodeUnavailable; CodeInternal.
	RecoverWebhookError(ctx context.Context, id string, now time.Time, ev gateway.AuditEvent) (bool, error)
}
