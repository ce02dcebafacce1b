package dynamo

import (
	"testing"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/gateway/gatewaytest"
)

// TestStoreContract runs gateway.Store's contract against the DynamoDB
// store, the same one pkg/gateway/gatewaytest's in-memory Store passes: a
// difference between the two fails here or there, so the fake the fast
// tests rely on cannot drift from the real thing.
func TestStoreContract(t *testing.T) {
	if got, want := gatewaytest.MaxLimit, MaxLimit; got != want {
		t.Fatalf("gatewaytest.MaxLimit = %d, want dynamo.MaxLimit %d", got, want)
	}
	gatewaytest.TestStore(t, func(t *testing.T) gateway.Store {
		st, _ := newTestStore(t)
		return st
	})
}
