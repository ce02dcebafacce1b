package template_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// root is the repository root, seen from this package's folder.
var root = filepath.Join("..", "..")

// Template is template.yaml parsed twice: Raw is its JSON form with every
// intrinsic function in long form ({"Ref": …}, {"Fn::Sub": …}); CFN is
// goformation's typed template, in which an intrinsic that stands where a
// string belongs is kept as a reference (see keepIntrinsics), and Typed
// holds, by path, the intrinsics that stand where a number, a bool or a
// list belongs, which goformation's types cannot hold.
type Template struct {
	Raw   map[string]any
	CFN   *cloudformation.Template
	Typed map[string]any
}

var (
	loadOnce sync.Once
	loaded   *Template
	loadErr  error
)

// load parses template.yaml once per test binary.
func load(t testing.TB) *Template {
	t.Helper()
	loadOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
		if err != nil {
			loadErr = err
			return
		}
		loaded, loadErr = parse(data)
	})
	if loadErr != nil {
		t.Fatalf("template.yaml: %v", loadErr)
	}
	return loaded
}

// parse reads a SAM template the way load does.
func parse(yamlData []byte) (*Template, error) {
	// NoProcess: short forms become long forms, nothing is resolved.
	js, err := intrinsics.ProcessYAML(yamlData, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	tpl := &Template{Typed: map[string]any{}}
	if err := json.Unmarshal(js, &tpl.Raw); err != nil {
		return nil, err
	}
	var work map[string]any // a copy that keepIntrinsics may rewrite
	if err := json.Unmarshal(js, &work); err != nil {
		return nil, err
	}
	if err := keepIntrinsics(work, tpl.Typed); err != nil {
		return nil, err
	}
	adapted, err := json.Marshal(work)
	if err != nil {
		return nil, err
	}
	if tpl.CFN, err = goformation.ParseJSONWithOptions(adapted, &intrinsics.ProcessorOptions{NoProcess: true}); err != nil {
		return nil, fmt.Errorf("goformation: %w", err)
	}
	return tpl, nil
}

// keepIntrinsics rewrites doc so that goformation's strict types accept it
// with every intrinsic function kept: where a type holds a string, the
// intrinsic becomes a string encoding of itself (base64 of its JSON, the
// same idea as goformation's cloudformation.Ref); where it holds anything
// (policy documents, outputs), it stays a map; where it holds a number, a
// bool, a list or an object (ThrottlingBurstLimit: !Ref …), it is recorded
// in typed under its path and left out. A resource type goformation does
// not know is an error, as is, later, a property it does not know.
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
			return fmt.Errorf("Globals.%s: goformation does not know it", name)
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
		return encodeAll(v)
	}
	return keepFields(v, t, path, typed)
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

const encodedPrefix = "intrinsic:"

func encode(in map[string]any) string {
	b, _ := json.Marshal(in)
	return encodedPrefix + base64.StdEncoding.EncodeToString(b)
}

// decode turns a string keepIntrinsics encoded back into its intrinsic, and
// returns anything else as it is. Typed fields hold *string, so it takes
// those too.
func decode(v any) any {
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

// ref returns X of {"Ref": X}.
func ref(v any) (string, bool) {
	m, ok := decode(v).(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	s, ok := m["Ref"].(string)
	return s, ok
}

// getAtt returns the resource and attribute of {"Fn::GetAtt": "R.A"} or
// {"Fn::GetAtt": ["R", "A"]}.
func getAtt(v any) (res, attr string, ok bool) {
	m, isMap := decode(v).(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	switch x := m["Fn::GetAtt"].(type) {
	case string:
		res, attr, ok = strings.Cut(x, ".")
		return res, attr, ok
	case []any:
		if len(x) == 2 {
			r, ok1 := x[0].(string)
			a, ok2 := x[1].(string)
			return r, a, ok1 && ok2
		}
	}
	return "", "", false
}

// sub returns the template string of {"Fn::Sub": "…"} (not the list form).
func sub(v any) (string, bool) {
	m, ok := decode(v).(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	s, ok := m["Fn::Sub"].(string)
	return s, ok
}

// str is the plain string value of a goformation *string, or "" when it is
// unset or an intrinsic.
func str(p *string) string {
	if p == nil {
		return ""
	}
	if _, isIntrinsic := decode(*p).(map[string]any); isIntrinsic {
		return ""
	}
	return *p
}

// get follows keys (strings) and indexes (ints) through Raw.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

// stringList returns the strings of a JSON list value; a single string
// counts as a list of one.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// Function is one AWS::Serverless::Function with Globals.Function applied,
// as far as these checks need it.
type Function struct {
	ID  string
	Dir string // CodeUri's folder under functions/
	*serverless.Function
	Env map[string]any // Globals' variables, then the function's own (decoded)
}

// functions returns the template's functions, sorted by logical id.
func functions(t testing.TB) []Function {
	t.Helper()
	tpl := load(t)
	globals, err := tpl.CFN.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatalf("Globals.Function: %v", err)
	}
	var out []Function
	for id, f := range tpl.CFN.GetAllServerlessFunctionResources() {
		fn := Function{ID: id, Function: f, Env: map[string]any{}}
		if f.CodeUri != nil && f.CodeUri.String != nil {
			fn.Dir = strings.TrimSuffix(strings.TrimPrefix(*f.CodeUri.String, "functions/"), "/")
		}
		for _, env := range []any{globals.Environment, f.Environment} {
			if vars := envVars(env); vars != nil {
				for k, v := range vars {
					fn.Env[k] = decode(v)
				}
			}
		}
		if f.Runtime == nil {
			f.Runtime = globals.Runtime
		}
		if f.Handler == nil {
			f.Handler = globals.Handler
		}
		if f.Architectures == nil && globals.Architectures != nil {
			f.Architectures = *globals.Architectures
		}
		if f.MemorySize == nil {
			f.MemorySize = globals.MemorySize
		}
		if f.Timeout == nil {
			f.Timeout = globals.Timeout
		}
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) == 0 {
		t.Fatal("template.yaml declares no AWS::Serverless::Function")
	}
	return out
}

// envVars reads Environment.Variables of a global or a function's
// environment (two goformation types of the same shape).
func envVars(env any) map[string]string {
	v := reflect.ValueOf(env)
	if !v.IsValid() || v.IsNil() {
		return nil
	}
	f := v.Elem().FieldByName("Variables")
	if !f.IsValid() {
		return nil
	}
	m, _ := f.Interface().(map[string]string)
	return m
}

// Grant is one entry of functions/permissions.json.
type Grant struct {
	Actions    []string `json:"actions"`
	Resource   string   `json:"resource"`
	Partitions []string `json:"partitions"`
	Why        string   `json:"why"`
}

// Permissions is functions/permissions.json.
type Permissions struct {
	EveryFunction []Grant `json:"everyFunction"`
	Functions     map[string]struct {
		CodeURI string  `json:"codeUri"`
		Grants  []Grant `json:"grants"`
	} `json:"functions"`
}

func permissions(t testing.TB) Permissions {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "functions", "permissions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p Permissions
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var doc struct {
		About []string `json:"about"`
		Permissions
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("functions/permissions.json: %v", err)
	}
	p = doc.Permissions
	for id, f := range p.Functions {
		for _, g := range f.Grants {
			if len(g.Actions) == 0 || g.Resource == "" || g.Why == "" {
				t.Errorf("functions/permissions.json: %s: a grant needs actions, a resource and why: %+v", id, g)
			}
		}
	}
	return p
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
