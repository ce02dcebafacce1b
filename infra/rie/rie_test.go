package rie

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

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
