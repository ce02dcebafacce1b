package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a request may carry.
const (
	MaxNameLength   = 100
	MaxConfigBytes  = 16 << 10
	MinSigningBytes = 24
	maxSecretLength = 512
	maxURLLength    = 2048
	maxModelLength  = 200
)

// botTokenPattern is the shape of a Telegram Bot API token: the bot's numeric
// id, a colon, and a URL-safe secret (35 characters today; a range allows for
// change without accepting anything else).
var botTokenPattern = regexp.MustCompile(`^[0-9]{5,16}:[A-Za-z0-9_-]{30,64}$`)

// BotTokenPattern is botTokenPattern's source, for clients that mirror checks.
const BotTokenPattern = `^[0-9]{5,16}:[A-Za-z0-9_-]{30,64}$`

// CreateRequest is a validated request to create a gateway.
type CreateRequest struct {
	Name        string
	Type        Type
	Credentials Credentials
	Config      json.RawMessage // a JSON object; "{}" when absent
	// Learned holds non-secret facts a live validation learnt (a bot's
	// username), merged into the gateway's credentialInfo.
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
	// Learned and Warning are as in CreateRequest, for new credentials.
	Learned map[string]any
	Warning string
}

// DecodeCreate parses and validates the body of POST /api/gateways. It
// returns a CodeInvalid *Error naming every invalid field at once.
func DecodeCreate(body []byte) (CreateRequest, error) {
	var req CreateRequest
	obj, err := decodeObject(body)
	if err != nil {
		return req, err
	}
	v := &validator{}
	v.allow(obj, "", "name", "type", "credentials", "config")
	name, okName := v.str(obj, "name", true)
	if okName {
		req.Name = v.name("name", name)
	}
	typ, okType := v.str(obj, "type", true)
	if okType {
		req.Type = Type(typ)
		if !req.Type.Valid() {
			v.add("type", "must be one of TELEGRAM_BOT, AI, WEBHOOK")
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
	return req, v.err()
}

// DecodeUpdate parses and validates the body of PUT /api/gateways/{id} for a
// gateway of type t. At least one of name, config and credentials is needed.
func DecodeUpdate(body []byte, t Type) (UpdateRequest, error) {
	var req UpdateRequest
	obj, err := decodeObject(body)
	if err != nil {
		return req, err
	}
	v := &validator{}
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
	return req, v.err()
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

// ValidateCredentials checks credentials of type t field by field.
func ValidateCredentials(t Type, c Credentials) []FieldError {
	v := &validator{}
	v.checkCredentials(t, c)
	return v.fields
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

type validator struct{ fields []FieldError }

func (v *validator) add(field, msg string) { v.fields = append(v.fields, FieldError{field, msg}) }

func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(v.fields...)
}

// allow reports every key of obj not in names as unknown, in a stable order.
func (v *validator) allow(obj map[string]json.RawMessage, prefix string, names ...string) {
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
	for _, k := range unknown {
		v.add(prefix+PrintableField(k), "is not a known field")
	}
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

// credentials decodes and checks the credentials object for type t.
func (v *validator) credentials(t Type, raw json.RawMessage) Credentials {
	var c Credentials
	obj, err := decodeObject(raw)
	if err != nil {
		v.add("credentials", "must be an object")
		return c
	}
	v.allow(obj, "credentials.", credentialFields[t]...)
	get := func(key string) string {
		s, _ := v.strAt(obj, key, "credentials."+key, false)
		return s
	}
	before := len(v.fields)
	switch t {
	case TypeTelegramBot:
		c.BotToken = get("botToken")
	case TypeAI:
		c.Provider, c.APIKey, c.BaseURL, c.Model = get("provider"), get("apiKey"), get("baseUrl"), get("model")
	case TypeWebhook:
		c.URL, c.SigningSecret = get("url"), get("signingSecret")
	}
	// Type errors already name their fields; don't also call them missing.
	typeErrs := map[string]bool{}
	for _, f := range v.fields[before:] {
		typeErrs[f.Field] = true
	}
	for _, f := range ValidateCredentials(t, c) {
		if !typeErrs[f.Field] {
			v.fields = append(v.fields, f)
		}
	}
	return c
}

func (v *validator) checkCredentials(t Type, c Credentials) {
	switch t {
	case TypeTelegramBot:
		switch {
		case c.BotToken == "":
			v.add("credentials.botToken", "is required")
		case !botTokenPattern.MatchString(c.BotToken):
			v.add("credentials.botToken", "must look like a Bot API token: <bot id>:<secret> (from @BotFather)")
		}
	case TypeAI:
		known := false
		for _, p := range AIProviders {
			known = known || c.Provider == p
		}
		switch {
		case c.Provider == "":
			v.add("credentials.provider", "is required")
		case !known:
			v.add("credentials.provider", "must be one of "+strings.Join(AIProviders, ", "))
		}
		switch {
		case c.APIKey == "" && c.Provider != "ollama":
			v.add("credentials.apiKey", "is required")
		case c.APIKey != "":
			v.secret("credentials.apiKey", c.APIKey, 1)
		}
		switch {
		case c.BaseURL == "" && c.Provider == "ollama":
			v.add("credentials.baseUrl", "is required for ollama")
		case c.BaseURL != "":
			v.url("credentials.baseUrl", c.BaseURL, "http", "https")
		}
		if c.Model != "" {
			if utf8.RuneCountInString(c.Model) > maxModelLength || strings.IndexFunc(c.Model, func(r rune) bool {
				return unicode.IsControl(r) || unicode.IsSpace(r)
			}) >= 0 {
				v.add("credentials.model", fmt.Sprintf("must be a model name of at most %d characters without spaces", maxModelLength))
			}
		}
	case TypeWebhook:
		if c.URL == "" {
			v.add("credentials.url", "is required")
		} else {
			v.url("credentials.url", c.URL, "https")
		}
		if c.SigningSecret != "" {
			v.secret("credentials.signingSecret", c.SigningSecret, MinSigningBytes)
		}
	}
}

// secret checks length and characters without ever echoing the value.
func (v *validator) secret(field, s string, minLen int) {
	switch {
	case len(s) < minLen:
		v.add(field, fmt.Sprintf("must be at least %d characters", minLen))
	case len(s) > maxSecretLength:
		v.add(field, fmt.Sprintf("must be at most %d characters", maxSecretLength))
	case strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r > '~' }) >= 0:
		v.add(field, "must contain only printable ASCII characters without spaces")
	}
}

func (v *validator) url(field, raw string, schemes ...string) {
	if len(raw) > maxURLLength {
		v.add(field, fmt.Sprintf("must be at most %d characters", maxURLLength))
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		v.add(field, "must be an absolute URL")
		return
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		v.add(field, "must use "+strings.Join(schemes, " or "))
		return
	}
	if u.User != nil {
		v.add(field, "must not contain user information")
	}
	if u.Fragment != "" {
		v.add(field, "must not contain a fragment")
	}
}
