package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestErrorTextSaidOnce: an internal error wrapped by the operations it
// passed through names each operation and says its code, message and
// cause once (issue 15, item 22: a log line repeated them).
func TestErrorTextSaidOnce(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "plain", err: Internal("dynamo.GetGateway", cause),
			want: "dynamo.GetGateway: internal: An internal error occurred.: connection refused"},
		{name: "wrapped by a caller", err: Internal("lifecycle.open", Internal("dynamo.GetGateway", cause)),
			want: "lifecycle.open: dynamo.GetGateway: internal: An internal error occurred.: connection refused"},
		{name: "wrapped through fmt", err: Internal("lifecycle.open", fmt.Errorf("gateway gw_1: %w", Internal("dynamo.GetGateway", cause))),
			want: "lifecycle.open: gateway gw_1: dynamo.GetGateway: internal: An internal error occurred.: connection refused"},
		{name: "another code is its own", err: Internal("health.record", &Error{Code: CodeUnavailable, Message: "The data store is unavailable; retry.", Op: "dynamo.RecordCheck", Err: cause}),
			want: "health.record: internal: An internal error occurred.: dynamo.RecordCheck: unavailable: The data store is unavailable; retry.: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.err.Error()
			if got != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
			}
			if n := strings.Count(got, "connection refused"); n != 1 {
				t.Errorf("the cause is said %d times", n)
			}
		})
	}
}
