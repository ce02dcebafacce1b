package template

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// intrinsic reports whether v is an intrinsic function in long form: a map
// with the single key Ref, Condition or Fn::….
func intrinsic(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, false
	}
	for k := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return m, true
		}
	}
	return nil, false
}

// encodedPrefix marks a string that stands for an intrinsic function. No
// plain value of a template begins with it: a property that did would read
// as an intrinsic that does not decode, and so as itself.
const encodedPrefix = "intrinsic:"

func encode(in map[string]any) string {
	b, _ := json.Marshal(in)
	return encodedPrefix + base64.StdEncoding.EncodeToString(b)
}

// Decode returns the intrinsic function v stands for, in long form
// (map[string]any{"Ref": "Table"}), when v is a string — or a *string, as
// goformation's fields are — into which Parse encoded one. Anything else it
// returns as it is, so it also passes Raw's values through.
func Decode(v any) any {
	if p, ok := v.(*string); ok {
		if p == nil {
			return nil
		}
		v = *p
	}
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, encodedPrefix) {
		return v
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, encodedPrefix))
	if err != nil {
		return v
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return v
	}
	return m
}

// Ref returns X of {"Ref": X}; ok is false for anything else.
func Ref(v any) (name string, ok bool) {
	m, isMap := Decode(v).(map[string]any)
	if !isMap || len(m) != 1 {
		return "", false
	}
	name, ok = m["Ref"].(string)
	return name, ok
}

// GetAtt returns the resource and attribute of {"Fn::GetAtt": "R.A"} or
// {"Fn::GetAtt": ["R", "A"]}; ok is false for anything else.
func GetAtt(v any) (resource, attribute string, ok bool) {
	m, isMap := Decode(v).(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	switch x := m["Fn::GetAtt"].(type) {
	case string:
		return strings.Cut(x, ".")
	case []any:
		if len(x) == 2 {
			r, ok1 := x[0].(string)
			a, ok2 := x[1].(string)
			return r, a, ok1 && ok2
		}
	}
	return "", "", false
}

// Sub returns the template string of {"Fn::Sub": "…"}; ok is false for
// anything else, the list form with its own variables included.
func Sub(v any) (string, bool) {
	m, isMap := Decode(v).(map[string]any)
	if !isMap || len(m) != 1 {
		return "", false
	}
	s, ok := m["Fn::Sub"].(string)
	return s, ok
}

// Plain returns the value of a goformation string field, or "" when it is
// unset or an intrinsic: a value CloudFormation computes at deploy time is
// not one a caller may take literally.
func Plain(p *string) string {
	if p == nil {
		return ""
	}
	if _, isIntrinsic := Decode(*p).(map[string]any); isIntrinsic {
		return ""
	}
	return *p
}
