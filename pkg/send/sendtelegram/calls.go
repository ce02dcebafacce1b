package sendtelegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram/markdown"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// Calls are the action route's calls that go through a bot's paced
// queue (telegram.Paced): send.Direct's Calls.
type Calls struct {
	// AllowPrivate is the SSRF guard's setting for a photo's or a
	// document's URL, as the Telegram provider has it.
	AllowPrivate bool
}

var _ send.Calls = Calls{}

// Paced reports whether action with params is paced (telegram.Paced).
func (Calls) Paced(action string, params json.RawMessage) bool {
	return telegram.Paced(action, params)
}

// Request checks a paced action's parameters as the Telegram provider's
// Execute does and returns the request that makes it; sendMessage's are
// checked as a batch's message is (Check), so that "format": "markdown"
// works on the action route too.
func (c Calls) Request(action string, params json.RawMessage) (json.RawMessage, []gateway.FieldError) {
	if action == send.MethodSendMessage {
		if bad := Check("params", params, true); len(bad) > 0 {
			return nil, bad
		}
		return params, nil
	}
	if action == "editMessageText" {
		if md, ok := markdownEdit(params); ok {
			return c.editMarkdown(md)
		}
	}
	return c.request(action, params)
}

// request is Request for the actions the provider checks.
func (c Calls) request(action string, params json.RawMessage) (json.RawMessage, []gateway.FieldError) {
	body, err := telegram.PacedRequest(action, "params", params, c.AllowPrivate)
	if err == nil {
		return body, nil
	}
	var invalid *provider.InvalidParamsError
	if errors.As(err, &invalid) && len(invalid.Fields) > 0 {
		return nil, invalid.Fields
	}
	return nil, []gateway.FieldError{{Field: "params", Message: "are not valid " + action + " parameters"}}
}

// Refused classifies Telegram's error answer as the Telegram provider
// does (telegram.APIError.Outcome): a refused token (401, 404) is
// gateway.CodeUpstreamRejected, so the action route moves the gateway to
// ERROR as it does for the calls it makes at once.
func (Calls) Refused(answer json.RawMessage, msg string) error {
	var a errorAnswer
	_ = json.Unmarshal(answer, &a)
	code := gateway.CodeUpstreamRefused
	if (&telegram.APIError{ErrorCode: a.ErrorCode, Description: a.Description}).Outcome() == provider.OutcomeInvalidCredentials {
		code = gateway.CodeUpstreamRejected
	}
	return &gateway.Error{Code: code, Message: msg, Op: "send.SendNow"}
}

// markdownEdit reports whether an edit asks for "format" (which only the
// paced queue converts), and returns its object.
func markdownEdit(params json.RawMessage) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(params, &obj) != nil {
		return nil, false
	}
	_, ok := obj["format"]
	return obj, ok
}

// editMarkdown checks an edit whose text is Markdown for Gatehouse to
// convert, as a message's is, and returns its request with the Markdown
// and the format kept: the Formatter converts it when it is sent, and
// sends it plain if Telegram refuses the HTML. An edit replaces one
// message, so the text must convert to one: a longer answer is refused
// rather than cut.
func (c Calls) editMarkdown(obj map[string]json.RawMessage) (json.RawMessage, []gateway.FieldError) {
	var bad []gateway.FieldError
	var f string
	if json.Unmarshal(obj["format"], &f) != nil || f != FormatMarkdown {
		bad = append(bad, gateway.FieldError{Field: "params.format", Message: `must be "markdown"`})
	}
	if _, both := obj["parse_mode"]; both {
		bad = append(bad, gateway.FieldError{Field: "params.parse_mode", Message: "must be left out with format: Gatehouse converts the Markdown to HTML"})
	}
	md := obj["text"]
	var text string
	check := maps.Clone(obj)
	delete(check, "format")
	if json.Unmarshal(md, &text) == nil {
		// A text refused here is checked as "x" after: one error for it.
		switch parts := markdownParts(text); {
		case parts == nil:
			bad = append(bad, gateway.FieldError{Field: "params.text", Message: "must be 1-40960 characters of Markdown that renders to some text"})
			check["text"] = json.RawMessage(`"x"`)
		case len(parts) > 1:
			bad = append(bad, gateway.FieldError{Field: "params.text", Message: fmt.Sprintf("must fit one message after conversion (an edit replaces one message; this is %d)", len(parts))})
			check["text"] = json.RawMessage(`"x"`)
		default:
			// The rest is checked with the HTML Telegram will get.
			check["text"], _ = json.Marshal(parts[0])
			check["parse_mode"] = json.RawMessage(`"HTML"`)
		}
	}
	raw, _ := json.Marshal(check)
	body, fe := c.request("editMessageText", raw)
	if bad = append(bad, fe...); len(bad) > 0 {
		return nil, bad
	}
	var out map[string]json.RawMessage
	_ = json.Unmarshal(body, &out)
	delete(out, "parse_mode")
	out["text"], out["format"] = md, obj["format"]
	body, _ = json.Marshal(out)
	return body, nil
}

// markdownParts converts an edit's Markdown, nil for a text that is blank,
// longer than any message's Markdown may be (MaxMarkdownLength), or
// renders to nothing.
func markdownParts(text string) []string {
	if strings.TrimSpace(text) == "" || markdown.Len(text) > MaxMarkdownLength {
		return nil
	}
	parts := markdown.ToHTML(text)
	if len(parts) == 0 {
		return nil
	}
	return parts
}
