// Package gateway is Gatehouse's domain: gateways, their types and statuses,
// validation of what users send, the service that creates, reads, changes and
// deletes them, and the contracts (Store, Sealer) that adapters implement.
//
// It imports no AWS SDK: pkg/dynamo implements Store over DynamoDB and
// pkg/envelope implements Sealer over KMS.
package gateway

import (
	"context"
	"encoding/json"
	"time"
)

// Type is the kind of external system a gateway connects to.
type Type string

// The gateway types: a Telegram bot, an AI provider, an outgoing webhook.
const (
	TypeTelegramBot Type = "TELEGRAM_BOT"
	TypeAI          Type = "AI"
	TypeWebhook     Type = "WEBHOOK"
)

// Types lists every gateway type, in the order the UI shows them.
var Types = []Type{TypeTelegramBot, TypeAI, TypeWebhook}

// Valid reports whether t is a known gateway type.
func (t Type) Valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Status is a gateway's connection state. A provider holds no state between
// invocations, so this field is the connection state.
type Status string

// The statuses a gateway moves between (see pkg/lifecycle).
const (
	StatusConnected    Status = "CONNECTED"
	StatusDisconnected Status = "DISCONNECTED"
	StatusError        Status = "ERROR"
	StatusConnecting   Status = "CONNECTING"
)

// Statuses lists every status.
var Statuses = []Status{StatusConnected, StatusDisconnected, StatusError, StatusConnecting}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// Gateway is one registered connection to an external system, as stored.
// Its credentials are only ever held sealed; CredentialInfo is the non-secret
// summary computed when they were written.
type Gateway struct {
	ID             string
	UserID         string
	OrganizationID string // empty for a personal gateway
	Name           string
	Type           Type
	Status         Status
	Config         json.RawMessage // a JSON object, never nil once stored
	CredentialInfo map[string]any
	// SealedCredentials is the envelope-encrypted credentials blob (see Sealer).
	SealedCredentials []byte

	LastConnectedAt *time.Time
	LastErrorAt     *time.Time
	LastError       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version starts at 1 and grows by one on every write; it is the ETag.
	Version int64

	// Health-check bookkeeping (written by the scheduled sweep).
	LastCheckedAt       *time.Time
	LastLatencyMs       *int64
	ConsecutiveFailures int

	// WebhookSecretHash is the SHA-256 of the Telegram webhook secret token,
	// so the webhook function can verify updates without KMS.
	WebhookSecretHash []byte

	// ClaimedBot is the Telegram bot id whose claim this gateway holds
	// (see BotClaim); empty when it holds none. The store writes the claim
	// and this field in one transaction.
	ClaimedBot string
}

// BotClaim is the bot id whose claim g must hold in its current state, or
// "" for none. A Telegram bot has one webhook, so it can be connected in
// at most one gateway at a time, across all tenants: a second gateway
// connecting it would silently take the first's webhook over. A gateway
// claims its bot when it starts connecting (before the webhook is set) and
// holds it while CONNECTING or CONNECTED, and in ERROR only while it still
// holds it and its webhook (a failed first connect lets it go); a
// disconnect, a delete or other credentials release it. Several
// DISCONNECTED gateways may share a bot: serving several consumers from
// one bot is what routes are for.
func (g *Gateway) BotClaim() string {
	if g.Type != TypeTelegramBot {
		return ""
	}
	id, _ := g.CredentialInfo["botId"].(string)
	switch {
	case id == "":
		return ""
	case g.Status == StatusConnecting || g.Status == StatusConnected:
		return id
	case g.Status == StatusError && g.ClaimedBot == id && g.WebhookSecretHash != nil:
		return id
	default:
		return ""
	}
}

// MsgBotInUse is the message of the CodeConflict a store returns when a
// gateway would claim a bot another gateway holds. It does not say which
// gateway, nor whose.
const MsgBotInUse = "This bot is already connected in another gateway. Disconnect it there first; to serve several consumers from one bot, connect it once and add routes."

// Owner returns the tenant that owns g.
func (g *Gateway) Owner() Owner {
	return Owner{UserID: g.UserID, OrganizationID: g.OrganizationID}
}

// Owner is the tenant a gateway belongs to: an organisation when
// OrganizationID is set, otherwise the user personally.
type Owner struct {
	UserID         string
	OrganizationID string
}

// Key is the owner's partition in the owner index: "ORG#<id>" or "USER#<sub>".
func (o Owner) Key() string {
	if o.OrganizationID != "" {
		return "ORG#" + o.OrganizationID
	}
	return "USER#" + o.UserID
}

// Actor is who asked for a change and from where; it is recorded in the audit
// trail. The zero Actor with System set is the scheduler.
type Actor struct {
	UserID         string
	OrganizationID string
	SourceIP       string
	UserAgent      string
	RequestID      string
	// System names a non-human actor (e.g. "health-check"); empty for users.
	System string
}

// Owner is the tenant the actor is acting for.
func (a Actor) Owner() Owner {
	return Owner{UserID: a.UserID, OrganizationID: a.OrganizationID}
}

// AuditEvent is one entry of a gateway's audit trail.
type AuditEvent struct {
	ID        string
	GatewayID string
	// Action is one of the Audit* constants.
	Action string
	Actor  Actor
	At     time.Time
	// Changes names the fields an update changed (never their values when
	// they are credentials).
	Changes []string
	// Details holds small non-secret facts (old and new status, errors).
	Details map[string]string
	// Owner is the gateway's owner, on its deletion event (zero on the
	// others), so that the owner can still read the trail of a deleted
	// gateway, and nobody else can (Service.Audit).
	Owner Owner
}

// AuditRetention is how long an audit event is kept after it happened
// (the store sets its TTL to At+AuditRetention). A deleted gateway's trail
// thus stays readable by its owner for AuditRetention after the deletion
// event, each older event until its own expiry.
const AuditRetention = 365 * 24 * time.Hour

// Audit actions.
const (
	AuditCreated       = "gateway.created"
	AuditUpdated       = "gateway.updated"
	AuditStatusChanged = "gateway.status_changed"
	AuditDeleted       = "gateway.deleted"
	AuditTested        = "gateway.tested"
)

// Idempotency is what the store remembers of a create made with an
// Idempotency-Key: which gateway it made and a hash of the request.
type Idempotency struct {
	Owner       Owner
	Key         string
	RequestHash string
	GatewayID   string
	ExpiresAt   time.Time
}

// ListFilter narrows a listing.
type ListFilter struct {
	Type   Type   // empty: any
	Status Status // empty: any
}

// Page is one page of a listing.
type Page struct {
	Gateways []*Gateway
	// Next is the opaque cursor of the next page; empty on the last page.
	Next string
}

// AuditPage is one page of an audit trail, newest first.
type AuditPage struct {
	Events []AuditEvent
	Next   string
}

// Store persists gateways and their audit trails. Every change of a gateway
// is one conditional write that includes its audit event.
//
// Errors: NotFound when a gateway does not exist; Conflict (code
// CodeVersionMismatch) when a conditional write finds another version;
// CodeIdempotencyConflict when the idempotency record already exists;
// CodeInvalid for a cursor that the store did not issue for this owner.
type Store interface {
	// CreateGateway writes a new gateway, its audit event and, if idem is not
	// nil, its idempotency record, all or nothing.
	CreateGateway(ctx context.Context, g *Gateway, ev AuditEvent, idem *Idempotency) error
	// GetGateway reads one gateway by id, whoever owns it.
	GetGateway(ctx context.Context, id string) (*Gateway, error)
	// UpdateGateway replaces g if the stored version is expectedVersion.
	UpdateGateway(ctx context.Context, g *Gateway, expectedVersion int64, ev AuditEvent) error
	// DeleteGateway deletes the gateway if the stored version is expectedVersion.
	DeleteGateway(ctx context.Context, id string, expectedVersion int64, ev AuditEvent) error
	// ListGateways lists an owner's gateways newest first.
	ListGateways(ctx context.Context, owner Owner, f ListFilter, limit int, cursor string) (Page, error)
	// ListAudit lists a gateway's audit events newest first.
	ListAudit(ctx context.Context, gatewayID string, limit int, cursor string) (AuditPage, error)
	// GetIdempotency reads an idempotency record; NotFound when absent or expired.
	GetIdempotency(ctx context.Context, owner Owner, key string) (*Idempotency, error)
}

// Sealer encrypts credentials so that only the same binding can open them.
// The binding (an encryption context) ties a blob to its gateway and owner:
// a blob copied into another gateway does not open.
//
// Open returns an error with code CodeCredentialsUnreadable when the blob does
// not open under the binding (tampered, swapped or undecodable).
type Sealer interface {
	Seal(ctx context.Context, plaintext []byte, binding map[string]string) ([]byte, error)
	Open(ctx context.Context, blob []byte, binding map[string]string) ([]byte, error)
}

// Binding is the encryption context of a gateway's credentials.
func Binding(g *Gateway) map[string]string {
	return map[string]string{"gatewayId": g.ID, "owner": g.Owner().Key()}
}
