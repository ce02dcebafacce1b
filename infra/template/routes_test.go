package template_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse/gatehouse/infra/local"
	"github.com/gatehouse/gatehouse/infra/template"
	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/filelink/download"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
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

// TestRoutesMatchTheLocalRunner: the routes Template.Routes gives the
// local runner (`make run`) are exactly the HttpApi events goformation
// reads, and the runner has a handler for each.
func TestRoutesMatchTheLocalRunner(t *testing.T) {
	want := templateRoutes(t)
	loaded, err := load(t).Routes()
	if err != nil {
		t.Fatal(err)
	}
	var got []route
	for _, r := range loaded {
		got = append(got, route{Function: r.Function, Method: r.Method, Path: r.Path, Auth: r.Auth})
	}
	slices.SortFunc(got, func(a, b route) int { return strings.Compare(a.key(), b.key()) })
	if !slices.Equal(got, want) {
		t.Errorf("Template.Routes:\n%v\ngoformation's events:\n%v", got, want)
	}
	// The map of handlers the runner and the Lambdas use; New does no I/O.
	handlers := local.Handlers(bootstrap.New("local", bootstrap.Config{Table: "t", KeyID: "k"}, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler)), local.Settings{})
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
// called by the dashboard. The routes without an authorizer are Telegram's
// webhook and the file links getFile answers (the link is the credential;
// the dashboard never calls them).
func TestRoutesMatchTheDashboard(t *testing.T) {
	public := []string{"telegram-webhook", download.FnFiles}
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
		case !r.Auth && !slices.Contains(public, r.Function):
			t.Errorf("%s (functions/%s) has no authorizer; only Telegram's webhook and file links may be public", r.key(), r.Function)
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

// TestRoutesRealTemplate: the routes of template.yaml, as the local
// runner serves them.
func TestRoutesRealTemplate(t *testing.T) {
	got, err := load(t).Routes()
	if err != nil {
		t.Fatal(err)
	}
	// Routes that call a provider (live validation, connect, webhook
	// removal) get the HTTP API's integration limit; the others 10 s.
	const timeout, providerTimeout = 10 * time.Second, 29 * time.Second
	want := []template.Route{
		{Function: httpapi.FnListGateways, Method: "GET", Path: "/api/gateways", Auth: true, Timeout: timeout},
		{Function: httpapi.FnCreateGateway, Method: "POST", Path: "/api/gateways", Auth: true, Timeout: providerTimeout},
		{Function: httpapi.FnDeleteGateway, Method: "DELETE", Path: "/api/gateways/{id}", Auth: true, Timeout: providerTimeout},
		{Function: httpapi.FnGetGateway, Method: "GET", Path: "/api/gateways/{id}", Auth: true, Timeout: timeout},
		{Function: httpapi.FnUpdateGateway, Method: "PUT", Path: "/api/gateways/{id}", Auth: true, Timeout: providerTimeout},
		{Function: httpapi.FnGatewayAudit, Method: "GET", Path: "/api/gateways/{id}/audit", Auth: true, Timeout: timeout},
		{Function: httpapi.FnUpdateStatus, Method: "PATCH", Path: "/api/gateways/{id}/status", Auth: true, Timeout: providerTimeout},
	}
	// The template may declare more routes; these must be there as they are.
	have := map[string]template.Route{}
	for _, r := range got {
		have[r.Key()] = r
	}
	for _, w := range want {
		if r, ok := have[w.Key()]; !ok || !reflect.DeepEqual(r, w) {
			t.Errorf("route %s = %+v, want %+v", w.Key(), r, w)
		}
	}
	// The dev sign-in exists only locally.
	for _, r := range got {
		if strings.HasPrefix(r.Path, "/dev") {
			t.Errorf("template declares local-only route %s", r.Key())
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := template.Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Fatal("Load of a missing file: want error")
	}
}

// TestRoutes: what Routes reads of a template, and what it refuses. Load
// refuses what is no template at all.
func TestRoutes(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []template.Route
		wantErr string
	}{
		{
			name: "short-form tags are opaque",
			yaml: `
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 7
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        KEY: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/get-thing/
      Role: !GetAtt Role.Arn
      Events:
        Get:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /api/things/{id}
            Method: get
      Policies:
        - Statement:
            - Effect: Allow
              Resource: !GetAtt Table.Arn
              Condition: !If [IsProd, {a: b}, !Ref AWS::NoValue]
  Table:
    Type: AWS::DynamoDB::Table
`,
			want: []template.Route{{Function: "get-thing", Method: "GET", Path: "/api/things/{id}", Auth: true, Timeout: 7 * time.Second}},
		},
		{
			name: "Auth NONE, other event types, own timeout",
			yaml: `
Resources:
  Hook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/telegram-webhook
      Timeout: 3
      Events:
        Post:
          Type: HttpApi
          Properties:
            Path: /api/webhooks/telegram/{gatewayId}
            Method: POST
            Auth:
              Authorizer: NONE
        Get:
          Type: HttpApi
          Properties:
            Path: /api/webhooks/telegram/{gatewayId}
            Method: GET
        Sweep:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
        Rest:
          Type: Api
          Properties:
            Path: /rest
            Method: GET
  Health:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Tick:
          Type: Schedule
`,
			want: []template.Route{
				{Function: "telegram-webhook", Method: "GET", Path: "/api/webhooks/telegram/{gatewayId}", Auth: true, Timeout: 3 * time.Second},
				{Function: "telegram-webhook", Method: "POST", Path: "/api/webhooks/telegram/{gatewayId}", Auth: false, Timeout: 3 * time.Second},
			},
		},
		{
			name: "CodeUri from Globals, tagged timeout means default",
			yaml: `
Globals:
  Function:
    CodeUri: ./functions/all/
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: !Ref Timeout
      Events:
        E:
          Type: HttpApi
          Properties: {Path: /x, Method: ANY}
`,
			want: []template.Route{{Function: "all", Method: "ANY", Path: "/x", Auth: true}},
		},
		{
			name: "no routes",
			yaml: "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n",
		},
		{
			name: "missing CodeUri",
			yaml: `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E:
          Type: HttpApi
          Properties: {Path: /x, Method: GET}
`,
			wantErr: "CodeUri",
		},
		{
			name: "tagged CodeUri",
			yaml: `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: !Sub "functions/${Name}"
      Events:
        E:
          Type: HttpApi
          Properties: {Path: /x, Method: GET}
`,
			wantErr: "CodeUri",
		},
		{
			name: "missing method",
			yaml: `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f/
      Events:
        E:
          Type: HttpApi
          Properties: {Path: /x}
`,
			wantErr: "Path and Method",
		},
		{
			name: "relative path",
			yaml: `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: f/
      Events:
        E:
          Type: HttpApi
          Properties: {Path: x, Method: GET}
`,
			wantErr: "does not start with /",
		},
		{
			name: "duplicate route",
			yaml: `
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: a/
      Events:
        E: {Type: HttpApi, Properties: {Path: /x, Method: GET}}
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: b/
      Events:
        E: {Type: HttpApi, Properties: {Path: /x, Method: get}}
`,
			wantErr: "declared by both",
		},
		{name: "not YAML", yaml: "Resources: [unclosed", wantErr: "parse template"},
		{name: "not a mapping", yaml: "- a\n- b\n", wantErr: "not a mapping"},
		{name: "no resources", yaml: "Parameters: {}\n", wantErr: "no Resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var got []template.Route
			tpl, err := template.Load(path)
			if err == nil {
				got, err = tpl.Routes()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("routes:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRouteKey(t *testing.T) {
	r := template.Route{Method: "GET", Path: "/api/gateways/{id}"}
	if got, want := r.Key(), "GET /api/gateways/{id}"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
}
