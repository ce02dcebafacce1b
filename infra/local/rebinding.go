package local

import (
	"net"
	"net/http"
	"strings"
)

// devTokenRefusal says why r may not have a development token, or returns
// "" when it may. The sign-in mints a token for anyone who asks, so it
// must answer only pages of this machine's own runner:
//
//   - Host must name loopback (127.0.0.0/8, ::1 or localhost, any port).
//     A DNS-rebinding page (attacker.example, re-pointed at 127.0.0.1 after
//     the page loaded) reaches the runner with its own name in Host, and a
//     request to a LAN address comes from another machine.
//   - Origin, when the browser sends one, must be the origin the request
//     was addressed to, http://<Host>: any other page, even one served on
//     another loopback port, and the opaque origin "null" are refused.
//     Requests without Origin (curl, `make token`'s callers, same-origin
//     GETs) are not browsers acting for another site.
func devTokenRefusal(r *http.Request) string {
	if !loopbackHost(r.Host) {
		return "The development sign-in answers only requests addressed to this machine's loopback (Host 127.0.0.1, ::1 or localhost)."
	}
	if origin, ok := r.Header["Origin"]; ok {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		if len(origin) != 1 || !strings.EqualFold(origin[0], scheme+r.Host) {
			return "The development sign-in answers only the runner's own pages (Origin must be the runner's origin)."
		}
	}
	return ""
}

// loopbackHost reports whether a Host header value names loopback: an
// IP literal in 127.0.0.0/8 or ::1, or the name localhost, with or without
// a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
