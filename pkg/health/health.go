// Package health is Gatehouse's scheduled health check: a sweep over every
// gateway that is not deliberately DISCONNECTED, split into segments that
// worker invocations process in parallel, with status rules that do not
// flap, one conditional write per gateway per sweep, a small history sample
// per check, and an event for every status change.
//
// # Shape
//
// An EventBridge schedule invokes the health-check function. Its
// Coordinator turns the schedule's time into a sweep id and hands one Task
// per segment to a Fanout: in AWS, asynchronous Lambda invokes of the
// health worker function (package healthaws); locally, goroutines in the
// same process (InProcess). Each Worker run claims segments in DynamoDB
// (a lease per segment and sweep, so a segment is processed by one worker
// at a time and once per sweep), reads its gateways with a parallel Scan
// of the owner index (which holds gateway items only, not their history),
// and checks them with bounded concurrency.
//
// # Why asynchronous Lambda invokes and not SQS
//
// A sweep has few units of work (a few dozen segments), each carrying its
// own progress in DynamoDB: the segment's cursor and lease. What a queue
// would add — durable messages, redelivery, a dead-letter queue — the
// segment items already give: a lost or failed invoke leaves its segment
// unclaimed or its lease expiring, and the next sweep (or any worker of
// this sweep with time left) takes it over from its saved cursor. So the
// fan-out only has to start workers, which an asynchronous invoke does
// with no extra resource, no poller and no per-message cost; retries are
// turned off (EventInvokeConfig) because a retry would only find the
// segment claimed or done.
//
// # Deadline and resumption
//
// A worker stops starting checks when the time left before its deadline
// (the Lambda's) is less than one check timeout plus a margin, waits for
// the checks in flight, and saves the segment as paused at the last
// gateway it started. The next sweep resumes a paused segment from there;
// only a segment that reached its end starts afresh. A segment that
// outgrows one invocation is thus covered round-robin over several sweeps,
// and no gateway is starved.
//
// # Warm containers and KMS
//
// Credentials are opened through a bounded cache of plaintext data keys
// (pkg/envelope's, sized by the caller), so a container that checks the same
// gateways again within the cache TTL makes no KMS call. Lambda does not
// route a segment to the container that had it last time, so a Worker
// remembers which segments its container processed (while their keys are
// cached: WithWarmTTL) and claims those first; the segment number in the
// Task is only where a cold container starts looking.
//
// # Status honesty
//
// See Decide: one failed check does not flip a CONNECTED gateway to ERROR
// (it takes Config.FailureThreshold in a row); rejected or unreadable
// credentials and a Telegram webhook taken over by another URL are
// immediate; recovery is immediate; rate limiting says nothing about the
// gateway and changes nothing.
package health

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Actor is the audit trail's name for the sweep.
const Actor = "health-check"

// Defaults of Config.
const (
	DefaultConcurrency        = 32
	DefaultCheckTimeout       = 10 * time.Second
	DefaultFailureThreshold   = 2
	DefaultSegments           = 32
	DefaultSampleTTL          = 7 * 24 * time.Hour
	DefaultStuckConnecting    = 3 * time.Minute
	DefaultWebhookErrorWindow = 10 * time.Minute
	DefaultMargin             = 5 * time.Second
	DefaultPageSize           = 100
	DefaultCheckpointEvery    = 30 * time.Second
	DefaultBudget             = 4 * time.Minute
	// MaxSegments bounds Config.Segments: enough for millions of gateways
	// at DefaultConcurrency, few enough that listing segments is one Query.
	MaxSegments = 1000
)

// Config tunes a sweep. Zero fields take the defaults above.
type Config struct {
	// Concurrency is how many checks one worker run has in flight.
	Concurrency int
	// CheckTimeout bounds one gateway's check, all its calls included.
	CheckTimeout time.Duration
	// FailureThreshold is how many failed checks in a row move a CONNECTED
	// gateway to ERROR.
	FailureThreshold int
	// Segments is how many parts the sweep splits the gateways into: one
	// Task, and at most one worker at a time, per segment.
	Segments int
	// SampleTTL is how long history samples live.
	SampleTTL time.Duration
	// StuckConnecting is how long a gateway may stay CONNECTING before the
	// sweep treats it as a connect that died mid-way and checks it.
	StuckConnecting time.Duration
	// WebhookErrorWindow is how recent Telegram's last_error_date must be
	// to count as a failing webhook.
	WebhookErrorWindow time.Duration
	// TouchInterval, when positive, skips the gateway write of a check
	// that changed nothing but lastCheckedAt, latency and lastConnectedAt
	// until the stored lastCheckedAt is that old. Zero writes them once
	// per sweep. The sample is written either way.
	TouchInterval time.Duration
	// Margin is kept free before the deadline, beyond one CheckTimeout,
	// for the last writes and the segment's bookkeeping.
	Margin time.Duration
	// PageSize is how many gateway items one Scan request reads.
	PageSize int
	// CheckpointEvery is how often a running segment saves its cursor, so
	// a worker that dies loses little.
	CheckpointEvery time.Duration
	// Budget is a run's time when its context has no deadline (locally).
	Budget time.Duration
	// PublicURL is Gatehouse's public API base URL; a Telegram webhook
	// must be {PublicURL}/api/webhooks/telegram/{id}. Empty skips the
	// webhook URL rule.
	PublicURL string
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Concurrency, DefaultConcurrency)
	def(&c.FailureThreshold, DefaultFailureThreshold)
	def(&c.Segments, DefaultSegments)
	def(&c.PageSize, DefaultPageSize)
	c.Segments = min(c.Segments, MaxSegments)
	defDur(&c.CheckTimeout, DefaultCheckTimeout)
	defDur(&c.SampleTTL, DefaultSampleTTL)
	defDur(&c.StuckConnecting, DefaultStuckConnecting)
	defDur(&c.WebhookErrorWindow, DefaultWebhookErrorWindow)
	defDur(&c.Margin, DefaultMargin)
	defDur(&c.CheckpointEvery, DefaultCheckpointEvery)
	defDur(&c.Budget, DefaultBudget)
	return c
}

// Outcome is the class of one check's result, as samples record it: the
// provider's outcome classes plus the sweep's own findings.
type Outcome string

// Outcome classes. The first five are provider.Outcome's.
const (
	OutcomeOK                 Outcome = "ok"
	OutcomeInvalidCredentials Outcome = "invalid_credentials"
	OutcomeRateLimited        Outcome = "rate_limited"
	OutcomeUnreachable        Outcome = "unreachable"
	OutcomeProviderError      Outcome = "provider_error"
	// OutcomeCredentialsUnreadable: the stored credentials do not decrypt
	// for this gateway; only replacing them helps.
	OutcomeCredentialsUnreadable Outcome = "credentials_unreadable"
	// OutcomeWebhookTakenOver: Telegram delivers the bot's updates to
	// another URL (or to none): the token is used elsewhere.
	OutcomeWebhookTakenOver Outcome = "webhook_taken_over"
	// OutcomeWebhookError: Telegram reported a recent delivery error.
	OutcomeWebhookError Outcome = "webhook_error"
	// OutcomeConnectUnfinished: a Telegram gateway stuck in CONNECTING
	// whose bot works, but whose webhook secret may not be the one stored.
	OutcomeConnectUnfinished Outcome = "connect_unfinished"
)

// Sample is one check in a gateway's history. Samples expire by TTL.
type Sample struct {
	GatewayID string
	At        time.Time
	Outcome   Outcome
	LatencyMs int64
	// Status is the gateway's status after the check, as the sweep saw it.
	Status gateway.Status
	// Error is the failure's user-safe message, shortened; empty when healthy.
	Error string
	// PendingUpdateCount is Telegram's pending_update_count, when known.
	PendingUpdateCount *int64
	ExpiresAt          time.Time
}

// Healthy reports whether the sample is a passed check.
func (s Sample) Healthy() bool { return s.Outcome == OutcomeOK }

// Cursor is the position in a segment's scan after which to resume: the
// key of the last gateway item started. Nil starts at the beginning.
type Cursor map[string]string

// GatewayPage is one page of a segment's scan.
type GatewayPage struct {
	Gateways []*gateway.Gateway
	// Keys[i] is the Cursor that resumes right after Gateways[i].
	Keys []Cursor
	// Next resumes after the page; nil when the segment is exhausted.
	Next Cursor
}

// CheckWrite is the one conditional write of a check's result to its
// gateway. The bookkeeping fields are always written; the others only when
// set. A status change bumps the gateway's version and updatedAt, and
// carries its audit event; bookkeeping alone does not, so dashboards
// editing against the version are not refused every sweep.
type CheckWrite struct {
	GatewayID string
	// Version is the version the sweep read; another one means the user
	// changed the gateway meanwhile, and nothing is written.
	Version             int64
	CheckedAt           time.Time
	LatencyMs           int64
	ConsecutiveFailures int
	// Status, when not empty, is the new status.
	Status          gateway.Status
	LastError       *string
	LastErrorAt     *time.Time
	LastConnectedAt *time.Time
	// ClearLastError removes lastError and lastErrorAt (a healthy check);
	// LastError and LastErrorAt are nil then.
	ClearLastError bool
	// ReleaseClaim, with a status change, is the bot claim the gateway
	// lets go (gateway.Gateway.BotClaim): its webhook was taken over, so
	// it no longer holds the bot, and another gateway may connect it.
	ReleaseClaim string
	// Event is the audit event of a status change; required with Status.
	Event *gateway.AuditEvent
}

// Segment states.
const (
	StateRunning = "running"
	StatePaused  = "paused" // stopped at the deadline; resumes from Cursor
	StateDone    = "done"
)

// SegmentState is the bookkeeping of one segment.
type SegmentState struct {
	Segment, Segments int
	// Sweep is the id of the sweep that last claimed the segment.
	Sweep      string
	State      string
	Owner      string
	LeaseUntil time.Time
	Cursor     Cursor
	UpdatedAt  time.Time
}

// Claimable reports whether a worker of sweep may claim s at now: a
// segment never claimed, one finished or paused in an earlier sweep, or
// one whose worker's lease ran out (it died).
func (s SegmentState) Claimable(sweep string, now time.Time) bool {
	switch {
	case s.State == "":
		return true
	case s.State == StateRunning:
		return s.LeaseUntil.Before(now)
	default:
		return s.Sweep < sweep
	}
}

// Claim asks for a segment for one worker run.
type Claim struct {
	Segment, Segments int
	Sweep             string
	Owner             string
	Now               time.Time
	LeaseUntil        time.Time
}

// SegmentSave records a worker's progress in a segment it holds.
type SegmentSave struct {
	Segment, Segments int
	Owner             string
	State             string
	// Cursor is where to resume; nil for a finished segment.
	Cursor Cursor
	Now    time.Time
}

// Store is what the sweep needs of the table; pkg/dynamo's Health
// implements it. Errors are *gateway.Error (CodeUnavailable, CodeInternal).
type Store interface {
	// ScanGateways reads up to limit items of segment seg of segments,
	// after start, skipping DISCONNECTED gateways.
	ScanGateways(ctx context.Context, seg, segments int, start Cursor, limit int) (GatewayPage, error)
	// RecordCheck applies w if the gateway is still at w.Version. It
	// reports false, and writes nothing, when the gateway changed or is gone.
	RecordCheck(ctx context.Context, w CheckWrite) (bool, error)
	// PutSample stores one history sample.
	PutSample(ctx context.Context, s Sample) error
	// ListSegments returns the bookkeeping of the segments of a split into
	// segments parts that exist, in segment order.
	ListSegments(ctx context.Context, segments int) ([]SegmentState, error)
	// ClaimSegment takes c's segment for c.Owner until c.LeaseUntil if it
	// is claimable (SegmentState.Claimable), and returns its state.
	ClaimSegment(ctx context.Context, c Claim) (SegmentState, bool, error)
	// SaveSegment records progress if s.Owner still holds the segment.
	SaveSegment(ctx context.Context, s SegmentSave) (bool, error)
}

// Opener opens a gateway's sealed credentials; *gateway.Service is one.
type Opener interface {
	Credentials(ctx context.Context, g *gateway.Gateway) (gateway.Credentials, error)
}

// SweepID is the id of the sweep scheduled at t: its time, in a fixed-width
// form whose string order is time order.
func SweepID(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
