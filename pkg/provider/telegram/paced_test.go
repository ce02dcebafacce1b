package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

func TestPaced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action, params string
		want           bool
	}{
		{action: "sendMessage", params: `{"chat_id":1,"text":"x"}`, want: true},
		{action: "sendPhoto", params: `{"chat_id":1,"photo":"AgACAgIAAxkBAAIBcat"}`, want: true},
		{action: "sendDocument", params: `{}`, want: true},
		{action: "editMessageText", params: `{"chat_id":1,"message_id":2,"text":"x"}`, want: true},
		// Checked (and refused) on the paced path, like any other edit.
		{action: "editMessageText", params: `not json`, want: true},
		{action: "editMessageText", params: `{"inline_message_id":null,"text":"x"}`, want: true},
		{action: "editMessageText", params: `{"inline_message_id":"AAAAAgAAAXY","text":"x"}`, want: false},
		{action: "deleteMessage", params: `{"chat_id":1,"message_id":2}`, want: false},
		{action: "sendChatAction", params: `{"chat_id":1,"action":"typing"}`, want: false},
		{action: "sendMessageDraft", params: `{"chat_id":1,"draft_id":1,"text":"x"}`, want: false},
		{action: "answerCallbackQuery", params: `{"callback_query_id":"1"}`, want: false},
		{action: "getFile", params: `{"file_id":"BQACAgIAAxkBAAIBfile"}`, want: false},
		{action: "setWebhook", params: `{}`, want: false},
	}
	for _, tt := range tests {
		if got := Paced(tt.action, json.RawMessage(tt.params)); got != tt.want {
			t.Errorf("Paced(%s, %s) = %v, want %v", tt.action, tt.params, got, tt.want)
		}
	}
}

// TestPacedRequestIsWhatExecuteSends: the request the paced queue sends
// for an action is the one Execute makes, field for field, and bad
// parameters are refused with the same fields.
func TestPacedRequestIsWhatExecuteSends(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	// The message the edit changes.
	if _, err := p.Execute(context.Background(), creds, nil, "sendMessage", json.RawMessage(`{"chat_id":42,"text":"working"}`)); err != nil {
		t.Fatal(err)
	}
	edited := fake.Messages(token)[0].MessageID
	tests := []struct {
		name, action, params string
	}{
		{name: "a photo with everything", action: "sendPhoto", params: `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBcat","caption":"<b>cat</b>","parse_mode":"HTML",
			"reply_markup":{"inline_keyboard":[[{"text":"Like","callback_data":"like"}]]},"reply_parameters":{"message_id":3},
			"disable_notification":true,"message_thread_id":7,"protect_content":true}`},
		{name: "a photo by URL", action: "sendPhoto", params: `{"chat_id":"@gatehouse_news","photo":"https://example.com/cat.jpg"}`},
		{name: "a document", action: "sendDocument", params: `{"chat_id":-1001234567890,"document":"BQACAgIAAxkBAAIBreport","caption":"Q3"}`},
		{name: "an edit", action: "editMessageText", params: fmt.Sprintf(`{"chat_id":42,"message_id":%d,"text":"*done*","parse_mode":"MarkdownV2",
			"link_preview_options":{"is_disabled":true},"reply_markup":{"inline_keyboard":[]}}`, edited)},
	}
	bot := NewBot(p.base, token, p.client)
	for _, tt := range tests {
		if _, err := p.Execute(context.Background(), creds, nil, tt.action, json.RawMessage(tt.params)); err != nil {
			t.Fatalf("%s: Execute: %v", tt.name, err)
		}
		calls := fake.Calls(tt.action)
		want := calls[len(calls)-1].Params
		body, err := PacedRequest(tt.action, "params", json.RawMessage(tt.params), false)
		if err != nil {
			t.Fatalf("%s: PacedRequest: %v", tt.name, err)
		}
		// The same edit again is "message is not modified": the request
		// is what is compared.
		var api *APIError
		if _, err := bot.Send(context.Background(), tt.action, body); err != nil && !(errors.As(err, &api) && api.ErrorCode == 400) {
			t.Fatalf("%s: Send: %v", tt.name, err)
		}
		if n := len(fake.Calls(tt.action)); n != len(calls)+1 {
			t.Fatalf("%s: the paced request made %d calls", tt.name, n-len(calls))
		}
		calls = fake.Calls(tt.action)
		if got := calls[len(calls)-1].Params; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: paced request\n%v\nExecute's\n%v", tt.name, got, want)
		}
	}

	bad := []struct {
		action, params string
	}{
		{action: "sendPhoto", params: `{"chat_id":42}`},
		{action: "sendPhoto", params: `{"chat_id":42,"photo":"http://10.0.0.1/x.jpg","colour":1}`},
		{action: "sendDocument", params: `[]`},
		{action: "editMessageText", params: `{"chat_id":42,"text":""}`},
		{action: "editMessageText", params: `{"inline_message_id":"x","chat_id":1,"text":"x"}`},
	}
	calls := len(fake.Calls(""))
	for _, tt := range bad {
		_, execErr := p.Execute(context.Background(), creds, nil, tt.action, json.RawMessage(tt.params))
		_, pacedErr := PacedRequest(tt.action, "params", json.RawMessage(tt.params), false)
		var a, b *provider.InvalidParamsError
		if !errors.As(execErr, &a) || !errors.As(pacedErr, &b) || len(a.Fields) == 0 || !slices.Equal(a.Fields, b.Fields) {
			t.Errorf("%s %s: Execute %v, PacedRequest %v", tt.action, tt.params, execErr, pacedErr)
		}
	}
	if n := len(fake.Calls("")) - calls; n != 0 {
		t.Errorf("bad parameters made %d calls", n)
	}
	var unsupported *provider.UnsupportedActionError
	if _, err := PacedRequest("deleteMessage", "params", json.RawMessage(`{}`), false); !errors.As(err, &unsupported) {
		t.Errorf("PacedRequest(deleteMessage): %v", err)
	}
}
