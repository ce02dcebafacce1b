// Package route is where a Telegram bot's received updates go on from
// Gatehouse: a bot (a TELEGRAM_BOT gateway) has routes, each naming a
// target (one of its owner's WEBHOOK gateways, or the stack's EventBridge
// bus) and optional filters. This package holds the route itself, its
// validation and filters, and the service behind the routes API; the
// delivery engine that pushes updates along routes is pkg/delivery.
//
// It imports no AWS SDK: the store is an interface (pkg/dynamo implements
// it).
package route

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// TargetType is where a route delivers.
type TargetType string

// Target types.
const (
	// TargetWebhook is a WEBHOOK gateway of the bot's owner: each update is
	// POSTed to it, signed with the gateway's signing secret.
	TargetWebhook TargetType = "WEBHOOK"
	// TargetEventBridge is the stack's event bus.
	TargetEventBridge TargetType = "EVENTBRIDGE"
)

// Target is a route's destination. GatewayID is set for TargetWebhook only.
type Target struct {
	Type      TargetType `json:"type"`
	GatewayID string     `json:"gatewayId,omitempty"`
}

// Filters narrow what a route delivers; an empty filter lets everything
// through. All given filters must match.
type Filters struct {
	// UpdateTypes are update types such as "message" or "callback_query".
	UpdateTypes []string `json:"updateTypes"`
	// ChatIDs are the chats whose updates go through.
	ChatIDs []int64 `json:"chatIds"`
	// CommandPrefix, when set, lets through only messages whose text (or
	// caption) starts with it, such as "/start". It is a plain prefix:
	// "/admin_" matches every command that starts so.
	CommandPrefix string `json:"commandPrefix,omitempty"`
}

// Status is a route's state.
type Status string

// Statuses. ERROR is set by the delivery engine when a route's target
// keeps failing (deliveries go on being retried); PAUSED by the user, or
// when the target gateway is deleted.
const (
	StatusActive Status = "ACTIVE"
	StatusPaused Status = "PAUSED"
	StatusError  Status = "ERROR"
)

// Route is one route of a bot, as stored.
type Route struct {
	ID        string
	GatewayID string // the bot
	// Owner is the bot's owner key (gateway.Owner.Key); a target must have
	// the same.
	Owner   string
	Target  Target
	Filters Filters
	Status  Status
	// StatusReason says why a route is PAUSED or in ERROR.
	StatusReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version starts at 1 and grows with every change of the fields above;
	// it is the ETag. Delivery state (below) does not change it.
	Version int64

	// Delivery state, written by the delivery engine.
	LastDeliveredUpdateID *int64
	LastDeliveredAt       *time.Time
	// LastLagMs is how long the last delivered update took from its
	// receipt to its delivery.
	LastLagMs           *int64
	ConsecutiveFailures int64
	LastError           string
	LastErrorAt         *time.Time
	DeadLetters         int64
}

// Backlog is what a route has yet to deliver.
type Backlog struct {
	// Pending counts undelivered updates (at most MaxBacklogCount are
	// counted; Capped says there are more).
	Pending int
	Capped  bool
	// Oldest is the receipt time of the oldest undelivered update.
	Oldest *time.Time
}

// MaxBacklogCount bounds how many pending updates a read of a route
// counts.
const MaxBacklogCount = 1000

// Limits of a route.
const (
	MaxRoutesPerBot     = 10
	MaxFilterTypes      = 30
	MaxFilterChats      = 100
	MaxCommandPrefixLen = 64
)

// NewID returns a new random route id: "rt_" and 26 base32 characters.
func NewID() string { return "rt_" + gateway.NewToken() }

// ValidID reports whether id has the shape NewID produces.
func ValidID(id string) bool { return gateway.ValidTokenID(id, "rt_") }

// WebhookID is the Standard Webhooks "webhook-id" of the delivery of update
// updateID along route routeID: the same on every attempt (and replay) of
// that pair, so a consumer can drop what it already has, and different
// for every other pair.
func WebhookID(routeID string, updateID int64) string {
	sum := sha256.Sum256([]byte(routeID + ":" + strconv.FormatInt(updateID, 10)))
	return "msg_" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// ChatKey is the ordering lane of an update within a route: its chat, or
// for an update without one (an inline query) its sender, or "-". Updates
// of one lane are delivered one at a time in update_id order; lanes are
// independent.
func ChatKey(chatID, senderID *int64) string {
	switch {
	case chatID != nil:
		return "c" + strconv.FormatInt(*chatID, 10)
	case senderID != nil:
		return "u" + strconv.FormatInt(*senderID, 10)
	}
	return "-"
}

// Candidate is what Match needs of an update.
type Candidate struct {
	Type   string
	ChatID *int64
	Raw    []byte
}

// Match reports whether f lets update c through.
func (f Filters) Match(c Candidate) bool {
	if len(f.UpdateTypes) > 0 && !contains(f.UpdateTypes, c.Type) {
		return false
	}
	if len(f.ChatIDs) > 0 && (c.ChatID == nil || !contains(f.ChatIDs, *c.ChatID)) {
		return false
	}
	if f.CommandPrefix != "" {
		text, ok := messageText(c.Type, c.Raw)
		if !ok || !strings.HasPrefix(text, f.CommandPrefix) {
			return false
		}
	}
	return true
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// messageTypes are the update types that carry a Message.
var messageTypes = []string{"message", "edited_message", "channel_post", "edited_channel_post", "business_message", "edited_business_message"}

// messageText returns the text (or caption) of an update that carries a
// message.
func messageText(typ string, raw []byte) (string, bool) {
	if !contains(messageTypes, typ) {
		return "", false
	}
	var u map[string]json.RawMessage
	if json.Unmarshal(raw, &u) != nil {
		return "", false
	}
	var m struct {
		Text    *string `json:"text"`
		Caption *string `json:"caption"`
	}
	if json.Unmarshal(u[typ], &m) != nil {
		return "", false
	}
	switch {
	case m.Text != nil:
		return *m.Text, true
	case m.Caption != nil:
		return *m.Caption, true
	}
	return "", false
}
