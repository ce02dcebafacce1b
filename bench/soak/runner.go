package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
)

// runnerPkg is what `make run` runs.
const runnerPkg = "./infra/local/cmd/gatehouse-local"

// table is the runner's table; the soak sets TABLE_NAME so that an
// inherited one cannot move it.
const table = "gatehouse"

// buildRunner compiles the local runner into dir, so that starting it
// measures the runner and not the compiler.
func buildRunner(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "gatehouse-local")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, runnerPkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", runnerPkg, err, out)
	}
	return bin, nil
}

// runner is a started gatehouse-local serve.
type runner struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	logPath string
	base    string // http://127.0.0.1:<port>
	ports   []int  // the API's, DynamoDB Local's, local-kms's
	ddbPort int
	kmsPort int
}

// overridden are set for the runner whatever the soak's own environment
// says, so that an inherited PORT, TABLE_NAME or endpoint cannot point it
// at another runner's state.
var overridden = []string{"PORT", "GATEHOUSE_DYNAMODB_PORT", "GATEHOUSE_KMS_PORT", "GATEHOUSE_STATE_DIR", "GATEHOUSE_ROOT",
	"GATEHOUSE_ALLOW_PRIVATE_NETWORKS", "TELEGRAM_API_BASE_URL", "PUBLIC_API_URL", "TABLE_NAME", "KMS_KEY_ALIAS", "KMS_KEY_ID"}

// startRunner starts the runner binary as `make run` would, on free ports,
// with its state in dir/state and its output in dir/runner.log.
func startRunner(ctx context.Context, root, dir, bin, telegramURL string) (*runner, error) {
	var ports [3]int
	for i := range ports {
		p, err := emulator.FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		return nil, errors.New("the kernel handed out the same free port twice; run again")
	}
	logPath := filepath.Join(dir, "runner.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor

	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	env := []string{
		"PORT=" + strconv.Itoa(ports[0]),
		"GATEHOUSE_DYNAMODB_PORT=" + strconv.Itoa(ports[1]),
		"GATEHOUSE_KMS_PORT=" + strconv.Itoa(ports[2]),
		"GATEHOUSE_STATE_DIR=" + filepath.Join(dir, "state"),
		"GATEHOUSE_ROOT=" + root,
		"GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true",
		"TELEGRAM_API_BASE_URL=" + telegramURL,
		"PUBLIC_API_URL=" + base,
		"TABLE_NAME=" + table,
		"KMS_KEY_ALIAS=alias/gatehouse",
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(overridden, name) && !strings.HasPrefix(name, "AWS_ENDPOINT_URL") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = root
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a Ctrl-C at the terminal reaches only the
	// soak, which then stops the runner in order; and SIGTERM (which the
	// runner handles like Ctrl-C) if the soak dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	r := &runner{cmd: cmd, done: make(chan struct{}), logPath: logPath, base: base, ports: ports[:], ddbPort: ports[1], kmsPort: ports[2]}
	go func() { r.waitErr = cmd.Wait(); close(r.done) }()
	return r, nil
}

// waitReady waits until the runner serves its OpenAPI document (it listens
// only after the emulators, the table and the key are ready).
func (r *runner) waitReady(ctx context.Context, limit time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("the runner exited before it was ready (%v):\n%s", r.waitErr, r.tail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := c.Get(r.base + "/api/openapi.json")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("the runner was not ready within %v:\n%s", limit, r.tail(20))
}

// shutdownReport is how the runner stopped.
type shutdownReport struct {
	done     bool
	took     time.Duration
	signaled bool // SIGINT was enough
	exitErr  error
	busy     []int // ports still accepting connections afterwards
}

func (s shutdownReport) clean() bool {
	return s.signaled && s.exitErr == nil && len(s.busy) == 0
}

func (s shutdownReport) String() string {
	var b strings.Builder
	switch {
	case !s.signaled:
		fmt.Fprintf(&b, "did not stop on SIGINT within %v; killed", stopWait)
	case s.exitErr != nil:
		fmt.Fprintf(&b, "on SIGINT in %v, but exited with %v", s.took, s.exitErr)
	default:
		fmt.Fprintf(&b, "on SIGINT in %v, exit 0", s.took)
	}
	if len(s.busy) > 0 {
		fmt.Fprintf(&b, "; ports still in use: %v", s.busy)
	} else {
		b.WriteString("; its ports are free")
	}
	return b.String()
}

// stopWait bounds the runner's shutdown: its HTTP server drains for up to
// 5 s and each emulator gets 5 s before SIGKILL.
const stopWait = 30 * time.Second

// stop sends SIGINT, as Ctrl-C on `make run` does, waits for the runner to
// stop its emulators and exit, and checks that none of its ports is still
// served.
func (r *runner) stop() shutdownReport {
	var s shutdownReport
	start := time.Now()
	select {
	case <-r.done:
		s.signaled, s.exitErr = true, fmt.Errorf("it had already exited: %v", r.waitErr)
	default:
		_ = r.cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.done:
			s.signaled, s.exitErr = true, r.waitErr
		case <-time.After(stopWait):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
	}
	s.took = time.Since(start).Round(10 * time.Millisecond)
	for _, p := range r.ports {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second); err == nil {
			c.Close()
			s.busy = append(s.busy, p)
		}
	}
	return s
}

// tail returns the last n lines of the runner's log.
func (r *runner) tail(n int) string {
	data, _ := os.ReadFile(r.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logSummary is what the runner's log says about the soak.
type logSummary struct {
	errors, warnings int
	samples          []string       // the first ERROR and WARN lines
	gatewayWrites    map[string]int // the webhook's bookkeeping: touched, touch_failed, …
}

// summary reads the runner's log. Its lines carry no secrets: request
// lines name method, route and status, and the webhook's never carry the
// secret or the update's text.
func (r *runner) summary(n int) logSummary {
	sum := logSummary{gatewayWrites: map[string]int{}}
	f, err := os.Open(r.logPath)
	if err != nil {
		return sum
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if _, rest, ok := bytes.Cut(line, []byte(`"gatewayWrite":"`)); ok {
			if v, _, ok := bytes.Cut(rest, []byte(`"`)); ok {
				sum.gatewayWrites[string(v)]++
			}
		}
		switch {
		case bytes.Contains(line, []byte(`"level":"ERROR"`)):
			sum.errors++
		case bytes.Contains(line, []byte(`"level":"WARN"`)):
			sum.warnings++
		default:
			continue
		}
		if len(sum.samples) < n {
			sum.samples = append(sum.samples, string(line))
		}
	}
	return sum
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// platform Go supports.
const clockTick = 10 * time.Millisecond

// cpu is the CPU time the runner and its children (the emulators) have
// used so far, from /proc; ok is false where /proc cannot tell.
func (r *runner) cpu() (d time.Duration, ok bool) {
	pid := r.cmd.Process.Pid
	pids := []int{pid}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			return 0, false
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return 0, false
		}
		// The command name may hold spaces; the fields after it start
		// with the state, so utime and stime (fields 14 and 15) are
		// the 12th and 13th.
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if i < 0 || len(f) < 13 {
			return 0, false
		}
		for _, s := range f[11:13] {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, false
			}
			d += time.Duration(n) * clockTick
		}
	}
	return d, true
}

// selfCPU is the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
