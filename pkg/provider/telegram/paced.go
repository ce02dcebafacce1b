package telegram

import (
	"encoding/json"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// Paced reports whether action with params goes through the bot's paced
// queue (pkg/send), with its batches and broadcasts: the calls Telegram's
// flood limits count in a chat — the messages a bot sends (sendMessage,
// sendPhoto, sendDocument: about 30 a second in all, one a second in a
// chat, 20 a minute in a group) and the edits of those messages
// (editMessageText), which count against the chat's limits. The bot's
// other calls are not counted by those limits, so queueing them would
// only add latency: deleteMessage, sendChatAction and sendMessageDraft
// change nothing a second send could duplicate, answerCallbackQuery and
// getFile are in no chat, and the webhook methods are the bot's own
// settings. An edit of an inline message (inline_message_id) is in
// another user's chat, which no lane of the bot's holds, so it is made at
// once.
func Paced(action string, params json.RawMessage) bool {
	switch action {
	case "sendMessage", "sendPhoto", "sendDocument":
		return true
	case "editMessageText":
		var o struct {
			Inline json.RawMessage `json:"inline_message_id"`
		}
		return json.Unmarshal(params, &o) != nil || isNull(o.Inline)
	}
	return false
}

// PacedRequest checks the parameters of a paced action (other than
// sendMessage, whose Markdown option the send engine's checker handles)
// under prefix, the way Execute checks them, and returns the request
// body as the Bot would send it. allowPrivate is the SSRF guard's setting
// for a photo's or a document's URL. Errors: *provider.InvalidParamsError,
// and *provider.UnsupportedActionError for any other action.
func PacedRequest(action, prefix string, params json.RawMessage, allowPrivate bool) (json.RawMessage, error) {
	switch action {
	case "sendPhoto", "sendDocument":
		field := "document"
		if action == "sendPhoto" {
			field = "photo"
		}
		m, err := CheckSendMedia(action, field, prefix, params, allowPrivate)
		if err != nil {
			return nil, err
		}
		_, body, err := m.request()
		return body, err
	case "editMessageText":
		e, err := CheckEditMessageText(prefix, params)
		if err != nil {
			return nil, err
		}
		return json.Marshal(e)
	}
	return nil, &provider.UnsupportedActionError{Type: gateway.TypeTelegramBot, Action: action}
}
