package rie

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Function is one AWS::Serverless::Function of template.yaml, with its
// environment resolved for a local run.
type Function struct {
	// LogicalID is the resource's name, e.g. "GetGatewayFunction".
	LogicalID string
	// Dir is the base name of its CodeUri, e.g. "get-gateway": the folder
	// under functions/ and the binary `make build` produces.
	Dir string
	// Env is Globals.Function.Environment merged with the function's own.
	Env map[string]string
	// Timeout and MemoryMB are the function's (else the Globals') values.
	Timeout  time.Duration
	MemoryMB int
	// Events are the types of its events ("HttpApi", "Schedule", …).
	Events []string
}

// Values resolve the template's intrinsic references for a local run:
// !Ref and ${…} of a logical id, a parameter or a pseudo parameter
// (AWS::Region, …) by name, !GetAtt by "LogicalId.Attribute". A parameter
// without a value takes its Default.
type Values map[string]string

// LoadFunctions reads the SAM template at file and returns its functions,
// sorted by logical id. Errors: the template does not parse, or a
// variable, timeout or memory size refers to something vals does not
// resolve (so a new variable cannot be silently left out of a test).
func LoadFunctions(file string, vals Values) ([]Function, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("rie: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("rie: parse %s: %w", file, err)
	}
	root := doc.Content[0]
	r := resolver{vals: vals, params: map[string]string{}}
	if params := lookup(root, "Parameters"); params != nil {
		for i := 0; i+1 < len(params.Content); i += 2 {
			if d := lookup(params.Content[i+1], "Default"); d != nil {
				r.params[params.Content[i].Value] = d.Value
			}
		}
	}
	globals := lookup(lookup(root, "Globals"), "Function")
	resources := lookup(root, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("rie: %s has no Resources", file)
	}
	var out []Function
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if scalar(lookup(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := lookup(res, "Properties")
		fn := Function{LogicalID: id, Env: map[string]string{}}
		codeURI := scalar(lookup(props, "CodeUri"))
		if codeURI == "" {
			codeURI = scalar(lookup(globals, "CodeUri"))
		}
		if fn.Dir = path.Base(strings.TrimSuffix(codeURI, "/")); codeURI == "" {
			return nil, fmt.Errorf("rie: %s has no plain CodeUri", id)
		}
		for _, src := range []*yaml.Node{globals, props} {
			vars := lookup(lookup(src, "Environment"), "Variables")
			if vars == nil {
				continue
			}
			for j := 0; j+1 < len(vars.Content); j += 2 {
				v, err := r.resolve(vars.Content[j+1])
				if err != nil {
					return nil, fmt.Errorf("rie: %s: variable %s: %w", id, vars.Content[j].Value, err)
				}
				fn.Env[vars.Content[j].Value] = v
			}
		}
		num := func(name string, def int) (int, error) {
			n := lookup(props, name)
			if n == nil {
				n = lookup(globals, name)
			}
			if n == nil {
				return def, nil
			}
			v, err := r.resolve(n)
			if err != nil {
				return 0, fmt.Errorf("rie: %s: %s: %w", id, name, err)
			}
			return strconv.Atoi(v)
		}
		secs, err := num("Timeout", 3)
		if err != nil {
			return nil, err
		}
		fn.Timeout = time.Duration(secs) * time.Second
		if fn.MemoryMB, err = num("MemorySize", 128); err != nil {
			return nil, err
		}
		if events := lookup(props, "Events"); events != nil {
			for j := 1; j < len(events.Content); j += 2 {
				fn.Events = append(fn.Events, scalar(lookup(events.Content[j], "Type")))
			}
		}
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, nil
}

type resolver struct {
	vals   Values
	params map[string]string
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (r resolver) name(n string) (string, error) {
	if v, ok := r.vals[n]; ok {
		return v, nil
	}
	if v, ok := r.params[n]; ok {
		return v, nil
	}
	return "", fmt.Errorf("nothing resolves %q", n)
}

// resolve returns a plain scalar, a !Ref, a !Sub or a !GetAtt as a string;
// the long forms (Ref:, Fn::Sub:, Fn::GetAtt:) too.
func (r resolver) resolve(n *yaml.Node) (string, error) {
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		switch n.Content[0].Value {
		case "Ref":
			return r.name(n.Content[1].Value)
		case "Fn::Sub":
			return r.sub(n.Content[1].Value)
		case "Fn::GetAtt":
			return r.getAtt(n.Content[1])
		}
	}
	if n.Kind != yaml.ScalarNode && !(n.Tag == "!GetAtt" && n.Kind == yaml.SequenceNode) {
		return "", fmt.Errorf("unsupported value at line %d", n.Line)
	}
	switch n.Tag {
	case "!Ref":
		return r.name(n.Value)
	case "!Sub":
		return r.sub(n.Value)
	case "!GetAtt":
		return r.getAtt(n)
	case "", "!!str", "!!int", "!!bool", "!!float":
		return n.Value, nil
	}
	return "", fmt.Errorf("unsupported intrinsic %s at line %d", n.Tag, n.Line)
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

func (r resolver) getAtt(n *yaml.Node) (string, error) {
	key := n.Value
	if n.Kind == yaml.SequenceNode {
		var parts []string
		for _, c := range n.Content {
			parts = append(parts, c.Value)
		}
		key = strings.Join(parts, ".")
	}
	return r.name(key)
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
