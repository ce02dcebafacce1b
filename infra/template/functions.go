package template

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// Function is one AWS::Serverless::Function, with Globals.Function applied
// and its environment resolved for a run outside AWS.
type Function struct {
	// LogicalID is the resource's name, e.g. "GetGatewayFunction".
	LogicalID string
	// Dir is the base name of its CodeUri, e.g. "get-gateway": the folder
	// under functions/ and the binary `make build` produces.
	Dir string
	// Env is Globals.Function.Environment merged with the function's own,
	// every value resolved. It is never nil, so callers may add to it.
	Env map[string]string
	// Timeout and MemoryMB are the function's (else the Globals') values,
	// else Lambda's defaults: 3 s and 128 MB.
	Timeout  time.Duration
	MemoryMB int
	// Events are the types of its events ("HttpApi", "Schedule", …), in
	// the order of the events' names; nil when it has none.
	Events []string
}

// Values resolve the template's intrinsic references for a run outside
// AWS: Ref and ${…} of a logical id, a parameter or a pseudo parameter
// (AWS::Region, …) by name, Fn::GetAtt by "LogicalId.Attribute". A
// parameter without a value takes its Default.
type Values map[string]string

// Lambda's defaults for what a template leaves out.
const (
	defaultTimeout  = 3 // seconds
	defaultMemoryMB = 128
)

// Functions returns the template's functions, sorted by logical id, their
// environment, timeout and memory size resolved with vals. It returns an
// error when a function has no plain CodeUri, and when a variable, a
// timeout or a memory size is an intrinsic other than Ref, Fn::Sub (of a
// string) and Fn::GetAtt, or refers to something neither vals nor a
// parameter's Default resolves — so a new variable cannot be silently left
// out of a test.
func (t *Template) Functions(vals Values) ([]Function, error) {
	globals := t.globalFunction()
	r := resolver{vals: vals, defaults: t.ParameterDefault}
	fns := t.CFN.GetAllServerlessFunctionResources()
	out := make([]Function, 0, len(fns))
	for _, id := range sortedKeys(fns) {
		f := fns[id]
		fn := Function{LogicalID: id, Env: map[string]string{}}
		var err error
		if fn.Dir, err = codeFolder(f, globals); err != nil {
			return nil, fmt.Errorf("template: functions: %s has %w", id, err)
		}
		for _, env := range []*serverless.Function_FunctionEnvironment{globals.Environment, f.Environment} {
			if env == nil {
				continue
			}
			for _, name := range sortedKeys(env.Variables) {
				v, err := r.resolve(env.Variables[name])
				if err != nil {
					return nil, fmt.Errorf("template: functions: %s: variable %s: %w", id, name, err)
				}
				fn.Env[name] = v
			}
		}
		secs, err := r.number(t.ownOrGlobal(id, "Timeout", f.Timeout, globals.Timeout), defaultTimeout)
		if err != nil {
			return nil, fmt.Errorf("template: functions: %s: Timeout: %w", id, err)
		}
		fn.Timeout = time.Duration(secs) * time.Second
		if fn.MemoryMB, err = r.number(t.ownOrGlobal(id, "MemorySize", f.MemorySize, globals.MemorySize), defaultMemoryMB); err != nil {
			return nil, fmt.Errorf("template: functions: %s: MemorySize: %w", id, err)
		}
		for _, name := range sortedKeys(f.Events) {
			fn.Events = append(fn.Events, f.Events[name].Type)
		}
		out = append(out, fn)
	}
	return out, nil
}

// ParameterDefault returns the Default of the template's parameter name as
// the text CloudFormation would substitute for it; ok is false when there is
// no such parameter or its Default is not a string, a number or a bool.
func (t *Template) ParameterDefault(name string) (string, bool) {
	p, ok := t.CFN.Parameters[name]
	if !ok {
		return "", false
	}
	return plainValue(p.Default)
}

// resolver turns intrinsics into values: vals first, then the parameters'
// defaults.
type resolver struct {
	vals     Values
	defaults func(name string) (string, bool)
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (r resolver) name(n string) (string, error) {
	if v, ok := r.vals[n]; ok {
		return v, nil
	}
	if v, ok := r.defaults(n); ok {
		return v, nil
	}
	return "", fmt.Errorf("nothing resolves %q", n)
}

// resolve returns a plain value, a Ref, an Fn::Sub or an Fn::GetAtt as a
// string. v is a Raw value or a string Parse encoded.
func (r resolver) resolve(v any) (string, error) {
	v = Decode(v)
	if s, ok := plainValue(v); ok {
		return s, nil
	}
	if name, ok := Ref(v); ok {
		return r.name(name)
	}
	if s, ok := Sub(v); ok {
		return r.sub(s)
	}
	if res, attr, ok := GetAtt(v); ok {
		return r.name(res + "." + attr)
	}
	if in, ok := intrinsic(v); ok {
		for k := range in {
			return "", fmt.Errorf("unsupported intrinsic %s", k)
		}
	}
	return "", fmt.Errorf("unsupported value %v", v)
}

func (r resolver) sub(s string) (string, error) {
	var err error
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		v, e := r.name(m[2 : len(m)-1])
		if e != nil && err == nil {
			err = e
		}
		return v
	})
	return out, err
}

// number resolves a numeric property, def when the template sets none.
func (r resolver) number(n number, def int) (int, error) {
	switch {
	case n.value != nil:
		return *n.value, nil
	case n.expr != nil:
		s, err := r.resolve(n.expr)
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(s)
	}
	return def, nil
}

// plainValue returns a JSON scalar (string, number, bool) as the text
// CloudFormation would substitute for it.
func plainValue(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// globalFunction returns Globals.Function, or an empty one when the
// template has none, so that callers fall back to nothing.
func (t *Template) globalFunction() *global.Function {
	if g, err := t.CFN.GetServerlessGlobalFunction(); err == nil {
		return g
	}
	return &global.Function{}
}

// codeFolder is the base name of the function's CodeUri, falling back to
// Globals.Function.CodeUri as SAM does: the folder under functions/, the
// binary `make build` produces, and the local runner's handler key.
func codeFolder(f *serverless.Function, globals *global.Function) (string, error) {
	uri := f.CodeUri
	if uri == nil {
		uri = globals.CodeUri
	}
	var s string
	if uri != nil {
		s = Plain(uri.String)
	}
	if s == "" {
		return "", errors.New("no plain CodeUri")
	}
	base := path.Base(path.Clean(strings.TrimRight(s, "/")))
	if base == "." || base == "/" || base == ".." {
		return "", fmt.Errorf("a CodeUri (%q) that names no folder", s)
	}
	return base, nil
}

// number is a numeric property as the template gives it: a plain value,
// an intrinsic (expr), or nothing (neither set).
type number struct {
	value *int
	expr  any
}

func (n number) set() bool { return n.value != nil || n.expr != nil }

// ownOrGlobal returns the function's own numeric property name, else
// Globals.Function's, as SAM merges them: an own value given as an
// expression still wins over the global one.
func (t *Template) ownOrGlobal(id, name string, own, inGlobals *int) number {
	if n := (number{own, t.Intrinsics["Resources."+id+".Properties."+name]}); n.set() {
		return n
	}
	return number{inGlobals, t.Intrinsics["Globals.Function."+name]}
}

// sortedKeys returns m's keys in order, so that what a template declares
// is read, and its first error reported, the same way every time.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
