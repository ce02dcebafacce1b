package emulator_test

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/infra/emulator"
	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

// nonLoopbackIPv4 returns an address of this machine that is not
// loopback: where another machine of the network would connect.
func nonLoopbackIPv4(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address to connect to")
	return nil
}

// TestEmulatorsListenOnLoopbackOnly: DynamoDB Local and local-kms, as
// StartDynamoDB and StartKMS run them, accept connections on 127.0.0.1
// and refuse them on this machine's network address (which is what
// another machine of the network would reach), and on ::1.
func TestEmulatorsListenOnLoopbackOnly(t *testing.T) {
	env := emutest.Start(t)
	lan := nonLoopbackIPv4(t)
	for _, p := range []*emulator.Process{env.DynamoDB, env.KMS} {
		t.Run(p.Name, func(t *testing.T) {
			port := strconv.Itoa(p.Port)
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 2*time.Second)
			if err != nil {
				t.Fatalf("127.0.0.1:%s: %v", port, err)
			}
			c.Close()
			for _, ip := range []string{lan.String(), "::1"} {
				addr := net.JoinHostPort(ip, port)
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err == nil {
					c.Close()
					t.Errorf("%s accepted a connection on %s: it listens beyond loopback (a local-kms installed before tools/local-kms does: run scripts/install-tools.sh)", p.Name, addr)
					continue
				}
				if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.EADDRNOTAVAIL) && !errors.Is(err, syscall.ENETUNREACH) {
					t.Logf("%s on %s: %v (not accepted)", p.Name, addr, err)
				}
			}
		})
	}
}
