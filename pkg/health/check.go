package health

import (
	"context"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
)

// WebhookRegistrar is a provider whose Connect registers a webhook through
// which the remote system delivers a gateway's updates to Gatehouse
// (Telegram). The sweep holds its gateways to the webhook rules of judge,
// comparing the webhook state of their health results
// (provider.HealthResult.Webhook) with the URL that Connect registers. A
// provider that wraps such a provider must implement it too, or its
// gateways lose those rules.
type WebhookRegistrar interface {
	// WebhookURL returns the URL Connect registers for gatewayID under
	// publicURL, Gatehouse's public API base URL. Errors: when the two make
	// no URL.
	WebhookURL(publicURL, gatewayID string) (string, error)
}

// Messages of the sweep's own findings. The takeover message starts with
// MsgWebhookTakenOver, which the issue and the dashboard rely on.
const (
	MsgWebhookTakenOver = "webhook taken over by another URL"
	msgWebhookMissing   = "webhook taken over by another URL: Telegram has no webhook for this bot, so another program may be polling getUpdates with its token; connect the gateway again to take it back."
	// MsgConnectUnfinished is the lastError of a Telegram gateway whose
	// connect died mid-way; it stays until the user connects again.
	MsgConnectUnfinished = "The connection attempt did not finish; connect the gateway again."
	maxSampleError       = 200
	// WebhookErrorPrefix starts the lastError of a webhook delivery error.
	// It must equal inbox.WebhookErrorPrefix, whose webhook function clears
	// such errors when updates arrive again (a test holds them equal);
	// package inbox cannot be imported here, since it imports the HTTP API,
	// which imports this package.
	WebhookErrorPrefix = "webhook delivery: "
)

// due reports whether g is checked at now: not DISCONNECTED (the user's
// choice), and not CONNECTING unless it has been for longer than
// StuckConnecting (a connect that died mid-way; a younger one is a connect
// in progress, whose result the sweep must not race).
func (w *Worker) due(g *gateway.Gateway, now time.Time) bool {
	switch g.Status {
	case gateway.StatusDisconnected:
		return false
	case gateway.StatusConnecting:
		return now.Sub(g.UpdatedAt) > w.cfg.StuckConnecting
	}
	return true
}

// judge turns the provider's report into a Result. For a gateway whose
// provider registers a webhook (hook is not nil; Telegram) it adds the
// webhook rules when the gateway should have Gatehouse's webhook: when it
// is CONNECTED, or ERROR after having been connected (a passed check would
// make it CONNECTED again).
//
//   - The webhook is at another URL, or none: webhook_taken_over, because
//     the token is being used elsewhere and no update reaches Gatehouse.
//   - The last failed delivery is within WebhookErrorWindow: webhook_error,
//     with the remote system's message behind WebhookErrorPrefix, so the
//     webhook function clears it when updates arrive again.
//
// A stuck CONNECTING gateway of such a provider whose credentials work is
// connect_unfinished, and stays so in ERROR: the dead connect may have
// registered a webhook secret other than the stored one, so only a new
// connect makes it trustworthy.
func (w *Worker) judge(g *gateway.Gateway, hook WebhookRegistrar, h provider.HealthResult, now time.Time) Result {
	r := Result{Outcome: Outcome(h.Outcome), Error: h.Error, LatencyMs: h.LatencyMs}
	if r.Outcome == "" {
		r.Outcome = OutcomeProviderError
	}
	if h.Webhook != nil {
		n := h.Webhook.PendingUpdateCount
		r.PendingUpdateCount = &n
	}
	if hook == nil || !h.Healthy {
		return r
	}
	if g.Status == gateway.StatusConnecting || (g.Status == gateway.StatusError && g.LastError == MsgConnectUnfinished) {
		r.Outcome, r.Error = OutcomeConnectUnfinished, MsgConnectUnfinished
		return r
	}
	if g.Status != gateway.StatusConnected && g.LastConnectedAt == nil {
		return r
	}
	st := h.Webhook
	if st == nil {
		return r // the check could not read the webhook: nothing to judge
	}
	if w.cfg.PublicURL != "" {
		if want, err := hook.WebhookURL(w.cfg.PublicURL, g.ID); err == nil && st.URL != want {
			r.Outcome, r.Error = OutcomeWebhookTakenOver, takenOverMessage(st.URL)
			return r
		}
	}
	if !st.LastErrorAt.IsZero() && now.Sub(st.LastErrorAt) <= w.cfg.WebhookErrorWindow {
		msg := st.LastError
		if msg == "" {
			msg = "Telegram reported an error"
		}
		r.Outcome, r.Error = OutcomeWebhookError, WebhookErrorPrefix+msg
	}
	return r
}

// takenOverMessage names only the other URL's host: its path may hold a
// secret of whoever set it.
func takenOverMessage(other string) string {
	if other == "" {
		return msgWebhookMissing
	}
	host := "another server"
	if u, err := url.Parse(other); err == nil && u.Host != "" {
		host = u.Host
	}
	return MsgWebhookTakenOver + ": Telegram delivers this bot's updates to " + host +
		", so its token is used elsewhere; connect the gateway again to take it back."
}

// check runs one gateway's check and records it: the gateway write (if
// Decide asks for one), the event of a status change, and the sample.
func (w *Worker) check(ctx context.Context, g *gateway.Gateway, sweep string, t *tally) {
	if !w.due(g, w.now()) {
		t.skipped.Add(1)
		return
	}
	log := w.log.With("gatewayId", g.ID, "sweep", sweep)
	res, ok := w.examine(ctx, g, log, t)
	if !ok {
		return
	}
	t.checked.Add(1)
	if res.Healthy() {
		t.healthy.Add(1)
	} else {
		t.failed.Add(1)
	}
	now := w.now().UTC()
	status := w.record(ctx, g, res, now, sweep, log, t)
	w.sample(ctx, g, res, status, now, log, t)
}

// examine opens g's credentials, asks its provider for a health check and
// judges the answer. It reports false, having counted and logged an error,
// when there is no verdict: no provider for the type, or credentials that
// could not be opened for a reason that is Gatehouse's and not the
// gateway's. Credentials that do not open for this gateway are a verdict
// (credentials_unreadable), and no provider call.
func (w *Worker) examine(ctx context.Context, g *gateway.Gateway, log *slog.Logger, t *tally) (Result, bool) {
	p, err := w.registry.Get(g.Type)
	if err != nil {
		t.errors.Add(1)
		log.Error("health: no provider", "type", g.Type, "error", err)
		return Result{}, false
	}
	creds, err := w.opener.Credentials(ctx, g)
	switch {
	case err == nil:
		cctx, cancel := context.WithTimeout(ctx, w.cfg.CheckTimeout)
		h := p.CheckHealth(cctx, creds, g.Config)
		cancel()
		hook, _ := p.(WebhookRegistrar)
		return w.judge(g, hook, h, w.now()), true
	case gateway.IsCode(err, gateway.CodeCredentialsUnreadable):
		return Result{Outcome: OutcomeCredentialsUnreadable, Error: gateway.ErrorMessage(err)}, true
	default:
		// KMS or the network failed us: that is Gatehouse's outage, not the
		// gateway's, so there is no verdict and nothing is recorded.
		t.errors.Add(1)
		log.Error("health: credentials unavailable", "error", err)
		return Result{}, false
	}
}

// record applies Decide to res and, when it asks for a write, writes the
// check to g (with the audit event of a status change) and publishes the
// change. It returns g's status as the sweep leaves it: the new one when
// the write went through, else the one read.
func (w *Worker) record(ctx context.Context, g *gateway.Gateway, res Result, now time.Time, sweep string, log *slog.Logger, t *tally) gateway.Status {
	d := Decide(g, res, now, Policy{FailureThreshold: w.cfg.FailureThreshold, TouchInterval: w.cfg.TouchInterval})
	if !d.Write {
		return g.Status
	}
	cw := CheckWrite{
		GatewayID: g.ID, Version: g.Version, CheckedAt: now, LatencyMs: res.LatencyMs,
		ConsecutiveFailures: d.ConsecutiveFailures, LastError: d.LastError, LastErrorAt: d.LastErrorAt,
		LastConnectedAt: d.LastConnectedAt, ClearLastError: d.ClearLastError,
	}
	if d.StatusChanged() {
		cw.Status, cw.Event = d.To, statusEvent(g, d, res, now, sweep)
		if res.Outcome == OutcomeWebhookTakenOver {
			cw.ReleaseClaim = g.ClaimedBot
		}
	}
	ok, err := w.store.RecordCheck(ctx, cw)
	switch {
	case err != nil:
		t.errors.Add(1)
		log.Error("health: recording the check failed", "error", err)
		return g.Status
	case !ok:
		// The user changed (or deleted) the gateway after it was read:
		// their change wins, and the next sweep judges the new state.
		t.conflicts.Add(1)
		log.Info("health: gateway changed during the check; result not written")
		return g.Status
	}
	t.written.Add(1)
	if d.StatusChanged() {
		t.changes.Add(1)
		log.Info("health: status changed", "from", d.From, "to", d.To, "result", res.Outcome)
		w.publish(ctx, log, StatusChange{
			GatewayID: g.ID, Type: g.Type, UserID: g.UserID, OrganizationID: g.OrganizationID,
			OldStatus: d.From, NewStatus: d.To, Reason: d.Reason, Outcome: res.Outcome,
			At: now, Sweep: sweep, Version: g.Version + 1,
		}, t)
	}
	return d.To
}

// statusEvent is the audit event of the status change d makes to g.
func statusEvent(g *gateway.Gateway, d Decision, res Result, now time.Time, sweep string) *gateway.AuditEvent {
	return &gateway.AuditEvent{
		ID: newID(), GatewayID: g.ID, Action: gateway.AuditStatusChanged,
		Actor: gateway.Actor{System: Actor}, At: now, Changes: []string{"status"},
		Details: map[string]string{
			"from": string(d.From), "to": string(d.To), "reason": d.Reason,
			"result": string(res.Outcome), "latencyMs": strconv.FormatInt(res.LatencyMs, 10), "sweep": sweep,
		},
	}
}

// sample stores the check in g's history, with the status the sweep left
// it in.
func (w *Worker) sample(ctx context.Context, g *gateway.Gateway, res Result, status gateway.Status, now time.Time, log *slog.Logger, t *tally) {
	s := Sample{
		GatewayID: g.ID, At: now, Outcome: res.Outcome, LatencyMs: res.LatencyMs, Status: status,
		Error: shorten(res.Error, maxSampleError), PendingUpdateCount: res.PendingUpdateCount,
		ExpiresAt: now.Add(w.cfg.SampleTTL),
	}
	if err := w.store.PutSample(ctx, s); err != nil {
		t.errors.Add(1)
		log.Error("health: storing the sample failed", "error", err)
		return
	}
	t.samples.Add(1)
}

func (w *Worker) publish(ctx context.Context, log *slog.Logger, c StatusChange, t *tally) {
	if w.events == nil {
		return
	}
	if err := w.events.StatusChanged(ctx, c); err != nil {
		t.errors.Add(1)
		log.Error("health: publishing the status change failed", "error", err)
	}
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
