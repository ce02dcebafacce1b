package dynamo

import (
	"testing"

	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtest"
)

// TestSendJobsContract runs send.Store's contract against SendJobs, the
// same one pkg/send/sendtest's in-memory Store passes, so the fake the
// engine's fast tests rely on cannot drift from the real thing. Its
// "concurrent claims" case is eight goroutines racing for the same 200
// parts against DynamoDB Local: each part is won exactly once.
func TestSendJobsContract(t *testing.T) {
	sendtest.StoreContract(t, func(t *testing.T) send.Store {
		st, client := newTestStore(t)
		return NewSendJobs(client, st.table)
	})
}
