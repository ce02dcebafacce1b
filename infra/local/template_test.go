package local

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/httpapi"
)

func TestLoadRoutesRealTemplate(t *testing.T) {
	got, err := LoadRoutes(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Routes that call a provider (live validation, connect, webhook
	// removal) get the HTTP API's integration limit; the others 10 s.
	const timeout, providerTimeout = 10 * time.Second, 29 * time.Second
	want := []Route{
		{Function: httpapi.FnListGateways, Method: "GET", Path: "/api/gateways", Auth: true, Timeout: timeout},
		{Function: httpapi.FnCreateGateway, Method: "POST", Path: "/api/gateways", Auth: true, Timeout: providerTimeout},
		{Function: httpapi.FnDeleteGateway, Method: "DELETE", Path: "/api/gateways/{id}", Auth: true, Timeout: providerTimeout},
		{Function: httpapi.FnGetGateway, Method: "GET", Path: "/api/gateways/{id}", Auth: true, Timeout: timeout},
		{Function: httpapi.FnUpdateGateway, Method: "PUT", Path: "/api/gateways/{id}", Auth: true, Timeout: providerTimeout},
		{Function: httpapi.FnGatewayAudit, Method: "GET", Path: "/api/gateways/{id}/audit", Auth: true, Timeout: timeout},
		{Function: httpapi.FnUpdateStatus, Method: "PATCH", Path: "/api/gateways/{id}/status", Auth: true, Timeout: providerTimeout},
	}
	// The template may declare more routes; these must be there as they are.
	have := map[string]Route{}
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

func TestLoadRoutesMissingFile(t *testing.T) {
	if _, err := LoadRoutes(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Fatal("LoadRoutes of a missing file: want error")
	}
}

func TestParseRoutes(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []Route
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
			want: []Route{{Function: "get-thing", Method: "GET", Path: "/api/things/{id}", Auth: true, Timeout: 7 * time.Second}},
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
			want: []Route{
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
			want: []Route{{Function: "all", Method: "ANY", Path: "/x", Auth: true}},
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
			got, err := LoadRoutes(path)
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
	r := Route{Method: "GET", Path: "/api/gateways/{id}"}
	if got, want := r.Key(), "GET /api/gateways/{id}"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
}
