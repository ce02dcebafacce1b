package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/emulator"
)

// TestInstallToolsNamesWhatIsMissing runs scripts/install-tools.sh, the
// first thing `make run` does, on a copy of the files it reads and with a
// PATH that has Go but no Node and no Java and no apt-get (a macOS without
// Homebrew's node and openjdk@17, say): it must stop, having installed
// nothing, with one line naming both and how to install them (issue 15,
// item 17). `run` must not ask for what only the tests use.
func TestInstallToolsNamesWhatIsMissing(t *testing.T) {
	root, err := emulator.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	for _, f := range []string{"scripts/install-tools.sh", "go.mod", "frontend/package.json", "tools/go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	for _, c := range []string{"go", "dirname", "awk", "sed", "sort", "head", "id", "uname", "cmp", "mkdir"} {
		p, err := exec.LookPath(c)
		if err != nil {
			t.Skipf("no %s", c)
		}
		if err := os.Symlink(p, filepath.Join(bin, c)); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []string{"run", "test"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(bash, filepath.Join(dir, "scripts/install-tools.sh"), mode)
			cmd.Env = append(os.Environ(), "PATH="+bin)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("install-tools.sh %s succeeded without Node and Java:\n%s", mode, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d lines, want one:\n%s", len(lines), out)
			}
			for _, want := range []string{"Node.js 20.19", "Java 17", "brew install node", "brew install openjdk@17"} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("the line lacks %q: %s", want, lines[0])
				}
			}
			if asksQemu := strings.Contains(lines[0], "qemu"); asksQemu == (mode == "run") && !strings.Contains(runtimeArch(t), "aarch64") {
				t.Errorf("mode %s: qemu named: %v; only the tests need it: %s", mode, asksQemu, lines[0])
			}
			if _, err := os.Stat(filepath.Join(dir, ".gatehouse")); err == nil {
				t.Error("it installed something before stopping")
			}
		})
	}
}

func runtimeArch(t *testing.T) string {
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
