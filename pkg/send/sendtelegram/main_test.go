package sendtelegram_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/infra/emulator/emutest"
	"github.com/gatehouse/gatehouse/internal/secretscan"
)

// TestMain scans every log line of the engine for the bot token.
func TestMain(m *testing.M) {
	secretscan.Register("bot token", token)
	secretscan.Main(m, emutest.Stop)
}
