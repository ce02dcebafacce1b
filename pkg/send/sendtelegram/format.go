package sendtelegram

import (
	"encoding/json"
	"html"
	"strings"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/markdown"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// FormatMarkdown is the one value of a message's "format": its text is
// Markdown for Gatehouse to convert (markdown.ToHTML), not Telegram markup.
const FormatMarkdown = "markdown"

// MaxMarkdownLength bounds a Markdown text, in UTF-16 code units: ten
// messages' worth. A longer answer is better sent as a document.
const MaxMarkdownLength = 10 * markdown.MaxLength

var _ send.Checker = Check

// Check is the send.Checker of Telegram messages: sendMessage's
// parameters as telegram.CheckSendMessage checks them, plus Gatehouse's
// "format". A broadcast's message (withChat false) must leave chat_id
// out: the broadcast names the chats.
func Check(prefix string, params json.RawMessage, withChat bool) []gateway.FieldError {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(params, &obj); err != nil || obj == nil {
		return []gateway.FieldError{{Field: prefix, Message: "must be a JSON object of sendMessage parameters"}}
	}
	var bad []gateway.FieldError
	if raw, ok := obj["format"]; ok {
		var f string
		if json.Unmarshal(raw, &f) != nil || f != FormatMarkdown {
			bad = append(bad, gateway.FieldError{Field: prefix + ".format", Message: `must be "markdown"`})
		}
		if _, both := obj["parse_mode"]; both {
			bad = append(bad, gateway.FieldError{Field: prefix + ".parse_mode", Message: "must be left out with format: Gatehouse converts the Markdown to HTML"})
		}
		var text string
		if json.Unmarshal(obj["text"], &text) == nil {
			if n := markdown.Len(text); n > MaxMarkdownLength || strings.TrimSpace(text) == "" {
				bad = append(bad, gateway.FieldError{Field: prefix + ".text", Message: "must be 1-40960 characters of Markdown"})
			}
			// Checked as one part: the split parts are shorter.
			obj["text"], _ = json.Marshal("x")
		}
		delete(obj, "format")
		delete(obj, "parse_mode")
	}
	if withChat {
		if _, ok := obj["chat_id"]; !ok {
			bad = append(bad, gateway.FieldError{Field: prefix + ".chat_id", Message: "is required"})
			obj["chat_id"] = json.RawMessage("1")
		}
	} else {
		if _, ok := obj["chat_id"]; ok {
			bad = append(bad, gateway.FieldError{Field: prefix + ".chat_id", Message: "must be left out: the broadcast's chatIds name the chats"})
		}
		obj["chat_id"] = json.RawMessage("1")
	}
	raw, _ := json.Marshal(obj)
	if _, err := telegram.CheckSendMessage(prefix, raw); err != nil {
		var ip *provider.InvalidParamsError
		if pe, ok := err.(*provider.InvalidParamsError); ok {
			ip = pe
		}
		if ip == nil {
			return append(bad, gateway.FieldError{Field: prefix, Message: "is not a valid message"})
		}
		for _, f := range ip.Fields {
			if f.Field == prefix+".chat_id" && !withChat {
				continue
			}
			bad = append(bad, f)
		}
	}
	return bad
}

// Formatter is the engine's send.Formatter for Telegram: a message with
// format "markdown" becomes one or more HTML parts (markdown.ToHTML);
// the first keeps the reply parameters, the last the keyboard.
type Formatter struct{}

var _ send.Formatter = Formatter{}

// Parts returns the requests that send params. Errors: a message whose
// Markdown renders to nothing.
func (Formatter) Parts(params json.RawMessage) ([]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(params, &obj); err != nil {
		return nil, err
	}
	if _, ok := obj["format"]; !ok {
		return []json.RawMessage{params}, nil
	}
	delete(obj, "format")
	var text string
	if err := json.Unmarshal(obj["text"], &text); err != nil {
		return nil, err
	}
	texts := markdown.ToHTML(text)
	if len(texts) == 0 {
		return nil, &provider.InvalidParamsError{Action: "sendMessage", Fields: []gateway.FieldError{{Field: "text", Message: "renders to nothing"}}}
	}
	out := make([]json.RawMessage, len(texts))
	for i, t := range texts {
		p := make(map[string]json.RawMessage, len(obj)+1)
		for k, v := range obj {
			switch {
			case i > 0 && (k == "reply_parameters" || k == "reply_to_message_id"):
				continue
			case i < len(texts)-1 && k == "reply_markup":
				continue
			}
			p[k] = v
		}
		p["text"], _ = json.Marshal(t)
		p["parse_mode"] = json.RawMessage(`"HTML"`)
		out[i], _ = json.Marshal(p)
	}
	return out, nil
}

// Plain returns an HTML part without its markup: the text Telegram would
// have shown, with no parse_mode. false when the part is not HTML.
func (Formatter) Plain(part json.RawMessage) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(part, &obj) != nil {
		return nil, false
	}
	var mode, text string
	if json.Unmarshal(obj["parse_mode"], &mode) != nil || mode != "HTML" || json.Unmarshal(obj["text"], &text) != nil {
		return nil, false
	}
	delete(obj, "parse_mode")
	obj["text"], _ = json.Marshal(StripHTML(text))
	out, err := json.Marshal(obj)
	return out, err == nil
}

// StripHTML returns the text of Telegram HTML: tags dropped, entities
// decoded. Gatehouse's own HTML escapes every literal "<", so each "<"
// starts a tag.
func StripHTML(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		s = s[i+j+1:]
	}
	return html.UnescapeString(b.String())
}
