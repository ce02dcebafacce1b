package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is a SAM template read by goformation with every intrinsic
// function kept as written: nothing is resolved, because what a reference
// names (a parameter, a resource's attribute) is only known at deploy time,
// or to a caller that supplies it (see Functions).
type Template struct {
	// CFN is goformation's typed template. An intrinsic that stands where
	// its types hold a string is kept as an opaque string that Decode, Ref,
	// GetAtt and Sub read back and Plain reads as "".
	CFN *cloudformation.Template
	// Raw is the template as JSON values, every intrinsic in long form
	// ({"Ref": …}, {"Fn::Sub": …}): for what goformation's types do not
	// model, such as the order-free shape of a policy document.
	Raw map[string]any
	// Intrinsics holds, by dotted path (e.g.
	// "Resources.Api.Properties.DefaultRouteSettings.ThrottlingBurstLimit"),
	// each intrinsic that stands where goformation's types hold a number, a
	// bool, a list or an object. Those types cannot hold it, so CFN has
	// nothing there.
	Intrinsics map[string]any
}

// Load reads and parses the SAM template at path; see Parse for what it
// refuses. Errors name the path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template.Load: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("template.Load(%q): %w", path, err)
	}
	return t, nil
}

// Parse parses a SAM template in YAML (or JSON, which is YAML). CloudFormation
// short forms (!Ref, !GetAtt, !Sub, …) may stand anywhere. It returns an
// error when data is not YAML, is not a mapping or has no Resources mapping,
// when a resource or a Globals section has a type goformation does not
// know, and when a property is one goformation's type for it lacks — so a
// misspelt property fails here rather than at deploy time.
func Parse(data []byte) (*Template, error) {
	// NoProcess: short forms become long forms, nothing is resolved.
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("template is not a mapping")
	}
	t := &Template{Intrinsics: map[string]any{}}
	if err := json.Unmarshal(js, &t.Raw); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if _, ok := t.Raw["Resources"].(map[string]any); !ok {
		return nil, errors.New("template has no Resources mapping")
	}
	// A second copy, which keepIntrinsics rewrites for goformation; Raw
	// keeps the intrinsics as written.
	var work map[string]any
	if err := json.Unmarshal(js, &work); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if err := keepIntrinsics(work, t.Intrinsics); err != nil {
		return nil, err
	}
	adapted, err := json.Marshal(work)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if t.CFN, err = goformation.ParseJSONWithOptions(adapted, &intrinsics.ProcessorOptions{NoProcess: true}); err != nil {
		return nil, fmt.Errorf("goformation: %w", err)
	}
	return t, nil
}

// keepIntrinsics rewrites doc so that goformation's strict types accept it
// with every intrinsic function kept: where a type holds a string, the
// intrinsic becomes a string encoding of itself (the same idea as
// goformation's cloudformation.Ref); where it holds anything (policy
// documents, outputs), it stays a map; where it holds a number, a bool, a
// list or an object (ThrottlingBurstLimit: !Ref …), it is recorded in typed
// under its path and left out. A resource type goformation does not know is
// an error, as is, later, a property it does not know.
func keepIntrinsics(doc map[string]any, typed map[string]any) error {
	all := cloudformation.AllResources()
	resources, _ := doc["Resources"].(map[string]any)
	for name, r := range resources {
		res, _ := r.(map[string]any)
		typ, _ := res["Type"].(string)
		if strings.HasPrefix(typ, "Custom::") {
			continue
		}
		proto, ok := all[typ]
		if !ok {
			return fmt.Errorf("resource %s: goformation does not know %s", name, typ)
		}
		if props, ok := res["Properties"]; ok {
			res["Properties"] = keepFields(props, reflect.TypeOf(proto).Elem(), "Resources."+name+".Properties", typed)
		}
	}
	globals, _ := doc["Globals"].(map[string]any)
	for name, g := range globals {
		proto, ok := all[name]
		if !ok {
			return fmt.Errorf("section Globals.%s: goformation does not know it", name)
		}
		globals[name] = keepFields(g, reflect.TypeOf(proto).Elem(), "Globals."+name, typed)
	}
	outputs, _ := doc["Outputs"].(map[string]any)
	for name, o := range outputs {
		outputs[name] = keepFields(o, reflect.TypeOf(cloudformation.Output{}), "Outputs."+name, typed)
	}
	return nil
}

var unmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// keep adapts v, headed for a value of type t.
func keep(v any, t reflect.Type, path string, typed map[string]any) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	union := reflect.PointerTo(t).Implements(unmarshaler) // goformation's "String or S3Location" helpers
	if in, ok := intrinsic(v); ok {
		switch {
		case t.Kind() == reflect.String || union:
			return encode(in)
		case t.Kind() == reflect.Interface:
			return v
		default:
			typed[path] = v
			return nil
		}
	}
	if union {
		// A union of struct alternatives (an event's Properties, by its
		// Type) is adapted as the first alternative that knows every key,
		// so that a number or boolean from an intrinsic (an event's
		// RouteSettings) is kept aside like any other instead of becoming
		// a string the alternative's number field refuses.
		if alt, ok := unionAlternative(v, t); ok {
			return keepFields(v, alt, path, typed)
		}
		return encodeAll(v)
	}
	return keepFields(v, t, path, typed)
}

// unionAlternative returns the first struct alternative of union t (a
// struct of pointers, one per alternative) whose JSON fields include every
// key of v, a map.
func unionAlternative(v any, t reflect.Type) (reflect.Type, bool) {
	m, ok := v.(map[string]any)
	if !ok || t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		alt := t.Field(i).Type
		if alt.Kind() != reflect.Pointer || alt.Elem().Kind() != reflect.Struct {
			continue
		}
		alt = alt.Elem()
		all := true
		for k := range m {
			if _, ok := jsonField(alt, k); !ok {
				all = false
				break
			}
		}
		if all {
			return alt, true
		}
	}
	return nil, false
}

// keepFields adapts the members of v, a struct, map or list value of type t.
func keepFields(v any, t reflect.Type, path string, typed map[string]any) any {
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		for k, fv := range m {
			if f, ok := jsonField(t, k); ok {
				m[k] = keep(fv, f.Type, path+"."+k, typed)
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		for k, ev := range m {
			m[k] = keep(ev, t.Elem(), path+"."+k, typed)
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			return v
		}
		for i := range s {
			s[i] = keep(s[i], t.Elem(), fmt.Sprintf("%s[%d]", path, i), typed)
		}
	}
	return v
}

// jsonField finds the field of struct t that JSON key k decodes into.
func jsonField(t reflect.Type, k string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == k {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// encodeAll replaces every intrinsic in v by its string encoding.
func encodeAll(v any) any {
	if in, ok := intrinsic(v); ok {
		return encode(in)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = encodeAll(e)
		}
	case []any:
		for i, e := range x {
			x[i] = encodeAll(e)
		}
	}
	return v
}
