package telegramtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestMessageMethods: the answers and errors of the methods beyond
// sendMessage, in Telegram's wire format, by JSON and by form (where
// reply_markup is a JSON-encoded string).
func TestMessageMethods(t *testing.T) {
	s := NewServer(Options{AcceptAnyToken: true})
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.AddCallbackQuery(token, "4382bfdwdsb323b2d9")
	s.AddFile(token, File{FileID: "BQACAgIAAxkBAAIBfile", Path: "documents/file_3.txt", Content: []byte("hello file")})
	post := func(method, body string) func() (*http.Response, error) {
		return func() (*http.Response, error) {
			return http.Post(srv.URL+"/bot"+token+"/"+method, "application/json", strings.NewReader(body))
		}
	}
	tests := []struct {
		name       string
		do         func() (*http.Response, error)
		wantStatus int
		wantBody   string
	}{
		{name: "send with a keyboard by form", do: func() (*http.Response, error) {
			return http.PostForm(srv.URL+"/bot"+token+"/sendMessage", url.Values{"chat_id": {"7"}, "text": {"pick"},
				"reply_markup": {`{"inline_keyboard":[[{"text":"a","callback_data":"a"}]]}`}})
		}, wantStatus: 200, wantBody: `"reply_markup":{"inline_keyboard":[[{"text":"a","callback_data":"a"}]]}`},
		{name: "edit", do: post("editMessageText", `{"chat_id":7,"message_id":1,"text":"picked"}`), wantStatus: 200, wantBody: `"text":"picked"`},
		{name: "edit unchanged", do: post("editMessageText", `{"chat_id":7,"message_id":1,"text":"picked"}`), wantStatus: 400,
			wantBody: `"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"`},
		{name: "edit in another chat", do: post("editMessageText", `{"chat_id":8,"message_id":1,"text":"x"}`), wantStatus: 400, wantBody: `message to edit not found`},
		// An edit's text is parsed as a sent one's is.
		{name: "edit with HTML", do: post("editMessageText", `{"chat_id":7,"message_id":1,"text":"<b>picked</b>","parse_mode":"HTML"}`), wantStatus: 200, wantBody: `"text":"picked"`},
		{name: "edit with the same HTML", do: post("editMessageText", `{"chat_id":7,"message_id":1,"text":"<b>picked</b>","parse_mode":"HTML"}`), wantStatus: 400, wantBody: `message is not modified`},
		{name: "edit with broken HTML", do: post("editMessageText", `{"chat_id":7,"message_id":1,"text":"<b>picked","parse_mode":"HTML"}`), wantStatus: 400, wantBody: `can't parse entities`},
		{name: "edit too long after parsing", do: post("editMessageText", `{"chat_id":7,"message_id":1,"text":"`+strings.Repeat("a", 4097)+`"}`), wantStatus: 400, wantBody: `MESSAGE_TOO_LONG`},
		{name: "answer a press", do: post("answerCallbackQuery", `{"callback_query_id":"4382bfdwdsb323b2d9"}`), wantStatus: 200, wantBody: `"result":true`},
		{name: "answer it again", do: post("answerCallbackQuery", `{"callback_query_id":"4382bfdwdsb323b2d9"}`), wantStatus: 400,
			wantBody: `query is too old and response timeout expired or query ID is invalid`},
		{name: "chat action", do: post("sendChatAction", `{"chat_id":7,"action":"typing"}`), wantStatus: 200, wantBody: `"result":true`},
		{name: "chat action unknown", do: post("sendChatAction", `{"chat_id":7,"action":"dancing"}`), wantStatus: 400, wantBody: `wrong parameter action`},
		{name: "photo", do: post("sendPhoto", `{"chat_id":7,"photo":"https://example.com/a.jpg","caption":"c"}`), wantStatus: 200, wantBody: `"width":320`},
		{name: "photo Telegram cannot fetch", do: post("sendPhoto", `{"chat_id":7,"photo":"https://unreachable.invalid/a.jpg"}`), wantStatus: 400,
			wantBody: `wrong file identifier/HTTP URL specified`},
		{name: "document", do: post("sendDocument", `{"chat_id":7,"document":"https://example.com/r.pdf"}`), wantStatus: 200, wantBody: `"file_name":"r.pdf"`},
		{name: "draft", do: post("sendMessageDraft", `{"chat_id":7,"draft_id":1,"text":"…"}`), wantStatus: 200, wantBody: `"result":true`},
		{name: "draft to a group", do: post("sendMessageDraft", `{"chat_id":-7,"draft_id":1,"text":"…"}`), wantStatus: 400, wantBody: `"error_code":400`},
		{name: "delete", do: post("deleteMessage", `{"chat_id":7,"message_id":1}`), wantStatus: 200, wantBody: `"result":true`},
		{name: "delete again", do: post("deleteMessage", `{"chat_id":7,"message_id":1}`), wantStatus: 400, wantBody: `message to delete not found`},
		{name: "getFile", do: post("getFile", `{"file_id":"BQACAgIAAxkBAAIBfile"}`), wantStatus: 200, wantBody: `"file_path":"documents/file_3.txt"`},
		{name: "getFile unknown", do: post("getFile", `{"file_id":"nope"}`), wantStatus: 400, wantBody: `invalid file_id`},
		{name: "download", do: func() (*http.Response, error) {
			return http.Get(srv.URL + "/file/bot" + token + "/documents/file_3.txt")
		},
			wantStatus: 200, wantBody: "hello file"},
		{name: "download unknown", do: func() (*http.Response, error) { return http.Get(srv.URL + "/file/bot" + token + "/documents/x.txt") },
			wantStatus: 404, wantBody: `"error_code":404`},
		{name: "download with another token", do: func() (*http.Response, error) {
			return http.Get(srv.URL + "/file/bot1:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/documents/file_3.txt")
		}, wantStatus: 404, wantBody: `Not Found`},
	}
	for _, tt := range tests {
		resp, err := tt.do()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
			t.Errorf("%s: got %d %s, want %d containing %s", tt.name, resp.StatusCode, b, tt.wantStatus, tt.wantBody)
		}
	}
	if m := s.Messages(token); len(m) != 3 || !m[0].Deleted || m[0].Edits != 2 || m[0].Text != "picked" || m[0].Raw != "<b>picked</b>" || m[1].Kind != "photo" || m[2].Kind != "document" {
		t.Errorf("messages %+v", m)
	}
}
