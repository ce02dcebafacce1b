package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordFindsTheRunner: `make health` and `make rotate-credentials`
// take a running `make run`'s settings from its record, keep what their own
// command line sets, and say plainly when nothing runs (issue 15, item 20).
func TestRecordFindsTheRunner(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GATEHOUSE_STATE_DIR", dir)
	t.Setenv("GATEHOUSE_DYNAMODB_PORT", "18000")
	t.Setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:18081")
	r, err := readRunner(nil)
	if err != nil {
		t.Fatal(err)
	}
	remove, err := r.writeRecord()
	if err != nil {
		t.Fatal(err)
	}
	var rec runRecord
	b, _ := os.ReadFile(filepath.Join(dir, runnerFile))
	if err := json.Unmarshal(b, &rec); err != nil || rec.PID != os.Getpid() || rec.Env["GATEHOUSE_DYNAMODB_PORT"] != "18000" {
		t.Fatalf("record %s: %v", b, err)
	}

	// Another shell: nothing set but the state folder, and one override.
	os.Unsetenv("GATEHOUSE_DYNAMODB_PORT")
	t.Setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:19999")
	base, err := adoptRecord()
	if err != nil {
		t.Fatalf("adoptRecord: %v", err)
	}
	r, err = readRunner(base)
	if err != nil {
		t.Fatal(err)
	}
	if r.ddbPort != 18000 || r.cfg.TelegramBaseURL != "http://127.0.0.1:19999" {
		t.Errorf("adopted: DynamoDB port %d, Telegram %q; want the record's port and the command line's URL", r.ddbPort, r.cfg.TelegramBaseURL)
	}

	remove()
	if _, err := adoptRecord(); err == nil || !strings.Contains(err.Error(), "no `make run` is running") {
		t.Errorf("after a clean exit: %v", err)
	}
	rec.PID = 1 << 30 // no such process
	b, _ = json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, runnerFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := adoptRecord(); err == nil || !strings.Contains(err.Error(), "no longer running") {
		t.Errorf("with a stale record: %v", err)
	}
}
