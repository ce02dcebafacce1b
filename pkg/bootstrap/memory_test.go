package bootstrap_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pkg/bootstrap"
	"github.com/gatehouse/gatehouse/pkg/config"
)

// TestMemoryLimit: 80% of the function's memory as Lambda reports it,
// unless the operator set GOMEMLIMIT or the process is not in Lambda; a
// malformed memory size is a start-up problem.
func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    int64
		wantOK  bool
		wantErr string
	}{
		{name: "outside Lambda", env: map[string]string{}},
		{name: "128 MB (most functions)", env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, want: 107374182, wantOK: true},
		{name: "512 MB (the health worker)", env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}, want: 429496729, wantOK: true},
		{name: "10240 MB (Lambda's largest)", env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, want: 8589934592, wantOK: true},
		{name: "explicit GOMEMLIMIT wins", env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "GOMEMLIMIT": "300MiB"}},
		{name: "malformed size", env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, wantErr: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"},
		{name: "size below Lambda's least", env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "64"}, wantErr: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.FromMap(tt.env)
			got, ok := bootstrap.MemoryLimit(env)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("MemoryLimit = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
			err := env.Err()
			if (err != nil) != (tt.wantErr != "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Err = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
