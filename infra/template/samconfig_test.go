package template_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSamconfig: both environments deploy the stack `make deploy` looks
// up, with the capability the template's roles need, and never build from
// SAM's cache (its key is the CodeUri folder; every function also compiles
// pkg/).
func TestSamconfig(t *testing.T) {
	cfg := readSamconfig(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^STACK\s*\?=\s*(\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no STACK ?= default")
	}
	for _, env := range []string{"default", "localstack"} {
		if got := cfg[env+".global.parameters"]["stack_name"]; got != `"`+string(m[1])+`"` {
			t.Errorf("%s: stack_name %s, Makefile STACK %s", env, got, m[1])
		}
		if got := cfg[env+".build.parameters"]["cached"]; got != "false" {
			t.Errorf("%s: build cached = %q, want false", env, got)
		}
		if got := cfg[env+".deploy.parameters"]["capabilities"]; !strings.Contains(got, "CAPABILITY_IAM") {
			t.Errorf("%s: capabilities %s lack CAPABILITY_IAM (the template creates roles)", env, got)
		}
	}
	for id, r := range load(t).CFN.GetAllIAMRoleResources() {
		if r.RoleName != nil {
			t.Errorf("role %s is named: that needs CAPABILITY_NAMED_IAM and blocks a second stack", id)
		}
	}
}

// readSamconfig reads samconfig.toml's tables and their key = value lines,
// values as written.
func readSamconfig(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	table := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			table = strings.Trim(line, "[]")
			out[table] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("samconfig.toml: cannot read %q", line)
			}
			if table != "" {
				out[table][strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
