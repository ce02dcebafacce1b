package telegramtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// File is a file the stand-in serves: getFile answers its id, size and
// path, and GET /file/bot<token>/<Path> answers Content.
type File struct {
	FileID       string
	FileUniqueID string
	// Path is getFile's file_path, such as "documents/file_1.pdf".
	Path    string
	Content []byte
	// ContentType is sent with the download; empty means by Path's
	// extension, or application/octet-stream.
	ContentType string
}

// Draft is one sendMessageDraft call.
type Draft struct {
	ChatID  int64
	DraftID int64
	Text    string
}

// AddFile makes token's bot know f (a zero FileUniqueID is derived from
// FileID). It returns f as stored.
func (s *Server) AddFile(token string, f File) File {
	if f.FileUniqueID == "" {
		sum := sha256.Sum256([]byte(f.FileID))
		f.FileUniqueID = "AQAD" + base64.RawURLEncoding.EncodeToString(sum[:6])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, status := s.bot(token); status == 0 {
		if b.files == nil {
			b.files = map[string]File{}
		}
		b.files[f.FileID] = f
	}
	return f
}

// AddCallbackQuery makes id a callback query token's bot may answer once,
// as if a user had just pressed one of its inline buttons.
func (s *Server) AddCallbackQuery(token, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, status := s.bot(token); status == 0 {
		if b.callbacks == nil {
			b.callbacks = map[string]bool{}
		}
		b.callbacks[id] = false
	}
}

// Drafts returns token's bot's sendMessageDraft calls.
func (s *Server) Drafts(token string) []Draft {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bots[token]; ok {
		return append([]Draft(nil), b.drafts...)
	}
	return nil
}

// rawParam returns a parameter that is a JSON object or array, given as
// JSON or as a JSON-encoded string (the form encoding), compacted; nil when
// absent.
func rawParam(p map[string]any, k string) json.RawMessage {
	var b []byte
	switch v := p[k].(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return nil
	}
	return out.Bytes()
}

// chatObject is the chat of chat_id as Telegram shows it: positive ids are
// private chats, negative ones supergroups, "@name" a channel.
func (s *Server) chatObject(chat string, id int64) map[string]any {
	if n, err := strconv.ParseInt(chat, 10, 64); err == nil {
		if n < 0 {
			return map[string]any{"id": n, "type": "supergroup", "title": "Test Group"}
		}
		return map[string]any{"id": n, "type": "private", "first_name": "Test User"}
	}
	return map[string]any{"id": int64(-1000000000000) - id, "type": "channel", "title": "Test Channel", "username": strings.TrimPrefix(chat, "@")}
}

// messageObject is m as the Bot API's Message.
func (s *Server) messageObject(bot *botState, m SentMessage) map[string]any {
	chatObj := s.chatObject(m.ChatID, m.MessageID)
	msg := map[string]any{
		"message_id": m.MessageID,
		"from":       map[string]any{"id": bot.ID, "is_bot": true, "first_name": bot.FirstName, "username": bot.Username},
		"chat":       chatObj,
		"date":       time.Now().Unix(),
	}
	switch m.Kind {
	case "photo":
		id := fmt.Sprintf("AgACAgIAAxkBAAI%06d", m.MessageID)
		msg["photo"] = []map[string]any{
			{"file_id": id + "s", "file_unique_id": fmt.Sprintf("AQAD%06ds", m.MessageID), "width": 90, "height": 60, "file_size": 1024},
			{"file_id": id + "m", "file_unique_id": fmt.Sprintf("AQAD%06dm", m.MessageID), "width": 320, "height": 213, "file_size": 16384},
		}
	case "document":
		name := "document"
		if strings.HasPrefix(m.File, "http") {
			name = path.Base(strings.SplitN(m.File, "?", 2)[0])
		}
		msg["document"] = map[string]any{
			"file_id": fmt.Sprintf("BQACAgIAAxkBAAI%06d", m.MessageID), "file_unique_id": fmt.Sprintf("AgAD%06d", m.MessageID),
			"file_name": name, "mime_type": "application/octet-stream", "file_size": 2048,
		}
	default:
		msg["text"] = m.Text
	}
	if m.Caption != "" {
		msg["caption"] = m.Caption
	}
	if m.Edits > 0 {
		msg["edit_date"] = time.Now().Unix()
	}
	if len(m.ReplyMarkup) > 0 && bytes.Contains(m.ReplyMarkup, []byte(`"inline_keyboard"`)) {
		msg["reply_markup"] = m.ReplyMarkup
	}
	if m.ReplyToMessageID != 0 {
		msg["reply_to_message"] = map[string]any{"message_id": m.ReplyToMessageID, "chat": chatObj, "date": time.Now().Unix()}
	}
	return msg
}

// find returns the live message id of chat, or nil.
func (bot *botState) find(chat string, id int64) *SentMessage {
	for i := range bot.messages {
		m := &bot.messages[i]
		if m.ChatID == chat && m.MessageID == id && !m.Deleted {
			return m
		}
	}
	return nil
}

func (s *Server) editMessageText(w http.ResponseWriter, bot *botState, params map[string]any) {
	raw, _ := stringParam(params, "text")
	parseMode, _ := stringParam(params, "parse_mode")
	// The new text is parsed as a sent message's is (HTML entities, then
	// the length after parsing), with edits' own word for too long.
	text, problem := checkText(raw, parseMode)
	switch {
	case problem == "Bad Request: message is too long":
		writeError(w, http.StatusBadRequest, "Bad Request: MESSAGE_TOO_LONG", 0)
		return
	case problem != "":
		writeError(w, http.StatusBadRequest, problem, 0)
		return
	}
	markup := rawParam(params, "reply_markup")
	if inline, ok := stringParam(params, "inline_message_id"); ok && inline != "" {
		// Inline messages live in other users' chats; the stand-in takes
		// every edit of one and answers true, as Telegram does.
		writeOK(w, true, "")
		return
	}
	chat, _ := stringParam(params, "chat_id")
	id, _ := intParam(params, "message_id")
	m := bot.find(chat, id)
	if m == nil || m.Kind != "text" {
		writeError(w, http.StatusBadRequest, "Bad Request: message to edit not found", 0)
		return
	}
	if m.Text == text && m.Raw == raw && bytes.Equal(m.ReplyMarkup, markup) {
		writeError(w, http.StatusBadRequest, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", 0)
		return
	}
	m.Text, m.Raw, m.ReplyMarkup, m.Edits = text, raw, markup, m.Edits+1
	m.ParseMode = parseMode
	writeOK(w, s.messageObject(bot, *m), "")
}

func (s *Server) deleteMessage(w http.ResponseWriter, bot *botState, params map[string]any) {
	chat, _ := stringParam(params, "chat_id")
	id, _ := intParam(params, "message_id")
	m := bot.find(chat, id)
	if m == nil {
		writeError(w, http.StatusBadRequest, "Bad Request: message to delete not found", 0)
		return
	}
	m.Deleted = true
	writeOK(w, true, "")
}

func (s *Server) answerCallbackQuery(w http.ResponseWriter, bot *botState, params map[string]any) {
	id, _ := stringParam(params, "callback_query_id")
	answered, known := bot.callbacks[id]
	if !known || answered {
		writeError(w, http.StatusBadRequest, "Bad Request: query is too old and response timeout expired or query ID is invalid", 0)
		return
	}
	if text, _ := stringParam(params, "text"); len([]rune(text)) > 200 {
		writeError(w, http.StatusBadRequest, "Bad Request: MESSAGE_TOO_LONG", 0)
		return
	}
	bot.callbacks[id] = true
	writeOK(w, true, "")
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true, "record_voice": true,
	"upload_voice": true, "upload_document": true, "choose_sticker": true, "find_location": true,
	"record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(w http.ResponseWriter, params map[string]any) {
	chat, _ := stringParam(params, "chat_id")
	action, _ := stringParam(params, "action")
	switch {
	case chat == "":
		writeError(w, http.StatusBadRequest, "Bad Request: chat_id is empty", 0)
	case chat == "0" || chat == "@unknown":
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
	case !chatActions[action]:
		writeError(w, http.StatusBadRequest, "Bad Request: wrong parameter action in request", 0)
	default:
		writeOK(w, true, "")
	}
}

// sendMedia answers sendPhoto and sendDocument. The stand-in does not
// download a URL: Telegram would, and answer "wrong file identifier/HTTP
// URL specified" when it cannot; a URL on host "unreachable.invalid" plays
// that.
func (s *Server) sendMedia(w http.ResponseWriter, bot *botState, params map[string]any, field string) {
	chat, _ := stringParam(params, "chat_id")
	file, _ := stringParam(params, field)
	caption, _ := stringParam(params, "caption")
	switch {
	case chat == "":
		writeError(w, http.StatusBadRequest, "Bad Request: chat_id is empty", 0)
		return
	case chat == "0" || chat == "@unknown":
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
		return
	case file == "":
		writeError(w, http.StatusBadRequest, "Bad Request: there is no "+field+" in the request", 0)
		return
	case strings.Contains(file, "unreachable.invalid"):
		writeError(w, http.StatusBadRequest, "Bad Request: wrong file identifier/HTTP URL specified", 0)
		return
	case len([]rune(caption)) > 1024:
		writeError(w, http.StatusBadRequest, "Bad Request: message caption is too long", 0)
		return
	}
	silent, _ := boolParam(params, "disable_notification")
	var replyTo int64
	if rp, ok := params["reply_parameters"].(map[string]any); ok {
		replyTo, _ = intParam(rp, "message_id")
	}
	parseMode, _ := stringParam(params, "parse_mode")
	s.messageID++
	m := SentMessage{
		MessageID: s.messageID, ChatID: chat, ParseMode: parseMode, DisableNotification: silent,
		ReplyToMessageID: replyTo, Kind: field, Caption: caption, File: file,
		ReplyMarkup: rawParam(params, "reply_markup"),
	}
	bot.messages = append(bot.messages, m)
	writeOK(w, s.messageObject(bot, m), "")
}

// sendMessageDraft answers true for a private chat. Telegram streams drafts
// to private chats only; its wording for other chats is not documented, so
// the stand-in answers the MTProto error name the Bot API passes on for a
// peer a method does not take.
func (s *Server) sendMessageDraft(w http.ResponseWriter, bot *botState, params map[string]any) {
	chat, _ := intParam(params, "chat_id")
	draft, _ := intParam(params, "draft_id")
	text, _ := stringParam(params, "text")
	switch {
	case chat == 0:
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
	case chat < 0:
		writeError(w, http.StatusBadRequest, "Bad Request: TEXTDRAFT_PEER_INVALID", 0)
	case draft == 0:
		writeError(w, http.StatusBadRequest, "Bad Request: draft_id must be non-zero", 0)
	case strings.TrimSpace(text) == "":
		writeError(w, http.StatusBadRequest, "Bad Request: message text is empty", 0)
	default:
		bot.drafts = append(bot.drafts, Draft{ChatID: chat, DraftID: draft, Text: text})
		writeOK(w, true, "")
	}
}

func (s *Server) getFile(w http.ResponseWriter, bot *botState, params map[string]any) {
	id, _ := stringParam(params, "file_id")
	f, ok := bot.files[id]
	if !ok {
		writeError(w, http.StatusBadRequest, "Bad Request: invalid file_id", 0)
		return
	}
	if len(f.Content) > 20<<20 {
		writeError(w, http.StatusBadRequest, "Bad Request: file is too big", 0)
		return
	}
	writeOK(w, map[string]any{
		"file_id": f.FileID, "file_unique_id": f.FileUniqueID, "file_size": len(f.Content), "file_path": f.Path,
	}, "")
}

// serveFile answers GET /file/bot<token>/<file_path> with the file's bytes,
// as Telegram's file server does; 404 for anything it does not know.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/file/bot")
	token, filePath, ok := strings.Cut(rest, "/")
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: "file", Token: token, Params: map[string]any{"file_path": filePath}, At: time.Now()})
	delay := s.delay
	var f File
	found := false
	if b, known := s.bots[token]; ok && known {
		for _, x := range b.files {
			if x.Path == filePath {
				f, found = x, true
			}
		}
	}
	fail, failed := s.takeFailure("file")
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if failed {
		writeError(w, fail.ErrorCode, defaultDescription(fail.ErrorCode, fail.RetryAfter), fail.RetryAfter)
		return
	}
	if !found || r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	ct := f.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(f.Path))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Content)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.Content)
	}
}
