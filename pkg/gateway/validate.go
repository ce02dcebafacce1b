package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a request may carry. Limits on credential values are the
// providers' (CredentialRules).
const (
	MaxNameLength  = 100
	MaxConfigBytes = 16 << 10
)

// CreateRequest is a validated request to create a gateway.
type CreateRequest struct {
	Name        string
	Type        Type
	Credentials Credentials
	Config      json.RawMessage // a JSON object; "{}" when absent
	// CredentialInfo is the non-secret summary of Credentials that the
	// type's CredentialRules give; it becomes the gateway's credentialInfo.
	CredentialInfo map[string]any
	// Learned holds non-secret facts a live validation learnt (a bot's
	// username), merged into CredentialInfo.
	Learned map[string]any
	// Warning, when set, says the credentials could not be verified live
	// (the provider was unreachable, say); it becomes the gateway's lastError.
	Warning string
}

// UpdateRequest is a validated request to change a gateway; nil fields stay
// as they are.
type UpdateRequest struct {
	Name        *string
	Config      json.RawMessage // nil: unchanged
	Credentials *Credentials
	// CredentialInfo, Learned and Warning are as in CreateRequest, for new
	// credentials.
	CredentialInfo map[string]any
	Learned        map[string]any
	Warning        string
}

// DecodeCreate parses and validates the body of POST /api/gateways, asking
// rules about the credentials of the type it names. It returns a
// CodeInvalid *Error naming every invalid field at once.
func DecodeCreate(body []byte, rules CredentialRules) (CreateRequest, error) {
	var req CreateRequest
	obj, err := decodeObject(body)
	if err != nil {
		return req, err
	}
	v := &validator{rules: rules}
	v.allow(obj, "", "name", "type", "credentials", "config")
	name, okName := v.str(obj, "name", true)
	if okName {
		req.Name = v.name("name", name)
	}
	typ, okType := v.str(obj, "type", true)
	if okType {
		req.Type = Type(typ)
		if !req.Type.Valid() {
			v.add("type", "must be one of "+typeNames())
			okType = false
		}
	}
	raw, present := obj["credentials"]
	switch {
	case !present || isNull(raw):
		v.add("credentials", "is required")
	case okType:
		req.Credentials = v.credentials(req.Type, raw)
	default:
		if _, err := decodeObject(raw); err != nil {
			v.add("credentials", "must be an object")
		}
	}
	req.Config = v.config(obj)
	if req.Config == nil {
		req.Config = json.RawMessage("{}")
	}
	if err := v.err(); err != nil {
		return req, err
	}
	req.CredentialInfo = rules.CredentialInfo(req.Type, req.Credentials)
	return req, nil
}

// DecodeUpdate parses and validates the body of PUT /api/gateways/{id} for a
// gateway of type t, asking rules about its credentials. At least one of
// name, config and credentials is needed. It returns a CodeInvalid *Error
// naming every invalid field at once.
func DecodeUpdate(body []byte, t Type, rules CredentialRules) (UpdateRequest, error) {
	var req UpdateRequest
	obj, err := decodeObject(body)
	if err != nil {
		return req, err
	}
	v := &validator{rules: rules}
	v.allow(obj, "", "name", "config", "credentials")
	if _, ok := obj["name"]; ok {
		if name, ok := v.str(obj, "name", true); ok {
			n := v.name("name", name)
			req.Name = &n
		}
	}
	req.Config = v.config(obj)
	if raw, ok := obj["credentials"]; ok {
		if isNull(raw) {
			v.add("credentials", "must be an object")
		} else {
			c := v.credentials(t, raw)
			req.Credentials = &c
		}
	}
	if len(obj) == 0 {
		return req, Errorf(CodeInvalid, "Send at least one of name, config and credentials.")
	}
	if err := v.err(); err != nil {
		return req, err
	}
	if req.Credentials != nil {
		req.CredentialInfo = rules.CredentialInfo(t, *req.Credentials)
	}
	return req, nil
}

// DecodeStatus parses the body of PATCH /api/gateways/{id}/status: a status
// in allowed.
func DecodeStatus(body []byte, allowed ...Status) (Status, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return "", err
	}
	v := &validator{}
	v.allow(obj, "", "status")
	s, ok := v.str(obj, "status", true)
	st := Status(s)
	if ok {
		valid := false
		for _, a := range allowed {
			valid = valid || st == a
		}
		if !valid {
			names := make([]string, len(allowed))
			for i, a := range allowed {
				names[i] = string(a)
			}
			v.add("status", "must be one of "+strings.Join(names, ", "))
		}
	}
	return st, v.err()
}

// decodeObject decodes a JSON object strictly: one value, an object, nothing after it.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, malformed(err)
	}
	if obj == nil {
		return nil, Errorf(CodeInvalid, "The request body must be a JSON object.")
	}
	if dec.More() {
		return nil, Errorf(CodeInvalid, "The request body must hold exactly one JSON object.")
	}
	return obj, nil
}

func malformed(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return Errorf(CodeInvalid, "The request body must be a JSON object.")
	case errors.As(err, &syntaxErr):
		return Errorf(CodeInvalid, "The request body is not valid JSON (at byte %d).", syntaxErr.Offset)
	default:
		return Errorf(CodeInvalid, "The request body is not valid JSON.")
	}
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// validator collects the field errors of one request.
type validator struct {
	rules  CredentialRules
	fields []FieldError
}

func (v *validator) add(field, msg string) { v.fields = append(v.fields, FieldError{field, msg}) }

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(v.fields...)
}

// allow reports every key of obj not in names as unknown, in a stable order.
func (v *validator) allow(obj map[string]json.RawMessage, prefix string, names ...string) {
	v.fields = append(v.fields, UnknownFields(obj, prefix, names...)...)
}

// UnknownFields names every key of obj not in names as "is not a known
// field", prefixed with prefix, in a stable order.
func UnknownFields(obj map[string]json.RawMessage, prefix string, names ...string) []FieldError {
	var unknown []string
	for k := range obj {
		known := false
		for _, n := range names {
			known = known || k == n
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	var fe []FieldError
	for _, k := range unknown {
		fe = append(fe, FieldError{Field: prefix + PrintableField(k), Message: "is not a known field"})
	}
	return fe
}

// PrintableField returns k, a name the client chose (a JSON key, a query
// parameter), as it may be echoed in a FieldError: a name that is empty,
// over 64 bytes, not UTF-8 or holds a character a client cannot show (a
// NUL, a newline, a bidi override) is "(unknown)", so a hostile name
// cannot flood or corrupt an answer or a log line.
func PrintableField(k string) string {
	if k == "" || len(k) > 64 || !utf8.ValidString(k) || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "(unknown)"
	}
	return k
}

// str reads a string field; it reports absence (when required) and wrong types.
func (v *validator) str(obj map[string]json.RawMessage, field string, required bool) (string, bool) {
	return v.strAt(obj, field, field, required)
}

func (v *validator) strAt(obj map[string]json.RawMessage, key, path string, required bool) (string, bool) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		if required {
			v.add(path, "is required")
		}
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		v.add(path, "must be a string")
		return "", false
	}
	return s, true
}

func (v *validator) name(field, name string) string {
	n := strings.TrimSpace(name)
	switch l := utf8.RuneCountInString(n); {
	case l == 0:
		v.add(field, "must not be empty")
	case l > MaxNameLength:
		v.add(field, fmt.Sprintf("must be at most %d characters", MaxNameLength))
	case strings.IndexFunc(n, unicode.IsControl) >= 0:
		v.add(field, "must not contain control characters")
	}
	return n
}

// config returns the config object (compacted) or nil when absent.
func (v *validator) config(obj map[string]json.RawMessage) json.RawMessage {
	raw, ok := obj["config"]
	if !ok {
		return nil
	}
	if isNull(raw) {
		return json.RawMessage("{}")
	}
	if _, err := decodeObject(raw); err != nil {
		v.add("config", "must be a JSON object")
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		v.add("config", "must be a JSON object")
		return nil
	}
	if buf.Len() > MaxConfigBytes {
		v.add("config", fmt.Sprintf("must be at most %d bytes of JSON", MaxConfigBytes))
		return nil
	}
	return buf.Bytes()
}

// credentials decodes and checks the credentials object for type t: the
// fields the type's rules list, each a string, then the rules' own checks.
func (v *validator) credentials(t Type, raw json.RawMessage) Credentials {
	var c Credentials
	obj, err := decodeObject(raw)
	if err != nil {
		v.add("credentials", "must be an object")
		return c
	}
	fields := v.rules.CredentialFields(t)
	v.allow(obj, "credentials.", fields...)
	before := len(v.fields)
	for _, name := range fields {
		s, _ := v.strAt(obj, name, "credentials."+name, false)
		if f := c.Field(name); f != nil {
			*f = s
		}
	}
	// Type errors already name their fields; don't also call them missing.
	typeErrs := map[string]bool{}
	for _, f := range v.fields[before:] {
		typeErrs[f.Field] = true
	}
	for _, f := range v.rules.CheckCredentials(t, c) {
		if !typeErrs[f.Field] {
			v.fields = append(v.fields, f)
		}
	}
	return c
}

// typeNames lists the gateway types for a message: "TELEGRAM_BOT, AI, …".
func typeNames() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// DecodeObject decodes a request body that must be one JSON object,
// strictly, with the same errors as the gateway routes' bodies.
func DecodeObject(body []byte) (map[string]json.RawMessage, error) { return decodeObject(body) }
