package inbox

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// MaxBodyBytes is the largest update accepted: 1 MiB.
const MaxBodyBytes = 1 << 20

// UpdateTypes are the Bot API's update fields, in the order the Bot API
// documents them. An update carries at most one of them.
var UpdateTypes = []string{
	"message", "edited_message", "channel_post", "edited_channel_post",
	"business_connection", "business_message", "edited_business_message", "deleted_business_messages",
	"message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
	"callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
	"poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request",
	"chat_boost", "removed_chat_boost",
}

var knownType = func() map[string]bool {
	m := make(map[string]bool, len(UpdateTypes))
	for _, t := range UpdateTypes {
		m[t] = true
	}
	return m
}()

// Parse errors: CodeInvalid, with messages safe to show the sender. The
// issue asks for 400 for an oversized body too, not 413.
var (
	errTooLarge  = gateway.Errorf(gateway.CodeInvalid, "The update must be at most 1 MiB.")
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
func ParseUpdate(body []byte) (*Update, error) {
	if len(body) > MaxBodyBytes {
		return nil, errTooLarge
	}
	// DynamoDB stores Raw as a string attribute, which must be UTF-8;
	// encoding/json would otherwise accept invalid bytes inside strings.
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	if !isObject(body) {
		return nil, errNotObject
	}
	// One pass decodes the known types' payloads; a field of the wrong type
	// only leaves that field out, so an UnmarshalTypeError is no failure.
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil, errNotObject
		}
	}
	id, err := strconv.ParseInt(string(env.UpdateID), 10, 64)
	if err != nil || id < 0 {
		return nil, errUpdateID
	}
	u := &Update{UpdateID: id, Raw: body}
	typ, p := env.known()
	if p == nil {
		// A type newer than this code, or a known one whose payload is
		// null: a second pass finds its name.
		var top map[string]json.RawMessage
		_ = json.Unmarshal(body, &top)
		typ = updateType(top)
		if inner := top[typ]; len(inner) > 0 && inner[0] == '{' {
			p = &payload{}
			_ = json.Unmarshal(inner, p)
		}
	}
	u.Type = typ
	if p != nil {
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

// updateType names the update's one optional field: a known type when there
// is one, else the first other field by name (a type newer than this code),
// else "unknown".
func updateType(top map[string]json.RawMessage) string {
	other := ""
	for k := range top {
		if k == "update_id" {
			continue
		}
		if knownType[k] {
			return k
		}
		if other == "" || k < other {
			other = k
		}
	}
	if other == "" {
		return "unknown"
	}
	return other
}

// envelope is an update with the payload of every type of UpdateTypes.
type envelope struct {
	UpdateID                json.RawMessage `json:"update_id"`
	Message                 *payload        `json:"message"`
	EditedMessage           *payload        `json:"edited_message"`
	ChannelPost             *payload        `json:"channel_post"`
	EditedChannelPost       *payload        `json:"edited_channel_post"`
	BusinessConnection      *payload        `json:"business_connection"`
	BusinessMessage         *payload        `json:"business_message"`
	EditedBusinessMessage   *payload        `json:"edited_business_message"`
	DeletedBusinessMessages *payload        `json:"deleted_business_messages"`
	MessageReaction         *payload        `json:"message_reaction"`
	MessageReactionCount    *payload        `json:"message_reaction_count"`
	InlineQuery             *payload        `json:"inline_query"`
	ChosenInlineResult      *payload        `json:"chosen_inline_result"`
	CallbackQuery           *payload        `json:"callback_query"`
	ShippingQuery           *payload        `json:"shipping_query"`
	PreCheckoutQuery        *payload        `json:"pre_checkout_query"`
	PurchasedPaidMedia      *payload        `json:"purchased_paid_media"`
	Poll                    *payload        `json:"poll"`
	PollAnswer              *payload        `json:"poll_answer"`
	MyChatMember            *payload        `json:"my_chat_member"`
	ChatMember              *payload        `json:"chat_member"`
	ChatJoinRequest         *payload        `json:"chat_join_request"`
	ChatBoost               *payload        `json:"chat_boost"`
	RemovedChatBoost        *payload        `json:"removed_chat_boost"`
}

// known returns the first type of UpdateTypes the update has, and its
// payload; nil when it has none.
func (e *envelope) known() (string, *payload) {
	for i, p := range []*payload{
		e.Message, e.EditedMessage, e.ChannelPost, e.EditedChannelPost,
		e.BusinessConnection, e.BusinessMessage, e.EditedBusinessMessage, e.DeletedBusinessMessages,
		e.MessageReaction, e.MessageReactionCount, e.InlineQuery, e.ChosenInlineResult,
		e.CallbackQuery, e.ShippingQuery, e.PreCheckoutQuery, e.PurchasedPaidMedia,
		e.Poll, e.PollAnswer, e.MyChatMember, e.ChatMember, e.ChatJoinRequest,
		e.ChatBoost, e.RemovedChatBoost,
	} {
		if p != nil {
			return UpdateTypes[i], p
		}
	}
	return "", nil
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
