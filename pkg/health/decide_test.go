package health

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/provider"
	"github.com/gatehouse/gatehouse/pkg/provider/telegram"
)

// The Telegram provider is the one that registers a webhook; the sweep
// knows it only through WebhookRegistrar.
var _ WebhookRegistrar = (*telegram.Provider)(nil)

var t0 = time.Date(2025, 3, 4, 5, 10, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestDecide(t *testing.T) {
	ok := Result{Outcome: OutcomeOK, LatencyMs: 12}
	fail := func(o Outcome) Result { return Result{Outcome: o, Error: "it failed: " + string(o)} }
	connected := func(failures int) *gateway.Gateway {
		return &gateway.Gateway{Status: gateway.StatusConnected, ConsecutiveFailures: failures, LastConnectedAt: ptr(t0.Add(-time.Hour)), LastCheckedAt: ptr(t0.Add(-5 * time.Minute))}
	}
	inError := func(everConnected bool, lastError string) *gateway.Gateway {
		g := &gateway.Gateway{Status: gateway.StatusError, ConsecutiveFailures: 3, LastError: lastError, LastErrorAt: ptr(t0.Add(-time.Hour))}
		if everConnected {
			g.LastConnectedAt = ptr(t0.Add(-2 * time.Hour))
		}
		return g
	}
	stuck := &gateway.Gateway{Status: gateway.StatusConnecting, UpdatedAt: t0.Add(-time.Hour)}
	p := Policy{FailureThreshold: 2}

	tests := []struct {
		name     string
		g        *gateway.Gateway
		r        Result
		p        Policy
		to       gateway.Status
		failures int
		setError bool
		connAt   bool
		write    bool
	}{
		{"connected stays connected", connected(0), ok, p, gateway.StatusConnected, 0, false, true, true},
		{"a passed check resets failures", connected(1), ok, p, gateway.StatusConnected, 0, false, true, true},
		{"one unreachable is a blip", connected(0), fail(OutcomeUnreachable), p, gateway.StatusConnected, 1, false, false, true},
		{"the threshold turns it ERROR", connected(1), fail(OutcomeUnreachable), p, gateway.StatusError, 2, true, false, true},
		{"provider_error counts like unreachable", connected(1), fail(OutcomeProviderError), p, gateway.StatusError, 2, true, false, true},
		{"a threshold of 3 waits longer", connected(1), fail(OutcomeUnreachable), Policy{FailureThreshold: 3}, gateway.StatusConnected, 2, false, false, true},
		{"webhook errors count", connected(0), fail(OutcomeWebhookError), p, gateway.StatusConnected, 1, false, false, true},
		{"invalid credentials are immediate", connected(0), fail(OutcomeInvalidCredentials), p, gateway.StatusError, 1, true, false, true},
		{"unreadable credentials are immediate", connected(0), fail(OutcomeCredentialsUnreadable), p, gateway.StatusError, 1, true, false, true},
		{"a webhook taken over is immediate", connected(0), fail(OutcomeWebhookTakenOver), p, gateway.StatusError, 1, true, false, true},
		{"rate limiting changes nothing", connected(1), fail(OutcomeRateLimited), p, gateway.StatusConnected, 1, false, false, true},
		{"rate limiting with a touch interval writes nothing", connected(1), fail(OutcomeRateLimited), Policy{FailureThreshold: 2, TouchInterval: time.Hour}, gateway.StatusConnected, 1, false, false, false},
		{"recovery is immediate", inError(true, "x"), ok, p, gateway.StatusConnected, 0, false, true, true},
		{"never connected recovers to DISCONNECTED", inError(false, "x"), ok, p, gateway.StatusDisconnected, 0, false, false, true},
		{"ERROR keeps an unchanged error", inError(true, "it failed: unreachable"), fail(OutcomeUnreachable), p, gateway.StatusError, 4, false, false, true},
		{"ERROR takes a new error", inError(true, "old"), fail(OutcomeUnreachable), p, gateway.StatusError, 4, true, false, true},
		{"stuck CONNECTING that works connects", stuck, ok, p, gateway.StatusConnected, 0, false, true, true},
		{"stuck CONNECTING that fails is ERROR at once", stuck, fail(OutcomeUnreachable), p, gateway.StatusError, 1, true, false, true},
		{"stuck Telegram connect is ERROR", stuck, fail(OutcomeConnectUnfinished), p, gateway.StatusError, 1, true, false, true},
		{"unchanged within the touch interval writes nothing", connected(0), ok, Policy{FailureThreshold: 2, TouchInterval: time.Hour}, gateway.StatusConnected, 0, false, false, false},
		{"a blip writes despite the touch interval", connected(0), fail(OutcomeUnreachable), Policy{FailureThreshold: 2, TouchInterval: time.Hour}, gateway.StatusConnected, 1, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.g, tc.r, t0, tc.p)
			if d.From != tc.g.Status || d.To != tc.to || d.ConsecutiveFailures != tc.failures || d.Write != tc.write {
				t.Fatalf("Decide = %+v; want to %s, failures %d, write %v", d, tc.to, tc.failures, tc.write)
			}
			if got := d.LastError != nil; got != tc.setError {
				t.Errorf("sets lastError = %v, want %v", got, tc.setError)
			}
			if d.LastError != nil && (*d.LastError != tc.r.Error || !d.LastErrorAt.Equal(t0)) {
				t.Errorf("lastError = %q at %v", *d.LastError, d.LastErrorAt)
			}
			if got := d.LastConnectedAt != nil; got != tc.connAt {
				t.Errorf("sets lastConnectedAt = %v, want %v", got, tc.connAt)
			}
			switch {
			case d.StatusChanged() && tc.to == gateway.StatusError && d.Reason != tc.r.Error:
				t.Errorf("reason = %q, want the error", d.Reason)
			case d.StatusChanged() && tc.to != gateway.StatusError && d.Reason != MsgRecovered:
				t.Errorf("reason = %q", d.Reason)
			case !d.StatusChanged() && d.Reason != "":
				t.Errorf("reason %q without a change", d.Reason)
			}
		})
	}
	t.Run("disconnected is never changed", func(t *testing.T) {
		d := Decide(&gateway.Gateway{Status: gateway.StatusDisconnected}, fail(OutcomeInvalidCredentials), t0, p)
		if d.Write || d.StatusChanged() {
			t.Fatalf("Decide = %+v", d)
		}
	})
}

func TestClaimable(t *testing.T) {
	const prev, cur = "2025-03-04T05:05:00.000Z", "2025-03-04T05:10:00.000Z"
	tests := []struct {
		s    SegmentState
		want bool
	}{
		{SegmentState{}, true},
		{SegmentState{State: StateDone, Sweep: prev}, true},
		{SegmentState{State: StatePaused, Sweep: prev}, true},
		{SegmentState{State: StateDone, Sweep: cur}, false},
		{SegmentState{State: StatePaused, Sweep: cur}, false},
		{SegmentState{State: StateRunning, Sweep: prev, LeaseUntil: t0.Add(time.Minute)}, false},
		{SegmentState{State: StateRunning, Sweep: cur, LeaseUntil: t0.Add(-time.Minute)}, true},
	}
	for _, tc := range tests {
		if got := tc.s.Claimable(cur, t0); got != tc.want {
			t.Errorf("%+v.Claimable = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// TestPickPrefersWarmSegments proves the KMS affinity: a container goes
// back to the segments whose data keys it holds, and a cold one starts at
// the task's segment.
func TestPickPrefersWarmSegments(t *testing.T) {
	now := t0
	w := NewWorker(nil, nil, nil, Config{}, WithClock(func() time.Time { return now }), WithWarmTTL(15*time.Minute))
	task := Task{Sweep: SweepID(now), Segment: 2, Segments: 4}
	if got, _ := w.pick(task, nil, map[int]bool{}); got != 2 {
		t.Errorf("cold container picks %d, want the task's 2", got)
	}
	w.remember(4, 0)
	if got, _ := w.pick(task, nil, map[int]bool{}); got != 0 {
		t.Errorf("warm container picks %d, want its warm 0", got)
	}
	done := []SegmentState{{Segment: 0, Segments: 4, State: StateDone, Sweep: task.Sweep}}
	if got, _ := w.pick(task, done, map[int]bool{}); got != 2 {
		t.Errorf("with its warm segment done, picks %d, want 2", got)
	}
	w.remember(4, 2)
	if got, _ := w.pick(task, nil, map[int]bool{}); got != 2 {
		t.Errorf("with the task's segment warm too, picks %d, want 2", got)
	}
	now = now.Add(16 * time.Minute) // the keys have expired
	task.Segment = 3
	if got, _ := w.pick(task, nil, map[int]bool{}); got != 3 {
		t.Errorf("after the cache TTL, picks %d, want 3", got)
	}
	all := []SegmentState{}
	for i := range 4 {
		all = append(all, SegmentState{Segment: i, State: StateDone, Sweep: task.Sweep})
	}
	if got, ok := w.pick(task, all, map[int]bool{}); ok {
		t.Errorf("picked %d with every segment done", got)
	}
}

func TestJudgeTelegram(t *testing.T) {
	w := NewWorker(nil, nil, nil, Config{PublicURL: "https://gh.example.com/"})
	ours := "https://gh.example.com/api/webhooks/telegram/gw_1"
	tg := func(status gateway.Status) *gateway.Gateway {
		return &gateway.Gateway{ID: "gw_1", Type: gateway.TypeTelegramBot, Status: status, LastConnectedAt: ptr(t0.Add(-time.Hour))}
	}
	healthy := func(hook *provider.WebhookState) provider.HealthResult {
		return provider.HealthResult{Healthy: true, Outcome: provider.OutcomeOK, LatencyMs: 9, Webhook: hook}
	}
	bot := telegram.New(telegram.Options{})
	tests := []struct {
		name    string
		g       *gateway.Gateway
		hook    WebhookRegistrar
		h       provider.HealthResult
		outcome Outcome
		errPart string
	}{
		{"our webhook", tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: ours, PendingUpdateCount: 2}), OutcomeOK, ""},
		{"another URL", tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: "https://evil.example.net/hook/secret"}), OutcomeWebhookTakenOver, MsgWebhookTakenOver + ": Telegram delivers this bot's updates to evil.example.net,"},
		{"no webhook", tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: ""}), OutcomeWebhookTakenOver, MsgWebhookTakenOver},
		{"ERROR after connected expects ours", tg(gateway.StatusError), bot, healthy(&provider.WebhookState{URL: ""}), OutcomeWebhookTakenOver, MsgWebhookTakenOver},
		{"recent delivery error", tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: ours,
			LastError: "Wrong response from the webhook: 502 Bad Gateway", LastErrorAt: t0.Add(-time.Minute)}),
			OutcomeWebhookError, WebhookErrorPrefix + "Wrong response from the webhook: 502 Bad Gateway"},
		{"old delivery error", tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: ours,
			LastError: "Wrong response", LastErrorAt: t0.Add(-time.Hour)}), OutcomeOK, ""},
		{"webhook info unavailable", tg(gateway.StatusConnected), bot, healthy(nil), OutcomeOK, ""},
		{"stuck connect", tg(gateway.StatusConnecting), bot, healthy(nil), OutcomeConnectUnfinished, "did not finish"},
		{"failed getMe", tg(gateway.StatusConnected), bot, provider.NewHealthResult(time.Millisecond, nil, &provider.InvalidCredentialsError{Message: "Telegram rejected the bot token"}), OutcomeInvalidCredentials, "rejected"},
		{"other types ignore webhook details", &gateway.Gateway{ID: "gw_1", Type: gateway.TypeAI, Status: gateway.StatusConnected}, nil, healthy(&provider.WebhookState{URL: ""}), OutcomeOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := w.judge(tc.g, tc.hook, tc.h, t0)
			if r.Outcome != tc.outcome || !strings.Contains(r.Error, tc.errPart) || (tc.errPart == "" && r.Error != "") {
				t.Fatalf("judge = %+v; want %s with %q", r, tc.outcome, tc.errPart)
			}
		})
	}
	r := w.judge(tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: ours, PendingUpdateCount: 7}), t0)
	if r.PendingUpdateCount == nil || *r.PendingUpdateCount != 7 {
		t.Errorf("pendingUpdateCount = %v", r.PendingUpdateCount)
	}
	// Without a public URL the sweep cannot tell whose webhook it is.
	w2 := NewWorker(nil, nil, nil, Config{})
	if r := w2.judge(tg(gateway.StatusConnected), bot, healthy(&provider.WebhookState{URL: "https://x.example/"}), t0); r.Outcome != OutcomeOK {
		t.Errorf("without PublicURL: %+v", r)
	}
}

func TestHandlerRejects(t *testing.T) {
	h := NewHandler(nil, nil, nil)
	for _, ev := range []string{`[]`, `{"segments":"x"}`, `{"segments":2,"segment":0,"sweep":"s"}`, `{"time":"2025-03-04T05:10:00Z"}`} {
		if _, err := h.Handle(context.Background(), json.RawMessage(ev)); err == nil {
			t.Errorf("Handle(%s) succeeded", ev)
		}
	}
	w := NewWorker(nil, nil, nil, Config{})
	for _, task := range []Task{{}, {Sweep: "s", Segments: 2, Segment: 2}, {Sweep: "s", Segments: 0}} {
		if _, err := w.Run(context.Background(), task, time.Time{}); err == nil {
			t.Errorf("Run(%+v) succeeded", task)
		}
	}
}

func TestTasks(t *testing.T) {
	got := Tasks("s", 3)
	want := []Task{{"s", 0, 3}, {"s", 1, 3}, {"s", 2, 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tasks = %+v", got)
	}
	if SweepID(time.Date(2025, 3, 4, 5, 10, 0, 0, time.FixedZone("x", 3600))) != "2025-03-04T04:10:00.000Z" {
		t.Error("SweepID is not UTC and fixed width")
	}
	var r Report
	r.Add(Report{Sweep: "s", Segments: []int{2}, Checked: 1})
	r.Add(Report{Segments: []int{0}, Checked: 2, Errors: 1})
	if r.Sweep != "s" || r.Checked != 3 || r.Errors != 1 || !reflect.DeepEqual(r.Segments, []int{0, 2}) {
		t.Errorf("Report.Add = %+v", r)
	}
}

// TestDecideClearsLastError: a healthy check ends the stored error (issue
// 15, item 2), and writes even within the touch interval to do so.
func TestDecideClearsLastError(t *testing.T) {
	ok := Result{Outcome: OutcomeOK, LatencyMs: 3}
	touch := Policy{FailureThreshold: 2, TouchInterval: time.Hour}
	withError := func(s gateway.Status) *gateway.Gateway {
		return &gateway.Gateway{Status: s, LastError: "old", LastErrorAt: ptr(t0.Add(-time.Hour)),
			LastConnectedAt: ptr(t0.Add(-2 * time.Hour)), LastCheckedAt: ptr(t0.Add(-time.Minute))}
	}
	tests := []struct {
		name      string
		g         *gateway.Gateway
		r         Result
		wantClear bool
		wantWrite bool
	}{
		{name: "healthy CONNECTED with an old error", g: withError(gateway.StatusConnected), r: ok, wantClear: true, wantWrite: true},
		{name: "healthy ERROR recovering", g: withError(gateway.StatusError), r: ok, wantClear: true, wantWrite: true},
		{name: "healthy without an error", g: &gateway.Gateway{Status: gateway.StatusConnected, LastCheckedAt: ptr(t0.Add(-time.Minute))}, r: ok, wantClear: false, wantWrite: false},
		{name: "a blip keeps it", g: withError(gateway.StatusConnected), r: Result{Outcome: OutcomeUnreachable, Error: "down"}, wantClear: false, wantWrite: true},
		{name: "rate limiting keeps it", g: withError(gateway.StatusConnected), r: Result{Outcome: OutcomeRateLimited}, wantClear: false, wantWrite: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.g, tc.r, t0, touch)
			if d.ClearLastError != tc.wantClear || d.Write != tc.wantWrite {
				t.Errorf("Decide = %+v; want clear %v, write %v", d, tc.wantClear, tc.wantWrite)
			}
			if d.ClearLastError && (d.LastError != nil || d.LastErrorAt != nil) {
				t.Errorf("lastError both set and cleared: %+v", d)
			}
		})
	}
}
