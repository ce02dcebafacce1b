// Package rekey rotates the keys of stored credentials: a run walks every
// gateway and re-encrypts its credentials under the current KMS key and a
// fresh data key, with one version-conditioned write and one audit event per
// gateway.
//
// # What a run does to one gateway
//
// It opens the credentials under the gateway's binding and seals the same
// plaintext again (gateway.Service.Reseal: a new GenerateDataKey per
// gateway, never a cached data key), then writes the new blob only if the
// gateway is still at the version it read; a concurrent change makes it
// re-read the gateway and start over, so a user's edit is never overwritten.
// Credentials that do not open for their gateway (a corrupted blob, a blob
// copied from another gateway, a deleted key) are reported and the gateway
// is marked: status ERROR, lastError gateway.LastErrorCredentialsUnreadable,
// audited. Nothing is ever deleted. A gateway without credentials is
// skipped. An outage — KMS or DynamoDB unavailable — is not a property of
// any gateway: the run stops with the error and its checkpoint, and marks
// nothing. Any other error (a gateway that kept changing through every
// retry, an unexpected answer) fails that gateway alone: it is counted,
// listed and logged, a later run (not a resume) tries it again, and
// Config.MaxFailures of them stop the run, since so many mean something
// systematic is wrong.
//
// # Resuming
//
// The table is read as a parallel Scan of the owner index (which holds
// gateway items only). A checkpoint item in a partition of its own holds the
// run's id, start, key, and per segment a cursor and counts. The cursor is a
// low-water mark: it only moves past a gateway once that gateway and every
// one before it in the segment are done, so the counts beside it are exact.
// Each gateway written also records the run that wrote it and what it did,
// so the gateways done beyond the mark when a run stopped (several are in
// flight at once) are recognised and not written again when it resumes. A
// run stops starting gateways a margin before its deadline (the Lambda's),
// waits for those in flight, saves the checkpoint and reports complete
// false; a run with Resume continues it. A run without Resume starts a new
// run id, and re-encrypts everything again.
//
// # Masking credentialInfo
//
// A run also finishes a migration: gateways stored before credentialInfo's
// URLs were masked (gateway.MaskURL) hold the whole URL — a Slack webhook's
// secret, an AI base URL's api-key — beside the sealed credentials. Reads
// mask it already (pkg/dynamo), and every run writes the masked value in
// the same version-conditioned write that reseals or marks the gateway:
// no extra write, no extra version, and an edit made meanwhile wins as it
// does for the credentials. Counts.Masked says how many it rewrote (a dry
// run: how many it would). Gateways a run writes nothing to (no
// credentials, or already marked unreadable) keep the stored value, masked
// as read.
//
// # Dry run
//
// A dry run reads and opens every gateway's credentials, so that it finds
// the unreadable ones, and reports what a run would do. It writes nothing at
// all: no gateway, no audit event, no checkpoint.
package rekey

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Actor is the system actor of a run's audit events.
const Actor = "rotate-credentials"

// MaxSegments bounds how many parts a run's Scan is split into.
const MaxSegments = 64

// MaxListed bounds the unreadable and the failed gateways a summary (and
// the checkpoint, which must stay well below DynamoDB's 400 KB item limit)
// lists by id; the counts are always complete, and each one is logged.
const MaxListed = 100

// Defaults of Config.
const (
	DefaultSegments        = 4
	DefaultConcurrency     = 16
	DefaultPageSize        = 100
	DefaultMargin          = 30 * time.Second
	DefaultCheckpointEvery = 2 * time.Second
	DefaultProgressEvery   = time.Second
	DefaultMaxFailures     = 50
	DefaultRetries         = 8
)

// Result is what a run did to a gateway, as recorded on the gateway.
type Result string

// The results a run records on the gateways it writes.
const (
	ResultRotated    Result = "rotated"
	ResultUnreadable Result = "unreadable"
)

// Cursor is where a segment's scan resumes: the key attributes of the item
// to continue after. It is opaque to this package.
type Cursor map[string]string

// Entry is a gateway as a run read it, with the mark the last run that
// wrote it left.
type Entry struct {
	Gateway *gateway.Gateway
	// Run is the id of the run that last re-encrypted or marked the
	// gateway, "" if none did since its last ordinary write.
	Run string
	// Result is what that run did.
	Result Result
	// UnmaskedInfo is set when the stored credentialInfo still holds a URL
	// unmasked; Gateway.CredentialInfo is then the masked value to store.
	UnmaskedInfo bool
}

// Page is one page of a segment of the Scan.
type Page struct {
	Entries []Entry
	// Keys[i] is the cursor that resumes right after Entries[i].
	Keys []Cursor
	// Next resumes after the page; nil on the segment's last page.
	Next Cursor
}

// Write is one change of a gateway by a run, made only if the gateway is
// still at Version: either new credentials (Result ResultRotated, Sealed)
// or the unreadable mark (Result ResultUnreadable, LastError; the status
// becomes ERROR). Either bumps the version, sets updatedAt to At, records
// Run and Result on the gateway, and appends Event, all in one write. A
// non-nil CredentialInfo (the masked one) replaces the stored one in the
// same write.
type Write struct {
	GatewayID string
	Version   int64
	Run       string
	Result    Result
	Sealed    []byte
	LastError string
	At        time.Time
	Event     gateway.AuditEvent
	// CredentialInfo, when not nil, is stored as the gateway's
	// credentialInfo.
	CredentialInfo map[string]any
}

// Store is what a run needs of the table. pkg/rekey/rekeydynamo implements it.
//
// Errors: *gateway.Error, CodeUnavailable when the table cannot be reached
// (which stops a run), NotFound from GetGateway for a gateway that no longer
// exists.
type Store interface {
	// CountGateways counts the gateways of segment seg of segments.
	CountGateways(ctx context.Context, seg, segments int) (int, error)
	// ScanGateways reads up to limit gateways of segment seg after start
	// (nil: from the beginning). The read may be stale; writes are
	// conditional.
	ScanGateways(ctx context.Context, seg, segments int, start Cursor, limit int) (Page, error)
	// GetGateway reads one gateway consistently.
	GetGateway(ctx context.Context, id string) (Entry, error)
	// WriteGateway applies w, reporting false (and writing nothing) when
	// the gateway is no longer at w.Version or no longer exists.
	WriteGateway(ctx context.Context, w Write) (bool, error)
	// LoadCheckpoint reads the checkpoint of the latest run; false when
	// there is none.
	LoadCheckpoint(ctx context.Context) (Checkpoint, bool, error)
	// SaveCheckpoint writes cp. With fresh it replaces whatever is stored
	// (a new run takes over); otherwise it writes only if the stored
	// checkpoint is cp's run's, and is CodeConflict when another run has
	// taken over.
	SaveCheckpoint(ctx context.Context, cp Checkpoint, fresh bool) error
}

// Resealer opens a gateway's credentials and seals them again under the
// current key and a fresh data key (Reseal), or only opens them, for a dry
// run (CheckCredentials). Either is CodeCredentialsUnreadable for
// credentials that do not open for their gateway. *gateway.Service
// implements it.
type Resealer interface {
	Reseal(ctx context.Context, g *gateway.Gateway) ([]byte, error)
	CheckCredentials(ctx context.Context, g *gateway.Gateway) error
}

// Counts are what a run has done so far.
type Counts struct {
	Scanned     int `json:"scanned"`
	Reencrypted int `json:"reencrypted"`
	Unreadable  int `json:"unreadable"`
	Skipped     int `json:"skipped"`
	Failed      int `json:"failed"`
	// Masked counts the gateways whose stored credentialInfo the run
	// rewrote with its URLs masked (see the package comment).
	Masked int `json:"masked"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Scanned += o.Scanned
	c.Reencrypted += o.Reencrypted
	c.Unreadable += o.Unreadable
	c.Skipped += o.Skipped
	c.Failed += o.Failed
	c.Masked += o.Masked
}

// GatewayRef names a gateway in a report: its id and owner, and for a
// failure the error code. Never a secret.
type GatewayRef struct {
	ID    string `json:"id"`
	Owner string `json:"owner"`
	Error string `json:"error,omitempty"`
}

// SegmentState is one segment's progress in a checkpoint. Counts cover
// exactly the gateways before Cursor (all of them when Done).
type SegmentState struct {
	Cursor Cursor `json:"cursor,omitempty"`
	Done   bool   `json:"done,omitempty"`
	Counts
}

// Checkpoint is a run's saved progress.
type Checkpoint struct {
	RunID     string    `json:"runId"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// KeyID is the key the run seals under, as configured; a resume under
	// another key is refused, since the gateways already done would not
	// be under it.
	KeyID string `json:"keyId"`
	// Total is how many gateways the table held when the run started.
	Total    int            `json:"total"`
	Complete bool           `json:"complete,omitempty"`
	Segments []SegmentState `json:"segments"`
	// Up to MaxListed of each.
	Unreadable []GatewayRef `json:"unreadable,omitempty"`
	Failed     []GatewayRef `json:"failed,omitempty"`
}

// Summary is a run's report, and the rotate-credentials function's result.
type Summary struct {
	RunID     string    `json:"runId,omitempty"` // empty for a dry run
	DryRun    bool      `json:"dryRun"`
	Complete  bool      `json:"complete"`
	Resumed   bool      `json:"resumed"`
	KeyID     string    `json:"keyId"`
	StartedAt time.Time `json:"startedAt"`
	Total     int       `json:"total"`
	// Counts are of the whole run so far, over every invocation. In a dry
	// run, Reencrypted is how many would be.
	Counts
	UnreadableGateways []GatewayRef `json:"unreadableGateways"`
	FailedGateways     []GatewayRef `json:"failedGateways"`
	// ElapsedMs and PerSecond (gateways scanned per second) are of this
	// invocation only.
	ElapsedMs int64   `json:"elapsedMs"`
	PerSecond float64 `json:"perSecond"`
	// Next says how to continue an incomplete run.
	Next string `json:"next,omitempty"`
}

// Config tunes a run.
type Config struct {
	// KeyID is the configured current key (KMS_KEY_ID), recorded in the
	// checkpoint. The Resealer seals under it; this is only the record.
	KeyID string
	// Segments is how many parts a new run's Scan is split into; each is
	// read by its own goroutine. A resumed run keeps its own count.
	Segments int
	// Concurrency bounds the gateways in flight across all segments.
	Concurrency int
	// PageSize is the Scan's page size.
	PageSize int
	// Margin is how long before the deadline a run stops starting gateways.
	Margin time.Duration
	// CheckpointEvery is the least time between two checkpoint saves.
	CheckpointEvery time.Duration
	// ProgressEvery is the least time between two progress lines.
	ProgressEvery time.Duration
	// MaxFailures stops a run once this many gateways failed in one
	// invocation for reasons other than an outage: something systematic
	// is wrong, and carrying on would only log the same error.
	MaxFailures int
	// Retries is how often a gateway changed concurrently is re-read and
	// tried again before it counts as failed.
	Retries int
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
	def(&c.Segments, DefaultSegments)
	c.Segments = min(c.Segments, MaxSegments)
	def(&c.Concurrency, DefaultConcurrency)
	def(&c.PageSize, DefaultPageSize)
	def(&c.MaxFailures, DefaultMaxFailures)
	def(&c.Retries, DefaultRetries)
	defDur(&c.Margin, DefaultMargin)
	defDur(&c.CheckpointEvery, DefaultCheckpointEvery)
	defDur(&c.ProgressEvery, DefaultProgressEvery)
	return c
}

// Options are one run's choices.
type Options struct {
	// DryRun reads and opens everything and writes nothing.
	DryRun bool
	// Resume continues the latest run from its checkpoint.
	Resume bool
	// Deadline is when the run must have returned (the Lambda's); zero
	// means none. The run stops starting gateways Config.Margin before it.
	Deadline time.Time
}

// Rotator runs key rotations. It is safe for concurrent use, though two
// runs at once only duplicate work: the later fresh run takes the
// checkpoint over and the earlier one stops at its next save.
type Rotator struct {
	store    Store
	sealer   Resealer
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	progress func(line string)
}

// Option configures a Rotator.
type Option func(*Rotator)

// WithClock replaces time.Now, for tests: it decides the deadline, the
// times written and the pace of checkpoints and progress lines.
func WithClock(now func() time.Time) Option { return func(r *Rotator) { r.now = now } }

// WithLogger sets the logger (default slog.Default()), which gets one line
// per unreadable or failed gateway (id and owner, never a secret).
func WithLogger(l *slog.Logger) Option { return func(r *Rotator) { r.log = l } }

// WithProgress sets where progress lines go (default: the logger at info
// level, which is the function's log in AWS); the local command writes
// them to stderr.
func WithProgress(f func(line string)) Option { return func(r *Rotator) { r.progress = f } }

// New returns a Rotator over store that reseals through sealer. It does no
// I/O.
func New(store Store, sealer Resealer, cfg Config, opts ...Option) *Rotator {
	r := &Rotator{store: store, sealer: sealer, cfg: cfg.withDefaults(), now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	if r.progress == nil {
		log := r.log
		r.progress = func(line string) { log.Info(line) }
	}
	return r
}

// Config returns the rotator's configuration, defaults applied.
func (r *Rotator) Config() Config { return r.cfg }
