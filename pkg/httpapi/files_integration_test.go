package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/internal/fakeclock"
	"github.com/gatehouse/gatehouse/pkg/filelink"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/telegramtest"
)

// download GETs /api/files/{linkId} as anyone (the route has no JWT).
func (h *harness) download(linkID string) resp {
	h.t.Helper()
	return h.doWith(caller{}, req{fn: download.FnFiles, method: "GET"}, func(e *eventT) {
		e.PathParameters = map[string]string{"linkId": linkID}
	})
}

// getFile runs getFile and returns its result.
func (h *harness) getFile(c caller, id, fileID string) telegram.FileLink {
	h.t.Helper()
	r := h.action(c, id, "getFile", `{"file_id":"`+fileID+`"}`)
	if r.status != 200 {
		h.t.Fatalf("getFile: %d %s", r.status, r.body)
	}
	var out struct {
		Result telegram.FileLink `json:"result"`
	}
	r.decode(h.t, &out)
	return out.Result
}

func linkID(t *testing.T, url string) string {
	t.Helper()
	id, ok := strings.CutPrefix(url, "https://gatehouse.example.com"+filelink.Path)
	if !ok || !filelink.ValidID(id) {
		t.Fatalf("getFile url %q is not a Gatehouse file link", url)
	}
	return id
}

// TestFileLinks: getFile answers a Gatehouse link, never Telegram's URL;
// the link serves the file until it expires, to anyone holding it; an
// unknown or expired link, a disconnected gateway and a file over 4 MiB are
// refused; the table holds only the link's hash; no response and no log
// line holds the bot token or the link id's way to Telegram.
func TestFileLinks(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	g := h.create(alice, telegramBody("files"))
	if r := h.setStatus(alice, g.ID, "CONNECTED"); r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	jpeg := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{7}, 1000)...)
	h.tg.AddFile(botToken, telegramtest.File{FileID: "AgACAgIAAxkBAAIBphoto", FileUniqueID: "AQADphoto", Path: "photos/file_9.jpg", Content: jpeg})

	before := time.Now()
	link := h.getFile(alice, g.ID, "AgACAgIAAxkBAAIBphoto")
	if link.FileID != "AgACAgIAAxkBAAIBphoto" || link.FileUniqueID != "AQADphoto" || link.FileSize != int64(len(jpeg)) {
		t.Errorf("getFile = %+v", link)
	}
	if ttl := link.ExpiresAt.Sub(before); ttl < 59*time.Minute || ttl > 61*time.Minute {
		t.Errorf("expiresAt %v is %v away, want 1h", link.ExpiresAt, ttl)
	}
	id := linkID(t, link.URL)

	// The table has the link under its hash only.
	out, err := h.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: &h.table})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, item := range out.Items {
		pk := item["pk"].(*types.AttributeValueMemberS).Value
		if strings.HasPrefix(pk, "FILE#") {
			found++
			if _, ok := item["ttl"]; !ok {
				t.Error("the link item has no ttl")
			}
		}
		for _, av := range item {
			if s, ok := av.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, id) {
				t.Errorf("the link id is stored in clear (%s)", pk)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d link items, want 1", found)
	}

	r := h.download(id)
	if r.status != 200 {
		t.Fatalf("download: %d %s", r.status, r.body)
	}
	body, err := base64.StdEncoding.DecodeString(string(r.body))
	if err != nil || !bytes.Equal(body, jpeg) {
		t.Errorf("download body differs (%v)", err)
	}
	for k, want := range map[string]string{
		"Content-Type": "image/jpeg", "Content-Length": "1004", "X-Content-Type-Options": "nosniff",
		"Content-Disposition": `attachment; filename="file_9.jpg"`,
	} {
		if got := r.headers[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if cc := r.headers["Cache-Control"]; cc != "private, max-age=3599" && cc != "private, max-age=3600" && cc != "private, max-age=3598" {
		t.Errorf("Cache-Control = %q", cc)
	}

	// Unknown, malformed and expired links: the same 404.
	unknown := problem(t, h.download(strings.Repeat("A", 43)), 404)
	problem(t, h.download("../../file/bot"+botToken), 404)
	clock := fakeclock.New(time.Now().Add(time.Hour + time.Second))
	h.handlers[download.FnFiles] = download.New(h.links, h.svc, h.tgURL, download.WithLogger(h.log), download.WithClock(clock.Now)).Handle
	expired := problem(t, h.download(id), 404)
	if expired.Detail != unknown.Detail || expired.Title != unknown.Title {
		t.Errorf("an expired link answers %+v, an unknown one %+v", expired, unknown)
	}
	h.handlers[download.FnFiles] = download.New(h.links, h.svc, h.tgURL, download.WithLogger(h.log)).Handle

	// Over 4 MiB: 413, with a clear problem, and Telegram's file server is
	// not even asked.
	h.tg.AddFile(botToken, telegramtest.File{FileID: "BQACAgIAAxkBAAIBbig", Path: "documents/big.bin", Content: make([]byte, filelink.MaxBytes+1)})
	big := h.getFile(alice, g.ID, "BQACAgIAAxkBAAIBbig")
	downloads := len(h.tg.Calls("file"))
	p := problem(t, h.download(linkID(t, big.URL)), 413)
	if !strings.Contains(p.Detail, "4 MiB") {
		t.Errorf("413 detail %q", p.Detail)
	}
	if len(h.tg.Calls("file")) != downloads {
		t.Error("a file over the limit was fetched from Telegram")
	}

	// A file Telegram no longer has: 404.
	h.tg.AddFile(botToken, telegramtest.File{FileID: "BQACAgIAAxkBAAIBgone", Path: "documents/gone.txt", Content: []byte("x")})
	gone := h.getFile(alice, g.ID, "BQACAgIAAxkBAAIBgone")
	h.tg.AddFile(botToken, telegramtest.File{FileID: "BQACAgIAAxkBAAIBgone", Path: "documents/moved.txt", Content: []byte("x")})
	problem(t, h.download(linkID(t, gone.URL)), 404)

	// Disconnected since: 404; getFile itself needs a connection.
	if r := h.setStatus(alice, g.ID, "DISCONNECTED"); r.status != 200 {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	problem(t, h.download(id), 404)
	problem(t, h.action(alice, g.ID, "getFile", `{"file_id":"AgACAgIAAxkBAAIBphoto"}`), 409)

	logs := h.logs.String()
	for _, s := range []string{id, "file/bot", "/bot" + botToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
}

// TestActionsThroughTheAPI: the new actions through the action route: a
// keyboard and an edit reach Telegram; a wrong value is a 400 naming its
// field exactly, and Telegram is not called.
func TestActionsThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	alice := user("alice")
	g := h.create(alice, telegramBody("actions"))
	if r := h.setStatus(alice, g.ID, "CONNECTED"); r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.body)
	}
	r := h.action(alice, g.ID, "sendMessage", `{"chat_id":42,"text":"Pick","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"callback_data":"a"`) {
		t.Fatalf("sendMessage: %d %s", r.status, r.body)
	}
	if r := h.action(alice, g.ID, "editMessageText", `{"chat_id":42,"message_id":1,"text":"Picked"}`); r.status != 200 {
		t.Errorf("editMessageText: %d %s", r.status, r.body)
	}
	p := problem(t, h.action(alice, g.ID, "editMessageText", `{"chat_id":42,"message_id":99,"text":"x"}`), 422)
	if !strings.Contains(p.Detail, "message to edit not found") {
		t.Errorf("edit of an unknown message: %+v", p)
	}

	calls := len(h.tg.Calls(""))
	p = problem(t, h.action(alice, g.ID, "sendMessage",
		`{"chat_id":"nope","text":"x","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"},{"text":"B","callback_data":"`+strings.Repeat("b", 65)+`"}]]}}`), 400)
	got := map[string]string{}
	for _, f := range p.Errors {
		got[f.Field] = f.Message
	}
	if got["params.chat_id"] != "must be an integer or @channelusername" || got["params.reply_markup.inline_keyboard[0][1].callback_data"] != "must be 1-64 bytes" || len(got) != 2 {
		t.Errorf("errors = %v", got)
	}
	if n := len(h.tg.Calls("")); n != calls {
		t.Errorf("bad input made %d Telegram calls", n-calls)
	}
	var providers struct {
		Types []struct {
			Type    string `json:"type"`
			Actions []struct {
				Name               string `json:"name"`
				RequiresConnection bool   `json:"requiresConnection"`
			} `json:"actions"`
		} `json:"types"`
	}
	h.do(alice, req{fn: httpapi.FnProviders, method: "GET"}).decode(t, &providers)
	names := map[string]bool{}
	for _, pr := range providers.Types {
		for _, a := range pr.Actions {
			names[a.Name] = a.RequiresConnection
		}
	}
	for _, a := range []string{"editMessageText", "deleteMessage", "answerCallbackQuery", "sendChatAction", "sendPhoto", "sendDocument", "sendMessageDraft"} {
		if !names[a] {
			t.Errorf("GET /api/providers lacks %s or it does not require a connection", a)
		}
	}
}
