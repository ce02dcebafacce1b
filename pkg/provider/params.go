package provider

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Parameter types. They are what a form needs to pick an input, and what
// DecodeParams checks.
const (
	ParamString  = "string"
	ParamInteger = "integer"
	ParamNumber  = "number"
	ParamBoolean = "boolean"
	ParamArray   = "array"
	ParamObject  = "object"
	// ParamID is an integer or a non-empty string, such as a Telegram
	// chat_id (-1001234567890 or "@channelname").
	ParamID = "id"
	// ParamAny is any JSON value.
	ParamAny = "any"
)

// Param describes one parameter of an action or one key of a config.
type Param struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Description string   `json:"description"`
	Enum        []string `json:"enum,omitempty"`
	// Items is the element type of an array parameter.
	Items   string `json:"items,omitempty"`
	Default any    `json:"default,omitempty"`
}

// Action describes one action Execute accepts.
type Action struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Params      []Param `json:"params"`
	// RequiresConnection is true for actions that only make sense on a
	// CONNECTED gateway (sending a message, a chat, an event); the service
	// refuses them otherwise with a *NotConnectedError (409).
	RequiresConnection bool `json:"requiresConnection"`
}

// FindAction returns the action named name.
func FindAction(actions []Action, name string) (Action, bool) {
	for _, a := range actions {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// CheckAction is the service's check before Execute: it returns the action,
// an *UnsupportedActionError when p has no such action, or a
// *NotConnectedError when the action needs a connected gateway and status
// is not CONNECTED.
func CheckAction(p Provider, name, gatewayID string, status gateway.Status) (Action, error) {
	a, ok := FindAction(p.Actions(), name)
	if !ok {
		return Action{}, &UnsupportedActionError{Type: p.Type(), Action: name}
	}
	if a.RequiresConnection && status != gateway.StatusConnected {
		return Action{}, &NotConnectedError{GatewayID: gatewayID, Action: name, Status: status}
	}
	return a, nil
}

// ConfigChecker is implemented by providers whose config has rules beyond
// the types of its parameters (ranges, allowed values).
type ConfigChecker interface {
	// CheckConfig returns an *InvalidParamsError with "config.<name>"
	// fields when raw is not a valid config for the provider.
	CheckConfig(raw json.RawMessage) error
}

// CheckConfig checks a gateway's config object against p: its own rules
// when it is a ConfigChecker, else the config parameters its Info declares
// (a provider that declares none accepts only {}). Errors:
// *InvalidParamsError.
func CheckConfig(p Provider, raw json.RawMessage) error {
	if c, ok := p.(ConfigChecker); ok {
		return c.CheckConfig(raw)
	}
	return DecodeParams("", "config", p.Info().Config, raw, nil)
}

// DecodeParams checks raw against params and decodes it into dst (a pointer
// to a struct whose json tags name the params). raw must be a JSON object
// (empty or null means {}); unknown keys, missing required keys, values of
// the wrong type and values outside an enum are reported together in an
// *InvalidParamsError whose field paths start with prefix ("params" or
// "config"). action names the action in the message.
func DecodeParams(action, prefix string, params []Param, raw json.RawMessage, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return &InvalidParamsError{Action: action, Fields: []gateway.FieldError{{Field: prefix, Message: "must be a JSON object"}}}
	}
	var bad []gateway.FieldError
	known := map[string]bool{}
	for _, p := range params {
		known[p.Name] = true
		v, ok := fields[p.Name]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			if p.Required {
				bad = append(bad, gateway.FieldError{Field: prefix + "." + p.Name, Message: "is required"})
			}
			continue
		}
		if msg := checkType(p, v); msg != "" {
			bad = append(bad, gateway.FieldError{Field: prefix + "." + p.Name, Message: msg})
		}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !known[k] {
			bad = append(bad, gateway.FieldError{Field: prefix + "." + gateway.PrintableField(k), Message: "is not a known parameter"})
		}
	}
	if len(bad) > 0 {
		return &InvalidParamsError{Action: action, Fields: bad}
	}
	if dst == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return &InvalidParamsError{Action: action, Fields: []gateway.FieldError{{Field: prefix, Message: "does not match the parameters"}}}
	}
	return nil
}

func checkType(p Param, v json.RawMessage) string {
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return "is not valid JSON"
	}
	if msg := checkValue(p.Type, x); msg != "" {
		return msg
	}
	if p.Type == ParamArray && p.Items != "" {
		for _, item := range x.([]any) {
			if msg := checkValue(p.Items, item); msg != "" {
				return "has an element that " + msg
			}
		}
	}
	if len(p.Enum) > 0 {
		s, _ := x.(string)
		if !slices.Contains(p.Enum, s) {
			return "must be one of " + joinQuoted(p.Enum)
		}
	}
	return ""
}

func checkValue(typ string, x any) string {
	switch typ {
	case ParamString:
		if _, ok := x.(string); !ok {
			return "must be a string"
		}
	case ParamInteger:
		if n, ok := x.(json.Number); !ok || !isInt(n) {
			return "must be an integer"
		}
	case ParamNumber:
		if _, ok := x.(json.Number); !ok {
			return "must be a number"
		}
	case ParamBoolean:
		if _, ok := x.(bool); !ok {
			return "must be true or false"
		}
	case ParamArray:
		if _, ok := x.([]any); !ok {
			return "must be an array"
		}
	case ParamObject:
		if _, ok := x.(map[string]any); !ok {
			return "must be an object"
		}
	case ParamID:
		switch v := x.(type) {
		case json.Number:
			if !isInt(v) {
				return "must be an integer or a string"
			}
		case string:
			if v == "" {
				return "must be an integer or a non-empty string"
			}
		default:
			return "must be an integer or a string"
		}
	}
	return ""
}

func isInt(n json.Number) bool {
	_, err := n.Int64()
	return err == nil
}

func joinQuoted(xs []string) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + x + `"`)
	}
	return b.String()
}
