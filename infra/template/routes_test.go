package template_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse/gatehouse/infra/local"
	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
)

// route is an HttpApi event as goformation reads it.
type route struct {
	Function string // folder under functions/
	Method   string
	Path     string
	Auth     bool
}

func (r route) key() string { return r.Method + " " + r.Path }

// templateRoutes returns every HttpApi event of template.yaml.
func templateRoutes(t *testing.T) []route {
	t.Helper()
	var out []route
	for _, f := range functions(t) {
		for name, e := range f.Events {
			if e.Type != "HttpApi" {
				continue
			}
			p := e.Properties
			if p == nil || p.HttpApiEvent == nil {
				t.Fatalf("%s: event %s has no HttpApi properties", f.ID, name)
			}
			ev := p.HttpApiEvent
			if api, _ := template.Ref(ev.ApiId); api != "HttpApi" {
				t.Errorf("%s: event %s: ApiId %v, want !Ref HttpApi", f.ID, name, template.Decode(ev.ApiId))
			}
			auth := ev.Auth == nil || ev.Auth.Authorizer == nil || *ev.Auth.Authorizer != "NONE"
			out = append(out, route{Function: f.Dir, Method: strings.ToUpper(template.Plain(ev.Method)), Path: template.Plain(ev.Path), Auth: auth})
		}
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.key(), b.key()) })
	return out
}

// TestRoutesMatchTheLocalRunner: the routes goformation reads are exactly
// those infra/local.LoadRoutes serves `make run` from, and the runner has a
// handler for each.
func TestRoutesMatchTheLocalRunner(t *testing.T) {
	want := templateRoutes(t)
	loaded, err := local.LoadRoutes(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got []route
	for _, r := range loaded {
		got = append(got, route{Function: r.Function, Method: r.Method, Path: r.Path, Auth: r.Auth})
	}
	slices.SortFunc(got, func(a, b route) int { return strings.Compare(a.key(), b.key()) })
	if !slices.Equal(got, want) {
		t.Errorf("local.LoadRoutes:\n%v\ngoformation:\n%v", got, want)
	}
	// The map of handlers the runner and the Lambdas use; New does no I/O.
	handlers := bootstrap.New(bootstrap.Config{Table: "t", KeyID: "k"}, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler)).Handlers()
	srv := local.NewServer(loaded, handlers, make([]byte, local.KeySize))
	if missing := srv.Unhandled(); len(missing) > 0 {
		t.Errorf("routes whose function the local runner has no handler for: %v", missing)
	}
	if len(want) == 0 {
		t.Fatal("no HttpApi routes")
	}
}

// TestRoutesMatchTheDashboard: every call frontend/src/lib/api.ts makes is
// a route of the template, and every route behind the JWT authorizer is
// called by the dashboard. The routes without an authorizer are Telegram's.
func TestRoutesMatchTheDashboard(t *testing.T) {
	calls := dashboardCalls(t)
	routes := templateRoutes(t)
	shape := func(method, path string) string {
		return method + " " + regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(path, "{}")
	}
	byShape := map[string]route{}
	for _, r := range routes {
		byShape[shape(r.Method, r.Path)] = r
	}
	called := map[string]bool{}
	for _, c := range calls {
		r, ok := byShape[c]
		switch {
		case !ok:
			t.Errorf("the dashboard calls %s, which template.yaml does not route", c)
		case !r.Auth:
			t.Errorf("the dashboard calls %s, which has no authorizer", c)
		}
		called[c] = true
	}
	for _, r := range routes {
		switch s := shape(r.Method, r.Path); {
		case !r.Auth && r.Function != "telegram-webhook":
			t.Errorf("%s (functions/%s) has no authorizer; only Telegram's webhook may be public", r.key(), r.Function)
		case r.Auth && !called[s]:
			t.Errorf("%s (functions/%s) is not called by the dashboard (frontend/src/lib/api.ts)", r.key(), r.Function)
		}
	}
}

// apiCall finds `'METHOD', '/api/…'` or a template literal in api.ts.
var apiCall = regexp.MustCompile("'(GET|POST|PUT|PATCH|DELETE)',\\s*[`'](/api/[^`']*)[`']")

// dashboardCalls returns the dashboard's requests as "METHOD /api/…/{}/…".
func dashboardCalls(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "frontend", "src", "lib", "api.ts"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range apiCall.FindAllStringSubmatch(string(src), -1) {
		path := regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(m[2], "{}")
		out = append(out, fmt.Sprintf("%s %s", m[1], path))
	}
	if len(out) < 5 {
		t.Fatalf("found only %d API calls in frontend/src/lib/api.ts: %v; has its style changed?", len(out), out)
	}
	return out
}
