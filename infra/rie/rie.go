// Package rie runs Gatehouse's Lambda bootstraps under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie, installed by scripts/install-tools.sh
// from tools/go.mod), so tests and the cold-start benchmark exercise the very
// binaries `make build` produces, through the same Runtime API that Lambda
// serves, with the environment template.yaml gives each function.
//
// The bootstraps are linux/arm64, as deployed. On a host of another
// architecture Start runs them through qemu-user (qemu-aarch64-static, from
// Debian's qemu-user-static): the emulator executes the qemu binary with the
// bootstrap as its argument, so nothing in the bootstrap or the emulator
// changes. Runner reports whether that is possible here.
//
// An emulator serves one invocation at a time (two at once crash it), so
// Emulator.Invoke serialises its callers.
package rie

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
)

// InvokePath is the emulator's invoke endpoint, as in Lambda's Invoke API.
const InvokePath = "/2015-03-31/functions/function/invocations"

// DeployArch is the architecture template.yaml deploys (Architectures: [arm64]).
const DeployArch = "arm64"

// qemuBinaries are tried in order for an arm64 bootstrap on another host.
var qemuBinaries = []string{"qemu-aarch64-static", "qemu-aarch64"}

// Runner returns the command prefix that executes a linux binary of goarch
// on this host: nothing when the host runs it natively, qemu-user for arm64
// on another architecture. Errors: no way to run goarch here (install
// qemu-user-static).
func Runner(goarch string) ([]string, error) {
	if goarch == runtime.GOARCH {
		return nil, nil
	}
	if goarch != "arm64" {
		return nil, fmt.Errorf("rie: cannot run %s binaries on %s", goarch, runtime.GOARCH)
	}
	for _, name := range qemuBinaries {
		if p, err := exec.LookPath(name); err == nil {
			return []string{p}, nil
		}
	}
	return nil, fmt.Errorf("rie: arm64 bootstraps need qemu-user on this %s host; none of %v is on PATH (apt-get install qemu-user-static)", runtime.GOARCH, qemuBinaries)
}

// Binary returns the path of aws-lambda-rie as scripts/install-tools.sh
// installs it. Errors: it is not installed (run `make tools`).
func Binary() (string, error) {
	dir, err := emulator.ToolsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "bin", "aws-lambda-rie")
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("rie: %s is not installed (run `make tools`)", p)
	}
	return p, nil
}

// Options configures one emulator.
type Options struct {
	// RIE is the aws-lambda-rie binary; empty means Binary().
	RIE string
	// Bootstrap is the function's bootstrap binary.
	Bootstrap string
	// Arch is the bootstrap's GOARCH; empty means DeployArch.
	Arch string
	// Name is the function's name (AWS_LAMBDA_FUNCTION_NAME).
	Name string
	// Env is the function's environment, exactly what it sees besides the
	// variables Lambda itself sets (AWS_LAMBDA_*, _HANDLER, PATH, TZ).
	Env map[string]string
	// Timeout is the function's timeout; zero means 10 s.
	Timeout time.Duration
	// MemoryMB is the function's memory size; zero means 128.
	MemoryMB int
	// Log receives the emulator's and the function's output; nil discards it.
	Log io.Writer
}

// Emulator is one running aws-lambda-rie with one function.
type Emulator struct {
	// Endpoint is the emulator's base URL, http://127.0.0.1:<port>.
	Endpoint string
	// Started is when the emulator process was started.
	Started time.Time

	cmd    *exec.Cmd
	done   chan struct{}
	waitEr error
	mu     sync.Mutex // one invocation at a time
	client *http.Client
}

// Start starts the emulator for o.Bootstrap on free loopback ports and
// returns once it accepts connections. The function itself starts (its
// init phase) on the first Invoke, as in Lambda. The emulator and the
// bootstrap run in their own process group, killed by Stop and when the
// calling process dies. Errors: the emulator or the runner for the
// bootstrap's architecture is missing, or the emulator does not listen
// within 30 s.
func Start(ctx context.Context, o Options) (*Emulator, error) {
	if o.RIE == "" {
		var err error
		if o.RIE, err = Binary(); err != nil {
			return nil, err
		}
	}
	if o.Arch == "" {
		o.Arch = DeployArch
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 128
	}
	if o.Name == "" {
		o.Name = filepath.Base(filepath.Dir(o.Bootstrap))
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	bootstrap, err := filepath.Abs(o.Bootstrap)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("rie: bootstrap: %w", err)
	}
	prefix, err := Runner(o.Arch)
	if err != nil {
		return nil, err
	}
	port, err := emulator.FreePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := emulator.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// The emulator runs argv[1:] as the bootstrap: qemu with the binary as
	// its argument on a foreign host, the binary itself otherwise.
	args := []string{
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)),
	}
	args = append(append(args, prefix...), bootstrap)
	cmd := exec.CommandContext(ctx, o.RIE, args...)
	cmd.Dir = filepath.Dir(bootstrap) // Lambda's /var/task
	cmd.Env = environ(o)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	e := &Emulator{
		Endpoint: "http://" + addr,
		Started:  time.Now(),
		cmd:      cmd,
		done:     make(chan struct{}),
		// The function's own timeout bounds an invocation; the margin
		// covers the emulator's init and reporting.
		client: &http.Client{Timeout: o.Timeout + 30*time.Second},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rie: start %s: %w", o.RIE, err)
	}
	go func() { e.waitEr = cmd.Wait(); close(e.done) }()
	if err := e.waitListening(ctx, addr, 30*time.Second); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// environ is the emulator's environment, which it passes on to the
// function: the function's variables and those Lambda sets itself.
func environ(o Options) []string {
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"AWS_LAMBDA_FUNCTION_NAME":        o.Name,
		"AWS_LAMBDA_FUNCTION_HANDLER":     "bootstrap",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(o.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int((o.Timeout + time.Second - 1) / time.Second)),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + o.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "rie",
		"LOG_LEVEL":                       "warn", // the emulator's own chatter
	}
	for k, v := range o.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (e *Emulator) waitListening(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("rie: the emulator exited before listening: %v", e.waitEr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rie: the emulator did not listen on %s within %s: %v", addr, limit, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Invoke sends payload (the event) to the function and returns the
// emulator's HTTP status and the function's response: its JSON result, or
// Lambda's error object ({"errorMessage", "errorType"}) when it failed.
// Calls are serialised. Errors: the emulator is gone or does not answer.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) (int, []byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.done:
		return 0, nil, fmt.Errorf("rie: the emulator has exited: %v", e.waitEr)
	default:
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Endpoint+InvokePath, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("rie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("rie: read the response: %w", err)
	}
	return resp.StatusCode, body, nil
}

// Stop kills the emulator and the function and waits for them to exit.
func (e *Emulator) Stop() {
	if e == nil || e.cmd.Process == nil {
		return
	}
	select {
	case <-e.done:
		return
	default:
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
	}
}
