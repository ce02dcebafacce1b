package local

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/template"
)

// TestDashboardSendsTheDeployedPolicy: every answer of the local dashboard
// — the app shell, a client-side route, an asset, config.json — carries the
// Content-Security-Policy and security headers of the response-headers
// policy template.yaml deploys, with the API and the identity provider on
// the page's own origin (as config.json says), so the Chromium journey
// checks the dashboard under the policy production enforces. HSTS is left
// out: the runner speaks plain HTTP on loopback.
func TestDashboardSendsTheDeployedPolicy(t *testing.T) {
	tpl, err := template.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := tpl.DashboardHeaders(map[string]string{"ApiOrigin": "", "IdpOrigin": ""})
	if err != nil {
		t.Fatal(err)
	}
	headers, err := DashboardHeaders(tpl)
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	for name, body := range map[string]string{
		"index.html":       `<!doctype html><div id="app"></div><script type="module" src="/assets/app.js"></script>`,
		"assets/app.js":    `console.log(1)`,
		"favicon.svg":      `<svg xmlns="http://www.w3.org/2000/svg"/>`,
		"assets/style.css": `body{}`,
	} {
		p := filepath.Join(dist, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := Dashboard(dist, headers)
	policy := deployed.Get("Content-Security-Policy")
	if !strings.Contains(policy, "connect-src 'self';") || !strings.Contains(policy, "frame-ancestors 'none'") {
		t.Fatalf("the template's policy, resolved for the runner, is %q", policy)
	}
	for _, path := range []string{"/", "/gateways/gw_1", "/assets/app.js", "/config.json", "/favicon.svg", "/missing.js"} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
				if got, want := rec.Header().Get(k), deployed.Get(k); got != want || want == "" {
					t.Errorf("%s: %q, deployed %q", k, got, want)
				}
			}
			if v := rec.Header().Get("Strict-Transport-Security"); v != "" {
				t.Errorf("Strict-Transport-Security %q over plain HTTP", v)
			}
		})
	}
}
