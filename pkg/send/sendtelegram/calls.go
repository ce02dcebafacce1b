package sendtelegram

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// Calls are the action route's calls that go through a bot's paced
// queue (telegram.PacedActions): send.Direct's Calls.
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
		var b bytes.Buffer
		if err := json.Compact(&b, params); err != nil {
			return nil, []gateway.FieldError{{Field: "params", Message: "must be a JSON object of sendMessage parameters"}}
		}
		return b.Bytes(), nil
	}
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
