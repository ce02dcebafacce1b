// Package emutest gives tests a DynamoDB Local and a local-kms, started once
// per test binary on free ports.
//
// Under `make test` (GATEHOUSE_INTEGRATION=1) an emulator that cannot start
// fails the test loudly. Run by hand without that variable, tests that need
// the emulators skip with a message saying how to run them.
package emutest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/pkg/config"
)

// Env is a running pair of emulators.
type Env struct {
	DynamoDB *emulator.Process
	KMS      *emulator.Process
	// Dir holds local-kms's data (DynamoDB Local keeps its tables in memory).
	Dir string
	log *lockedBuffer
}

var (
	once   sync.Once
	shared *Env
	errEnv error
)

// Required reports whether integration tests must run (make test sets it).
func Required() bool { return config.FromOS().Bool("GATEHOUSE_INTEGRATION", false) }

// Start returns the emulators of this test binary, starting them on first use.
// It fails tb when they cannot start under make test, and skips otherwise.
func Start(tb testing.TB) *Env {
	tb.Helper()
	once.Do(func() { shared, errEnv = start() })
	if errEnv != nil {
		if Required() {
			tb.Fatalf("emutest: emulators did not start: %v", errEnv)
		}
		tb.Skipf("emutest: emulators unavailable (%v); run `make test` to install and start them", errEnv)
	}
	return shared
}

// Main runs the tests of a package and stops the emulators afterwards.
// Use it from TestMain: func TestMain(m *testing.M) { emutest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop ends the emulators of this test binary if a test started them. It is
// for a TestMain that has more to do after m.Run than Main allows (such as
// a final scan of everything the tests logged), and must run after every
// test has finished.
func Stop() {
	if shared != nil {
		shared.Stop()
	}
}

func start() (*Env, error) {
	dir, err := os.MkdirTemp("", "gatehouse-emu-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, log: &lockedBuffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// In memory: the tables live only as long as this test binary, so
	// nothing is gained by writing them to disk, where every write is a
	// journalled SQLite commit. The engine and its answers are the same;
	// under -race, pkg/httpapi's TestTenancyProperty took 64 s on disk and
	// 23 s in memory. Tests that restart DynamoDB Local and need its data
	// to survive start their own with a DBPath.
	e.DynamoDB, err = emulator.StartDynamoDB(ctx, emulator.DynamoDBOptions{Log: e.log})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, e.log.String())
	}
	e.KMS, err = emulator.StartKMS(ctx, emulator.KMSOptions{DataPath: filepath.Join(dir, "kms"), Log: e.log})
	if err != nil {
		e.DynamoDB.Stop()
		return nil, fmt.Errorf("%w\n%s", err, e.log.String())
	}
	return e, nil
}

// Stop ends both emulators and removes their data.
func (e *Env) Stop() {
	e.DynamoDB.Stop()
	e.KMS.Stop()
	os.RemoveAll(e.Dir)
}

// AWSConfig is an SDK configuration with static credentials for the
// emulators (emulator.AWSConfig without endpoints: clients name theirs).
func AWSConfig() aws.Config { return emulator.AWSConfig(nil) }

// DynamoDBClient returns a client for the DynamoDB emulator.
func (e *Env) DynamoDBClient(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(AWSConfig(), append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(e.DynamoDB.Endpoint)
	}}, optFns...)...)
}

// KMSClient returns a client for the KMS emulator.
func (e *Env) KMSClient(optFns ...func(*kms.Options)) *kms.Client {
	return kms.NewFromConfig(AWSConfig(), append([]func(*kms.Options){func(o *kms.Options) {
		o.BaseEndpoint = aws.String(e.KMS.Endpoint)
	}}, optFns...)...)
}

// TempDir returns a folder for an emulator's data that is removed when tb
// ends: under /dev/shm when the machine has that memory-backed folder, else
// tb.TempDir(). A test that stops DynamoDB Local and starts it again on the
// same data needs the data to outlive the process, not the machine; on disk
// every write waits for a journalled SQLite commit (pkg/telegramhook's
// TestFault under -race, side by side on a busy 2-core machine: 37 s on
// disk, 31 s under /dev/shm).
func TempDir(tb testing.TB) string {
	tb.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "gatehouse-test-"); err == nil {
			tb.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return tb.TempDir()
}

// UniqueName returns a name for a table or alias that no other test uses.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), os.Getpid())
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
