package ssrf

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mapResolver answers from a fixed table so that no test resolves a name
// over the network.
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := m[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func TestCategory(t *testing.T) {
	tests := []struct {
		ip   string
		want string // "" means allowed
	}{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700:4700::1111", ""},
		{"127.0.0.1", CategoryLoopback},
		{"127.255.0.9", CategoryLoopback},
		{"10.1.2.3", CategoryPrivate},
		{"172.16.0.1", CategoryPrivate},
		{"172.31.255.255", CategoryPrivate},
		{"172.32.0.1", ""},
		{"192.168.1.1", CategoryPrivate},
		{"169.254.169.254", CategoryLinkLocal},
		{"100.64.0.1", CategoryShared},
		{"100.127.255.255", CategoryShared},
		{"100.128.0.1", ""},
		{"0.0.0.0", CategoryUnspecified},
		{"224.0.0.1", CategoryMulticast},
		{"255.255.255.255", CategoryReserved},
		{"::", CategoryUnspecified},
		{"::1", CategoryLoopback},
		{"fd00::1", CategoryPrivate},
		{"fc00::1", CategoryPrivate},
		{"fe80::1", CategoryLinkLocal},
		{"fe80::1%eth0", CategoryLinkLocal},
		{"ff02::1", CategoryMulticast},
		{"::ffff:127.0.0.1", CategoryLoopback},
		{"::ffff:169.254.169.254", CategoryLinkLocal},
		{"::ffff:10.0.0.1", CategoryPrivate},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::a9fe:a9fe", CategoryLinkLocal}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::", CategoryLoopback},       // 6to4 of 127.0.0.1
		{"::7f00:1", CategoryLoopback},            // IPv4-compatible 127.0.0.1
		// SIIT's IPv4-translated addresses (RFC 2765), ::ffff:0:a.b.c.d,
		// unlike IPv4-mapped ::ffff:a.b.c.d, reach the IPv4 network
		// through a translator: refused whatever they carry.
		{"::ffff:0:7f00:1", CategoryReserved},
		{"::ffff:0:a9fe:a9fe", CategoryReserved},
		{"::ffff:0:808:808", CategoryReserved},
		// Teredo (RFC 4380) tunnels to an IPv4 client it encodes
		// (inverted): refused whatever it carries.
		{"2001::1", CategoryReserved},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", CategoryReserved},
		{"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", CategoryReserved},
		// Just outside those prefixes: public.
		{"2001:1::1", ""},
		{"2001:4860:4860::8888", ""},
		{"::fffe:0:7f00:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got, _ := Category(netip.MustParseAddr(tt.ip))
			if got != tt.want {
				t.Errorf("Category(%s) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestGuardCheck(t *testing.T) {
	tests := []struct {
		name  string
		guard Guard
		ip    string
		want  bool // allowed
	}{
		{"public", Guard{}, "93.184.216.34", true},
		{"loopback refused", Guard{}, "127.0.0.1", false},
		{"allow private", Guard{AllowPrivate: true}, "10.0.0.1", true},
		{"allow list hit", Guard{Allow: loopbackOnly}, "127.0.0.1", true},
		{"allow list mapped hit", Guard{Allow: loopbackOnly}, "::ffff:127.0.0.1", true},
		{"allow list miss", Guard{Allow: loopbackOnly}, "169.254.169.254", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.Check(netip.MustParseAddr(tt.ip))
			if got := err == nil; got != tt.want {
				t.Fatalf("Check(%s) = %v, want allowed=%v", tt.ip, err, tt.want)
			}
			var b *BlockedError
			if err != nil && !errors.As(err, &b) {
				t.Fatalf("error %T is not a *BlockedError", err)
			}
		})
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	err := Guard{}.Check(netip.MustParseAddr("10.0.0.1"))
	if got, want := err.Error(), "destination address is not allowed: private network"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestControl(t *testing.T) {
	tests := []struct {
		address string
		want    bool
	}{
		{"93.184.216.34:443", true},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"example.com:80", false}, // Control only ever sees resolved addresses
		{"93.184.216.34:80", true},
		{"93.184.216.34:11434", true},
		{"93.184.216.34:8080", false}, // not an allowed port
		{"93.184.216.34:22", false},
		{"[2606:4700:4700::1111]:6379", false},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			err := Guard{}.Control("tcp", tt.address, nil)
			if got := err == nil; got != tt.want {
				t.Errorf("Control(%s) = %v, want allowed=%v", tt.address, err, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url          string
		allowPrivate bool
		wantBlocked  bool
		wantInvalid  bool
	}{
		{url: "https://api.openai.com/v1"},
		{url: "http://example.com:8080/hook"}, // ports are Guard.CheckURL's (TestGuardCheckURLPorts)
		{url: "https://hooks.example.com/x?token=abc"},
		{url: "http://127.0.0.1:11434", wantBlocked: true},
		{url: "http://127.0.0.1:11434", allowPrivate: true},
		{url: "http://10.1.2.3/", wantBlocked: true},
		{url: "http://192.168.0.10/", wantBlocked: true},
		{url: "http://169.254.169.254/latest/meta-data/", wantBlocked: true},
		{url: "http://[::1]:8080/", wantBlocked: true},
		{url: "http://[::ffff:127.0.0.1]/", wantBlocked: true},
		{url: "http://[fe80::1%25eth0]/", wantBlocked: true},
		{url: "http://100.64.1.1/", wantBlocked: true},
		{url: "http://0.0.0.0/", wantBlocked: true},
		{url: "http://localhost:11434", wantBlocked: true},
		{url: "http://LOCALHOST./", wantBlocked: true},
		{url: "http://api.localhost/", wantBlocked: true},
		{url: "http://localhost:11434", allowPrivate: true},
		{url: "ftp://example.com/", wantInvalid: true},
		{url: "file:///etc/passwd", wantInvalid: true},
		{url: "example.com/hook", wantInvalid: true},
		{url: "https:///nohost", wantInvalid: true},
		{url: "https://user:hunter2@example.com/", wantInvalid: true},
		{url: "https://example.com:99999/", wantInvalid: true},
		{url: "https://example.com:0/", wantInvalid: true},
		{url: "http://[::1", wantInvalid: true},
		// IPv4 in the spellings browsers, inet_aton and so getaddrinfo
		// accept: decimal, hex, octal, short and mixed.
		{url: "http://2130706433/", wantBlocked: true},
		{url: "http://0x7f000001/", wantBlocked: true},
		{url: "http://0X7F000001/", wantBlocked: true},
		{url: "http://0x7f.0.0.1/", wantBlocked: true},
		{url: "http://0177.0.0.1/", wantBlocked: true},
		{url: "http://0177.1/", wantBlocked: true},
		{url: "http://127.1/", wantBlocked: true},
		{url: "http://127.0.1/", wantBlocked: true},
		{url: "http://0x7f.1:11434/", wantBlocked: true},
		{url: "http://127.1./", wantBlocked: true},
		{url: "http://2852039166/latest/meta-data/", wantBlocked: true}, // 169.254.169.254
		{url: "http://0xa9fea9fe/", wantBlocked: true},
		{url: "http://0251.0376.0251.0376/", wantBlocked: true},
		{url: "http://169.254.43518/", wantBlocked: true},
		{url: "http://012.1.2.3/", wantBlocked: true},   // 10.1.2.3
		{url: "http://10.0x10203/", wantBlocked: true},  // 10.1.2.3
		{url: "http://0x0a.1.2.3/", wantBlocked: true},  // 10.1.2.3
		{url: "http://0/", wantBlocked: true},           // 0.0.0.0
		{url: "http://0x0/", wantBlocked: true},         // 0.0.0.0
		{url: "http://00000/", wantBlocked: true},       // 0.0.0.0
		{url: "http://2130706433/", allowPrivate: true}, // allowed, as 127.0.0.1 is
		{url: "http://134744072/"},                      // 8.8.8.8: public
		{url: "http://0x8.0x8.0x8.0x8/"},                // 8.8.8.8: public
		// Ends in a number but is no IPv4 address: browsers refuse the
		// URL; so does the check, rather than leave it to a resolver.
		{url: "http://4294967296/", wantInvalid: true},
		{url: "http://1.2.3.256/", wantInvalid: true},
		{url: "http://256.1.1.1/", wantInvalid: true},
		{url: "http://1.2.3.4.5/", wantInvalid: true},
		{url: "http://1..2/", wantInvalid: true},
		{url: "http://0x7g.0.0.1/", wantInvalid: true},
		{url: "http://08.0.0.1/", wantInvalid: true},
		{url: "http://example.0x7f/", wantInvalid: true},
		// Names with digits are names.
		{url: "https://1password.example/"},
		{url: "https://0x7f.example/"},
		{url: "https://api.v1.example/"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := CheckURL(tt.url, tt.allowPrivate)
			var b *BlockedError
			var u *URLError
			if got := errors.As(err, &b); got != tt.wantBlocked {
				t.Errorf("blocked = %v (%v), want %v", got, err, tt.wantBlocked)
			}
			if got := errors.As(err, &u); got != tt.wantInvalid {
				t.Errorf("invalid = %v (%v), want %v", got, err, tt.wantInvalid)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the URL", err)
			}
		})
	}
}

// TestGuardCheckURLPorts: a user-supplied URL must use an allowed port —
// 80, 443 and Ollama's 11434 by default, Guard.Ports when set — unless
// private networks are allowed. The port refused is named; the URL is not.
func TestGuardCheckURLPorts(t *testing.T) {
	tests := []struct {
		name        string
		guard       Guard
		url         string
		wantBlocked bool
	}{
		{name: "https default port", url: "https://api.example.com/v1"},
		{name: "http default port", url: "http://api.example.com/v1"},
		{name: "443 spelled out", url: "https://api.example.com:443/v1"},
		{name: "80 spelled out", url: "http://api.example.com:80/v1"},
		{name: "ollama's port", url: "http://ollama.example.com:11434"},
		{name: "443 over http", url: "http://api.example.com:443/"},
		{name: "8080 refused", url: "http://example.com:8080/hook", wantBlocked: true},
		{name: "ssh refused", url: "http://example.com:22/", wantBlocked: true},
		{name: "redis refused", url: "http://example.com:6379/", wantBlocked: true},
		{name: "literal public address, other port", url: "http://93.184.216.34:8443/", wantBlocked: true},
		{name: "literal IPv6, other port", url: "http://[2606:4700:4700::1111]:8080/", wantBlocked: true},
		{name: "configured port allowed", guard: Guard{Ports: []uint16{8443}}, url: "https://example.com:8443/"},
		{name: "configured list replaces the default", guard: Guard{Ports: []uint16{8443}}, url: "https://example.com/", wantBlocked: true},
		{name: "private networks allowed: any port", guard: Guard{AllowPrivate: true}, url: "http://example.com:8080/hook"},
		{name: "private networks allowed: loopback any port", guard: Guard{AllowPrivate: true}, url: "http://127.0.0.1:5432/"},
		{name: "allow-listed stand-in, any port", guard: Guard{Allow: loopbackOnly}, url: "http://127.0.0.1:54321/"},
		{name: "allow list covers addresses, not names", guard: Guard{Allow: loopbackOnly}, url: "http://example.com:54321/", wantBlocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.CheckURL(tt.url)
			var b *BlockedError
			if got := errors.As(err, &b); got != tt.wantBlocked {
				t.Fatalf("CheckURL(%s) = %v, want blocked %v", tt.url, err, tt.wantBlocked)
			}
			if err == nil {
				return
			}
			if b.Category != CategoryPort {
				t.Errorf("category %q, want %q", b.Category, CategoryPort)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "destination port is not allowed: ") || strings.Contains(msg, "example.com") {
				t.Errorf("message %q: want the port named and not the URL", msg)
			}
		})
	}
}

// TestClientRefusesPorts: the port rule holds when dialling too, after
// any redirect: a name that passed the create-time check cannot reach
// another port through a redirect. Nothing leaves the machine: the names
// resolve from a table and the port is refused before any dial.
func TestClientRefusesPorts(t *testing.T) {
	// An allow-listed stand-in whose answer redirects to a public name on
	// a port the list does not hold.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://public.example:8080/", http.StatusFound)
	}))
	defer origin.Close()
	guard := Guard{Allow: loopbackOnly, Resolver: mapResolver{"public.example": {netip.MustParseAddr("93.184.216.34")}}}
	tests := []struct {
		name string
		url  string
	}{
		{name: "direct", url: "http://public.example:8080/"},
		{name: "direct, ssh", url: "http://public.example:22/"},
		{name: "literal address", url: "http://93.184.216.34:6379/"},
		{name: "redirect to another port", url: origin.URL + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			resp, err := guard.Client().Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request succeeded, want the port refused")
			}
			var b *BlockedError
			if !errors.As(err, &b) || b.Category != CategoryPort {
				t.Fatalf("error = %v, want a port refusal", err)
			}
		})
	}
	t.Run("any port when private networks are allowed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") }))
		defer srv.Close()
		resp, err := Guard{AllowPrivate: true}.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

// TestClientReadsIPv4Spellings: the dial-time check reads a host in
// decimal, hex, octal or short IPv4 as the create-time check does (and
// as a resolver built on inet_aton would), so a refusal does not depend
// on which resolver the binary links.
func TestClientReadsIPv4Spellings(t *testing.T) {
	for _, host := range []string{"2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "127.1", "0xa9fea9fe"} {
		t.Run(host, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
			resp, err := Guard{Resolver: mapResolver{}}.Client().Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded, want a refusal")
			}
			var b *BlockedError
			if !errors.As(err, &b) || (b.Category != CategoryLoopback && b.Category != CategoryLinkLocal) {
				t.Fatalf("error = %v, want a loopback or link-local refusal", err)
			}
		})
	}
}

func TestClientRefusesNonPublicDestinations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "reached")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	portText := ":" + strconv.Itoa(port)

	guard := Guard{Resolver: mapResolver{
		"metadata.example": {netip.MustParseAddr("169.254.169.254")},
		"intranet.example": {netip.MustParseAddr("10.0.0.7")},
		"rebind.example":   {netip.MustParseAddr("127.0.0.1")},
		"v6local.example":  {netip.MustParseAddr("::1")},
		"mapped.example":   {netip.MustParseAddr("::ffff:127.0.0.1")},
	}}
	tests := []struct {
		url      string
		guard    Guard
		category string
	}{
		{"http://127.0.0.1" + portText, Guard{}, CategoryLoopback},
		{"http://10.0.0.1" + portText, Guard{}, CategoryPrivate},
		{"http://169.254.169.254/latest/meta-data/", Guard{}, CategoryLinkLocal},
		{"http://[::1]" + portText, Guard{}, CategoryLoopback},
		// localhost is answered from /etc/hosts by the default resolver.
		{"http://localhost" + portText, Guard{}, CategoryLoopback},
		{"http://metadata.example/", guard, CategoryLinkLocal},
		{"http://intranet.example/", guard, CategoryPrivate},
		{"http://rebind.example" + portText, guard, CategoryLoopback},
		{"http://v6local.example" + portText, guard, CategoryLoopback},
		{"http://mapped.example" + portText, guard, CategoryLoopback},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			resp, err := tt.guard.Client().Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("request to %s succeeded, want refusal", tt.url)
			}
			var b *BlockedError
			if !errors.As(err, &b) {
				t.Fatalf("error = %v, want a *BlockedError", err)
			}
			if b.Category != tt.category {
				t.Errorf("category = %q, want %q", b.Category, tt.category)
			}
		})
	}
}

func TestClientAllowsWhenPermitted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "reached")
	}))
	defer srv.Close()
	port := ":" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name  string
		guard Guard
		url   string
	}{
		{"allow private", Guard{AllowPrivate: true}, srv.URL},
		{"allow list", Guard{Allow: loopbackOnly}, srv.URL},
		{"resolved name in allow list", Guard{Allow: loopbackOnly, Resolver: mapResolver{"stand-in.example": {netip.MustParseAddr("127.0.0.1")}}}, "http://stand-in.example" + port},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.guard.Client().Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if got, want := string(body), "reached"; got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Api-Key")+"|"+r.Header.Get("X-Custom"))
	}))
	defer final.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/", http.StatusFound)
		case "/intranet":
			http.Redirect(w, r, "http://intranet.example/", http.StatusTemporaryRedirect)
		case "/elsewhere":
			http.Redirect(w, r, final.URL+"/", http.StatusFound)
		case "/same":
			io.WriteString(w, r.Header.Get("X-Api-Key"))
		default: // /hop/N redirects N more times, then answers
			n := 0
			for _, c := range strings.TrimPrefix(r.URL.Path, "/hop/") {
				n = n*10 + int(c-'0')
			}
			if n == 0 {
				http.Redirect(w, r, "/same", http.StatusFound)
				return
			}
			http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
		}
	}))
	defer origin.Close()

	guard := Guard{Allow: loopbackOnly, Resolver: mapResolver{"intranet.example": {netip.MustParseAddr("10.0.0.7")}}}
	client := guard.Client()

	get := func(path string) (string, error) {
		req, _ := http.NewRequest(http.MethodGet, origin.URL+path, nil)
		req.Header.Set("X-Api-Key", "sk-secret")
		req.Header.Set("X-Custom", "kept")
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}

	t.Run("redirect to metadata refused", func(t *testing.T) {
		_, err := get("/metadata")
		var b *BlockedError
		if !errors.As(err, &b) || b.Category != CategoryLinkLocal {
			t.Fatalf("error = %v, want link-local refusal", err)
		}
	})
	t.Run("redirect to name resolving to private refused", func(t *testing.T) {
		_, err := get("/intranet")
		var b *BlockedError
		if !errors.As(err, &b) || b.Category != CategoryPrivate {
			t.Fatalf("error = %v, want private refusal", err)
		}
	})
	t.Run("three redirects followed", func(t *testing.T) {
		// /hop/2 -> /hop/1 -> /hop/0 -> /same: three redirects.
		got, err := get("/hop/2")
		if err != nil {
			t.Fatal(err)
		}
		if got != "sk-secret" {
			t.Errorf("same-host redirect lost the key header: %q", got)
		}
	})
	t.Run("fourth redirect refused", func(t *testing.T) {
		_, err := get("/hop/3")
		if !errors.Is(err, ErrTooManyRedirects) {
			t.Fatalf("error = %v, want ErrTooManyRedirects", err)
		}
	})
	t.Run("credential headers dropped across hosts", func(t *testing.T) {
		got, err := get("/elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		if want := "|kept"; got != want {
			t.Errorf("other host saw %q, want %q", got, want)
		}
	})
}
