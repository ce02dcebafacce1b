package local

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/infra/template"
)

// localOrigins are the values of the deployed Content-Security-Policy's
// variables here: the API and the development sign-in (/dev/token) are on
// the page's own origin, which the policy's 'self' already allows.
var localOrigins = map[string]string{"ApiOrigin": "", "IdpOrigin": ""}

// DashboardHeaders returns the headers the deployed dashboard is served
// with — template.yaml's response-headers policy, read by
// template.DashboardHeaders, so the two cannot drift — as they apply
// locally: without Strict-Transport-Security, which over the runner's plain
// HTTP means nothing, and which a browser must not remember for localhost.
func DashboardHeaders(tpl *template.Template) (http.Header, error) {
	h, err := tpl.DashboardHeaders(localOrigins)
	if err != nil {
		return nil, err
	}
	h.Del("Strict-Transport-Security")
	return h, nil
}

// Dashboard serves the built dashboard in dist, and the /config.json that a
// deployment writes beside it: locally the API is on the same origin and
// sign-in is the development sign-in. Every answer carries headers, as
// CloudFront adds its response-headers policy to every answer (see
// DashboardHeaders).
func Dashboard(dist string, headers http.Header) http.Handler {
	files := http.FileServer(http.Dir(dist))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header()[k] = v
		}
		if r.URL.Path == "/config.json" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, `{"apiBaseUrl":"","auth":{"mode":"dev","tokenUrl":"/dev/token"}}`)
			return
		}
		// Client-side routes fall back to the app shell.
		if _, err := os.Stat(filepath.Join(dist, filepath.Clean("/"+r.URL.Path))); err != nil {
			http.ServeFile(w, r, filepath.Join(dist, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
}
