package template

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// Route is one HttpApi event of one AWS::Serverless::Function.
type Route struct {
	// Function is the base name of the function's CodeUri, e.g.
	// "list-gateways": the key under which the local runner registers its
	// handler.
	Function string
	// Method is upper case, e.g. "GET"; "ANY" matches every method.
	Method string
	// Path is the route's path template, e.g. "/api/gateways/{id}".
	Path string
	// Auth is false only when the event sets Auth.Authorizer: NONE: a route
	// needs a token unless the template says otherwise, as the HTTP API's
	// default authorizer does.
	Auth bool
	// Timeout is the function's Timeout (its own, else Globals.Function's);
	// zero when the template gives none or gives it as an expression, which
	// callers treat as their default.
	Timeout time.Duration
}

// Key is the route key API Gateway puts into events, e.g.
// "GET /api/gateways/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Routes returns the routes of all HttpApi events, sorted by path, then
// method. Only the fields it reads must be plain values. It returns an
// error when a function with HttpApi events has no plain CodeUri (its own
// or Globals.Function's), when an event lacks a plain Path or Method or its
// Path does not start with /, and when two events claim the same method and
// path (API Gateway rejects that too).
func (t *Template) Routes() ([]Route, error) {
	globals := t.globalFunction()
	var routes []Route
	seen := map[string]string{} // route key: logical id
	fns := t.CFN.GetAllServerlessFunctionResources()
	for _, id := range sortedKeys(fns) {
		f := fns[id]
		var fnRoutes []Route
		for _, name := range sortedKeys(f.Events) {
			ev := f.Events[name]
			if ev.Type != "HttpApi" {
				continue
			}
			var props *serverless.Function_HttpApiEvent
			if ev.Properties != nil {
				props = ev.Properties.HttpApiEvent
			}
			r := Route{Auth: true}
			if props != nil {
				r.Method = strings.ToUpper(Plain(props.Method))
				r.Path = Plain(props.Path)
				r.Auth = props.Auth == nil || Plain(props.Auth.Authorizer) != "NONE"
			}
			if r.Method == "" || r.Path == "" {
				return nil, fmt.Errorf("template: routes: %s: event %s: HttpApi events need a plain Path and Method", id, name)
			}
			if !strings.HasPrefix(r.Path, "/") {
				return nil, fmt.Errorf("template: routes: %s: event %s: path %q does not start with /", id, name, r.Path)
			}
			fnRoutes = append(fnRoutes, r)
		}
		if len(fnRoutes) == 0 {
			continue
		}
		dir, err := codeFolder(f, globals)
		if err != nil {
			return nil, fmt.Errorf("template: routes: %s: function has HttpApi events but %w", id, err)
		}
		timeout := t.ownOrGlobal(id, "Timeout", f.Timeout, globals.Timeout)
		for _, r := range fnRoutes {
			r.Function, r.Timeout = dir, seconds(timeout)
			if other, dup := seen[r.Key()]; dup {
				return nil, fmt.Errorf("template: routes: route %q is declared by both %s and %s", r.Key(), other, id)
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

// seconds is a Timeout as a duration; an expression or anything but a
// positive number gives zero, which callers treat as their default.
func seconds(n number) time.Duration {
	if n.value == nil || *n.value <= 0 {
		return 0
	}
	return time.Duration(*n.value) * time.Second
}
