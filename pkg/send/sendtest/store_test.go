package sendtest_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/pkg/send"
	"github.com/gatehouse/gatehouse/pkg/send/sendtest"
)

// TestStoreContract runs send.Store's contract against the in-memory
// Store; pkg/dynamo runs the same contract against its SendJobs under the
// emulators.
func TestStoreContract(t *testing.T) {
	sendtest.StoreContract(t, func(*testing.T) send.Store { return sendtest.NewStore() })
}

// TestKicks: the fake counts kicks per bot, for the engine's tests.
func TestKicks(t *testing.T) {
	st := sendtest.NewStore()
	for range 3 {
		if err := st.Kick(t.Context(), "gw_a"); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := st.Kicks("gw_a"), 3; got != want {
		t.Errorf("Kicks(gw_a) = %d, want %d", got, want)
	}
	if got := st.Kicks("gw_b"); got != 0 {
		t.Errorf("Kicks(gw_b) = %d, want 0", got)
	}
}
