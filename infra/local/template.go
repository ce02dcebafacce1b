// Package local holds the building blocks of the local runner: it reads the
// routes from the same template.yaml that deploys the system, plays the HTTP
// API's JWT authorizer with development tokens signed by a local key, and
// turns net/http requests into API Gateway HTTP API (payload format 2.0)
// events and the handlers' responses back, so that a handler cannot tell
// whether it runs in Lambda or here.
//
// Where API Gateway's behaviour is not fully specified the package chooses
// the stricter reading: a route needs a token unless its event says
// Authorizer: NONE, and a failed handler is a 502 problem+json.
package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Route is one HttpApi event of one AWS::Serverless::Function.
type Route struct {
	// Function is the base name of the function's CodeUri, e.g.
	// "list-gateways": the key under which the runner registers its handler.
	Function string
	// Method is upper case, e.g. "GET"; "ANY" matches every method.
	Method string
	// Path is the route's path template, e.g. "/api/gateways/{id}".
	Path string
	// Auth is false only when the event sets Auth.Authorizer: NONE.
	Auth bool
	// Timeout is the function's Timeout (its own, else Globals.Function's);
	// zero when the template gives none or gives it as an expression.
	Timeout time.Duration
}

// Key is the route key API Gateway puts into events, e.g.
// "GET /api/gateways/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// LoadRoutes reads the SAM template at path and returns the routes of all
// HttpApi events, sorted by path, then method.
//
// CloudFormation short forms (!Ref, !GetAtt, !Sub, ...) are kept as opaque
// nodes, so they parse wherever they appear; only the fields LoadRoutes reads
// must be plain values. It returns an error when the file cannot be read or
// parsed, when a function with HttpApi events has no plain CodeUri, when an
// event lacks Path or Method, and when two events claim the same method and
// path (API Gateway rejects that too).
func LoadRoutes(path string) ([]Route, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("local.LoadRoutes: %w", err)
	}
	routes, err := parseRoutes(data)
	if err != nil {
		return nil, fmt.Errorf("local.LoadRoutes(%q): %w", path, err)
	}
	return routes, nil
}

func parseRoutes(data []byte) ([]Route, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	root := deref(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, errors.New("template is not a mapping")
	}
	globals := lookup(lookup(root, "Globals"), "Function")
	resources := lookup(root, "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return nil, errors.New("template has no Resources mapping")
	}

	var routes []Route
	seen := map[string]string{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, deref(resources.Content[i+1])
		if scalar(lookup(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := lookup(res, "Properties")
		events := lookup(props, "Events")
		if events == nil || events.Kind != yaml.MappingNode {
			continue
		}
		var fnRoutes []Route
		for j := 0; j+1 < len(events.Content); j += 2 {
			name, ev := events.Content[j].Value, deref(events.Content[j+1])
			if scalar(lookup(ev, "Type")) != "HttpApi" {
				continue
			}
			evProps := lookup(ev, "Properties")
			r := Route{
				Method: strings.ToUpper(scalar(lookup(evProps, "Method"))),
				Path:   scalar(lookup(evProps, "Path")),
				Auth:   scalar(lookup(lookup(evProps, "Auth"), "Authorizer")) != "NONE",
			}
			if r.Method == "" || r.Path == "" {
				return nil, fmt.Errorf("%s: event %s: HttpApi events need a plain Path and Method", id, name)
			}
			if !strings.HasPrefix(r.Path, "/") {
				return nil, fmt.Errorf("%s: event %s: path %q does not start with /", id, name, r.Path)
			}
			fnRoutes = append(fnRoutes, r)
		}
		if len(fnRoutes) == 0 {
			continue
		}
		fn, err := functionName(props, globals)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		timeout := seconds(lookup(props, "Timeout"))
		if lookup(props, "Timeout") == nil {
			timeout = seconds(lookup(globals, "Timeout"))
		}
		for _, r := range fnRoutes {
			r.Function, r.Timeout = fn, timeout
			if other, dup := seen[r.Key()]; dup {
				return nil, fmt.Errorf("route %q is declared by both %s and %s", r.Key(), other, id)
			}
			seen[r.Key()] = id
			routes = append(routes, r)
		}
	}
	slices.SortFunc(routes, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return routes, nil
}

// functionName derives the handler key from CodeUri, falling back to
// Globals.Function.CodeUri as SAM does.
func functionName(props, globals *yaml.Node) (string, error) {
	n := lookup(props, "CodeUri")
	if n == nil {
		n = lookup(globals, "CodeUri")
	}
	uri := scalar(n)
	if uri == "" {
		return "", errors.New("function has HttpApi events but no plain CodeUri")
	}
	base := path.Base(path.Clean(strings.TrimRight(uri, "/")))
	if base == "." || base == "/" || base == ".." {
		return "", fmt.Errorf("CodeUri %q names no folder", uri)
	}
	return base, nil
}

// deref follows document nodes and aliases to the node that holds the value.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) == 1:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// lookup returns the value of key in mapping m, or nil when m is not a
// mapping or has no such key. Nil in, nil out, so paths chain.
func lookup(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

// scalar returns the value of a plain scalar. Tagged values such as
// "!Ref Foo" are expressions CloudFormation resolves at deploy time, so
// they read as empty rather than as their literal text.
func scalar(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || !plainTag(n.Tag) {
		return ""
	}
	return n.Value
}

func plainTag(tag string) bool {
	switch tag {
	case "", "!!str", "!!int", "!!float", "!!bool":
		return true
	}
	return false
}

// seconds reads a Timeout; anything but a positive integer gives zero, which
// callers treat as the default.
func seconds(n *yaml.Node) time.Duration {
	s, err := strconv.Atoi(scalar(n))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}
