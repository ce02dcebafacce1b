package inbox

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// MaxBodyBytes is the largest update accepted: 1 MiB.
const MaxBodyBytes = 1 << 20

// updateTypes are the Bot API's update fields, in the order the Bot API
// documents them. An update carries at most one of them. An array, so the
// skim keeps a value per type on the stack and nobody can change it.
var updateTypes = [...]string{
	"message", "edited_message", "channel_post", "edited_channel_post",
	"business_connection", "business_message", "edited_business_message", "deleted_business_messages",
	"message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
	"callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
	"poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request",
	"chat_boost", "removed_chat_boost",
}

// UpdateTypes returns the Bot API's update types, in the order the Bot
// API documents them: the fields of which an update carries at most one,
// and the names allowed_updates takes.
func UpdateTypes() []string { return slices.Clone(updateTypes[:]) }

// IsUpdateType reports whether t is one of UpdateTypes.
func IsUpdateType(t string) bool { return slices.Contains(updateTypes[:], t) }

// Parse errors: CodeInvalid, with messages safe to show the sender. The
// issue asks for 400 for an oversized body too, not 413.
var (
	// ErrTooLarge refuses a body over MaxBodyBytes.
	ErrTooLarge  = gateway.Errorf(gateway.CodeInvalid, "The update must be at most 1 MiB.")
	errNotUTF8   = gateway.Errorf(gateway.CodeInvalid, "The update must be UTF-8 encoded JSON.")
	errNotObject = gateway.Errorf(gateway.CodeInvalid, "The update must be a JSON object.")
	errUpdateID  = gateway.Errorf(gateway.CodeInvalid, "The update must have a non-negative integer update_id.")
)

// ParseUpdate reads an update's body: its update_id, its type and, where
// the type has them, the chat, the sender and the date. Raw is body itself.
// The fields of the caller (GatewayID, ReceivedAt, ExpiresAt) are left zero.
//
// Errors, all *gateway.Error with CodeInvalid: the body is over
// MaxBodyBytes, not UTF-8, not a JSON object, or has no non-negative integer
// update_id. Everything past update_id is best effort: an update whose
// chat id is not a number is still stored, without ChatID.
//
// Telegram calls the webhook with every update a bot receives, so this is
// the hot path: the body is validated once (json.Valid), then skimmed
// without decoding (skim.go). An update skim cannot read exactly as
// encoding/json would — an escaped key, a key that matches a field only
// case-insensitively, a repeated or null field — is read by parseDecoded,
// the encoding/json reading that defines the result; FuzzParseUpdate checks
// that both agree on every input.
func ParseUpdate(body []byte) (*Update, error) {
	if err := checkBody(body); err != nil {
		return nil, err
	}
	if !json.Valid(body) {
		return nil, errNotObject
	}
	u, ok := skimUpdate(body)
	if !ok {
		return parseDecoded(body)
	}
	if u == nil {
		return nil, errUpdateID
	}
	return u, nil
}

// checkBody makes the checks that come before JSON: size, UTF-8 and an
// object at the top.
func checkBody(body []byte) error {
	if len(body) > MaxBodyBytes {
		return ErrTooLarge
	}
	// DynamoDB stores Raw as a string attribute, which must be UTF-8;
	// encoding/json would otherwise accept invalid bytes inside strings.
	if !utf8.Valid(body) {
		return errNotUTF8
	}
	if !isObject(body) {
		return errNotObject
	}
	return nil
}

// parseDecoded is ParseUpdate by encoding/json: slower, and the reference
// the skim must agree with.
func parseDecoded(body []byte) (*Update, error) {
	if err := checkBody(body); err != nil {
		return nil, err
	}
	// The top level is read with exact key matches: encoding/json matches
	// struct fields case-insensitively, which would store
	// {"update_id":1,"UPDATE_ID":2} as update 2, dedup it against the wrong
	// update, and type {"Message":{}} as a message.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, errNotObject
	}
	id, err := strconv.ParseInt(string(top["update_id"]), 10, 64)
	if err != nil || id < 0 {
		return nil, errUpdateID
	}
	u := &Update{UpdateID: id, Raw: body, Type: updateType(top)}
	if inner := top[u.Type]; len(inner) > 0 && inner[0] == '{' {
		// A field of the wrong type only leaves that field out, so an
		// UnmarshalTypeError is no failure.
		var p payload
		_ = json.Unmarshal(inner, &p)
		u.ChatID, u.SenderID, u.MessageDate = p.describe()
	}
	return u, nil
}

// isObject reports whether the JSON text body starts an object.
func isObject(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// updateType names the update's one optional field: the first of
// updateTypes it has with a payload that is not null, else the first it has
// at all, else the first other non-empty field by name (a type newer than this code),
// else "unknown". Its choice depends only on the body, never on map order.
func updateType(top map[string]json.RawMessage) string {
	null := ""
	for _, t := range updateTypes {
		raw, ok := top[t]
		switch {
		case !ok:
		case string(raw) != "null":
			return t
		case null == "":
			null = t
		}
	}
	if null != "" {
		return null
	}
	other := ""
	for k := range top {
		// An empty key names no type; without this test the choice between
		// "" and another key would follow map order.
		if k != "update_id" && k != "" && (other == "" || k < other) {
			other = k
		}
	}
	if other == "" {
		return "unknown"
	}
	return other
}

type idOnly struct {
	ID int64 `json:"id"`
}

// payload holds the fields describe looks for. Across the update types the
// Bot API uses few names: Message and ChatMemberUpdated have chat, from and
// date; CallbackQuery has from and message (whose chat and date are the
// message's); PollAnswer and MessageReactionUpdated name the sender user,
// or voter_chat / actor_chat when it is anonymous; a channel post has
// sender_chat instead of from.
type payload struct {
	Chat       *idOnly `json:"chat"`
	From       *idOnly `json:"from"`
	User       *idOnly `json:"user"`
	SenderChat *idOnly `json:"sender_chat"`
	VoterChat  *idOnly `json:"voter_chat"`
	ActorChat  *idOnly `json:"actor_chat"`
	Date       int64   `json:"date"`
	Message    *struct {
		Chat *idOnly `json:"chat"`
		Date int64   `json:"date"`
	} `json:"message"`
}

// describe returns the chat id, sender id and date the payload has.
func (p *payload) describe() (chat, sender *int64, date *time.Time) {
	chat = firstID(p.Chat)
	d := p.Date
	if p.Message != nil {
		if chat == nil {
			chat = firstID(p.Message.Chat)
		}
		if d == 0 {
			d = p.Message.Date // 0 for an inaccessible message
		}
	}
	sender = firstID(p.From, p.User, p.SenderChat, p.VoterChat, p.ActorChat)
	if d > 0 {
		t := time.Unix(d, 0).UTC()
		date = &t
	}
	return chat, sender, date
}

func firstID(ids ...*idOnly) *int64 {
	for _, v := range ids {
		if v != nil && v.ID != 0 {
			id := v.ID
			return &id
		}
	}
	return nil
}
