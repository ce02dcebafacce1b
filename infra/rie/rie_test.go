package rie

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`-tags lambda.norpc -trimpath -ldflags '-s -w' -buildvcs=false`, []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-buildvcs=false"}},
		{`  a  "b c"d ''  `, []string{"a", "b cd", ""}},
		{``, nil},
	} {
		got, err := splitWords(tc.in)
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := splitWords(`-ldflags '-s`); err == nil {
		t.Errorf("an unterminated quote was accepted")
	}
}

func root(t *testing.T) string {
	t.Helper()
	r, err := emulator.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReadBuildSpec reads the real Makefile: what `make build` does is what
// the emulator tests and the benchmark build.
func TestReadBuildSpec(t *testing.T) {
	spec, err := ReadBuildSpec(filepath.Join(root(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Arch() != DeployArch || spec.Env["GOOS"] != "linux" || spec.Env["CGO_ENABLED"] != "0" {
		t.Errorf("build environment %v", spec.Env)
	}
	for _, f := range []string{"-trimpath", "-buildvcs=false", "-s -w", "lambda.norpc"} {
		if !slices.Contains(spec.Flags, f) {
			t.Errorf("flags %q lack %q", spec.Flags, f)
		}
	}
	bad := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(bad, []byte("GOFLAGS_LAMBDA := -trimpath\nbuild:\n\tgo build ./...\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBuildSpec(bad); err == nil {
		t.Errorf("a Makefile without the build line was accepted")
	}
}

var localValues = Values{
	"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111122223333", "AWS::URLSuffix": "amazonaws.com",
	"Table": "gatehouse", "KeyAlias": "alias/gatehouse", "PublicApiUrl": "https://api.example.com",
	"TelegramApiBaseUrl": "http://127.0.0.1:1", "HealthWorkerFunction": "worker", "EventBusName": "bus",
}

// TestLoadFunctions reads the real template: every function has a folder
// under functions/ and an environment this package can resolve.
func TestLoadFunctions(t *testing.T) {
	r := root(t)
	fns, err := LoadFunctions(filepath.Join(r, "template.yaml"), localValues)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) == 0 {
		t.Fatal("no functions")
	}
	for _, f := range fns {
		if _, err := os.Stat(filepath.Join(r, "functions", f.Dir, "main.go")); err != nil {
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

func TestLoadFunctionsRefusesWhatItCannotResolve(t *testing.T) {
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
	if _, err := LoadFunctions(file, Values{"AWS::Region": "us-east-1", "Api": "abc"}); err == nil || !strings.Contains(err.Error(), "Key.Arn") {
		t.Errorf("an unresolvable !GetAtt: %v", err)
	}
	fns, err := LoadFunctions(file, Values{"AWS::Region": "us-east-1", "Api": "abc", "Key.Arn": "arn:key"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"STAGE": "dev", "KEY": "arn:key", "URL": "https://abc.execute-api.us-east-1.amazonaws.com"}
	if f := fns[0]; fmt.Sprint(f.Env) != fmt.Sprint(want) || f.Dir != "fn" || f.Timeout != 10*time.Second || f.MemoryMB != 128 {
		t.Errorf("got %+v", f)
	}
}

func TestFunctionError(t *testing.T) {
	if err := FunctionError([]byte(`{"errorMessage":"boom","errorType":"errorString"}`)); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Lambda's error object: %v", err)
	}
	for _, ok := range []string{`{"statusCode":200}`, `{"sweep":"x"}`, `null`, `"text"`} {
		if err := FunctionError([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestRunner(t *testing.T) {
	if p, err := Runner(runtime.GOARCH); err != nil || p != nil {
		t.Errorf("native: %v %v", p, err)
	}
	if _, err := Runner("mips"); err == nil {
		t.Errorf("mips on %s has a runner", runtime.GOARCH)
	}
}
