package template_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/gatehouse/gatehouse/infra/template"
)

// root is the repository root, seen from this package's folder.
var root = filepath.Join("..", "..")

var (
	loadOnce sync.Once
	loaded   *template.Template
	loadErr  error
)

// load parses template.yaml once per test binary.
func load(t testing.TB) *template.Template {
	t.Helper()
	loadOnce.Do(func() {
		loaded, loadErr = template.Load(filepath.Join(root, "template.yaml"))
	})
	if loadErr != nil {
		t.Fatalf("template.yaml: %v", loadErr)
	}
	return loaded
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

// samFunction is one AWS::Serverless::Function with Globals.Function
// applied, as far as these checks need it, and its intrinsics kept (unlike
// template.Function, which resolves them for a run).
type samFunction struct {
	ID  string
	Dir string // CodeUri's folder under functions/
	*serverless.Function
	Env map[string]any // Globals' variables, then the function's own (decoded)
}

// functions returns the template's functions, sorted by logical id.
func functions(t testing.TB) []samFunction {
	t.Helper()
	tpl := load(t)
	globals, err := tpl.CFN.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatalf("Globals.Function: %v", err)
	}
	var out []samFunction
	for id, shared := range tpl.CFN.GetAllServerlessFunctionResources() {
		// A copy: the loaded template is shared, and Routes and Functions
		// must still see which values are the function's own.
		f := *shared
		fn := samFunction{ID: id, Function: &f, Env: map[string]any{}}
		if f.CodeUri != nil && f.CodeUri.String != nil {
			fn.Dir = strings.TrimSuffix(strings.TrimPrefix(*f.CodeUri.String, "functions/"), "/")
		}
		for _, env := range []*serverless.Function_FunctionEnvironment{globals.Environment, f.Environment} {
			if env != nil {
				for k, v := range env.Variables {
					fn.Env[k] = template.Decode(v)
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

// Grant is one entry of functions/permissions.json.
type Grant struct {
	Actions    []string `json:"actions"`
	Resource   string   `json:"resource"`
	Partitions []string `json:"partitions"`
	Attributes []string `json:"attributes"`
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
