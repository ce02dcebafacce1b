package telegram

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/provider"
)

// fieldErrors returns err's fields as "field: message" lines, or fails.
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var ip *provider.InvalidParamsError
	if !errors.As(err, &ip) {
		t.Fatalf("error %v (%T), want *provider.InvalidParamsError", err, err)
	}
	var out []string
	for _, f := range ip.Fields {
		out = append(out, f.Field+": "+f.Message)
	}
	return out
}

func fields(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.SplitN(l, ": ", 2)[0])
	}
	return out
}

// TestCheckSendMessage: every rule of sendMessage's parameters, each wrong
// value named exactly as the body has it, several at once.
func TestCheckSendMessage(t *testing.T) {
	long := strings.Repeat("a", MaxTextLength+1)
	buttons := func(n int) string {
		row := make([]string, n)
		for i := range row {
			row[i] = `{"text":"b","callback_data":"d"}`
		}
		return `{"inline_keyboard":[[` + strings.Join(row, ",") + `]]}`
	}
	tests := []struct {
		name       string
		prefix     string
		body       string
		wantFields []string // nil: valid
		wantMsg    string   // a message one of the errors must have
	}{
		{name: "minimal", body: `{"chat_id":42,"text":"hi"}`},
		{name: "channel username", body: `{"chat_id":"@my_channel","text":"hi"}`},
		{name: "numeric string", body: `{"chat_id":"-1001234567890","text":"hi"}`},
		{name: "everything", body: `{"chat_id":42,"text":"<b>hi</b>","parse_mode":"HTML","disable_notification":true,"protect_content":true,
			"message_thread_id":7,"reply_parameters":{"message_id":3,"allow_sending_without_reply":true,"quote":"q"},
			"link_preview_options":{"is_disabled":true},
			"reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"},{"text":"B","url":"https://example.com"}],[{"text":"C","copy_text":{"text":"x"}},{"text":"D","switch_inline_query_current_chat":""}]]}}`},
		{name: "old reply_to_message_id", body: `{"chat_id":42,"text":"hi","reply_to_message_id":5}`},
		{name: "reply keyboard", body: `{"chat_id":42,"text":"hi","reply_markup":{"keyboard":[["Yes","No"],[{"text":"Where","request_location":true}]],"resize_keyboard":true,"one_time_keyboard":true}}`},
		{name: "remove keyboard", body: `{"chat_id":42,"text":"hi","reply_markup":{"remove_keyboard":true}}`},
		{name: "force reply", body: `{"chat_id":42,"text":"hi","reply_markup":{"force_reply":true,"input_field_placeholder":"Your name"}}`},
		{name: "HTML tags do not count", body: `{"chat_id":42,"parse_mode":"HTML","text":"<b>` + strings.Repeat("a", MaxTextLength) + `</b>"}`},
		{name: "exactly 100 buttons", body: `{"chat_id":42,"text":"hi","reply_markup":` + buttons(100) + `}`},
		{name: "callback_data of 64 bytes", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("é", 32) + `"}]]}}`},

		{name: "not an object", body: `[1]`, wantFields: []string{"params"}},
		{name: "missing both", body: `{}`, wantFields: []string{"params.chat_id", "params.text"}},
		{name: "chat_id float", body: `{"chat_id":4.2,"text":"hi"}`, wantFields: []string{"params.chat_id"}, wantMsg: "must be an integer or @channelusername"},
		{name: "chat_id name without @", body: `{"chat_id":"mychannel","text":"hi"}`, wantFields: []string{"params.chat_id"}},
		{name: "chat_id bool", body: `{"chat_id":true,"text":"hi"}`, wantFields: []string{"params.chat_id"}},
		{name: "empty text", body: `{"chat_id":42,"text":""}`, wantFields: []string{"params.text"}},
		{name: "blank text", body: `{"chat_id":42,"text":"  \n"}`, wantFields: []string{"params.text"}},
		{name: "text too long", body: `{"chat_id":42,"text":"` + long + `"}`, wantFields: []string{"params.text"}, wantMsg: "must be 1-4096 characters (after entity parsing)"},
		{name: "text not a string", body: `{"chat_id":42,"text":5}`, wantFields: []string{"params.text"}},
		{name: "bad parse_mode", body: `{"chat_id":42,"text":"hi","parse_mode":"markdown"}`, wantFields: []string{"params.parse_mode"}},
		{name: "unknown parameter", body: `{"chat_id":42,"text":"hi","colour":"red"}`, wantFields: []string{"params.colour"}, wantMsg: "is not a known parameter"},
		{name: "thread id zero", body: `{"chat_id":42,"text":"hi","message_thread_id":0}`, wantFields: []string{"params.message_thread_id"}},
		{name: "both reply forms", body: `{"chat_id":42,"text":"hi","reply_to_message_id":5,"reply_parameters":{"message_id":5}}`, wantFields: []string{"params.reply_to_message_id"}},
		{name: "reply_parameters without message_id", body: `{"chat_id":42,"text":"hi","reply_parameters":{"quote":"x"}}`, wantFields: []string{"params.reply_parameters.message_id"}},
		{name: "reply_parameters unknown key", body: `{"chat_id":42,"text":"hi","reply_parameters":{"message_id":1,"msg":2}}`, wantFields: []string{"params.reply_parameters.msg"}},
		{name: "link preview url", body: `{"chat_id":42,"text":"hi","link_preview_options":{"url":"ftp://x"}}`, wantFields: []string{"params.link_preview_options.url"}},
		{name: "link preview both sizes", body: `{"chat_id":42,"text":"hi","link_preview_options":{"prefer_small_media":true,"prefer_large_media":true}}`, wantFields: []string{"params.link_preview_options"}},
		{name: "callback_data too long", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"a"},{"text":"b","callback_data":"` + strings.Repeat("x", 65) + `"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][1].callback_data"}, wantMsg: "must be 1-64 bytes"},
		{name: "callback_data 33 two-byte characters", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("é", 33) + `"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0].callback_data"}},
		{name: "empty callback_data", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":""}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0].callback_data"}},
		{name: "button with two actions", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"a","url":"https://x.example"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0]"}},
		{name: "button with no action", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0]"}},
		{name: "button without text", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"callback_data":"a"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0].text"}},
		{name: "button url scheme", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","url":"javascript:alert(1)"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0].url"}},
		{name: "button unknown key", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"a","colour":"red"}]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0][0].colour"}},
		{name: "row not an array", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[{"text":"a","callback_data":"a"}]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard[0]"}},
		{name: "keyboard not an array", body: `{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":"a"}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard"}},
		{name: "101 buttons", body: `{"chat_id":42,"text":"hi","reply_markup":` + buttons(101) + `}`,
			wantFields: []string{"params.reply_markup.inline_keyboard"}, wantMsg: "must have at most 100 buttons in total"},
		{name: "markup of no kind", body: `{"chat_id":42,"text":"hi","reply_markup":{"buttons":[]}}`, wantFields: []string{"params.reply_markup"}},
		{name: "remove_keyboard false", body: `{"chat_id":42,"text":"hi","reply_markup":{"remove_keyboard":false}}`, wantFields: []string{"params.reply_markup.remove_keyboard"}},
		{name: "placeholder too long", body: `{"chat_id":42,"text":"hi","reply_markup":{"force_reply":true,"input_field_placeholder":"` + strings.Repeat("p", 65) + `"}}`,
			wantFields: []string{"params.reply_markup.input_field_placeholder"}},
		{name: "reply keyboard empty button", body: `{"chat_id":42,"text":"hi","reply_markup":{"keyboard":[["Yes",""]]}}`, wantFields: []string{"params.reply_markup.keyboard[0][1]"}},
		{name: "several at once", body: `{"chat_id":1.5,"text":"","parse_mode":"x","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("x", 65) + `"}]]}}`,
			wantFields: []string{"params.chat_id", "params.reply_markup.inline_keyboard[0][0].callback_data", "params.parse_mode", "params.text"}},
		{name: "batch prefix", prefix: "messages[3]", body: `{"chat_id":"x","text":"hi"}`, wantFields: []string{"messages[3].chat_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := tt.prefix
			if prefix == "" {
				prefix = "params"
			}
			m, err := CheckSendMessage(prefix, json.RawMessage(tt.body))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("CheckSendMessage: %v", err)
				}
				if len(m.ChatID) == 0 || m.Text == "" {
					t.Errorf("decoded %+v", m)
				}
				return
			}
			lines := fieldErrors(t, err)
			got := fields(lines)
			sortStrings(got)
			want := append([]string(nil), tt.wantFields...)
			sortStrings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("fields = %q, want %q", lines, want)
			}
			if tt.wantMsg != "" && !strings.Contains(strings.Join(lines, "\n"), tt.wantMsg) {
				t.Errorf("errors %q lack %q", lines, tt.wantMsg)
			}
		})
	}
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// TestCheckOtherActions: the rules of the other actions' parameters.
func TestCheckOtherActions(t *testing.T) {
	type check func(json.RawMessage) error
	edit := func(r json.RawMessage) error { _, err := CheckEditMessageText("params", r); return err }
	del := func(r json.RawMessage) error { _, err := CheckDeleteMessage("params", r); return err }
	answer := func(r json.RawMessage) error { _, err := CheckAnswerCallbackQuery("params", r); return err }
	action := func(r json.RawMessage) error { _, err := CheckSendChatAction("params", r); return err }
	photo := func(r json.RawMessage) error {
		_, err := CheckSendMedia("sendPhoto", "photo", "params", r, false)
		return err
	}
	doc := func(r json.RawMessage) error {
		_, err := CheckSendMedia("sendDocument", "document", "params", r, false)
		return err
	}
	draft := func(r json.RawMessage) error { _, err := CheckSendMessageDraft("params", r); return err }
	file := func(r json.RawMessage) error { _, err := CheckGetFile("params", r); return err }
	tests := []struct {
		name       string
		check      check
		body       string
		wantFields []string
	}{
		{name: "edit", check: edit, body: `{"chat_id":42,"message_id":1,"text":"new"}`},
		{name: "edit inline", check: edit, body: `{"inline_message_id":"AAQ123","text":"new","reply_markup":{"inline_keyboard":[]}}`},
		{name: "edit without target", check: edit, body: `{"text":"new"}`, wantFields: []string{"params.chat_id", "params.message_id"}},
		{name: "edit both targets", check: edit, body: `{"inline_message_id":"A","chat_id":1,"message_id":1,"text":"new"}`, wantFields: []string{"params.inline_message_id"}},
		{name: "edit reply keyboard refused", check: edit, body: `{"chat_id":42,"message_id":1,"text":"new","reply_markup":{"keyboard":[["a"]]}}`,
			wantFields: []string{"params.reply_markup.inline_keyboard", "params.reply_markup.keyboard"}},
		{name: "edit message id zero", check: edit, body: `{"chat_id":42,"message_id":0,"text":"x"}`, wantFields: []string{"params.message_id"}},
		{name: "edit empty text", check: edit, body: `{"chat_id":42,"message_id":1,"text":""}`, wantFields: []string{"params.text"}},

		{name: "delete", check: del, body: `{"chat_id":"@chan_name","message_id":9}`},
		{name: "delete missing", check: del, body: `{"chat_id":42}`, wantFields: []string{"params.message_id"}},
		{name: "delete bad chat", check: del, body: `{"chat_id":[1],"message_id":-1}`, wantFields: []string{"params.chat_id", "params.message_id"}},

		{name: "answer", check: answer, body: `{"callback_query_id":"123","text":"Done","show_alert":true,"cache_time":5}`},
		{name: "answer text too long", check: answer, body: `{"callback_query_id":"1","text":"` + strings.Repeat("t", 201) + `"}`, wantFields: []string{"params.text"}},
		{name: "answer empty id", check: answer, body: `{"callback_query_id":""}`, wantFields: []string{"params.callback_query_id"}},
		{name: "answer negative cache", check: answer, body: `{"callback_query_id":"1","cache_time":-1,"url":"file:///etc"}`, wantFields: []string{"params.cache_time", "params.url"}},

		{name: "chat action", check: action, body: `{"chat_id":42,"action":"upload_document","message_thread_id":3}`},
		{name: "chat action unknown", check: action, body: `{"chat_id":42,"action":"dancing"}`, wantFields: []string{"params.action"}},
		{name: "chat action missing", check: action, body: `{"chat_id":42}`, wantFields: []string{"params.action"}},

		{name: "photo by URL", check: photo, body: `{"chat_id":42,"photo":"https://example.com/cat.jpg","caption":"cat","reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}}`},
		{name: "photo by file_id", check: photo, body: `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBZ2X"}`},
		{name: "photo metadata address", check: photo, body: `{"chat_id":42,"photo":"http://169.254.169.254/latest/meta-data/"}`, wantFields: []string{"params.photo"}},
		{name: "photo loopback", check: photo, body: `{"chat_id":42,"photo":"http://localhost/x.png"}`, wantFields: []string{"params.photo"}},
		{name: "photo neither", check: photo, body: `{"chat_id":42,"photo":"not a file id!"}`, wantFields: []string{"params.photo"}},
		{name: "caption too long", check: photo, body: `{"chat_id":42,"photo":"AgACAgIAAxkBAAIBZ2X","caption":"` + strings.Repeat("c", MaxCaptionLength+1) + `"}`, wantFields: []string{"params.caption"}},
		{name: "caption empty is fine", check: doc, body: `{"chat_id":42,"document":"BQACAgIAAxkBAAIBZ2X","caption":""}`},
		{name: "document field name", check: doc, body: `{"chat_id":42,"photo":"BQACAgIAAxkBAAIBZ2X"}`, wantFields: []string{"params.document", "params.photo"}},

		{name: "draft", check: draft, body: `{"chat_id":42,"draft_id":7,"text":"Thinking","parse_mode":"HTML"}`},
		{name: "draft group", check: draft, body: `{"chat_id":-100,"draft_id":0,"text":""}`, wantFields: []string{"params.chat_id", "params.draft_id", "params.text"}},
		{name: "draft username", check: draft, body: `{"chat_id":"@someone","draft_id":1,"text":"x"}`, wantFields: []string{"params.chat_id"}},

		{name: "file", check: file, body: `{"file_id":"BQACAgIAAxkBAAIBZ2X"}`},
		{name: "file bad id", check: file, body: `{"file_id":"../../etc/passwd"}`, wantFields: []string{"params.file_id"}},
		{name: "file missing", check: file, body: `{}`, wantFields: []string{"params.file_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(json.RawMessage(tt.body))
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				return
			}
			got := fields(fieldErrors(t, err))
			sortStrings(got)
			want := append([]string(nil), tt.wantFields...)
			sortStrings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("fields = %q, want %q (%v)", got, want, err)
			}
		})
	}
}

// TestCheckSendMediaAllowPrivate: the operator's setting lets a photo URL
// on loopback through, as it does for AI base URLs and webhooks.
func TestCheckSendMediaAllowPrivate(t *testing.T) {
	m, err := CheckSendMedia("sendPhoto", "photo", "params", json.RawMessage(`{"chat_id":42,"photo":"http://127.0.0.1:9/cat.jpg"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if m.File != "http://127.0.0.1:9/cat.jpg" || m.Field != "photo" {
		t.Errorf("decoded %+v", m)
	}
}

// TestVisibleLength: a lower bound of the length after entity parsing.
func TestVisibleLength(t *testing.T) {
	tests := []struct {
		name, text, mode string
		want             int
	}{
		{name: "plain", text: "héllo", want: 5},
		{name: "plain keeps markup", text: "<b>x</b>", want: 8},
		{name: "HTML", text: "<b>x</b> &amp; <a href=\"https://x\">y</a>", mode: "HTML", want: 5},
		{name: "MarkdownV2", text: "*bold* \\_x\\_", mode: "MarkdownV2", want: 6},
	}
	for _, tt := range tests {
		if got := visibleLength(tt.text, tt.mode); got != tt.want {
			t.Errorf("%s: visibleLength(%q, %q) = %d, want %d", tt.name, tt.text, tt.mode, got, tt.want)
		}
	}
}
