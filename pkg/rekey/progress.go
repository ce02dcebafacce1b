package rekey

import (
	"fmt"
	"strings"
)

// Progress is what a progress line reports.
type Progress struct {
	DryRun bool
	// Total is the gateways counted when the run started; 0 leaves the
	// denominator out.
	Total int
	Counts
	// PerSecond is the gateways scanned per second in this invocation.
	PerSecond float64
}

// String is the progress line, one line without a newline:
//
//	rotate: 1200/5000 scanned, 1180 re-encrypted, 3 unreadable, 17 skipped, 0 failed (240/s)
//	rotate (dry run): 1200/5000 scanned, 1180 to re-encrypt, 3 unreadable, 17 skipped, 0 failed (240/s)
func (p Progress) String() string {
	var b strings.Builder
	b.WriteString("rotate")
	if p.DryRun {
		b.WriteString(" (dry run)")
	}
	fmt.Fprintf(&b, ": %d", p.Scanned)
	if p.Total > 0 {
		fmt.Fprintf(&b, "/%d", p.Total)
	}
	verb := "re-encrypted"
	if p.DryRun {
		verb = "to re-encrypt"
	}
	fmt.Fprintf(&b, " scanned, %d %s, %d unreadable, %d skipped, %d failed (%.0f/s)",
		p.Reencrypted, verb, p.Unreadable, p.Skipped, p.Failed, max(p.PerSecond, 0))
	return b.String()
}
