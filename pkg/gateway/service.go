package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Service is the gateway service: every
// operation takes the Actor it acts for, checks that the actor's tenant owns
// the gateway, and records an audit event in the same write as the change.
type Service struct {
	store   Store
	sealer  Sealer
	now     func() time.Time
	idemTTL time.Duration
	retries int
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithIdempotencyTTL sets how long an Idempotency-Key is remembered (default 24h).
func WithIdempotencyTTL(d time.Duration) Option { return func(s *Service) { s.idemTTL = d } }

// NewService returns a Service over store and sealer. It does no I/O. A
// nil sealer makes a Service that reads gateways but cannot seal or open
// credentials (an internal error if asked).
func NewService(store Store, sealer Sealer, opts ...Option) *Service {
	s := &Service{store: store, sealer: sealer, now: time.Now, idemTTL: 24 * time.Hour, retries: 8}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewID returns a new random gateway id: "gw_" and 26 base32 characters
// (128 bits), unguessable so that ids leak nothing about other tenants.
func NewID() string { return "gw_" + randomToken() }

func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("gateway: crypto/rand failed: " + err.Error())
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// ValidID reports whether id has the shape NewID produces, "gw_" and 26
// characters of lower-case base32 (a-z, 2-7); other ids cannot exist, so
// they are answered NotFound without a read. (Checked by hand: it runs on
// every request, and a regular expression compiled at start-up costs every
// cold start.)
func ValidID(id string) bool { return ValidTokenID(id, "gw_") }

// ValidTokenID reports whether id is prefix and 26 characters of
// lower-case base32 (a-z, 2-7): the shape of every id made from NewToken.
func ValidTokenID(id, prefix string) bool {
	if len(id) != len(prefix)+26 || id[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// Create stores a new gateway for the actor's tenant with its credentials
// sealed. req is a validated request (DecodeCreate): its credentials are not
// checked again, and its CredentialInfo, with Learned added, becomes the
// gateway's credentialInfo. With a non-empty idemKey, a retry of the same
// request returns the gateway the first one made (replayed true); the same
// key with another request is CodeIdempotencyConflict.
func (s *Service) Create(ctx context.Context, actor Actor, req CreateRequest, idemKey string) (g *Gateway, replayed bool, err error) {
	owner := actor.Owner()
	hash := requestHash(req)
	if idemKey != "" {
		if g, err := s.replay(ctx, actor, idemKey, hash); g != nil || err != nil {
			return g, g != nil, err
		}
	}
	now := s.now().UTC()
	g = &Gateway{
		ID:             NewID(),
		UserID:         actor.UserID,
		OrganizationID: actor.OrganizationID,
		Name:           req.Name,
		Type:           req.Type,
		Status:         StatusDisconnected,
		Config:         req.Config,
		CredentialInfo: mergeInfo(req.CredentialInfo, req.Learned),
		CreatedAt:      now,
		UpdatedAt:      now,
		Version:        1,
	}
	if g.SealedCredentials, err = s.seal(ctx, g, req.Credentials); err != nil {
		return nil, false, err
	}
	details := map[string]string{"type": string(g.Type), "name": g.Name}
	if req.Warning != "" {
		g.LastError, g.LastErrorAt = req.Warning, &now
		details["warning"] = req.Warning
	}
	var idem *Idempotency
	if idemKey != "" {
		idem = &Idempotency{Owner: owner, Key: idemKey, RequestHash: hash, GatewayID: g.ID, ExpiresAt: now.Add(s.idemTTL)}
	}
	ev := s.event(actor, g.ID, AuditCreated, nil, details)
	err = s.store.CreateGateway(ctx, g, ev, idem)
	if IsCode(err, CodeIdempotencyConflict) {
		// A concurrent request with the same key won the race.
		if g, err := s.replay(ctx, actor, idemKey, hash); g != nil || err != nil {
			return g, g != nil, err
		}
		return nil, false, Errorf(CodeConflict, "A request with this Idempotency-Key is in progress; retry.")
	}
	if err != nil {
		return nil, false, err
	}
	return g, false, nil
}

// replay returns the gateway an earlier request with idemKey created, nil if
// there was none, or CodeIdempotencyConflict if that request differed.
func (s *Service) replay(ctx context.Context, actor Actor, key, hash string) (*Gateway, error) {
	rec, err := s.store.GetIdempotency(ctx, actor.Owner(), key)
	if IsCode(err, CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.RequestHash != hash {
		return nil, Errorf(CodeIdempotencyConflict, "This Idempotency-Key was used with a different request.")
	}
	g, err := s.Get(ctx, actor, rec.GatewayID)
	if IsCode(err, CodeNotFound) {
		return nil, Errorf(CodeIdempotencyConflict, "The gateway this Idempotency-Key created no longer exists.")
	}
	return g, err
}

// requestHash fingerprints a create request for idempotency. Credentials
// enter only through their own SHA-256, so the stored hash reveals nothing
// usable about them.
func requestHash(req CreateRequest) string {
	creds, _ := json.Marshal(req.Credentials)
	credSum := sha256.Sum256(creds)
	var cfg bytes.Buffer
	_ = json.Compact(&cfg, req.Config)
	b, _ := json.Marshal([]string{req.Name, string(req.Type), cfg.String(), hex.EncodeToString(credSum[:])})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Get returns one gateway of the actor's tenant; NotFound when it does not
// exist or belongs to another tenant.
func (s *Service) Get(ctx context.Context, actor Actor, id string) (*Gateway, error) {
	if !ValidID(id) {
		return nil, NotFound()
	}
	g, err := s.store.GetGateway(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.Owner().Key() != actor.Owner().Key() {
		return nil, NotFound()
	}
	return g, nil
}

// List returns a page of the actor's tenant's gateways, newest first.
func (s *Service) List(ctx context.Context, actor Actor, f ListFilter, limit int, cursor string) (Page, error) {
	return s.store.ListGateways(ctx, actor.Owner(), f, limit, cursor)
}

// Audit returns a page of a gateway's audit trail, newest first. The
// trail outlives its gateway (see AuditRetention): once the gateway is
// gone, the owner recorded on its deletion event, its newest, decides
// who may read it, with the same rule as Get. Errors: NotFound for a
// gateway that never was, or is (or was) another tenant's; those of Get
// and the store.
func (s *Service) Audit(ctx context.Context, actor Actor, id string, limit int, cursor string) (AuditPage, error) {
	_, err := s.Get(ctx, actor, id)
	if IsCode(err, CodeNotFound) && ValidID(id) {
		err = s.deletedOwnedBy(ctx, actor, id)
	}
	if err != nil {
		return AuditPage{}, err
	}
	return s.store.ListAudit(ctx, id, limit, cursor)
}

// deletedOwnedBy answers nil when gateway id was deleted and belonged to
// actor's tenant, and NotFound otherwise.
func (s *Service) deletedOwnedBy(ctx context.Context, actor Actor, id string) error {
	newest, err := s.store.ListAudit(ctx, id, 1, "")
	if err != nil {
		return err
	}
	if len(newest.Events) == 0 || newest.Events[0].Action != AuditDeleted || newest.Events[0].Owner.Key() != actor.Owner().Key() {
		return NotFound()
	}
	return nil
}

// Update changes a gateway's name, config and/or credentials. req is a
// validated request (DecodeUpdate for the gateway's type), as in Create.
// With ifMatch set, a gateway at another version is CodeVersionMismatch;
// without it, a concurrent change is re-read and the update re-applied, so
// none is lost.
//
// New credentials on a gateway that holds a webhook secret (a connected
// Telegram bot) make that secret worthless: it was registered with the old
// bot. The same write forgets it, so the old secret stops opening the
// webhook route at once, and moves the gateway to CONNECTING, which moves
// its bot claim to the new bot in the same transaction (BotClaim); the
// caller, lifecycle.Update, then removes the old bot's webhook and
// registers the new bot's with a new secret. A new bot another gateway
// holds is CodeConflict (MsgBotInUse) and nothing is written.
func (s *Service) Update(ctx context.Context, actor Actor, id string, req UpdateRequest, ifMatch *int64) (*Gateway, error) {
	var sealed []byte
	return s.mutate(ctx, actor, id, ifMatch, func(g *Gateway) (string, []string, map[string]string, error) {
		var changes []string
		details := map[string]string{}
		if req.Name != nil && *req.Name != g.Name {
			// The trail shows a rename's old and new names (names are
			// not secret), so a reader need not reconstruct them.
			details["oldName"], details["newName"] = g.Name, *req.Name
			g.Name = *req.Name
			changes = append(changes, "name")
		}
		if req.Config != nil && !jsonEqual(req.Config, g.Config) {
			g.Config = req.Config
			changes = append(changes, "config")
		}
		if req.Credentials != nil {
			if sealed == nil {
				var err error
				if sealed, err = s.seal(ctx, g, *req.Credentials); err != nil {
					return "", nil, nil, err
				}
			}
			g.SealedCredentials = sealed
			g.CredentialInfo = mergeInfo(req.CredentialInfo, req.Learned)
			changes = append(changes, "credentials")
			if g.WebhookSecretHash != nil {
				details["from"], details["to"] = string(g.Status), string(StatusConnecting)
				g.Status, g.WebhookSecretHash = StatusConnecting, nil
				changes = append(changes, "status", "webhookSecret")
			}
			if req.Warning != "" {
				now := s.now().UTC()
				g.LastError, g.LastErrorAt = req.Warning, &now
				details["warning"] = req.Warning
			}
		}
		if len(details) == 0 {
			details = nil
		}
		return AuditUpdated, changes, details, nil
	})
}

// Change describes what a Modify function did to a gateway, for the audit
// trail. No Fields means nothing changed and nothing is written.
type Change struct {
	Action  string            // one of the Audit* constants
	Fields  []string          // the fields that changed
	Details map[string]string // small non-secret facts
}

// Modify reads the actor's gateway, lets fn change it, and writes it back
// with its audit event in one conditional write. With ifMatch set, another
// version is CodeVersionMismatch; without it, a concurrent write makes Modify
// re-read and call fn again, so fn must be safe to repeat. Errors: those of
// Get, fn's, and the store's.
func (s *Service) Modify(ctx context.Context, actor Actor, id string, ifMatch *int64, fn func(*Gateway) (Change, error)) (*Gateway, error) {
	return s.mutate(ctx, actor, id, ifMatch, func(g *Gateway) (string, []string, map[string]string, error) {
		c, err := fn(g)
		return c.Action, c.Fields, c.Details, err
	})
}

// mutate reads the gateway, applies change and writes it back with a version
// check, retrying on a concurrent write unless the caller pinned a version.
// A change that alters nothing writes nothing.
func (s *Service) mutate(ctx context.Context, actor Actor, id string, ifMatch *int64,
	change func(*Gateway) (action string, changes []string, details map[string]string, err error)) (*Gateway, error) {
	for attempt := 0; ; attempt++ {
		g, err := s.Get(ctx, actor, id)
		if err != nil {
			return nil, err
		}
		if ifMatch != nil && g.Version != *ifMatch {
			return nil, versionMismatch(g.Version)
		}
		prev := g.Version
		action, changes, details, err := change(g)
		if err != nil {
			return nil, err
		}
		if len(changes) == 0 {
			return g, nil
		}
		g.ClaimedBot = g.BotClaim()
		g.Version = prev + 1
		g.UpdatedAt = s.now().UTC()
		ev := s.event(actor, g.ID, action, changes, details)
		err = s.store.UpdateGateway(ctx, g, prev, ev)
		if IsCode(err, CodeVersionMismatch) && ifMatch == nil && attempt < s.retries {
			continue
		}
		if err != nil {
			return nil, err
		}
		return g, nil
	}
}

// Delete removes a gateway. With ifMatch set, another version is
// CodeVersionMismatch.
func (s *Service) Delete(ctx context.Context, actor Actor, id string, ifMatch *int64) error {
	for attempt := 0; ; attempt++ {
		g, err := s.Get(ctx, actor, id)
		if err != nil {
			return err
		}
		if ifMatch != nil && g.Version != *ifMatch {
			return versionMismatch(g.Version)
		}
		ev := s.event(actor, g.ID, AuditDeleted, nil, map[string]string{"name": g.Name, "type": string(g.Type)})
		ev.Owner = g.Owner()
		err = s.store.DeleteGateway(ctx, g.ID, g.Version, ev)
		if IsCode(err, CodeVersionMismatch) && ifMatch == nil && attempt < s.retries {
			continue
		}
		return err
	}
}

// Credentials opens a gateway's sealed credentials. A blob that does not
// open for this gateway is CodeCredentialsUnreadable.
func (s *Service) Credentials(ctx context.Context, g *Gateway) (Credentials, error) {
	var c Credentials
	if s.sealer == nil {
		return c, Internal("gateway.Credentials", errNoSealer)
	}
	plain, err := s.sealer.Open(ctx, g.SealedCredentials, Binding(g))
	if err != nil {
		return c, err
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &c); err != nil {
		return c, &Error{Code: CodeCredentialsUnreadable, Message: "The stored credentials of this gateway cannot be read; replace them.", Op: "gateway.Credentials", Err: err}
	}
	return c, nil
}

// errNoSealer is the cause of the internal error of a Service built
// without a Sealer (a function that only reads gateways, which links no
// KMS client) asked for credentials: a wiring mistake, not a user's.
var errNoSealer = errors.New("this service has no sealer: it only reads gateways")

func (s *Service) seal(ctx context.Context, g *Gateway, c Credentials) ([]byte, error) {
	if s.sealer == nil {
		return nil, Internal("gateway.seal", errNoSealer)
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, Internal("gateway.seal", err)
	}
	defer clear(plain)
	return s.sealer.Seal(ctx, plain, Binding(g))
}

func (s *Service) event(actor Actor, gatewayID, action string, changes []string, details map[string]string) AuditEvent {
	return AuditEvent{
		ID:        randomToken(),
		GatewayID: gatewayID,
		Action:    action,
		Actor:     actor,
		At:        s.now().UTC(),
		Changes:   changes,
		Details:   details,
	}
}

// mergeInfo returns the credential summary with the facts a provider
// learnt (a bot's username) added; the summary's own keys win. It returns
// a new map, never nil, so a retried write starts from the request again.
func mergeInfo(info, learned map[string]any) map[string]any {
	out := make(map[string]any, len(info)+len(learned))
	for k, v := range learned {
		out[k] = v
	}
	for k, v := range info {
		out[k] = v
	}
	return out
}

func versionMismatch(current int64) *Error {
	return Errorf(CodeVersionMismatch, "The gateway was changed since you read it (it is now at version %d); reload it and retry.", current)
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}

// Event returns a new audit event of gateway gatewayID at the service's
// clock, for changes that other packages make to what belongs to a
// gateway (its routes) in the same write as the event.
func (s *Service) Event(actor Actor, gatewayID, action string, changes []string, details map[string]string) AuditEvent {
	return s.event(actor, gatewayID, action, changes, details)
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// NewToken returns 26 characters of random lower-case base32 (128 bits),
// the unguessable part of every id Gatehouse makes.
func NewToken() string { return randomToken() }
