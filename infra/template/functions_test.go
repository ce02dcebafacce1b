package template_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/infra/template"
)

// moreMemory lists the functions allowed more than 128 MB, and why.
var moreMemory = map[string]string{
	"HealthWorkerFunction": "HealthConcurrency checks in flight and a data-key cache sized for a segment",
}

// TestFunctionsBuildFromTheirFolders: every function is a provided.al2023
// arm64 bootstrap built by SAM through this repository's Makefile from a
// folder of functions/ that holds a main package, and every such folder is
// deployed.
func TestFunctionsBuildFromTheirFolders(t *testing.T) {
	fns := functions(t)
	deployed := map[string]bool{}
	for _, f := range fns {
		t.Run(f.ID, func(t *testing.T) {
			if f.CodeUri == nil || f.CodeUri.String == nil || !regexp.MustCompile(`^functions/[a-z0-9-]+/$`).MatchString(*f.CodeUri.String) {
				t.Fatalf("CodeUri must be a plain functions/<name>/, got %+v", f.CodeUri)
			}
			deployed[f.Dir] = true
			main := filepath.Join(root, "functions", f.Dir, "main.go")
			file, err := parser.ParseFile(token.NewFileSet(), main, nil, parser.PackageClauseOnly)
			if err != nil {
				t.Fatalf("CodeUri %s: %v", *f.CodeUri.String, err)
			}
			if file.Name.Name != "main" {
				t.Errorf("%s is package %s, want main", main, file.Name.Name)
			}
			if got := template.Plain(f.Runtime); got != "provided.al2023" {
				t.Errorf("Runtime = %q, want provided.al2023", got)
			}
			if !reflect.DeepEqual(f.Architectures, []string{"arm64"}) {
				t.Errorf("Architectures = %v, want [arm64]", f.Architectures)
			}
			if got := template.Plain(f.Handler); got != "bootstrap" {
				t.Errorf("Handler = %q, want bootstrap", got)
			}
			md := f.AWSCloudFormationMetadata
			if md["BuildMethod"] != "makefile" || md["ContextPath"] != "." {
				t.Errorf("Metadata = %v, want BuildMethod makefile with ContextPath . (the repository's Makefile)", md)
			}
			mem := 0
			if f.MemorySize != nil {
				mem = *f.MemorySize
			}
			if why, ok := moreMemory[f.ID]; ok {
				if mem <= 128 {
					t.Errorf("MemorySize = %d; moreMemory says it needs more (%s)", mem, why)
				}
			} else if mem != 128 {
				t.Errorf("MemorySize = %d, want 128 (or a reason in moreMemory)", mem)
			}
		})
	}
	dirs, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dirs {
		if d := filepath.Base(filepath.Dir(m)); !deployed[d] {
			t.Errorf("functions/%s is not the CodeUri of any function in template.yaml", d)
		}
	}
}

// TestTimeouts: each function states its own timeout; those behind the
// HTTP API end before API Gateway's 30-second integration timeout.
func TestTimeouts(t *testing.T) {
	tpl := load(t)
	for _, f := range functions(t) {
		if get(tpl.Raw, "Resources", f.ID, "Properties", "Timeout") == nil {
			t.Errorf("%s: no Timeout of its own", f.ID)
			continue
		}
		routed := false
		for _, e := range f.Events {
			routed = routed || e.Type == "HttpApi"
		}
		if s := *f.Timeout; s < 1 || (routed && s > 29) {
			t.Errorf("%s: Timeout %d s; an HttpApi function needs 1 to 29", f.ID, s)
		}
	}
}

// TestSAMBuildTargets: `sam build` runs `make build-<LogicalId>`; each of
// those builds the function's folder with exactly the environment and flags
// of `make build`, into $ARTIFACTS_DIR/bootstrap.
func TestSAMBuildTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed")
	}
	dryRun := func(target string, args ...string) string {
		t.Helper()
		cmd := exec.Command("make", append([]string{"--no-print-directory", "-n", "-C", root, target}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	// `make build`'s compile line: environment and flags, up to the -o.
	buildLine := regexp.MustCompile(`(?m)^(.*go build .*?) -o build/\.bin/ \./functions/\.\.\.$`).FindStringSubmatch(dryRun("build"))
	if buildLine == nil {
		t.Fatal("make -n build shows no `go build … -o build/.bin/ ./functions/...` line")
	}
	artifacts := t.TempDir()
	for _, f := range functions(t) {
		out := dryRun("build-"+f.ID, "ARTIFACTS_DIR="+artifacts)
		want := buildLine[1] + ` -o "` + artifacts + `/bootstrap" ./functions/` + f.Dir
		if !strings.Contains(out, want) {
			t.Errorf("make -n build-%s:\n%s\nwant the line\n%s", f.ID, out, want)
		}
	}
}

// TestLogGroups: every function has a log group of its own, named
// /aws/lambda/<FunctionName>, with a retention.
func TestLogGroups(t *testing.T) {
	tpl := load(t)
	for _, f := range functions(t) {
		lg, err := logGroupOf(tpl, f)
		if err != nil {
			t.Errorf("%s: %v", f.ID, err)
			continue
		}
		path := "Resources." + lg + ".Properties.RetentionInDays"
		if days, ok := template.Ref(tpl.Intrinsics[path]); !ok || days != "LogRetentionDays" {
			if n := tpl.CFN.Resources[lg]; n == nil || get(tpl.Raw, "Resources", lg, "Properties", "RetentionInDays") == nil {
				t.Errorf("%s: log group %s has no RetentionInDays", f.ID, lg)
			}
		}
	}
}

// logGroupOf returns the logical id of f's log group: the one named
// /aws/lambda/ followed by f's FunctionName, which must be a !Sub.
func logGroupOf(tpl *template.Template, f samFunction) (string, error) {
	name, ok := template.Sub(f.FunctionName)
	if !ok {
		return "", fmt.Errorf("FunctionName must be !Sub \"${AWS::StackName}-…\", got %v", template.Decode(f.FunctionName))
	}
	if !strings.HasPrefix(name, "${AWS::StackName}-") {
		return "", fmt.Errorf("FunctionName %q does not start with the stack name", name)
	}
	var found []string
	for id, lg := range tpl.CFN.GetAllLogsLogGroupResources() {
		if s, ok := template.Sub(lg.LogGroupName); ok && s == "/aws/lambda/"+name {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("want one AWS::Logs::LogGroup named /aws/lambda/%s, found %v", name, found)
	}
	return found[0], nil
}

// TestEnvironment: each function gets the variables its bootstrap reads
// (pkg/bootstrap), naming the table, the key, the bus and the public URLs.
func TestEnvironment(t *testing.T) {
	base := map[string]any{
		"TABLE_NAME":                        map[string]any{"Ref": "Table"},
		"KMS_KEY_ID":                        map[string]any{"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:${KeyAlias}"},
		"ORGS_CLAIM":                        map[string]any{"Ref": "OrgsClaim"},
		"PUBLIC_API_URL":                    map[string]any{"Ref": "PublicApiUrl"},
		"TELEGRAM_API_BASE_URL":             map[string]any{"Ref": "TelegramApiBaseUrl"},
		"RATE_LIMIT_TEST_PER_MINUTE":        map[string]any{"Ref": "RateLimitTestPerMinute"},
		"RATE_LIMIT_ACTIONS_PER_MINUTE":     map[string]any{"Ref": "RateLimitActionsPerMinute"},
		"RATE_LIMIT_VALIDATIONS_PER_MINUTE": map[string]any{"Ref": "RateLimitValidationsPerMinute"},
	}
	extra := map[string]map[string]any{
		"TelegramWebhookFunction": {"UPDATE_TTL_DAYS": "7", "TELEGRAM_SOURCE_RANGES": map[string]any{"Ref": "TelegramSourceRanges"}},
		"HealthCheckFunction": {
			"HEALTH_WORKER_FUNCTION": map[string]any{"Ref": "HealthWorkerFunction"},
			"HEALTH_SEGMENTS":        map[string]any{"Ref": "HealthSegments"},
		},
		"HealthWorkerFunction": {
			"EVENT_BUS_NAME":     map[string]any{"Ref": "EventBusName"},
			"HEALTH_SEGMENTS":    map[string]any{"Ref": "HealthSegments"},
			"HEALTH_CONCURRENCY": map[string]any{"Ref": "HealthConcurrency"},
		},
	}
	for _, f := range functions(t) {
		want := map[string]any{}
		for k, v := range base {
			want[k] = v
		}
		for k, v := range extra[f.ID] {
			want[k] = v
		}
		for k, v := range want {
			if !reflect.DeepEqual(f.Env[k], v) {
				t.Errorf("%s: %s = %v, want %v", f.ID, k, f.Env[k], v)
			}
		}
	}
}

// TestHealthSchedule: the coordinator runs on the HealthCheckSchedule
// parameter, delivery's retries on DeliveryRetrySchedule and the message
// sender's sweep on MessageSenderSchedule (the local runner reads their
// defaults), the worker on nothing but its invokes.
func TestHealthSchedule(t *testing.T) {
	want := map[string]string{"HealthCheckFunction": "HealthCheckSchedule", "DeliveryFunction": "DeliveryRetrySchedule", "MessageSenderFunction": "MessageSenderSchedule"}
	for _, f := range functions(t) {
		var schedules []string
		for name, e := range f.Events {
			if e.Type == "Schedule" {
				schedules = append(schedules, name)
				if p := e.Properties; p == nil || p.ScheduleEvent == nil {
					t.Errorf("%s: event %s: no Schedule properties", f.ID, name)
				} else if r, _ := template.Ref(p.ScheduleEvent.Schedule); r != want[f.ID] {
					t.Errorf("%s: event %s: Schedule %v, want !Ref %s", f.ID, name, template.Decode(p.ScheduleEvent.Schedule), want[f.ID])
				}
			}
		}
		if want := want[f.ID] != ""; want != (len(schedules) == 1) {
			t.Errorf("%s: schedule events %v", f.ID, schedules)
		}
	}
}

// TestFunctionFoldersHaveNoStrayBuildOutput keeps SAM's scratch copy of a
// CodeUri small: a function folder is its main.go and fixtures.
func TestFunctionFoldersHaveNoStrayBuildOutput(t *testing.T) {
	for _, f := range functions(t) {
		entries, err := os.ReadDir(filepath.Join(root, "functions", f.Dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == "bootstrap" || strings.HasSuffix(e.Name(), ".zip") {
				t.Errorf("functions/%s/%s: build output belongs in build/", f.Dir, e.Name())
			}
		}
	}
}

// localValues resolve the real template's references as a local run
// would.
var localValues = template.Values{
	"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111122223333", "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "gatehouse",
	"Table": "gatehouse", "KeyAlias": "alias/gatehouse", "PublicApiUrl": "https://api.example.com",
	"TelegramApiBaseUrl": "http://127.0.0.1:1", "HealthWorkerFunction": "worker", "EventBusName": "bus",
}

// TestFunctionsRealTemplate reads the real template: every function has a
// folder under functions/ and an environment Functions can resolve.
func TestFunctionsRealTemplate(t *testing.T) {
	fns, err := load(t).Functions(localValues)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Fatal("no functions")
	}
	for _, f := range fns {
		if _, err := os.Stat(filepath.Join(root, "functions", f.Dir, "main.go")); err != nil {
			t.Errorf("%s: %v", f.LogicalID, err)
		}
		if f.Timeout <= 0 || f.MemoryMB < 128 || f.Env["TABLE_NAME"] != "gatehouse" {
			t.Errorf("%s: timeout %s, memory %d, env %v", f.LogicalID, f.Timeout, f.MemoryMB, f.Env)
		}
		if got := f.Env["KMS_KEY_ID"]; got != "arn:aws:kms:us-east-1:111122223333:alias/gatehouse" {
			t.Errorf("%s: KMS_KEY_ID = %q", f.LogicalID, got)
		}
	}
}

// TestFunctionsRefusesWhatItCannotResolve: an unresolved reference is an
// error, not an empty variable.
func TestFunctionsRefusesWhatItCannotResolve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "template.yaml")
	tmpl := `Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        STAGE: !Ref Stage
        KEY: !GetAtt Key.Arn
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn/
      Environment:
        Variables:
          URL: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com"
`
	if err := os.WriteFile(file, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := template.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Functions(template.Values{"AWS::Region": "us-east-1", "Api": "abc"}); err == nil || !strings.Contains(err.Error(), "Key.Arn") {
		t.Errorf("an unresolvable !GetAtt: %v", err)
	}
	fns, err := tpl.Functions(template.Values{"AWS::Region": "us-east-1", "Api": "abc", "Key.Arn": "arn:key"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"STAGE": "dev", "KEY": "arn:key", "URL": "https://abc.execute-api.us-east-1.amazonaws.com"}
	if f := fns[0]; fmt.Sprint(f.Env) != fmt.Sprint(want) || f.Dir != "fn" || f.Timeout != 10*time.Second || f.MemoryMB != 128 {
		t.Errorf("got %+v", f)
	}
}

// TestFunctions: Globals.Function applies where a function says nothing,
// numbers may be references, and what Functions cannot use is an error.
func TestFunctions(t *testing.T) {
	const base = `
Parameters:
  Seconds: {Type: Number, Default: 20}
  Memory: {Type: Number, Default: 1024}
Globals:
  Function:
    CodeUri: functions/shared/
    MemorySize: 256
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: !Ref Seconds
      MemorySize: !Ref Memory
      Events:
        Zeta: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
        Alpha: {Type: HttpApi, Properties: {Path: /a, Method: GET}}
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/b/
`
	tests := []struct {
		name    string
		yaml    string
		want    []template.Function
		wantErr string
	}{
		{
			name: "globals, defaults and numeric references",
			yaml: base,
			want: []template.Function{
				{LogicalID: "A", Dir: "shared", Env: map[string]string{}, Timeout: 20 * time.Second, MemoryMB: 1024, Events: []string{"HttpApi", "Schedule"}},
				{LogicalID: "B", Dir: "b", Env: map[string]string{}, Timeout: 3 * time.Second, MemoryMB: 256},
			},
		},
		{
			name:    "no CodeUri",
			yaml:    strings.Replace(base, "    CodeUri: functions/shared/\n", "", 1),
			wantErr: "A has no plain CodeUri",
		},
		{
			name:    "a CodeUri without a folder",
			yaml:    strings.Replace(base, "CodeUri: functions/b/", "CodeUri: ./", 1),
			wantErr: `B has a CodeUri ("./") that names no folder`,
		},
		{
			name:    "an intrinsic it does not resolve",
			yaml:    base + "      Environment:\n        Variables:\n          X: !Join [\"\", [a, b]]\n",
			wantErr: "B: variable X: unsupported intrinsic Fn::Join",
		},
		{
			name:    "an unresolved numeric reference",
			yaml:    strings.Replace(base, "!Ref Seconds", "!Ref Nothing", 1),
			wantErr: "A: Timeout: nothing resolves \"Nothing\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := template.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Functions(template.Values{})
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
				t.Errorf("functions:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
