package health

import (
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Result is what one check found, after the sweep's own rules (Telegram's
// webhook, unreadable credentials) have been applied to the provider's
// report.
type Result struct {
	Outcome   Outcome
	Error     string // user-safe; empty when healthy
	LatencyMs int64
	// PendingUpdateCount is Telegram's pending_update_count, when known.
	PendingUpdateCount *int64
}

// Healthy reports whether the check passed.
func (r Result) Healthy() bool { return r.Outcome == OutcomeOK }

// severity says how a failure counts.
type severity int

const (
	// counted failures move a CONNECTED gateway to ERROR only after
	// FailureThreshold of them in a row: a network blip or a provider's bad
	// minute is not the gateway's fault.
	counted severity = iota
	// definitive failures cannot heal by themselves: retrying changes
	// nothing until the user acts, so they are reported at once.
	definitive
	// inconclusive results (rate limiting) say nothing about the gateway.
	inconclusive
)

func severityOf(o Outcome) severity {
	switch o {
	case OutcomeInvalidCredentials, OutcomeCredentialsUnreadable, OutcomeWebhookTakenOver, OutcomeConnectUnfinished:
		return definitive
	case OutcomeRateLimited:
		return inconclusive
	default:
		return counted
	}
}

// Policy is the part of Config that Decide applies.
type Policy struct {
	FailureThreshold int
	TouchInterval    time.Duration
}

// Decision is what a check changes of its gateway. Nil pointers leave the
// stored value alone.
type Decision struct {
	From, To            gateway.Status
	ConsecutiveFailures int
	LastError           *string
	LastErrorAt         *time.Time
	LastConnectedAt     *time.Time
	// ClearLastError removes lastError and lastErrorAt: a healthy check
	// ends whatever error was stored (its history is in the audit trail).
	ClearLastError bool
	// Reason says why the status changed; empty when it did not.
	Reason string
	// Write is false when nothing needs writing to the gateway item.
	Write bool
}

// StatusChanged reports whether the decision changes the status.
func (d Decision) StatusChanged() bool { return d.From != d.To }

// MsgRecovered is the reason of a recovery.
const MsgRecovered = "The health check passed."

// Decide applies the status rules to a check of g at now:
//
//   - Healthy: consecutiveFailures resets; an ERROR gateway recovers at once,
//     to CONNECTED if it was ever connected and to DISCONNECTED otherwise
//     (as a manual test does); a CONNECTING one stuck past
//     Config.StuckConnecting becomes CONNECTED; lastConnectedAt is refreshed
//     whenever the gateway ends CONNECTED.
//   - Definitive failure (invalid_credentials, credentials_unreadable,
//     webhook_taken_over, connect_unfinished): ERROR at once.
//   - Counted failure (unreachable, provider_error, webhook_error):
//     consecutiveFailures grows; a CONNECTED gateway turns ERROR when it
//     reaches p.FailureThreshold, an ERROR or stuck CONNECTING one is ERROR.
//   - Inconclusive (rate_limited): nothing changes but lastCheckedAt.
//
// lastError and lastErrorAt are set when a gateway is or turns ERROR with
// another message than the stored one; a CONNECTED gateway below the
// threshold keeps them, so its badge does not show a blip. A healthy check
// clears them, as a successful manual test or connect does. The gateway is
// written when anything changed, and otherwise once per sweep, or once per
// p.TouchInterval when that is set. Decide does no I/O.
func Decide(g *gateway.Gateway, r Result, now time.Time, p Policy) Decision {
	threshold := max(p.FailureThreshold, 1)
	d := Decision{From: g.Status, To: g.Status, ConsecutiveFailures: g.ConsecutiveFailures}
	if g.Status == gateway.StatusDisconnected {
		return d // the user's choice; never checked, never changed
	}
	var failMsg string
	switch {
	case r.Healthy():
		d.ConsecutiveFailures = 0
		switch g.Status {
		case gateway.StatusError:
			d.To = gateway.StatusDisconnected
			if g.LastConnectedAt != nil {
				d.To = gateway.StatusConnected
			}
		case gateway.StatusConnecting:
			d.To = gateway.StatusConnected
		}
		if d.StatusChanged() {
			d.Reason = MsgRecovered
		}
		d.ClearLastError = g.LastError != "" || g.LastErrorAt != nil
	case severityOf(r.Outcome) == inconclusive:
		// nothing learnt
	default:
		d.ConsecutiveFailures = g.ConsecutiveFailures + 1
		failMsg = r.Error
		if failMsg == "" {
			failMsg = "The health check failed (" + string(r.Outcome) + ")."
		}
		if severityOf(r.Outcome) == definitive || g.Status != gateway.StatusConnected || d.ConsecutiveFailures >= threshold {
			d.To = gateway.StatusError
		}
	}
	if d.To == gateway.StatusError && failMsg != "" {
		if d.StatusChanged() {
			d.Reason = failMsg
		}
		if failMsg != g.LastError || d.StatusChanged() {
			msg, at := failMsg, now
			d.LastError, d.LastErrorAt = &msg, &at
		}
	}
	changed := d.StatusChanged() || d.ConsecutiveFailures != g.ConsecutiveFailures || d.LastError != nil || d.ClearLastError
	touchDue := p.TouchInterval <= 0 || g.LastCheckedAt == nil || now.Sub(*g.LastCheckedAt) >= p.TouchInterval
	d.Write = changed || touchDue
	if d.Write && r.Healthy() && d.To == gateway.StatusConnected {
		at := now
		d.LastConnectedAt = &at
	}
	return d
}
