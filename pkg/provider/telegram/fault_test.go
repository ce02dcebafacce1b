package telegram_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
)

const faultToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDfault"

// TestFaults points the provider at a Bot API that hangs, resets, answers
// garbage, answers 200 with JSON that is broken, too large or of the wrong
// shape, trickles its body, or closes without answering, and runs the
// token check, the connection test, connect, disconnect and every action
// against each.
func TestFaults(t *testing.T) {
	creds := gateway.Credentials{BotToken: faultToken}
	faulttest.Suite{
		New: func(base string, timeout time.Duration) (provider.Provider, gateway.Credentials) {
			c := provider.NewClient(nil)
			c.Timeout = timeout
			return telegram.New(telegram.Options{BaseURL: base, Client: c}), creds
		},
		Bodies: []faulttest.Body{
			{Name: "broken", Body: faulttest.BrokenJSON},
			{Name: "huge", Body: faulttest.HugeJSON(8<<20 + 1024)},
			// "ok" must be a boolean; every method's answer is read through it.
			{Name: "ok not a boolean", Body: []byte(`{"ok":"true","result":{"id":1,"is_bot":true,"first_name":"x"}}`)},
			// A result of the wrong type for every method that reads one.
			{Name: "result a string", Body: []byte(`{"ok":true,"result":"done"}`)},
		},
		Calls: []faulttest.Call{
			faulttest.Validate(),
			faulttest.Test(),
			faulttest.Connect(),
			faulttest.Disconnect(),
			faulttest.Action("getMe", `{}`),
			faulttest.Action("sendMessage", `{"chat_id":42,"text":"hello"}`),
			faulttest.Action("setWebhook", `{"url":"https://hooks.example.com/tg"}`),
			faulttest.Action("deleteWebhook", `{}`),
			faulttest.Action("getWebhookInfo", `{}`),
			faulttest.Action("editMessageText", `{"chat_id":42,"message_id":1,"text":"edited"}`),
			faulttest.Action("deleteMessage", `{"chat_id":42,"message_id":1}`),
			faulttest.Action("answerCallbackQuery", `{"callback_query_id":"q1"}`),
			faulttest.Action("sendChatAction", `{"chat_id":42,"action":"typing"}`),
			faulttest.Action("sendPhoto", `{"chat_id":42,"photo":"https://example.com/cat.jpg"}`),
			faulttest.Action("sendDocument", `{"chat_id":42,"document":"BQACAgIAAxkBAAIBZ2X"}`),
			faulttest.Action("sendMessageDraft", `{"chat_id":42,"draft_id":1,"text":"…"}`),
			faulttest.Action("getFile", `{"file_id":"BQACAgIAAxkBAAIBZ2X"}`),
		},
		Secrets: []string{faultToken, faultToken[10:]},
	}.Run(t)
}
