package emulator_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
)

// installed returns the installed DynamoDB Local folder; without one the
// test skips, unless make test requires the emulators.
func installed(t *testing.T) string {
	t.Helper()
	tools, err := emulator.ToolsDir()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(tools, "dynamodb-local"))
	if err != nil {
		if emutest.Required() {
			t.Fatalf("DynamoDB Local is not installed: %v", err)
		}
		t.Skipf("DynamoDB Local is not installed (%v); run scripts/install-tools.sh", err)
	}
	return dir
}

// tamperedCopy makes a copy of the installed folder src in a temporary
// folder: every file a symbolic link to the installed one (which is
// shared and never written), except that change may replace, add or
// remove files by their path in the folder. A nil content removes.
func tamperedCopy(t *testing.T, src string, change map[string][]byte) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "emulator")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if _, changed := change[filepath.ToSlash(rel)]; changed {
			return nil
		}
		return os.Symlink(path, target)
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel, content := range change {
		if content != nil {
			if err := os.WriteFile(filepath.Join(dst, filepath.FromSlash(rel)), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// flipped returns the file at path with one byte changed.
func flipped(t *testing.T, path string, at int) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at%len(b)] ^= 0x01
	return b
}

// TestVerifyDynamoDBLocal: the installed release passes (and how long
// checking every file takes is logged: StartDynamoDB pays it once per
// start); a copy with one byte of one file changed, a file missing, or a
// file added to the library path is refused, naming the file.
func TestVerifyDynamoDBLocal(t *testing.T) {
	dir := installed(t)
	start := time.Now()
	if err := emulator.VerifyDynamoDBLocal(dir); err != nil {
		t.Fatalf("the installed copy: %v", err)
	}
	t.Logf("verified the installed DynamoDB Local (every file against its pinned SHA-256) in %s", time.Since(start).Round(time.Millisecond))

	lib := "DynamoDBLocal_lib/sqlite4java.jar"
	tests := []struct {
		name   string
		change map[string][]byte
		names  string
	}{
		{name: "one byte of the jar", change: map[string][]byte{"DynamoDBLocal.jar": flipped(t, filepath.Join(dir, "DynamoDBLocal.jar"), 4096)}, names: "DynamoDBLocal.jar has SHA-256"},
		{name: "one byte of a library", change: map[string][]byte{lib: flipped(t, filepath.Join(dir, filepath.FromSlash(lib)), 100)}, names: lib + " has SHA-256"},
		{name: "the jar missing", change: map[string][]byte{"DynamoDBLocal.jar": nil}, names: "DynamoDBLocal.jar"},
		{name: "a library added", change: map[string][]byte{"DynamoDBLocal_lib/extra.jar": []byte("PK")}, names: "DynamoDBLocal_lib/extra.jar is not part of the release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := emulator.VerifyDynamoDBLocal(tamperedCopy(t, dir, tt.change))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range []string{"not the pinned release", tt.names, "install-tools.sh"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestStartDynamoDBRefusesATamperedCopy: StartDynamoDB starts nothing
// from an installation whose jar has one byte changed, and says why.
func TestStartDynamoDBRefusesATamperedCopy(t *testing.T) {
	dir := installed(t)
	tools := t.TempDir()
	bad := tamperedCopy(t, dir, map[string][]byte{"DynamoDBLocal.jar": flipped(t, filepath.Join(dir, "DynamoDBLocal.jar"), 4096)})
	if err := os.Symlink(bad, filepath.Join(tools, "dynamodb-local")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_TOOLS", tools)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p, err := emulator.StartDynamoDB(ctx, emulator.DynamoDBOptions{})
	if err == nil {
		p.Stop()
		t.Fatal("StartDynamoDB ran a tampered DynamoDBLocal.jar")
	}
	if !strings.Contains(err.Error(), "DynamoDBLocal.jar has SHA-256") {
		t.Errorf("error %q does not name the tampered jar", err)
	}
}
