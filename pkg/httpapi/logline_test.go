package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
	"github.com/gatehouse/gatehouse/pkg/httpapi"
	"github.com/gatehouse/gatehouse/pkg/lifecycle"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// TestCancelledRequestIsNotAnError: a request whose client went away is
// logged once, as cancelled (499, INFO), not as ERROR 500, although the
// cancellation made the store fail (issue 15, item 22). An outage that is
// not the client's is still an ERROR.
func TestCancelledRequestIsNotAnError(t *testing.T) {
	tests := []struct {
		name      string
		cancel    bool
		outage    bool
		wantLevel string
		wantMsg   string
		wantCode  float64
	}{
		{name: "the client went away", cancel: true, wantLevel: "INFO", wantMsg: "request cancelled", wantCode: 499},
		{name: "a store failure", outage: true, wantLevel: "ERROR", wantMsg: "request failed", wantCode: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := gatewaytest.NewStore()
			if tt.outage {
				st.Intercept(func(context.Context, gatewaytest.Op, string) error {
					return gateway.Internal("test", context.Canceled)
				})
			}
			var logs bytes.Buffer
			life := lifecycle.New(gateway.NewService(st, gatewaytest.NewSealer()), provider.NewRegistry())
			handler := httpapi.New(life, httpapi.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))).Handlers()[httpapi.FnListGateways]
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			_, err := handler(ctx, events.APIGatewayV2HTTPRequest{
				Version: "2.0",
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RequestID:  "req-1",
					HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"},
					Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "alice"}}},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want one:\n%s", len(lines), logs.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatal(err)
			}
			if line["level"] != tt.wantLevel || line["msg"] != tt.wantMsg || line["status"] != tt.wantCode {
				t.Errorf("log line %s; want %s %q status %v", lines[0], tt.wantLevel, tt.wantMsg, tt.wantCode)
			}
		})
	}
}
