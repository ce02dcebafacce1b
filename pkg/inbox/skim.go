package inbox

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// The skim reads what ParseUpdate needs from a body json.Valid accepted,
// without decoding it: it walks the top-level object once, keeping the
// byte span of each member's value, and then the few fields of the
// update's payload. It allocates nothing but the Update and its three
// pointers. Whenever the body holds something encoding/json would read in
// a way the skim does not model, it gives up (ok false) and the caller
// decodes; giving up is always correct, only slower.

// skimUpdate returns the update of body, or nil with ok true when body has
// no non-negative integer update_id, or ok false to have the caller decode
// the body instead. body must be a valid JSON object.
func skimUpdate(body []byte) (u *Update, ok bool) {
	var (
		id      []byte
		typed   [len(updateTypes)][]byte // last value of each known type's field
		other   []byte                   // least other key, for an unknown type
		present bool
	)
	s := skimmer{b: body}
	ok = s.object(func(key, val []byte) bool {
		if bytes.IndexByte(key, '\\') >= 0 {
			return false // an escaped key: its name is what it decodes to
		}
		if string(key) == "update_id" {
			id = val
			return true
		}
		if i := typeIndex(key); i >= 0 {
			typed[i], present = val, true
			return true
		}
		// An empty key never names the type (updateType's rule).
		if len(key) > 0 && (other == nil || bytes.Compare(key, other) < 0) {
			other = key
		}
		return true
	})
	if !ok {
		return nil, false
	}
	n, err := strconv.ParseInt(string(id), 10, 64)
	if err != nil || n < 0 {
		return nil, true
	}
	u = &Update{UpdateID: n, Raw: body, Type: "unknown"}
	var inner []byte
	switch {
	case present:
		// The first known type whose payload is not null, else the first
		// known type at all (updateType's rule).
		first := -1
		for i, v := range typed {
			if v == nil {
				continue
			}
			if first < 0 {
				first = i
			}
			if string(v) != "null" {
				first = i
				break
			}
		}
		u.Type, inner = updateTypes[first], typed[first]
	case other != nil:
		u.Type = string(other)
		// The payload of a type newer than this code: read it too.
		inner = s.member(other)
	}
	if len(inner) > 0 && inner[0] == '{' {
		var p skimmedPayload
		if !p.read(inner) {
			return nil, false
		}
		u.ChatID, u.SenderID, u.MessageDate = p.describe()
	}
	return u, true
}

// typeIndex is the index of key in updateTypes, or -1.
func typeIndex(key []byte) int {
	for i, t := range updateTypes {
		if string(key) == t {
			return i
		}
	}
	return -1
}

// skimmedPayload is payload as the skim reads it: each field's value, with
// whether it was seen.
type skimmedPayload struct {
	ids     [6]int64 // chat, from, user, sender_chat, voter_chat, actor_chat
	date    int64
	msgChat int64
	msgDate int64
}

// payloadFields are payload's JSON names, in the order of skimmedPayload.ids,
// then date and message.
var payloadFields = [...]string{"chat", "from", "user", "sender_chat", "voter_chat", "actor_chat", "date", "message"}

// read fills p from the object obj, reporting false for anything it does
// not read exactly as encoding/json reads payload.
func (p *skimmedPayload) read(obj []byte) bool {
	var seen [len(payloadFields)]bool
	s := skimmer{b: obj}
	return s.object(func(key, val []byte) bool {
		i := field(key, payloadFields[:])
		switch {
		case i == -2 || i >= 0 && seen[i]:
			return false // a case-insensitive match, or a repeat
		case i < 0:
			return true
		}
		seen[i] = true
		switch payloadFields[i] {
		case "date":
			return integer(val, &p.date)
		case "message":
			return readMessage(val, &p.msgChat, &p.msgDate)
		default:
			return readID(val, &p.ids[i])
		}
	})
}

// readMessage reads a message's chat id and date, as payload.Message.
func readMessage(val []byte, chat, date *int64) bool {
	if val[0] != '{' {
		return false
	}
	var seen [2]bool
	names := [...]string{"chat", "date"}
	s := skimmer{b: val}
	return s.object(func(key, v []byte) bool {
		i := field(key, names[:])
		switch {
		case i == -2 || i >= 0 && seen[i]:
			return false
		case i < 0:
			return true
		}
		seen[i] = true
		if i == 0 {
			return readID(v, chat)
		}
		return integer(v, date)
	})
}

// readID reads {"id": n} into dst, as an *idOnly.
func readID(val []byte, dst *int64) bool {
	if val[0] != '{' {
		return false
	}
	seen := false
	names := [...]string{"id"}
	s := skimmer{b: val}
	return s.object(func(key, v []byte) bool {
		switch field(key, names[:]) {
		case -1:
			return true
		case 0:
			if seen {
				return false
			}
			seen = true
			return integer(v, dst)
		}
		return false
	})
}

// integer parses a JSON number that encoding/json would store in an int64
// into dst; anything else (a fraction, an exponent, another type, out of
// range) reports false.
func integer(val []byte, dst *int64) bool {
	n, err := strconv.ParseInt(string(val), 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	return true
}

// field is the index of key among names: exact matches only; -2 when key
// matches one of them only case-insensitively (encoding/json would use
// it), -1 when it matches none. Keys with escapes are -2: their decoded
// name is unknown here.
func field(key []byte, names []string) int {
	if bytes.IndexByte(key, '\\') >= 0 {
		return -2
	}
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	ascii := true
	for _, c := range key {
		ascii = ascii && c < utf8.RuneSelf
	}
	for _, n := range names {
		// ASCII folding keeps lengths; Unicode folding (ſ, K) need not.
		if (!ascii || len(key) == len(n)) && bytes.EqualFold(key, []byte(n)) {
			return -2
		}
	}
	return -1
}

// describe is payload.describe over the skimmed values.
func (p *skimmedPayload) describe() (chat, sender *int64, date *time.Time) {
	chat = nonZero(p.ids[0], p.msgChat)
	sender = nonZero(p.ids[1:]...)
	d := p.date
	if d == 0 {
		d = p.msgDate
	}
	if d > 0 {
		t := time.Unix(d, 0).UTC()
		date = &t
	}
	return chat, sender, date
}

// nonZero returns the first id that is not 0.
func nonZero(ids ...int64) *int64 {
	for _, id := range ids {
		if id != 0 {
			v := id
			return &v
		}
	}
	return nil
}

// skimmer walks JSON text known to be valid.
type skimmer struct {
	b []byte
	i int
}

// object calls fn with each member of the object at the start of s.b (its
// key without quotes, its value's text without surrounding space), in
// order, until fn returns false. It reports whether every call returned
// true.
func (s *skimmer) object(fn func(key, val []byte) bool) bool {
	s.space()
	s.i++ // {
	for {
		s.space()
		if s.b[s.i] == '}' {
			return true
		}
		if s.b[s.i] == ',' {
			s.i++
			s.space()
		}
		start := s.i + 1
		s.skipString()
		key := s.b[start : s.i-1]
		s.space()
		s.i++ // :
		s.space()
		vstart := s.i
		s.skipValue()
		if !fn(key, s.b[vstart:s.i]) {
			return false
		}
	}
}

// member returns the value of the last member named key of the top-level
// object, nil if there is none. It is for the rare update of a type newer
// than this code.
func (s *skimmer) member(key []byte) []byte {
	var out []byte
	t := skimmer{b: s.b}
	t.object(func(k, v []byte) bool {
		if bytes.Equal(k, key) {
			out = v
		}
		return true
	})
	return out
}

func (s *skimmer) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// skipString moves past the string starting at s.i (its opening quote).
func (s *skimmer) skipString() {
	s.i++
	for {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return
		default:
			s.i++
		}
	}
}

// skipValue moves past the value starting at s.i.
func (s *skimmer) skipValue() {
	switch s.b[s.i] {
	case '"':
		s.skipString()
	case '{', '[':
		depth := 0
		for {
			switch s.b[s.i] {
			case '"':
				s.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
	default: // a number, true, false or null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}
