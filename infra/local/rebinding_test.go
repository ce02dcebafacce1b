package local

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/edge"
	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// TestDevTokenRefusesForeignHostsAndOrigins: the development sign-in
// mints tokens only for requests addressed to loopback by name or number
// (a DNS-rebinding page reaches it under its own host name) and, when the
// browser says where the request comes from, only from the runner's own
// origin (any other page, even one on loopback, is refused).
func TestDevTokenRefusesForeignHostsAndOrigins(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		host   string
		origin string // "" sends none
		want   int
	}{
		{name: "127.0.0.1 with port", host: "127.0.0.1:3000", want: 200},
		{name: "127.0.0.1 without port", host: "127.0.0.1", want: 200},
		{name: "localhost", host: "localhost:3000", want: 200},
		{name: "LOCALHOST", host: "LOCALHOST:3000", want: 200},
		{name: "::1", host: "[::1]:3000", want: 200},
		{name: "own origin", host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000", want: 200},
		{name: "own origin by name", host: "localhost:5173", origin: "http://localhost:5173", want: 200},
		{name: "rebound name", host: "attacker.example:3000", want: 403},
		{name: "rebound name, own-looking origin", host: "attacker.example:3000", origin: "http://attacker.example:3000", want: 403},
		{name: "localhost subdomain", host: "localhost.attacker.example:3000", want: 403},
		{name: "LAN address", host: "192.168.1.20:3000", want: 403},
		{name: "any address", host: "0.0.0.0:3000", want: 403},
		{name: "empty host", host: "", want: 403},
		{name: "foreign origin", host: "127.0.0.1:3000", origin: "https://attacker.example", want: 403},
		{name: "other loopback port", host: "127.0.0.1:3000", origin: "http://127.0.0.1:8080", want: 403},
		{name: "other loopback name", host: "127.0.0.1:3000", origin: "http://localhost:3000", want: 403},
		{name: "other scheme", host: "127.0.0.1:3000", origin: "https://127.0.0.1:3000", want: 403},
		{name: "opaque origin", host: "127.0.0.1:3000", origin: "null", want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}}
			if tt.origin != "" {
				header.Set("Origin", tt.origin)
			}
			w := f.doHost(t, tt.host, "POST", DevTokenPath, strings.NewReader(`{"sub":"alice"}`), header)
			if w.Code != tt.want {
				body := w.Body.String()
				if w.Code == 200 {
					body = "(a token)"
				}
				t.Fatalf("Host %q Origin %q: status %d, want %d; body %s", tt.host, tt.origin, w.Code, tt.want, body)
			}
			if tt.want == 200 {
				var resp tokenResponse
				if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Token == "" {
					t.Fatalf("no token: %v %s", err, w.Body)
				}
				registerToken(resp.Token)
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p edge.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != edge.ProblemTypeBase+gateway.CodeForbidden || p.Status != 403 || p.Detail == "" {
				t.Errorf("problem = %+v", p)
			}
			if strings.Contains(w.Body.String(), "token\"") {
				t.Errorf("a refusal carries a token: %s", w.Body)
			}
		})
	}
}
