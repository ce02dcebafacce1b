// Package emulator starts and supervises the local stand-ins for AWS that
// Gatehouse runs on a laptop and in tests: AWS's DynamoDB Local (on Java) and
// local-kms. Both are real implementations of the AWS wire protocols; the SDK
// reaches them through AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS.
//
// The tools are installed by scripts/install-tools.sh into .gatehouse/tools.
package emulator

import (
	"context"
	_ "embed" // the DynamoDB Local launcher
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/pkg/config"
)

// loopbackHost is the only address the emulators listen on: they hold a
// developer's tables and the key that opens real credentials, and must not
// be reachable from the network (README, "Local development").
const loopbackHost = "127.0.0.1"

// dynamoDBLauncher starts DynamoDB Local on loopbackHost; see the file.
//
//go:embed dynamodb-loopback.xml
var dynamoDBLauncher string

// Process is a running emulator.
type Process struct {
	Name     string
	Endpoint string // http://127.0.0.1:<port>
	Port     int
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
}

// Stop ends the emulator and its children and waits for it to exit.
func (p *Process) Stop() error {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return nil
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// RootDir returns the repository root: $GATEHOUSE_ROOT, or the nearest parent
// of the working directory that holds go.mod and scripts/install-tools.sh.
func RootDir() (string, error) {
	if d := config.FromOS().String("GATEHOUSE_ROOT", ""); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "install-tools.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("emulator: repository root not found (set GATEHOUSE_ROOT)")
		}
		dir = parent
	}
}

// ToolsDir returns where scripts/install-tools.sh puts the tools.
func ToolsDir() (string, error) {
	if d := config.FromOS().String("GATEHOUSE_TOOLS", ""); d != "" {
		return d, nil
	}
	root, err := RootDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".gatehouse", "tools"), nil
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DynamoDBOptions configures DynamoDB Local.
type DynamoDBOptions struct {
	Port int // 0 picks a free port
	// DBPath keeps the data in this folder; empty runs in memory.
	DBPath string
	// Log receives the emulator's output; nil discards it.
	Log io.Writer
}

// StartDynamoDB starts DynamoDB Local with -sharedDb and waits until it
// answers. It refuses an installation that is not the pinned release
// (VerifyDynamoDBLocal).
func StartDynamoDB(ctx context.Context, o DynamoDBOptions) (*Process, error) {
	tools, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tools, "dynamodb-local")
	jar := filepath.Join(dir, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("emulator: DynamoDB Local not installed at %s (run scripts/install-tools.sh): %w", dir, err)
	}
	if err := VerifyDynamoDBLocal(dir); err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("emulator: java not found (run scripts/install-tools.sh): %w", err)
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	// DynamoDB Local's own arguments. -disableTelemetry: a local emulator
	// has no business reporting to AWS.
	ddbArgs := []string{"-port", strconv.Itoa(o.Port), "-sharedDb", "-disableTelemetry"}
	if o.DBPath == "" {
		ddbArgs = append(ddbArgs, "-inMemory")
	} else {
		if err := os.MkdirAll(o.DBPath, 0o755); err != nil {
			return nil, err
		}
		ddbArgs = append(ddbArgs, "-dbPath", o.DBPath)
	}
	for _, a := range ddbArgs {
		if strings.Contains(a, "\n") {
			return nil, fmt.Errorf("emulator: DynamoDB Local argument %q holds a line break", a)
		}
	}
	// Not -jar: its main listens on every interface. The launcher
	// (dynamodb-loopback.xml) starts the same server on loopback only.
	launcher, err := os.CreateTemp("", "gatehouse-dynamodb-*.xml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(launcher.Name()) // read once, at start-up
	if _, err := launcher.WriteString(dynamoDBLauncher); err != nil {
		launcher.Close()
		return nil, err
	}
	if err := launcher.Close(); err != nil {
		return nil, err
	}
	args := []string{"-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-cp", jar, "org.eclipse.jetty.xml.XmlConfiguration",
		"dynamodb.args=" + strings.Join(ddbArgs, "\n"), "dynamodb.host=" + loopbackHost,
		launcher.Name()}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	p, err := start("dynamodb-local", cmd, o.Port, o.Log)
	if err != nil {
		return nil, err
	}
	// DynamoDB answers any POST; a 400 for a missing target proves it is up.
	if err := p.waitHTTP(ctx, 60*time.Second, func(c *http.Client) error {
		req, _ := http.NewRequest(http.MethodPost, p.Endpoint, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// KMSOptions configures local-kms.
type KMSOptions struct {
	Port int // 0 picks a free port
	// DataPath is where local-kms keeps its keys; required (it would
	// otherwise write to /tmp/local-kms).
	DataPath string
	Log      io.Writer
}

// StartKMS starts local-kms and waits until it answers. The binary is
// Gatehouse's own main around local-kms (tools/local-kms), which listens on
// loopback only; upstream's listens on every interface.
func StartKMS(ctx context.Context, o KMSOptions) (*Process, error) {
	tools, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(tools, "bin", "local-kms")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("emulator: local-kms not installed at %s (run scripts/install-tools.sh): %w", bin, err)
	}
	if o.DataPath == "" {
		return nil, errors.New("emulator: KMSOptions.DataPath is required")
	}
	if err := os.MkdirAll(o.DataPath, 0o700); err != nil {
		return nil, err
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(bin,
		"-listen", net.JoinHostPort(loopbackHost, strconv.Itoa(o.Port)),
		"-data", o.DataPath,
		"-region", Region,
		"-account", "111122223333",
	)
	// The same settings as upstream's main reads them, so that a binary
	// installed before tools/local-kms still serves the tests (on every
	// interface: TestEmulatorsListenOnLoopbackOnly fails until
	// scripts/install-tools.sh, which make run and make test call, has
	// rebuilt it).
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(o.Port),
		"KMS_DATA_PATH="+o.DataPath,
		"KMS_SEED_PATH="+filepath.Join(o.DataPath, "no-seed.yaml"),
		"KMS_REGION="+Region,
		"KMS_ACCOUNT_ID=111122223333",
	)
	p, err := start("local-kms", cmd, o.Port, o.Log)
	if err != nil {
		return nil, err
	}
	if err := p.waitHTTP(ctx, 30*time.Second, func(c *http.Client) error {
		req, _ := http.NewRequest(http.MethodPost, p.Endpoint, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func start(name string, cmd *exec.Cmd, port int, log io.Writer) (*Process, error) {
	if log == nil {
		log = io.Discard
	}
	cmd.Stdout = log
	cmd.Stderr = log
	// Own process group, so Stop reaches the JVM's children too; and die with
	// the parent, so a crashed test binary leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("emulator: start %s: %w", name, err)
	}
	p := &Process{Name: name, Port: port, Endpoint: "http://" + net.JoinHostPort(loopbackHost, strconv.Itoa(port)), cmd: cmd, done: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *Process) waitHTTP(ctx context.Context, limit time.Duration, probe func(*http.Client) error) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("emulator: %s exited before answering: %v", p.Name, p.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if last = probe(c); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("emulator: %s did not answer on %s within %s: %v", p.Name, p.Endpoint, limit, last)
}
