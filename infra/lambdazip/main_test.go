package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackageIsReproducible(t *testing.T) {
	bin := bytes.Repeat([]byte("\x7fELF not really a binary "), 4096)
	a, err := Package(bin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Package(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two packages of the same bootstrap differ")
	}
	if c, _ := Package(append(bin, '!')); bytes.Equal(a, c) {
		t.Fatal("packages of different bootstraps are equal")
	}

	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("%d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" || f.Mode().Perm() != 0o755 || !f.Modified.Equal(Epoch) {
		t.Errorf("entry %q mode %v modified %v", f.Name, f.Mode(), f.Modified)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, bin) {
		t.Error("the entry is not the bootstrap")
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var inputs []string
	for _, fn := range []string{"get-gateway", "list-gateways"} {
		p := filepath.Join(dir, "build", fn, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("binary of "+fn), 0o700); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, p)
	}
	out := filepath.Join(dir, "package")
	var report bytes.Buffer
	if err := run(out, inputs, &report); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"get-gateway", "list-gateways"} {
		if _, err := os.Stat(filepath.Join(out, fn+".zip")); err != nil {
			t.Error(err)
		}
	}
	if lines := strings.Split(strings.TrimSpace(report.String()), "\n"); len(lines) != 2 || len(strings.Fields(lines[0])[0]) != 64 {
		t.Errorf("report:\n%s", report.String())
	}
	if err := run(out, []string{inputs[0], inputs[0]}, io.Discard); err == nil {
		t.Error("two bootstraps of one folder: want an error")
	}
}
