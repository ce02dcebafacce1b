package secretscan

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Default is the test binary's Scanner, behind the package-level functions.
var Default = New()

// Register adds a secret to Default; see Scanner.Register.
func Register(name, value string) bool { return Default.Register(name, value) }

// Writer returns a line recorder of Default; see Scanner.Writer.
func Writer(source string) io.Writer { return Default.Writer(source) }

// Handler returns a recording slog.Handler of Default; see Scanner.Handler.
func Handler(source string) slog.Handler { return Default.Handler(source) }

// Logger returns a recording logger of Default; see Scanner.Logger.
func Logger(source string) *slog.Logger { return Default.Logger(source) }

// Response records a response in Default; see Scanner.Response.
func Response(where, body string, headers map[string]string) { Default.Response(where, body, headers) }

// Error records an error message in Default; see Scanner.Error.
func Error(where string, err error) { Default.Error(where, err) }

// Find names the secrets of Default in text; see Scanner.Find.
func Find(text string) []string { return Default.Find(text) }

// Redact hides Default's secrets in text; see Scanner.Redact.
func Redact(text string) string { return Default.Redact(text) }

// Check scans Default; see Scanner.Check.
func Check(r Reporter) []Leak { r.Helper(); return Default.Check(r) }

// Drain scans Default without failing anything; see Scanner.Drain.
func Drain() []Leak { return Default.Drain() }

// KMSOption registers a KMS client's plaintext data keys in Default; see
// Scanner.KMSOption.
func KMSOption(o *kms.Options) { Default.KMSOption(o) }

// Main is a TestMain body: it points the default loggers at Default, runs
// the tests, then each of after (stopping emulators, say), then
// Default.Finish, and exits with the result.
//
//	func TestMain(m *testing.M) {
//		secretscan.Register("bot token", botToken)
//		secretscan.Main(m)
//	}
func Main(m *testing.M, after ...func()) {
	restore := Default.CaptureDefaultLoggers()
	code := m.Run()
	for _, f := range after {
		f()
	}
	restore()
	os.Exit(Default.Finish(code))
}
