package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/faulttest"
	"github.com/gatehouse/gatehouse/pkg/provider/webhook"
	"github.com/gatehouse/gatehouse/pkg/ssrf"
)

const faultSecret = "whsec-fault-SIGNING-SECRET-0123456789"

// guard lets the tests reach servers on 127.0.0.1, which it otherwise
// refuses; every dial still goes through it, as in production.
var guard = ssrf.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// TestFaults points a webhook gateway at an endpoint that hangs, resets,
// answers garbage, answers 200 with a broken or huge body, trickles its
// body, or closes without answering, and runs the ping of a create, the
// connection test, connect and the send action against each. Any 2xx is a
// delivery, whatever its body, so the answers whose status arrives whole
// are successes.
func TestFaults(t *testing.T) {
	faulttest.Suite{
		New: func(base string, timeout time.Duration) (provider.Provider, gateway.Credentials) {
			c := provider.NewClient(guard.Client())
			c.Timeout = timeout
			return webhook.New(webhook.Options{Guard: guard, Client: c}),
				gateway.Credentials{URL: base + "/hooks/in", SigningSecret: faultSecret}
		},
		Outcomes: map[faulttest.Mode]provider.Outcome{faulttest.SlowBody: provider.OutcomeOK},
		Bodies: []faulttest.Body{
			{Name: "broken", Body: faulttest.BrokenJSON, Want: provider.OutcomeOK},
			{Name: "huge", Body: faulttest.HugeJSON(8<<20 + 1024), Want: provider.OutcomeOK},
		},
		Calls: []faulttest.Call{
			faulttest.Validate(),
			faulttest.Test(),
			faulttest.Connect(),
			faulttest.Action("send", `{"type":"order.created","payload":{"id":42}}`),
		},
		Secrets: []string{faultSecret},
	}.Run(t)
}

// TestNotTLS sends to https URLs whose server does not speak TLS (a port
// named with the wrong scheme): unreachable, saying why rather than that
// "the connection failed".
func TestNotTLS(t *testing.T) {
	tests := []struct {
		name   string
		server func() (url string, stop func())
		want   string
	}{
		{"plain HTTP", func() (string, func()) {
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			return srv.URL, srv.Close
		}, "answered plain HTTP to an https URL"},
		{"SSH banner", func() (string, func()) {
			srv := faulttest.NewServer(faulttest.Banner, faulttest.Options{})
			return srv.URL, srv.Close
		}, "did not answer TLS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			base, stop := tc.server()
			defer stop()
			p := webhook.New(webhook.Options{Guard: guard, Client: provider.NewClient(guard.Client())})
			url := strings.Replace(base, "http://", "https://", 1)
			_, err := p.Execute(context.Background(), gateway.Credentials{URL: url}, nil, "send", []byte(`{"payload":1}`))
			if got := provider.Classify(err); got != provider.OutcomeUnreachable {
				t.Errorf("outcome %q, want unreachable (%v)", got, err)
			}
			if got := provider.Message(err); !strings.Contains(got, tc.want) {
				t.Errorf("message %q, want it to say %q", got, tc.want)
			}
		})
	}
}
