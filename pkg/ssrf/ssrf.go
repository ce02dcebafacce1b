// Package ssrf keeps outbound requests to user-supplied URLs (an AI
// provider's baseUrl, a webhook url) away from the network Gatehouse runs in:
// loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 with the
// cloud metadata endpoint 169.254.169.254, fe80::/10), shared address space
// (CGNAT, 100.64.0.0/10), unspecified, multicast and reserved addresses, in
// their IPv4 and IPv6 spellings (IPv4-mapped, IPv4-compatible, NAT64, 6to4),
// and the IPv6 prefixes that hand traffic to an IPv4 network we cannot see
// into (SIIT's ::ffff:0:0:0/96, Teredo's 2001::/32), whatever they carry.
// An IPv4 host may be written as browsers and inet_aton read it — decimal
// (2130706433), hex (0x7f000001, 0x7f.0.0.1), octal (0177.0.0.1) or short
// (127.1) — and both checks read it so.
//
// Ports: requests go only to the ports in Guard.Ports — 80, 443 and
// Ollama's 11434 by default, OUTBOUND_PORTS in main — so that a URL cannot
// point Gatehouse at a mail, database or SSH port of a public host. Like
// private addresses, every port is allowed with AllowPrivate.
//
// The check runs at dial time, on the address actually being connected to,
// after DNS resolution: a name that resolves to a public address when the
// gateway is created and to 127.0.0.1 later (DNS rebinding) is still refused.
// Redirects are dialled through the same guard, so they are re-checked too.
// CheckURL is the earlier, cheaper check for create and update time: it
// refuses literal addresses and names such as "localhost"; other names are
// only known to be safe when they are dialled.
//
// The guard is a value configured by main: the environment variable
// GATEHOUSE_ALLOW_PRIVATE_NETWORKS is read there, never here.
package ssrf

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxRedirects is how many redirects a guarded client follows.
const MaxRedirects = 3

// ErrTooManyRedirects is returned (wrapped in a *url.Error) by a guarded
// client when a response would need a fourth redirect.
var ErrTooManyRedirects = errors.New("stopped after 3 redirects")

// Categories of refused addresses, as they appear in BlockedError messages.
const (
	CategoryLoopback    = "loopback"
	CategoryPrivate     = "private network"
	CategoryLinkLocal   = "link-local"
	CategoryShared      = "shared address space"
	CategoryUnspecified = "unspecified address"
	CategoryMulticast   = "multicast"
	CategoryReserved    = "reserved address"
	// CategoryPort is a refused destination port, not an address.
	CategoryPort = "port"
)

// DefaultPorts returns the destination ports a Guard with no Ports
// allows: HTTP, HTTPS, and Ollama's API (11434), the one provider users
// run on a port of its own.
func DefaultPorts() []uint16 { return []uint16{80, 443, 11434} }

// BlockedError is the refusal of a destination address or port. Its
// message is safe to show a user: "destination address is not allowed:
// private network", or "destination port is not allowed: 8080 (allowed:
// 80, 443, 11434)".
type BlockedError struct {
	// Addr is the refused address; the zero Addr for a refused name such as
	// "localhost", or for a refused port of a name.
	Addr netip.Addr
	// Category is one of the Category* constants.
	Category string
	// Port is the refused port when Category is CategoryPort, and Allowed
	// the ports that would have been allowed.
	Port    uint16
	Allowed []uint16
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *BlockedError) Error() string {
	if e.Category == CategoryPort {
		allowed := make([]string, len(e.Allowed))
		for i, p := range e.Allowed {
			allowed[i] = strconv.Itoa(int(p))
		}
		return "destination port is not allowed: " + strconv.Itoa(int(e.Port)) + " (allowed: " + strings.Join(allowed, ", ") + ")"
	}
	return "destination address is not allowed: " + e.Category
}

// URLError reports a URL that is malformed for an outbound request. Its
// message never repeats the URL, which may carry secrets in its query.
type URLError struct {
	Reason string
}

// Error returns a message safe to show the gateway's owner: it holds no
// credential and no request URL.
func (e *URLError) Error() string { return "invalid URL: " + e.Reason }

// Resolver looks up a host's addresses. *net.Resolver implements it; tests
// substitute a map so that no lookup leaves the machine.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard decides which destination addresses outbound requests may reach. The
// zero Guard refuses every non-public address and resolves with
// net.DefaultResolver. A Guard is a value: copy it freely, do not change it
// while a client built from it is in use.
type Guard struct {
	// AllowPrivate turns the guard off: every address and every port may
	// be dialled. The operator asks for it with
	// GATEHOUSE_ALLOW_PRIVATE_NETWORKS=true (the local runner does, so that
	// Ollama on localhost works).
	AllowPrivate bool
	// Allow lists prefixes that stay reachable, on any port, while the
	// others are refused; tests use it to reach stand-ins on 127.0.0.1's
	// random ports and nothing else.
	Allow []netip.Prefix
	// Ports lists the destination ports allowed; nil means DefaultPorts.
	// The operator sets it with OUTBOUND_PORTS.
	Ports []uint16
	// Resolver resolves host names before dialling; nil means
	// net.DefaultResolver.
	Resolver Resolver
}

type deniedPrefix struct {
	prefix   netip.Prefix
	category string
}

var denied = []deniedPrefix{
	{netip.MustParsePrefix("0.0.0.0/8"), CategoryUnspecified},
	{netip.MustParsePrefix("10.0.0.0/8"), CategoryPrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), CategoryShared},
	{netip.MustParsePrefix("127.0.0.0/8"), CategoryLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), CategoryLinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), CategoryPrivate},
	{netip.MustParsePrefix("192.0.0.0/24"), CategoryReserved},
	{netip.MustParsePrefix("192.168.0.0/16"), CategoryPrivate},
	{netip.MustParsePrefix("198.18.0.0/15"), CategoryReserved},
	{netip.MustParsePrefix("224.0.0.0/4"), CategoryMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), CategoryReserved}, // includes 255.255.255.255
	{netip.MustParsePrefix("::/128"), CategoryUnspecified},
	{netip.MustParsePrefix("::1/128"), CategoryLoopback},
	// SIIT's IPv4-translated addresses (RFC 2765, ::ffff:0:a.b.c.d), not
	// IPv4-mapped ones (::ffff:a.b.c.d, unmapped above): a translator
	// forwards them to an IPv4 address no check here sees.
	{netip.MustParsePrefix("::ffff:0:0:0/96"), CategoryReserved},
	// Teredo (RFC 4380): a relay tunnels it to the (obfuscated) IPv4
	// client it names; long obsolete, so refused whole rather than decoded.
	{netip.MustParsePrefix("2001::/32"), CategoryReserved},
	{netip.MustParsePrefix("64:ff9b:1::/48"), CategoryPrivate}, // local-use NAT64
	{netip.MustParsePrefix("fc00::/7"), CategoryPrivate},
	{netip.MustParsePrefix("fe80::/10"), CategoryLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), CategoryPrivate}, // deprecated site-local
	{netip.MustParsePrefix("ff00::/8"), CategoryMulticast},
}

// IPv6 forms that carry an IPv4 address a router or the kernel may reach.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	v4Compat   = netip.MustParsePrefix("::/96")
	loopbackV4 = netip.MustParseAddr("127.0.0.1")
)

// Category returns the category of a non-public address and true, or ""
// and false for an address a public request may reach.
func Category(ip netip.Addr) (string, bool) {
	ip = ip.WithZone("").Unmap()
	if !ip.IsValid() {
		return CategoryUnspecified, true
	}
	for _, d := range denied {
		if d.prefix.Contains(ip) {
			return d.category, true
		}
	}
	if ip.Is6() {
		if v4, ok := embeddedV4(ip); ok {
			return Category(v4)
		}
	}
	return "", false
}

// embeddedV4 extracts the IPv4 address inside NAT64, 6to4 and deprecated
// IPv4-compatible IPv6 addresses, which reach that IPv4 address.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip), v4Compat.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// Check returns a *BlockedError if g refuses ip, and nil otherwise.
func (g Guard) Check(ip netip.Addr) error {
	if g.AllowPrivate || g.allowListed(ip) {
		return nil
	}
	if c, bad := Category(ip); bad {
		return &BlockedError{Addr: ip.WithZone("").Unmap(), Category: c}
	}
	return nil
}

func (g Guard) allowListed(ip netip.Addr) bool {
	plain := ip.WithZone("").Unmap()
	for _, p := range g.Allow {
		if p.Contains(plain) {
			return true
		}
	}
	return false
}

// CheckPort returns a *BlockedError (CategoryPort) if g refuses port on
// ip, and nil otherwise; ip is the zero Addr for a name not yet resolved.
// Every port is allowed with AllowPrivate and on an address in Allow.
func (g Guard) CheckPort(ip netip.Addr, port uint16) error {
	if g.AllowPrivate || (ip.IsValid() && g.allowListed(ip)) {
		return nil
	}
	allowed := g.Ports
	if allowed == nil {
		allowed = DefaultPorts()
	}
	if slices.Contains(allowed, port) {
		return nil
	}
	return &BlockedError{Addr: ip.WithZone("").Unmap(), Category: CategoryPort, Port: port, Allowed: slices.Clone(allowed)}
}

// checkAddrPort is Check, then CheckPort: an address refusal says more.
func (g Guard) checkAddrPort(ip netip.Addr, port uint16) error {
	if err := g.Check(ip); err != nil {
		return err
	}
	return g.CheckPort(ip, port)
}

// Control is a net.Dialer Control hook: it refuses, before any packet is
// sent, a connection to an address or port g does not allow. It returns a
// *BlockedError, or a *URLError when address is not "ip:port".
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &URLError{Reason: "dial address is not an IP address and port"}
	}
	return g.checkAddrPort(ap.Addr(), ap.Port())
}

// DialContext resolves address with g's resolver and dials the allowed
// addresses in turn (IPv4 first), each through Control. It returns the last
// dial error, a *BlockedError when every address is refused, or the
// resolver's *net.DNSError.
func (g Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &URLError{Reason: "dial address has no port"}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &URLError{Reason: "dial address has an invalid port"}
	}
	ips, err := g.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Control: g.Control}
	var blockedErr, dialErr error
	for _, ip := range ips {
		if err := g.checkAddrPort(ip, uint16(port)); err != nil {
			blockedErr = err
			continue
		}
		conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		dialErr = err
		if ctx.Err() != nil {
			break
		}
	}
	if dialErr != nil {
		return nil, dialErr
	}
	if blockedErr != nil {
		return nil, blockedErr
	}
	return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
}

func (g Guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	ip, numeric, err := parseHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return nil, err
	}
	if numeric {
		return []netip.Addr{ip}, nil
	}
	ipNetwork := "ip"
	switch network {
	case "tcp4", "udp4":
		ipNetwork = "ip4"
	case "tcp6", "udp6":
		ipNetwork = "ip6"
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, ipNetwork, host)
	if err != nil {
		return nil, err
	}
	// IPv4 first: a host without an IPv6 route (most Lambdas) would otherwise
	// spend its deadline on an unreachable AAAA address.
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		switch {
		case a.Unmap().Is4() && !b.Unmap().Is4():
			return -1
		case !a.Unmap().Is4() && b.Unmap().Is4():
			return 1
		}
		return 0
	})
	return ips, nil
}

// Client returns an *http.Client whose every connection, redirects included,
// goes through g. It follows at most MaxRedirects redirects and drops
// credential headers when a redirect leaves the original host. It uses no
// proxy from the environment (a proxy would dial on our behalf, unchecked),
// and keeps no idle connections, so no goroutine outlives a request. The
// client has no overall timeout: callers bound each request with a context.
func (g Guard) Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableKeepAlives:     true,
		},
		CheckRedirect: checkRedirect,
	}
}

// credentialHeaders are removed on a redirect to another host. net/http
// already drops Authorization and Cookie; API keys travel in custom headers
// it does not know about.
var credentialHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key", "X-Goog-Api-Key"}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return ErrTooManyRedirects
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &URLError{Reason: "redirect to a scheme other than http or https"}
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		for _, h := range credentialHeaders {
			req.Header.Del(h)
		}
	}
	return nil
}

// CheckURL validates a user-supplied URL when it is stored: scheme http or
// https, a host, no user:password, a valid port that g allows (the
// scheme's when none is written), and a destination g allows when the
// host is a literal address — in any spelling parseHost reads — or a name
// that always means this machine ("localhost", "*.localhost"). Other names
// are checked when dialled. It returns a *URLError or a *BlockedError.
func (g Guard) CheckURL(raw string) error {
	return g.checkURL(raw, true)
}

func (g Guard) checkURL(raw string, ports bool) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return &URLError{Reason: "it does not parse"}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &URLError{Reason: "the scheme must be http or https"}
	}
	if u.User != nil {
		return &URLError{Reason: "it must not contain a user name or password"}
	}
	host := u.Hostname()
	if host == "" {
		return &URLError{Reason: "it has no host"}
	}
	port := uint16(80)
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return &URLError{Reason: "the port is invalid"}
		}
		port = uint16(n)
	}
	ip, numeric, err := parseHost(host)
	if err != nil {
		return err
	}
	if !numeric {
		name := strings.ToLower(strings.TrimSuffix(host, "."))
		if name == "localhost" || strings.HasSuffix(name, ".localhost") {
			ip = loopbackV4
		}
	}
	if ip.IsValid() {
		if err := g.Check(ip); err != nil {
			return err
		}
	}
	if ports {
		return g.CheckPort(ip, port)
	}
	return nil
}

// CheckURL is Guard{AllowPrivate: allowPrivate}.CheckURL(raw) without the
// port rule: the create-time check of a user-supplied URL that another
// service fetches (a photo URL Telegram downloads), whose port is that
// service's business. It returns a *URLError or a *BlockedError.
func CheckURL(raw string, allowPrivate bool) error {
	return Guard{AllowPrivate: allowPrivate}.checkURL(raw, false)
}

// parseHost reads a URL's host (without brackets) as an address, as a
// browser would: an IPv6 or dotted-decimal address, or an IPv4 address in
// the WHATWG URL Standard's other spellings (parseIPv4). numeric is false
// for a name. A host that ends in a number but is no IPv4 address
// ("1.2.3.256", "example.0x7f") is a *URLError: browsers refuse it, and
// what a resolver makes of it depends on the resolver.
func parseHost(host string) (ip netip.Addr, numeric bool, err error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, true, nil
	}
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if last := parts[len(parts)-1]; !endsInNumber(last) {
		return netip.Addr{}, false, nil
	}
	ip, ok := parseIPv4(parts)
	if !ok {
		return netip.Addr{}, true, &URLError{Reason: "the host ends in a number but is not an IPv4 address"}
	}
	return ip, true, nil
}

// endsInNumber is the URL Standard's "ends in a number" test of a host's
// last label: all decimal digits, or a number in 0x hex.
func endsInNumber(label string) bool {
	if label == "" {
		return false
	}
	if strings.Trim(label, "0123456789") == "" {
		return true
	}
	_, ok := ipv4Number(label)
	return ok
}

// parseIPv4 is the URL Standard's IPv4 parser (what browsers and, through
// inet_aton, glibc's getaddrinfo accept): one to four parts, each decimal,
// 0x hex or 0-prefixed octal; all but the last at most 255, and the last
// filling the remaining bytes (127.1 is 127.0.0.1, 2130706433 is too).
func parseIPv4(parts []string) (netip.Addr, bool) {
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums []uint64
	for _, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums = append(nums, n)
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// ipv4Number reads one part of an IPv4 host: 0x hex ("0x" alone is 0),
// 0-prefixed octal, or decimal. Values past 2^32 are refused.
func ipv4Number(s string) (uint64, bool) {
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true
		}
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil || n > 1<<32 {
		return 0, false
	}
	return n, true
}
