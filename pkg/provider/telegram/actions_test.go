package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

// exec runs an action and returns its result as JSON.
func exec(t *testing.T, p *Provider, action, params string) (string, error) {
	t.Helper()
	res, err := p.Execute(context.Background(), creds, nil, action, json.RawMessage(params))
	faulttest.Scanned(t, err)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(res)
	return string(b), nil
}

// TestActions runs every new action against the stand-in, in the order a
// bot uses them: send with a keyboard, answer the press, edit, delete.
func TestActions(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	mustExec := func(action, params string) string {
		t.Helper()
		out, err := exec(t, p, action, params)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return out
	}

	sent := mustExec("sendMessage", `{"chat_id":42,"text":"Pick one","message_thread_id":3,"protect_content":true,
		"reply_markup":{"inline_keyboard":[[{"text":"Yes","callback_data":"y"},{"text":"Docs","url":"https://example.com"}]]},
		"link_preview_options":{"is_disabled":true},"reply_parameters":{"message_id":1,"allow_sending_without_reply":true}}`)
	var msg Message
	_ = json.Unmarshal([]byte(sent), &msg)
	if msg.MessageID == 0 || !strings.Contains(string(msg.ReplyMarkup), `"callback_data":"y"`) {
		t.Fatalf("sendMessage result %s", sent)
	}
	call := fake.Calls("sendMessage")[0]
	for k, want := range map[string]string{
		"message_thread_id": "3", "protect_content": "true", "link_preview_options": "map[is_disabled:true]",
		"reply_parameters": "map[allow_sending_without_reply:true message_id:1]",
	} {
		if got := fmt.Sprint(call.Params[k]); got != want {
			t.Errorf("sendMessage %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := call.Params["reply_to_message_id"]; ok {
		t.Error("sendMessage sent reply_to_message_id")
	}

	fake.AddCallbackQuery(token, "cq-1")
	if out := mustExec("answerCallbackQuery", `{"callback_query_id":"cq-1","text":"Noted"}`); out != `{"ok":true}` {
		t.Errorf("answerCallbackQuery = %s", out)
	}
	_, err := exec(t, p, "answerCallbackQuery", `{"callback_query_id":"cq-1"}`)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Description != "Bad Request: query is too old and response timeout expired or query ID is invalid" {
		t.Errorf("second answer: %v", err)
	}

	id := fmt.Sprint(msg.MessageID)
	edited := mustExec("editMessageText", `{"chat_id":42,"message_id":`+id+`,"text":"Picked: yes"}`)
	if !strings.Contains(edited, `"text":"Picked: yes"`) || !strings.Contains(edited, `"edit_date"`) {
		t.Errorf("editMessageText = %s", edited)
	}
	_, err = exec(t, p, "editMessageText", `{"chat_id":42,"message_id":`+id+`,"text":"Picked: yes"}`)
	if !errors.As(err, &apiErr) || !strings.HasPrefix(apiErr.Description, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same") {
		t.Errorf("unchanged edit: %v", err)
	}
	if out := mustExec("editMessageText", `{"inline_message_id":"AgAAAB","text":"inline"}`); out != `{"ok":true}` {
		t.Errorf("inline edit = %s", out)
	}
	if out := mustExec("deleteMessage", `{"chat_id":42,"message_id":`+id+`}`); out != `{"ok":true}` {
		t.Errorf("deleteMessage = %s", out)
	}
	_, err = exec(t, p, "deleteMessage", `{"chat_id":42,"message_id":`+id+`}`)
	if !errors.As(err, &apiErr) || apiErr.Description != "Bad Request: message to delete not found" {
		t.Errorf("second delete: %v", err)
	}
	_, err = exec(t, p, "editMessageText", `{"chat_id":42,"message_id":`+id+`,"text":"again"}`)
	if !errors.As(err, &apiErr) || apiErr.Description != "Bad Request: message to edit not found" {
		t.Errorf("edit of a deleted message: %v", err)
	}
	if !fake.Messages(token)[0].Deleted {
		t.Error("the stand-in does not show the message deleted")
	}

	if out := mustExec("sendChatAction", `{"chat_id":42,"action":"typing"}`); out != `{"ok":true}` {
		t.Errorf("sendChatAction = %s", out)
	}
	photo := mustExec("sendPhoto", `{"chat_id":42,"photo":"https://example.com/cat.jpg","caption":"<b>cat</b>","parse_mode":"HTML"}`)
	if !strings.Contains(photo, `"photo":[`) || !strings.Contains(photo, `"caption":"\u003cb\u003ecat\u003c/b\u003e"`) {
		t.Errorf("sendPhoto = %s", photo)
	}
	if got := fmt.Sprint(fake.Calls("sendPhoto")[0].Params["photo"]); got != "https://example.com/cat.jpg" {
		t.Errorf("sendPhoto sent photo %q", got)
	}
	doc := mustExec("sendDocument", `{"chat_id":42,"document":"BQACAgIAAxkBAAIBZ2X","disable_notification":true}`)
	if !strings.Contains(doc, `"document":{`) {
		t.Errorf("sendDocument = %s", doc)
	}
	if out := mustExec("sendMessageDraft", `{"chat_id":42,"draft_id":5,"text":"Thinking…"}`); out != `{"ok":true}` {
		t.Errorf("sendMessageDraft = %s", out)
	}
	if d := fake.Drafts(token); len(d) != 1 || d[0].DraftID != 5 {
		t.Errorf("drafts = %+v", d)
	}
}

// TestGetFileNeverAnswersTheFileURL: getFile's result is a RemoteFile that
// holds the path for the caller to link, and whose JSON shows neither the
// path nor any URL.
func TestGetFileNeverAnswersTheFileURL(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	fake.AddFile(token, telegramtest.File{FileID: "BQACAgIAAxkBAAIBfile", FileUniqueID: "AgADfile", Path: "documents/file_7.pdf", Content: []byte("%PDF-1.4")})
	res, err := p.Execute(context.Background(), creds, nil, "getFile", json.RawMessage(`{"file_id":"BQACAgIAAxkBAAIBfile"}`))
	if err != nil {
		t.Fatal(err)
	}
	rf, ok := res.(provider.RemoteFile)
	if !ok {
		t.Fatalf("getFile result %T is not a provider.RemoteFile", res)
	}
	if path, size := rf.RemotePath(); path != "documents/file_7.pdf" || size != 8 {
		t.Errorf("RemotePath = %q, %d", path, size)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "documents/") || strings.Contains(string(b), "http") || strings.Contains(string(b), tokenSecret) {
		t.Errorf("unlinked result shows the file: %s", b)
	}
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	linked, _ := json.Marshal(rf.Linked("https://gatehouse.example.com/api/files/abc", exp))
	want := `{"file_id":"BQACAgIAAxkBAAIBfile","file_unique_id":"AgADfile","file_size":8,"url":"https://gatehouse.example.com/api/files/abc","expiresAt":"2030-01-01T00:00:00Z"}`
	if string(linked) != want {
		t.Errorf("linked = %s\nwant     %s", linked, want)
	}

	_, err = exec(t, p, "getFile", `{"file_id":"BQACAgIAAxkBAAIBnone"}`)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Description != "Bad Request: invalid file_id" {
		t.Errorf("unknown file: %v", err)
	}
}

// TestDownloadFile: the bytes of a registered file, and a 404 APIError for
// a path Telegram does not serve; no error names the token.
func TestDownloadFile(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	fake.AddFile(token, telegramtest.File{FileID: "BQACAgIAAxkBAAIBfile", Path: "photos/file_1.jpg", Content: []byte{0xff, 0xd8, 0xff}})
	b := NewBot(p.base, token, p.client)
	d, err := b.DownloadFile(context.Background(), "photos/file_1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Body) != "\xff\xd8\xff" || d.ContentType != "image/jpeg" {
		t.Errorf("download = %q, %q", d.Body, d.ContentType)
	}
	_, err = b.DownloadFile(context.Background(), "photos/none.jpg")
	faulttest.Scanned(t, err)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 404 {
		t.Errorf("missing file: %v", err)
	}
}

// TestBadInputNeverCallsTelegram: for every action, parameters that fail
// their check are a *provider.InvalidParamsError and the stand-in sees no
// call at all.
func TestBadInputNeverCallsTelegram(t *testing.T) {
	t.Parallel()
	p, fake := setup(t)
	bad := map[string]string{
		"sendMessage":         `{"chat_id":42,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a"}]]}}`,
		"editMessageText":     `{"chat_id":42,"text":"x"}`,
		"deleteMessage":       `{"chat_id":"nope","message_id":1}`,
		"answerCallbackQuery": `{"callback_query_id":"1","text":"` + strings.Repeat("x", 201) + `"}`,
		"sendChatAction":      `{"chat_id":42,"action":"sleeping"}`,
		"sendPhoto":           `{"chat_id":42,"photo":"http://10.0.0.1/x.png"}`,
		"sendDocument":        `{"chat_id":42,"document":"gopher://x"}`,
		"sendMessageDraft":    `{"chat_id":-5,"draft_id":1,"text":"x"}`,
		"getFile":             `{"file_id":""}`,
	}
	for _, a := range p.Actions() {
		body, ok := bad[a.Name]
		if !ok {
			continue
		}
		_, err := exec(t, p, a.Name, body)
		var ip *provider.InvalidParamsError
		if !errors.As(err, &ip) {
			t.Errorf("%s: error %v, want *provider.InvalidParamsError", a.Name, err)
		}
		delete(bad, a.Name)
	}
	if len(bad) > 0 {
		t.Errorf("actions not in Actions(): %v", bad)
	}
	if calls := fake.Calls(""); len(calls) > 0 {
		t.Errorf("the stand-in saw %d calls for bad input, first %s", len(calls), calls[0].Method)
	}
}

// TestActionsDescribeTheirParams: the sending actions require a connected
// gateway, and object parameters say so (the dashboard builds forms from
// them).
func TestActionsDescribeTheirParams(t *testing.T) {
	p := New(Options{})
	for _, a := range p.Actions() {
		switch a.Name {
		case "sendMessage", "editMessageText", "deleteMessage", "answerCallbackQuery", "sendChatAction", "sendPhoto", "sendDocument", "sendMessageDraft":
			if !a.RequiresConnection {
				t.Errorf("%s does not require a connection", a.Name)
			}
		}
		for _, prm := range a.Params {
			if strings.HasPrefix(prm.Name, "reply_") || prm.Name == "link_preview_options" {
				if prm.Name != "reply_to_message_id" && prm.Type != provider.ParamObject {
					t.Errorf("%s.%s has type %q, want object", a.Name, prm.Name, prm.Type)
				}
			}
			if prm.Description == "" {
				t.Errorf("%s.%s has no description", a.Name, prm.Name)
			}
		}
	}
}
