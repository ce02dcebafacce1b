package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
