package main

// The running `make run`, found by `make health` and `make rotate-credentials`.
// serve records in the state folder, once it serves, its process id and
// every environment variable it read that was set (its ports, key alias,
// Telegram base URL, …), and removes the record when it stops cleanly. The
// other commands start from that record, so a bare `make health` reaches
// the same emulators with the same settings; a variable set on their own
// command line still wins.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gatehouse/gatehouse/pkg/config"
)

// runnerFile is the record's name in the state folder.
const runnerFile = "runner.json"

// runRecord is what serve writes to runnerFile.
type runRecord struct {
	PID  int               `json:"pid"`
	Port int               `json:"port"`
	Env  map[string]string `json:"env"`
}

// writeRecord writes r's record, atomically, and returns the function that
// removes it.
func (r *runner) writeRecord() (remove func(), err error) {
	rec := runRecord{PID: os.Getpid(), Port: r.port, Env: r.env.Set()}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(r.dir, runnerFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(path) }, nil
}

// adoptRecord finds the running `make run` through its record in the
// state folder and returns the variables it had set, for readRunner to
// read under this process's own. Errors: nothing is running (no record, or
// the process that wrote it is gone).
func adoptRecord() (map[string]string, error) {
	dir, err := stateDir(config.FromOS())
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, runnerFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no `make run` is running (%s does not exist): start it in another terminal first", path)
	} else if err != nil {
		return nil, err
	}
	var rec runRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !alive(rec.PID) {
		return nil, fmt.Errorf("the `make run` recorded in %s (pid %d) is no longer running: start it again", path, rec.PID)
	}
	return rec.Env, nil
}

// alive reports whether process pid exists (signal 0 checks without
// sending anything).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
