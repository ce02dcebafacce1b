package send

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Store keeps jobs, their items, and each bot's sender lease. pkg/dynamo
// implements it.
type Store interface {
	// CreateJob stores j and marks its bot as having work. When a job
	// with j's id exists it stores nothing and returns that job and
	// ErrJobExists.
	CreateJob(ctx context.Context, j *Job) (*Job, error)
	// GetJob returns a job of gatewayID; gateway.CodeNotFound when there
	// is none.
	GetJob(ctx context.Context, gatewayID, jobID string) (*Job, error)
	// Items returns the recorded items of a job whose index is in
	// [from, from+limit), by index. Messages not yet claimed have no item.
	Items(ctx context.Context, jobID string, from, limit int) ([]Item, error)
	// ActiveJobs returns a bot's jobs that are not DONE, oldest first,
	// leaving out (unread) those skip reports true for: a running sender
	// asks only for the jobs it does not know. skip may be nil.
	ActiveJobs(ctx context.Context, gatewayID string, skip func(jobID string) bool) ([]*Job, error)
	// Progress writes j's counters and status; DONE takes it off its
	// bot's active jobs.
	Progress(ctx context.Context, j *Job) error

	// Acquire takes the bot's sender lease for owner until until when it
	// is free or expired at now, and returns the pacer state the last
	// holder left.
	Acquire(ctx context.Context, gatewayID, owner string, until, now time.Time) (PacerState, bool, error)
	// Extend moves owner's lease to until; gateway.CodeConflict when owner
	// lost it.
	Extend(ctx context.Context, gatewayID, owner string, until time.Time) error
	// Release lets owner's lease go and leaves state for the next holder.
	Release(ctx context.Context, gatewayID, owner string, state PacerState) error

	// Claim records that owner is about to send part of message index of
	// job: it wins only when no earlier sender claimed this part and the
	// parts before it have results.
	Claim(ctx context.Context, c Claim) (bool, error)
	// Unclaim gives back a claim whose send certainly did not reach
	// Telegram (a 429, a 5xx, a connection refused).
	Unclaim(ctx context.Context, c Claim) error
	// Record writes a claimed part's result: the item's status, message
	// ids, error and how many parts have results.
	Record(ctx context.Context, jobID string, it Item, done int) error
	// Claims returns a job's items whose last claimed part has no result:
	// sends a previous sender may have made and never recorded.
	Claims(ctx context.Context, jobID string) ([]Item, []Claim, error)

	// Pending returns the bots that have active jobs.
	Pending(ctx context.Context, limit int) ([]string, error)
	// Kick asks for a sender for gatewayID to start soon (a stream record
	// in AWS, the local runner's poll locally).
	Kick(ctx context.Context, gatewayID string) error
}

// Claim is one part of one message, claimed by a sender.
type Claim struct {
	JobID string
	Index int
	Part  int
	Owner string
	At    time.Time
	Chat  json.RawMessage
}

// ErrJobExists is returned by Store.CreateJob for an existing job id.
var ErrJobExists = gateway.Errorf(gateway.CodeConflict, "The job exists.")

// Gateways is what the service needs of the gateway service: the caller's
// gateway, 404 for another tenant's.
type Gateways interface {
	Get(ctx context.Context, actor gateway.Actor, id string) (*gateway.Gateway, error)
}

// Checker checks one message's sendMessage parameters (chat_id included
// for a message of a batch, left out for a broadcast's message) and
// returns every bad field, named under prefix ("messages[3].text").
// Telegram's provider implements it.
type Checker func(prefix string, params json.RawMessage, withChat bool) []gateway.FieldError

// Service accepts jobs and reports on them.
type Service struct {
	store    Store
	gateways Gateways
	check    Checker
	now      func() time.Time
}

// NewService returns the service.
func NewService(store Store, gateways Gateways, check Checker) *Service {
	return &Service{store: store, gateways: gateways, check: check, now: time.Now}
}

// Submitted is the answer to an accepted request.
type Submitted struct {
	Job *Job
	// Replayed is true when an earlier request with the same
	// Idempotency-Key made the job.
	Replayed bool
}

// Submit validates a request body ({"messages":[…]} or {"broadcast":{…}})
// and queues it as a job of gatewayID. Errors: gateway.CodeNotFound (no
// such gateway of the caller's), gateway.CodeInvalid with every bad field,
// gateway.CodeUnprocessable for a gateway that is not a Telegram bot,
// gateway.CodeNotConnected, gateway.CodeIdempotencyConflict, and the
// store's errors.
func (s *Service) Submit(ctx context.Context, actor gateway.Actor, gatewayID string, body []byte, idemKey string) (Submitted, error) {
	g, err := s.gateways.Get(ctx, actor, gatewayID)
	if err != nil {
		return Submitted{}, err
	}
	b, err := s.Decode(body)
	if err != nil {
		return Submitted{}, err
	}
	if g.Type != gateway.TypeTelegramBot {
		return Submitted{}, gateway.Errorf(gateway.CodeUnsupportedAction, "Only TELEGRAM_BOT gateways send messages.")
	}
	if g.Status != gateway.StatusConnected {
		return Submitted{}, gateway.Errorf(gateway.CodeNotConnected, "Connect the gateway before sending messages.")
	}
	j := s.newJob(g, b, false)
	hash := j.RequestHash
	if idemKey != "" {
		j.ID = IdempotentJobID(g.Owner(), g.ID, idemKey)
	}
	existing, err := s.store.CreateJob(ctx, j)
	if err == ErrJobExists {
		if existing.RequestHash != hash {
			return Submitted{}, gateway.Errorf(gateway.CodeIdempotencyConflict, "This Idempotency-Key was used with a different request.")
		}
		return Submitted{Job: existing, Replayed: true}, nil
	}
	if err != nil {
		return Submitted{}, err
	}
	return Submitted{Job: j}, nil
}

// newJob is a QUEUED job of g sending b, with a random id.
func (s *Service) newJob(g *gateway.Gateway, b Body, interactive bool) *Job {
	now := s.now().UTC()
	return &Job{ID: NewJobID(), GatewayID: g.ID, Owner: g.Owner(), Status: JobQueued, Total: b.Len(),
		CreatedAt: now, UpdatedAt: now, RequestHash: hashBody(b), Interactive: interactive, Body: b}
}

// Get returns a job of the caller's gateway and up to limit of its items
// from index from (every message, QUEUED for those not yet claimed), and
// the index to go on from, -1 at the end. Errors: gateway.CodeNotFound.
func (s *Service) Get(ctx context.Context, actor gateway.Actor, gatewayID, jobID string, from, limit int) (*Job, []Item, int, error) {
	if _, err := s.gateways.Get(ctx, actor, gatewayID); err != nil {
		return nil, nil, -1, err
	}
	if !ValidJobID(jobID) {
		return nil, nil, -1, gateway.NotFound()
	}
	j, err := s.store.GetJob(ctx, gatewayID, jobID)
	if err != nil {
		return nil, nil, -1, err
	}
	if from < 0 || from >= j.Total {
		return j, nil, -1, nil
	}
	end := min(from+limit, j.Total)
	recorded, err := s.store.Items(ctx, jobID, from, end-from)
	if err != nil {
		return nil, nil, -1, err
	}
	byIndex := map[int]Item{}
	for _, it := range recorded {
		byIndex[it.Index] = it
	}
	items := make([]Item, 0, end-from)
	for i := from; i < end; i++ {
		it, ok := byIndex[i]
		if !ok || it.Status == "" {
			it = Item{Index: i, Status: ItemQueued}
		}
		it.ChatID = j.Body.Chat(i)
		items = append(items, it)
	}
	next := end
	if next >= j.Total {
		next = -1
	}
	return j, items, next, nil
}

// Decode checks a request body and returns what it sends. Errors:
// gateway.CodeInvalid naming every bad field ("messages[3].text",
// "broadcast.chatIds[7]").
func (s *Service) Decode(body []byte) (Body, error) {
	obj, err := gateway.DecodeObject(body)
	if err != nil {
		return Body{}, err
	}
	bad := gateway.UnknownFields(obj, "", "messages", "broadcast")
	msgs, hasMsgs := obj["messages"]
	bc, hasBC := obj["broadcast"]
	if hasMsgs == hasBC {
		bad = append(bad, gateway.FieldError{Field: "messages", Message: `exactly one of "messages" and "broadcast" is required`})
		return Body{}, gateway.Invalid(bad...)
	}
	var b Body
	if hasMsgs {
		var list []json.RawMessage
		if json.Unmarshal(msgs, &list) != nil || list == nil {
			bad = append(bad, gateway.FieldError{Field: "messages", Message: "must be an array of messages"})
		} else if len(list) == 0 || len(list) > MaxMessages {
			bad = append(bad, gateway.FieldError{Field: "messages", Message: "must hold 1-" + strconv.Itoa(MaxMessages) + " messages"})
		} else {
			for i, m := range list {
				bad = append(bad, s.check("messages["+strconv.Itoa(i)+"]", m, true)...)
				list[i] = compact(m)
			}
			b.Messages = list
		}
	} else {
		var o map[string]json.RawMessage
		if json.Unmarshal(bc, &o) != nil || o == nil {
			bad = append(bad, gateway.FieldError{Field: "broadcast", Message: "must be an object with chatIds and message"})
			return Body{}, gateway.Invalid(bad...)
		}
		bad = append(bad, gateway.UnknownFields(o, "broadcast", "chatIds", "message")...)
		var chats []json.RawMessage
		if json.Unmarshal(o["chatIds"], &chats) != nil || chats == nil {
			bad = append(bad, gateway.FieldError{Field: "broadcast.chatIds", Message: "must be an array of chat ids"})
		} else if len(chats) == 0 || len(chats) > MaxBroadcastChats {
			bad = append(bad, gateway.FieldError{Field: "broadcast.chatIds", Message: "must hold 1-" + strconv.Itoa(MaxBroadcastChats) + " chat ids"})
		}
		seen := map[string]bool{}
		unique := chats[:0:0]
		for i, c := range chats {
			if !validChatID(c) {
				bad = append(bad, gateway.FieldError{Field: "broadcast.chatIds[" + strconv.Itoa(i) + "]", Message: "must be an integer chat id or @channelusername"})
				continue
			}
			// One message per chat, whatever the list repeats: a
			// broadcast never sends a chat the same message twice.
			if k := ChatKey(c); !seen[k] {
				seen[k] = true
				unique = append(unique, compact(c))
			}
		}
		m, ok := o["message"]
		if !ok {
			bad = append(bad, gateway.FieldError{Field: "broadcast.message", Message: "is required"})
		} else {
			bad = append(bad, s.check("broadcast.message", m, false)...)
		}
		b.Broadcast = &Broadcast{ChatIDs: unique, Message: compact(m)}
	}
	if len(bad) > 0 {
		return Body{}, gateway.Invalid(bad...)
	}
	return b, nil
}

func validChatID(c json.RawMessage) bool {
	var n json.Number
	if json.Unmarshal(c, &n) == nil {
		_, err := n.Int64()
		return err == nil
	}
	var s string
	return json.Unmarshal(c, &s) == nil && len(s) > 1 && s[0] == '@' && !strings.ContainsAny(s, " \t\n")
}

func compact(m json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, m) != nil {
		return m
	}
	return b.Bytes()
}

func hashBody(b Body) string {
	raw, _ := json.Marshal(b)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// JobPrefix starts every job id.
const JobPrefix = "job_"

// NewJobID returns a random job id.
func NewJobID() string { return JobPrefix + gateway.NewToken() }

// IdempotentJobID is the id of the job a client's Idempotency-Key names:
// the same key on the same gateway of the same tenant always names the
// same job, so a retried request finds the first one. The key is hashed
// with the tenant and gateway, unambiguously separated, so no two of them
// share an id whatever characters they hold.
func IdempotentJobID(o gateway.Owner, gatewayID, key string) string {
	h := sha256.New()
	for _, part := range []string{o.Key(), gatewayID, key} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":" + part))
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))
	return JobPrefix + strings.ToLower(enc[:26])
}

// ValidJobID reports whether id has a job id's shape.
func ValidJobID(id string) bool { return gateway.ValidTokenID(id, JobPrefix) }
