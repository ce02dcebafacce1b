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
//	rotate: 5000/5000 scanned, 4980 re-encrypted, 3 unreadable, 17 skipped, 0 failed, 212 credentialInfo masked (240/s)
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
	fmt.Fprintf(&b, " scanned, %d %s, %d unreadable, %d skipped, %d failed", p.Reencrypted, verb, p.Unreadable, p.Skipped, p.Failed)
	if p.Masked > 0 {
		masked := "credentialInfo masked"
		if p.DryRun {
			masked = "credentialInfo to mask"
		}
		fmt.Fprintf(&b, ", %d %s", p.Masked, masked)
	}
	fmt.Fprintf(&b, " (%.0f/s)", max(p.PerSecond, 0))
	return b.String()
}
