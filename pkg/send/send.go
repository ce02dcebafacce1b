// Package send is Gatehouse's send engine for Telegram bots: a client
// hands it one message, a batch or a broadcast as a job, and it sends them
// paced to Telegram's limits (per bot, per chat, per group), keeping each
// chat's order, honouring every retry_after, retrying what Telegram did
// not accept, and never sending a message twice.
//
// Never twice rests on one rule: before a message (or one part of a long
// one) is sent, its claim is written with a conditional put that only one
// sender can win, and the claim is never taken back once the request may
// have left. A send that ends in a 429, a 5xx or a connection that failed
// before the request was written did not reach Telegram, so its claim is
// released and the message goes again later; a send whose request was
// written but whose answer never came is recorded UNKNOWN and is not sent
// again. A client's Idempotency-Key names the job, so a retried request
// finds the first job instead of making another.
//
// One sender per bot holds the bot's lease while it sends; its pacer's
// recent history travels with the lease (PacerState), so the next sender
// (the next Lambda invocation) goes on at exactly the pace the limits
// allow. The package imports no AWS SDK: Store is implemented by
// pkg/dynamo, Bot by pkg/provider/telegram.
package send

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// JobStatus is a job's state.
type JobStatus string

// Job statuses.
const (
	JobQueued  JobStatus = "QUEUED"
	JobRunning JobStatus = "RUNNING"
	JobDone    JobStatus = "DONE"
)

// ItemStatus is the state of one message of a job.
type ItemStatus string

// Item statuses. UNKNOWN is a message whose request reached the network
// but whose answer never came: Telegram may or may not have delivered it,
// and it is not sent again.
const (
	ItemQueued  ItemStatus = "QUEUED"
	ItemSent    ItemStatus = "SENT"
	ItemFailed  ItemStatus = "FAILED"
	ItemUnknown ItemStatus = "UNKNOWN"
)

// Bounds of one request.
const (
	MaxMessages       = 1000
	MaxBroadcastChats = 10000
)

// Job is one accepted request: a batch of messages or a broadcast.
type Job struct {
	ID        string
	GatewayID string
	Owner     gateway.Owner
	Status    JobStatus
	Total     int
	Sent      int
	Failed    int
	Unknown   int
	CreatedAt time.Time
	UpdatedAt time.Time
	// RequestHash identifies the request an Idempotency-Key was first
	// used with.
	RequestHash string
	// Interactive jobs (a single message from the synchronous action
	// route) go before bulk ones.
	Interactive bool
	Body        Body
}

// Body is what a job sends. Exactly one of Messages and Broadcast is set.
type Body struct {
	// Messages are sendMessage parameter objects, each with its chat_id.
	Messages []json.RawMessage `json:"messages,omitempty"`
	// Broadcast is one message to many chats.
	Broadcast *Broadcast `json:"broadcast,omitempty"`
	// Method is the Bot API method each of Messages calls when it is not
	// sendMessage: the action route's paced calls (sendPhoto,
	// sendDocument, editMessageText) are jobs of one such message.
	Method string `json:"method,omitempty"`
}

// MethodSendMessage is the method of every batch and broadcast.
const MethodSendMessage = "sendMessage"

// Call returns the Bot API method the body's messages call.
func (b Body) Call() string {
	if b.Method == "" {
		return MethodSendMessage
	}
	return b.Method
}

// Broadcast is one message (sendMessage parameters without chat_id) to
// each of ChatIDs.
type Broadcast struct {
	ChatIDs []json.RawMessage `json:"chatIds"`
	Message json.RawMessage   `json:"message"`
}

// Len is how many messages the body sends.
func (b Body) Len() int {
	if b.Broadcast != nil {
		return len(b.Broadcast.ChatIDs)
	}
	return len(b.Messages)
}

// Chat returns the i-th message's chat id, without building its
// parameters: what the lanes and the job's listing need for every message.
func (b Body) Chat(i int) json.RawMessage {
	if b.Broadcast != nil {
		return b.Broadcast.ChatIDs[i]
	}
	var o struct {
		ChatID json.RawMessage `json:"chat_id"`
	}
	_ = json.Unmarshal(b.Messages[i], &o) // checked when the job was accepted
	return o.ChatID
}

// Message returns the i-th message: its chat id and its parameters with
// chat_id set.
func (b Body) Message(i int) (chat json.RawMessage, params json.RawMessage) {
	if b.Broadcast == nil {
		m := b.Messages[i]
		var o struct {
			ChatID json.RawMessage `json:"chat_id"`
		}
		_ = json.Unmarshal(m, &o) // checked when the job was accepted
		return o.ChatID, m
	}
	chat = b.Broadcast.ChatIDs[i]
	var o map[string]json.RawMessage
	_ = json.Unmarshal(b.Broadcast.Message, &o)
	if o == nil {
		o = map[string]json.RawMessage{}
	}
	o["chat_id"] = chat
	params, _ = json.Marshal(o)
	return chat, params
}

// Item is the state of one message of a job.
type Item struct {
	Index  int
	ChatID json.RawMessage
	Status ItemStatus
	// MessageIDs are Telegram's message_id of each part sent; a long
	// message converted from Markdown may be sent as several.
	MessageIDs []int64
	Error      string
	// Parts is how many parts the message was split into, once known.
	Parts     int
	UpdatedAt time.Time
	// Result is Telegram's answer to the last part sent (the Message, or
	// its error answer when it refused the part), kept for the
	// synchronous action route, which answers it.
	Result json.RawMessage
}

// ChatKey is a chat id as the pacer and the lanes key it: the integer's
// decimal form, or the @username as given.
func ChatKey(chat json.RawMessage) string {
	var n json.Number
	if json.Unmarshal(chat, &n) == nil {
		if i, err := n.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
	}
	var s string
	if json.Unmarshal(chat, &s) == nil {
		return s
	}
	return string(chat)
}

// IsGroup reports whether a chat is a group, supergroup or channel, to
// which the group limit applies: Telegram gives those negative ids, and
// a chat named by @username is a channel or a public group.
func IsGroup(key string) bool {
	return key != "" && (key[0] == '-' || key[0] == '@')
}
