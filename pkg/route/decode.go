package route

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// Spec is a validated route request body: what POST …/routes creates and
// PUT …/routes/{routeId} replaces.
type Spec struct {
	Target  Target
	Filters Filters
}

// Replay is a validated POST …/replay body: exactly one of FromUpdateID,
// From and DeadLetters.
type Replay struct {
	FromUpdateID *int64
	From         *time.Time
	DeadLetters  bool
}

// fields collects the field errors of one request.
type fields []gateway.FieldError

func (f *fields) add(field, msg string) {
	*f = append(*f, gateway.FieldError{Field: field, Message: msg})
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return gateway.Invalid(f...)
}

// allow names every key of obj outside names.
func (f *fields) allow(obj map[string]json.RawMessage, prefix string, names ...string) {
	*f = append(*f, gateway.UnknownFields(obj, prefix, names...)...)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// integer reads raw as a JSON integer literal. A string such as "5" is
// not one, though json.Number would take it.
func integer(raw json.RawMessage) (int64, bool) {
	lit := bytes.TrimSpace(raw)
	if len(lit) == 0 || (lit[0] != '-' && (lit[0] < '0' || lit[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	return n, err == nil
}

// object decodes raw as a JSON object, or reports field as not one.
func (f *fields) object(raw json.RawMessage, field string) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		f.add(field, "must be an object")
		return nil, false
	}
	return obj, true
}

// DecodeSpec validates a route body: {"target":{…},"filters":{…}}, the
// target required, filters optional. Every invalid field is named.
func DecodeSpec(body []byte) (Spec, error) {
	var s Spec
	obj, err := gateway.DecodeObject(body)
	if err != nil {
		return s, err
	}
	var fe fields
	fe.allow(obj, "", "target", "filters")
	if raw, ok := obj["target"]; !ok || isNull(raw) {
		fe.add("target", "is required")
	} else if t, ok := fe.object(raw, "target"); ok {
		s.Target = fe.target(t)
	}
	if raw, ok := obj["filters"]; ok && !isNull(raw) {
		if f, ok := fe.object(raw, "filters"); ok {
			s.Filters = fe.filters(f)
		}
	}
	return s, fe.err()
}

func (fe *fields) target(t map[string]json.RawMessage) Target {
	var out Target
	fe.allow(t, "target.", "type", "gatewayId")
	var typ string
	if raw, ok := t["type"]; !ok || json.Unmarshal(raw, &typ) != nil {
		fe.add("target.type", `must be "WEBHOOK" or "EVENTBRIDGE"`)
		return out
	}
	out.Type = TargetType(typ)
	raw, hasID := t["gatewayId"]
	switch out.Type {
	case TargetWebhook:
		var id string
		if !hasID || json.Unmarshal(raw, &id) != nil || !gateway.ValidID(id) {
			fe.add("target.gatewayId", "must be the id of one of your WEBHOOK gateways")
			break
		}
		out.GatewayID = id
	case TargetEventBridge:
		if hasID && !isNull(raw) {
			fe.add("target.gatewayId", "is only for WEBHOOK targets")
		}
	default:
		fe.add("target.type", `must be "WEBHOOK" or "EVENTBRIDGE"`)
	}
	return out
}

func (fe *fields) filters(f map[string]json.RawMessage) Filters {
	var out Filters
	fe.allow(f, "filters.", "updateTypes", "chatIds", "commandPrefix")
	if raw, ok := f["updateTypes"]; ok && !isNull(raw) {
		var types []string
		if json.Unmarshal(raw, &types) != nil || len(types) > MaxFilterTypes {
			fe.add("filters.updateTypes", "must be a list of at most "+strconv.Itoa(MaxFilterTypes)+" update types")
		} else {
			for i, t := range types {
				if !ValidUpdateType(t) {
					fe.add("filters.updateTypes["+strconv.Itoa(i)+"]", "must be an update type such as message or callback_query")
				} else if !slices.Contains(out.UpdateTypes, t) {
					out.UpdateTypes = append(out.UpdateTypes, t)
				}
			}
		}
	}
	if raw, ok := f["chatIds"]; ok && !isNull(raw) {
		var ids []json.RawMessage
		if json.Unmarshal(raw, &ids) != nil || len(ids) > MaxFilterChats {
			fe.add("filters.chatIds", "must be a list of at most "+strconv.Itoa(MaxFilterChats)+" chat ids")
		} else {
			for i, n := range ids {
				id, ok := integer(n)
				if !ok || id == 0 {
					fe.add("filters.chatIds["+strconv.Itoa(i)+"]", "must be a chat id: a non-zero integer")
				} else if !slices.Contains(out.ChatIDs, id) {
					out.ChatIDs = append(out.ChatIDs, id)
				}
			}
		}
	}
	if raw, ok := f["commandPrefix"]; ok && !isNull(raw) {
		var p string
		if json.Unmarshal(raw, &p) != nil || p == "" || len(p) > MaxCommandPrefixLen || !utf8.ValidString(p) ||
			bytes.IndexFunc([]byte(p), func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			fe.add("filters.commandPrefix", "must be printable text of 1 to "+strconv.Itoa(MaxCommandPrefixLen)+" bytes, such as /start")
		} else {
			out.CommandPrefix = p
		}
	}
	return out
}

// ValidUpdateType reports whether t can name an update type: a known one,
// or lower-case letters and '_' (a type newer than this code).
func ValidUpdateType(t string) bool {
	if inbox.IsUpdateType(t) {
		return true
	}
	if t == "" || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// DecodeStatus validates a PATCH body: {"status":"PAUSED"|"ACTIVE"}.
func DecodeStatus(body []byte) (Status, error) {
	obj, err := gateway.DecodeObject(body)
	if err != nil {
		return "", err
	}
	var fe fields
	fe.allow(obj, "", "status")
	var s string
	if raw, ok := obj["status"]; !ok || json.Unmarshal(raw, &s) != nil || (Status(s) != StatusActive && Status(s) != StatusPaused) {
		fe.add("status", `must be "ACTIVE" or "PAUSED"`)
	}
	return Status(s), fe.err()
}

// DecodeReplay validates a replay body: exactly one of
// {"fromUpdateId":N}, {"from":"<RFC 3339>"} and {"deadLetters":true}.
// Invalid fields are CodeInvalid; valid ones that are not exactly one
// replay are CodeUnprocessable, naming each key given (or fromUpdateId
// when none is).
func DecodeReplay(body []byte) (Replay, error) {
	var r Replay
	obj, err := gateway.DecodeObject(body)
	if err != nil {
		return r, err
	}
	var fe fields
	fe.allow(obj, "", "fromUpdateId", "from", "deadLetters")
	var given []string
	if raw, ok := obj["fromUpdateId"]; ok {
		given = append(given, "fromUpdateId")
		id, ok := integer(raw)
		if !ok || id < 0 || id > math.MaxInt64/2 {
			fe.add("fromUpdateId", "must be an update id: a non-negative integer")
		}
		r.FromUpdateID = &id
	}
	if raw, ok := obj["from"]; ok {
		given = append(given, "from")
		var s string
		t, err := time.Time{}, json.Unmarshal(raw, &s)
		if err == nil {
			t, err = time.Parse(time.RFC3339Nano, s)
		}
		if err != nil {
			fe.add("from", "must be an RFC 3339 time such as 2026-12-05T10:00:00Z")
		}
		t = t.UTC()
		r.From = &t
	}
	if raw, ok := obj["deadLetters"]; ok {
		given = append(given, "deadLetters")
		var b bool
		if json.Unmarshal(raw, &b) != nil || !b {
			fe.add("deadLetters", "must be true")
		}
		r.DeadLetters = b
	}
	if len(fe) > 0 {
		return r, fe.err()
	}
	// Well-formed, but not one replay: 422 naming what was given (or,
	// given nothing, the first choice).
	const one = `give exactly one of "fromUpdateId", "from" and "deadLetters"`
	switch len(given) {
	case 1:
		return r, nil
	case 0:
		fe.add("fromUpdateId", one)
	default:
		for _, k := range given {
			fe.add(k, one)
		}
	}
	return r, gateway.Unprocessable(fe...)
}
