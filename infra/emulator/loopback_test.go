package emulator_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
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
	return nil
}

// listeners returns the local addresses of the sockets listening on TCP
// port, as the kernel lists them in /proc/net/tcp and tcp6: what a
// process bound, whatever interfaces this machine has.
func listeners(t *testing.T, port int) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (the check reads the kernel's socket table)", err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			hexAddr, hexPort, ok := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); !ok || err != nil || int(p) != port {
				continue
			}
			// The address is printed as 32-bit words in the host's byte
			// order; in memory it is in network order.
			var b []byte
			for i := 0; i+8 <= len(hexAddr); i += 8 {
				w, err := strconv.ParseUint(hexAddr[i:i+8], 16, 32)
				if err != nil {
					t.Fatalf("%s: %q: %v", file, line, err)
				}
				b = binary.NativeEndian.AppendUint32(b, uint32(w))
			}
			a, ok := netip.AddrFromSlice(b)
			if !ok {
				t.Fatalf("%s: %q: not an address", file, line)
			}
			out = append(out, a.Unmap())
		}
	}
	return out
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
			// What the process bound, from the kernel: this holds on a
			// machine with no network address to dial as well.
			bound := listeners(t, p.Port)
			if len(bound) == 0 {
				t.Fatalf("no socket listens on port %d", p.Port)
			}
			for _, a := range bound {
				if a != netip.MustParseAddr("127.0.0.1") {
					t.Errorf("%s listens on %s port %d: beyond loopback (a local-kms installed before tools/local-kms does: run scripts/install-tools.sh)", p.Name, a, p.Port)
				}
			}
			port := strconv.Itoa(p.Port)
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 2*time.Second)
			if err != nil {
				t.Fatalf("127.0.0.1:%s: %v", port, err)
			}
			c.Close()
			dial := []string{"::1"}
			if lan != nil {
				dial = append(dial, lan.String())
			} else {
				t.Log("this machine has no non-loopback IPv4 address to dial; the kernel's socket table above is the check")
			}
			for _, ip := range dial {
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

// TestListenersReadsTheKernel: the socket-table check tells a wildcard
// listener (IPv4, or dual-stack where the machine has IPv6) from a
// loopback one.
func TestListenersReadsTheKernel(t *testing.T) {
	for _, tc := range []struct {
		network, address string
		wildcard         bool
	}{
		{network: "tcp4", address: "127.0.0.1:0"},
		{network: "tcp4", address: "0.0.0.0:0", wildcard: true},
		{network: "tcp", address: ":0", wildcard: true},
	} {
		t.Run(tc.network+" "+tc.address, func(t *testing.T) {
			l, err := net.Listen(tc.network, tc.address)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got := listeners(t, l.Addr().(*net.TCPAddr).Port)
			if len(got) != 1 || got[0].IsUnspecified() != tc.wildcard || (!tc.wildcard && got[0] != netip.MustParseAddr("127.0.0.1")) {
				t.Errorf("listeners = %v, want one, wildcard %v", got, tc.wildcard)
			}
		})
	}
}
