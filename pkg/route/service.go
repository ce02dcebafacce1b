package route

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// Audit actions of route changes; they are in the bot's audit trail.
const (
	AuditCreated       = "route.created"
	AuditUpdated       = "route.updated"
	AuditStatusChanged = "route.status_changed"
	AuditDeleted       = "route.deleted"
	AuditReplayed      = "route.replayed"
)

// ErrTargetGone is what a Store returns when a route's target gateway
// does not exist (any more) at the time of the write.
var ErrTargetGone = errors.New("route: the target gateway does not exist")

// DeadLetter is an update a route gave up on after retrying it for the
// retry horizon.
type DeadLetter struct {
	Update    inbox.Update
	FailedAt  time.Time
	Attempts  int64
	LastError string
}

// DeadLetterPage is a page of a route's dead letters, oldest update first.
type DeadLetterPage struct {
	Items []DeadLetter
	Next  string
}

// Queued is an update put on a route's queue.
type Queued struct {
	Update inbox.Update
	// Replay marks a re-delivery asked for by the user.
	Replay bool
}

// Store keeps routes and their queues.
//
// Errors: gateway NotFound-coded errors for a missing route; CodeVersionMismatch;
// ErrTargetGone (wrapped) when a WEBHOOK target is missing at write time;
// CodeUnavailable; CodeInternal.
type Store interface {
	// CreateRoute writes r, with its audit event, if the bot and (for a
	// WEBHOOK target) the target gateway exist.
	CreateRoute(ctx context.Context, r *Route, ev gateway.AuditEvent) error
	GetRoute(ctx context.Context, botID, routeID string) (*Route, error)
	// ListRoutes returns every route of a bot, oldest first.
	ListRoutes(ctx context.Context, botID string) ([]*Route, error)
	// UpdateRoute replaces r's target, filters and status if the stored
	// version is expected; previous is the stored route (its target's
	// back-reference is moved when the target changes).
	UpdateRoute(ctx context.Context, r *Route, previous *Route, ev gateway.AuditEvent) error
	// DeleteRoute deletes a route, its queue and dead letters.
	DeleteRoute(ctx context.Context, r *Route, ev gateway.AuditEvent) error
	// Backlog counts a route's undelivered updates.
	Backlog(ctx context.Context, r *Route) (Backlog, error)
	DeadLetters(ctx context.Context, r *Route, limit int, cursor string) (DeadLetterPage, error)
	// Enqueue puts updates on a route's queue, to be delivered soon, in
	// update_id order per chat.
	Enqueue(ctx context.Context, r *Route, items []Queued) error
	// RequeueDeadLetters moves up to limit dead letters back onto the
	// queue; more says some are left.
	RequeueDeadLetters(ctx context.Context, r *Route, limit int) (n int, more bool, err error)
	// Kick makes a route's waiting deliveries due now (after a resume).
	Kick(ctx context.Context, r *Route) error
	// Audit records ev in the bot's trail.
	Audit(ctx context.Context, botID string, ev gateway.AuditEvent) error
}

// UpdateReader reads a bot's received updates (pkg/dynamo's Inbox).
type UpdateReader interface {
	ReadUpdates(ctx context.Context, gatewayID string, q inbox.UpdateQuery) (inbox.UpdatePage, error)
}

// View is a route with its backlog, as the API shows it.
type View struct {
	*Route
	Backlog Backlog
}

// Service is the routes API's logic: tenancy through the gateway service,
// validation, audit.
type Service struct {
	gateways *gateway.Service
	store    Store
	updates  UpdateReader
}

// NewService returns the service. updates may be nil: replays from an
// update id or a time then answer 503.
func NewService(gateways *gateway.Service, store Store, updates UpdateReader) *Service {
	return &Service{gateways: gateways, store: store, updates: updates}
}

// MaxReplay bounds how many updates one replay call queues; the answer
// says where to continue.
const MaxReplay = 2000

func routeNotFound() error {
	return &gateway.Error{Code: gateway.CodeNotFound, Message: "Route not found."}
}

// bot returns the actor's TELEGRAM_BOT gateway id; another tenant's is
// NotFound and another type is CodeConflict.
func (s *Service) bot(ctx context.Context, actor gateway.Actor, id string) (*gateway.Gateway, error) {
	g, err := s.gateways.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if g.Type != gateway.TypeTelegramBot {
		return nil, gateway.Errorf(gateway.CodeConflict, "Only TELEGRAM_BOT gateways have routes; this one is %s.", g.Type)
	}
	return g, nil
}

// checkTarget verifies a WEBHOOK target: a WEBHOOK gateway of the bot's
// tenant. Anything else is a field error on target.gatewayId, the same
// for another tenant's gateway as for one that does not exist.
func (s *Service) checkTarget(ctx context.Context, actor gateway.Actor, t Target) error {
	if t.Type != TargetWebhook {
		return nil
	}
	g, err := s.gateways.Get(ctx, actor, t.GatewayID)
	if gateway.IsCode(err, gateway.CodeNotFound) || (err == nil && g.Type != gateway.TypeWebhook) {
		return targetInvalid()
	}
	return err
}

// targetInvalid is 422, not 400: the id is well-formed, but names no
// WEBHOOK gateway the caller has (now).
func targetInvalid() error {
	return gateway.Unprocessable(gateway.FieldError{Field: "target.gatewayId", Message: "must be the id of one of your WEBHOOK gateways"})
}

func (s *Service) get(ctx context.Context, actor gateway.Actor, botID, routeID string) (*gateway.Gateway, *Route, error) {
	bot, err := s.bot(ctx, actor, botID)
	if err != nil {
		return nil, nil, err
	}
	if !ValidID(routeID) {
		return nil, nil, routeNotFound()
	}
	r, err := s.store.GetRoute(ctx, bot.ID, routeID)
	if err != nil {
		return nil, nil, err
	}
	return bot, r, nil
}

func (s *Service) view(ctx context.Context, r *Route) (View, error) {
	b, err := s.store.Backlog(ctx, r)
	return View{Route: r, Backlog: b}, err
}

// Create adds a route to the actor's bot.
func (s *Service) Create(ctx context.Context, actor gateway.Actor, botID string, spec Spec) (View, error) {
	bot, err := s.bot(ctx, actor, botID)
	if err != nil {
		return View{}, err
	}
	if err := s.checkTarget(ctx, actor, spec.Target); err != nil {
		return View{}, err
	}
	existing, err := s.store.ListRoutes(ctx, bot.ID)
	if err != nil {
		return View{}, err
	}
	if len(existing) >= MaxRoutesPerBot {
		return View{}, gateway.Errorf(gateway.CodeConflict, "A bot has at most %d routes; delete one first.", MaxRoutesPerBot)
	}
	now := s.gateways.Now().UTC()
	r := &Route{
		ID: NewID(), GatewayID: bot.ID, Owner: bot.Owner().Key(),
		Target: spec.Target, Filters: spec.Filters, Status: StatusActive,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	ev := s.gateways.Event(actor, bot.ID, AuditCreated, nil, routeDetails(r))
	if err := s.store.CreateRoute(ctx, r, ev); err != nil {
		if errors.Is(err, ErrTargetGone) {
			return View{}, targetInvalid()
		}
		return View{}, err
	}
	return View{Route: r}, nil
}

func routeDetails(r *Route) map[string]string {
	d := map[string]string{"routeId": r.ID, "target": string(r.Target.Type)}
	if r.Target.GatewayID != "" {
		d["targetGatewayId"] = r.Target.GatewayID
	}
	return d
}

// List returns the bot's routes, oldest first.
func (s *Service) List(ctx context.Context, actor gateway.Actor, botID string) ([]View, error) {
	bot, err := s.bot(ctx, actor, botID)
	if err != nil {
		return nil, err
	}
	rs, err := s.store.ListRoutes(ctx, bot.ID)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(rs))
	for i, r := range rs {
		if out[i], err = s.view(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get returns one route.
func (s *Service) Get(ctx context.Context, actor gateway.Actor, botID, routeID string) (View, error) {
	_, r, err := s.get(ctx, actor, botID, routeID)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, r)
}

// Replace sets a route's target and filters. With ifMatch, another
// version is CodeVersionMismatch. A replacement that changes nothing
// writes nothing, as a gateway's update does.
func (s *Service) Replace(ctx context.Context, actor gateway.Actor, botID, routeID string, spec Spec, ifMatch *int64) (View, error) {
	return s.change(ctx, actor, botID, routeID, ifMatch, func(r *Route) (string, []string) {
		var changes []string
		if r.Target != spec.Target {
			changes = append(changes, "target")
		}
		if !sameFilters(r.Filters, spec.Filters) {
			changes = append(changes, "filters")
		}
		if changes == nil {
			return "", nil
		}
		r.Target, r.Filters = spec.Target, spec.Filters
		return AuditUpdated, changes
	}, func(*Route) error { return s.checkTarget(ctx, actor, spec.Target) })
}

// sameFilters reports whether a and b let the same updates through; an
// empty list is no list.
func sameFilters(a, b Filters) bool {
	return slices.Equal(a.UpdateTypes, b.UpdateTypes) && slices.Equal(a.ChatIDs, b.ChatIDs) && a.CommandPrefix == b.CommandPrefix
}

// SetStatus pauses or resumes a route. Resuming a route in ERROR, or one
// already ACTIVE, retries its waiting deliveries now; setting the status
// a route has writes nothing. A WEBHOOK route resumes only while its
// target is one of the actor's WEBHOOK gateways (a deleted target pauses
// its routes; they must be pointed elsewhere).
func (s *Service) SetStatus(ctx context.Context, actor gateway.Actor, botID, routeID string, st Status, ifMatch *int64) (View, error) {
	var check func(*Route) error
	if st == StatusActive {
		check = func(r *Route) error { return s.checkTarget(ctx, actor, r.Target) }
	}
	v, err := s.change(ctx, actor, botID, routeID, ifMatch, func(r *Route) (string, []string) {
		if r.Status == st {
			return "", nil
		}
		r.Status, r.StatusReason = st, ""
		if st == StatusPaused {
			r.StatusReason = "Paused by " + who(actor) + "."
		}
		return AuditStatusChanged, []string{"status"}
	}, check)
	if err == nil && st == StatusActive {
		err = s.store.Kick(ctx, v.Route)
	}
	return v, err
}

func who(a gateway.Actor) string {
	if a.System != "" {
		return a.System
	}
	return "a user"
}

// change applies fn to the stored route and writes it with its audit
// event; without ifMatch a concurrent change is re-read and fn re-applied.
// check, when set, vets the stored route once it is known to be the
// actor's and at the version asked for: a missing bot or route is 404
// and a stale If-Match 412 whatever the check would say.
func (s *Service) change(ctx context.Context, actor gateway.Actor, botID, routeID string, ifMatch *int64,
	fn func(*Route) (action string, changes []string), check func(*Route) error) (View, error) {
	for attempt := 0; ; attempt++ {
		_, cur, err := s.get(ctx, actor, botID, routeID)
		if err != nil {
			return View{}, err
		}
		if ifMatch != nil && cur.Version != *ifMatch {
			return View{}, &gateway.Error{Code: gateway.CodeVersionMismatch,
				Message: "The route has been changed since it was read (it is at version " + strconv.FormatInt(cur.Version, 10) + "); fetch it again."}
		}
		if check != nil && attempt == 0 {
			if err := check(cur); err != nil {
				return View{}, err
			}
		}
		next := *cur
		action, changes := fn(&next)
		if action == "" {
			return s.view(ctx, cur)
		}
		next.Version, next.UpdatedAt = cur.Version+1, s.gateways.Now().UTC()
		details := routeDetails(&next)
		if next.Status != cur.Status {
			details["oldStatus"], details["newStatus"] = string(cur.Status), string(next.Status)
		}
		ev := s.gateways.Event(actor, cur.GatewayID, action, changes, details)
		err = s.store.UpdateRoute(ctx, &next, cur, ev)
		switch {
		case errors.Is(err, ErrTargetGone):
			return View{}, targetInvalid()
		case gateway.IsCode(err, gateway.CodeVersionMismatch) && ifMatch == nil && attempt < 5:
			continue
		case err != nil:
			return View{}, err
		}
		return s.view(ctx, &next)
	}
}

// Delete removes a route and what it still had to deliver.
func (s *Service) Delete(ctx context.Context, actor gateway.Actor, botID, routeID string) error {
	_, r, err := s.get(ctx, actor, botID, routeID)
	if err != nil {
		return err
	}
	return s.store.DeleteRoute(ctx, r, s.gateways.Event(actor, r.GatewayID, AuditDeleted, nil, routeDetails(r)))
}

// DeadLetters returns a page of the route's dead letters.
func (s *Service) DeadLetters(ctx context.Context, actor gateway.Actor, botID, routeID string, limit int, cursor string) (DeadLetterPage, error) {
	_, r, err := s.get(ctx, actor, botID, routeID)
	if err != nil {
		return DeadLetterPage{}, err
	}
	return s.store.DeadLetters(ctx, r, limit, cursor)
}

// ReplayResult is what a replay queued.
type ReplayResult struct {
	Queued int
	// NextFromUpdateID, when set, is where to continue: the replay stopped
	// at MaxReplay updates.
	NextFromUpdateID *int64
	// More says dead letters are left (a dead-letter replay stops at
	// MaxReplay).
	More bool
}

// Replay re-delivers a route's updates from an update id or a time (those
// the inbox still holds that pass the route's filters), or its dead
// letters. The deliveries carry the same webhook-id as the first ones.
func (s *Service) Replay(ctx context.Context, actor gateway.Actor, botID, routeID string, req Replay) (ReplayResult, error) {
	_, r, err := s.get(ctx, actor, botID, routeID)
	if err != nil {
		return ReplayResult{}, err
	}
	var res ReplayResult
	details := map[string]string{"routeId": r.ID}
	if req.DeadLetters {
		res.Queued, res.More, err = s.store.RequeueDeadLetters(ctx, r, MaxReplay)
		details["deadLetters"] = "true"
	} else {
		res, err = s.replayInbox(ctx, r, req)
		if req.FromUpdateID != nil {
			details["fromUpdateId"] = strconv.FormatInt(*req.FromUpdateID, 10)
		} else {
			details["from"] = req.From.Format(time.RFC3339)
		}
	}
	if err != nil {
		return res, err
	}
	details["queued"] = strconv.Itoa(res.Queued)
	if err := s.store.Audit(ctx, r.GatewayID, s.gateways.Event(actor, r.GatewayID, AuditReplayed, nil, details)); err != nil {
		return res, err
	}
	return res, nil
}

func (s *Service) replayInbox(ctx context.Context, r *Route, req Replay) (ReplayResult, error) {
	var res ReplayResult
	if s.updates == nil {
		return res, &gateway.Error{Code: gateway.CodeUnavailable, Message: "Replays are not available.", Op: "route.Replay"}
	}
	q := inbox.UpdateQuery{After: -1, Limit: 100, MaxBytes: 4 << 20, MaxRead: 1000}
	if req.FromUpdateID != nil {
		q.After = *req.FromUpdateID - 1
	}
	var batch []Queued
	for {
		page, err := s.updates.ReadUpdates(ctx, r.GatewayID, q)
		if err != nil {
			return res, err
		}
		for _, u := range page.Updates {
			if req.From != nil && u.ReceivedAt.Before(*req.From) {
				continue
			}
			if !r.Filters.Match(Candidate{Type: u.Type, ChatID: u.ChatID, Raw: u.Raw}) {
				continue
			}
			if res.Queued+len(batch) == MaxReplay {
				next := u.UpdateID
				res.NextFromUpdateID = &next
				break
			}
			batch = append(batch, Queued{Update: u, Replay: true})
		}
		if len(batch) > 0 {
			if err := s.store.Enqueue(ctx, r, batch); err != nil {
				return res, err
			}
			res.Queued += len(batch)
			batch = batch[:0]
		}
		if res.NextFromUpdateID != nil || len(page.Updates) == 0 || page.Last <= q.After {
			return res, nil
		}
		q.After = page.Last
	}
}
