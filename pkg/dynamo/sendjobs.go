package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/send"
)

// The send engine's items (pkg/send). A job and what belongs to it share
// the job's partition; the rest are small items that index it:
//
//	JOB#<job> / JOB                    the job: owner, gateway, status,
//	                                   counters, request hash, and its body
//	                                   (gzip-compressed JSON) when that fits
//	JOB#<job> / BODY#<write>#<nnnn>    a chunk of a body that does not fit
//	JOB#<job> / ITEM#<nnnnn>           one message: its claim and result
//	OUTBOX#<bot> / <createdAt>#<job>   the bot's active jobs, oldest first
//	SENDQ#<0-3> / <bot>                a bot that has active jobs (active:
//	                                   how many), for the schedule's sweep
//	SENDER#<bot> / LEASE               the bot's sender lease and the pacer
//	                                   state its last holder left
//
// None carries the owner index's keys: that index lists gateways only.
//
// A job's state is kept sendJobTTL, a week: the job, its body and its
// outbox entry expire by TTL a week after its creation, its items a week
// after they were first written, DONE or not, so a job a deleted bot
// never finished does not stay forever. The SENDQ
// marker expires a week after its bot's latest job; until then it counts
// a job that expired unfinished, so the sweep visits that bot for nothing
// at most until then.
//
// Kick writes kick (Unix milliseconds) on the bot's SENDQ marker, so every
// change that should start a sender (a new job, a kick, a finished job with
// others behind it) is a stream record of a SENDQ# item whose new image
// has active > 0. An event source mapping selects exactly those with
//
//	{"eventName":["INSERT","MODIFY"],"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"SENDQ#"}]}},
//	 "NewImage":{"active":{"N":[{"numeric":[">",0]}]}}}}
//
// Two kicks in the same millisecond write one stream record: DynamoDB
// records no change for an update that changes nothing.
const (
	jobPrefix     = "JOB#"
	skJob         = "JOB"
	bodyPrefix    = "BODY#"
	itemPrefix    = "ITEM#"
	outboxPrefix  = "OUTBOX#"
	sendQPrefix   = "SENDQ#"
	sendQShards   = 4
	senderPrefix  = "SENDER#"
	skLease       = "LEASE"
	sendJobTTL    = 7 * 24 * time.Hour
	maxItemIndex  = 99999    // five digits; a job sends at most send.MaxBroadcastChats
	maxBodyJSON   = 64 << 20 // what a stored body may expand to
	bodyChunkSize = 300 << 10
	// bodyInline is the largest compressed body kept in the job item.
	// Any larger goes in chunks: the sender rewrites the job item's
	// progress about once a second, and DynamoDB charges a write by the
	// item's whole size, so a 10,000-chat broadcast's 45 KB body in the
	// item cost 45 write units a second. Kept small, the item is one.
	bodyInline = 512
	// bodyTxBudget is how many bytes of body chunks go in the transaction
	// that writes the job: 3.5 MiB, under its limit of 4 MB with the job
	// item (small when the body is in chunks), the index entries and the
	// keys; chunks beyond it are written before the transaction.
	bodyTxBudget = 7 << 19
)

// SendJobsAPI is the part of *dynamodb.Client that SendJobs uses.
type SendJobsAPI interface {
	ItemAPI
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// SendJobs is send.Store over the table: the send engine's jobs, their
// messages' claims and results, and each bot's sender lease. Every write
// that can race is conditional; Claim is one conditional UpdateItem, so of
// any number of senders exactly one wins a part.
//
// Items returns every item in its range that has been claimed or
// recorded; an item claimed but without any result yet has Status "",
// which send.Service.Get shows as QUEUED.
//
// Errors are *gateway.Error: those send.Store documents, CodeUnavailable
// when DynamoDB throttles or cannot be reached, CodeInternal otherwise.
type SendJobs struct {
	client SendJobsAPI
	table  string
	store  *Store // for its transactions
	now    func() time.Time
	// chunk and budget are bodyChunkSize and bodyTxBudget; tests shrink
	// them to write many chunks, before and in the transaction.
	chunk, budget int
}

var _ send.Store = (*SendJobs)(nil)

// NewSendJobs returns the store over table. It does no I/O.
func NewSendJobs(client SendJobsAPI, table string) *SendJobs {
	return &SendJobs{client: client, table: table, store: New(client, table), now: time.Now, chunk: bodyChunkSize, budget: bodyTxBudget}
}

func jobPK(id string) string { return jobPrefix + id }

func jobKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(jobPK(id)), AttrSK: sv(skJob)}
}

func itemSK(index int) string { return fmt.Sprintf("%s%05d", itemPrefix, index) }

func sendItemKey(jobID string, index int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(jobPK(jobID)), AttrSK: sv(itemSK(index))}
}

func chunkKey(jobID, write string, n int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(jobPK(jobID)), AttrSK: sv(fmt.Sprintf("%s%s#%04d", bodyPrefix, write, n))}
}

func outboxKey(gatewayID, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(outboxPrefix + gatewayID), AttrSK: sv(sk)}
}

func sendQKey(gatewayID string) map[string]types.AttributeValue {
	h := fnv.New32a()
	h.Write([]byte(gatewayID))
	return map[string]types.AttributeValue{AttrPK: sv(sendQPrefix + strconv.Itoa(int(h.Sum32()%sendQShards))), AttrSK: sv(gatewayID)}
}

func leaseKey(gatewayID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(senderPrefix + gatewayID), AttrSK: sv(skLease)}
}

func leaseConflict(op string) error {
	return &gateway.Error{Code: gateway.CodeConflict, Message: "Another sender holds the bot's lease.", Op: op}
}

func jobDone(op string) error {
	return &gateway.Error{Code: gateway.CodeConflict, Message: "The job is done.", Op: op}
}

// names are the expression attribute names SendJobs uses: every
// attribute an expression names, so that none trips over a reserved word.
var names = map[string]string{
	"#status": "status", "#owner": "owner", "#until": "until", "#state": "state", "#ttl": AttrTTL,
	"#done": "done", "#claimed": "claimed", "#index": "index", "#error": "error", "#chat": "chat",
	"#active": "active", "#kick": "kick", "#gw": "gatewayId", "#job": "jobId", "#at": "claimedAt",
	"#ids": "messageIds", "#parts": "parts", "#updated": "updatedAt", "#sent": "sent", "#failed": "failed",
	"#unknown": "unknown", "#outbox": "outbox", "#result": "result",
}

// nameRef is an expression attribute name in an expression, compiled on
// first use rather than at every function's cold start.
var nameRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#[A-Za-z]+`) })

// namesOf returns the entries of names that exprs use: DynamoDB refuses
// a name an expression does not use.
func namesOf(exprs ...string) map[string]string {
	out := map[string]string{}
	for _, e := range exprs {
		for _, ref := range nameRef().FindAllString(e, -1) {
			out[ref] = names[ref]
		}
	}
	return out
}

// jobItem is the item of j without its body.
func jobItem(j *send.Job, outboxSK string) itemWriter {
	w := itemWriter(jobKey(j.ID))
	w.str("id", j.ID)
	w.str("gatewayId", j.GatewayID)
	w.str("userId", j.Owner.UserID)
	w.optStr("organizationId", j.Owner.OrganizationID)
	w.str("owner", j.Owner.Key())
	w.str("status", string(j.Status))
	w.num("total", int64(j.Total))
	w.num("sent", int64(j.Sent))
	w.num("failed", int64(j.Failed))
	w.num("unknown", int64(j.Unknown))
	w.time("createdAt", j.CreatedAt)
	w.time("updatedAt", j.UpdatedAt)
	w.optStr("requestHash", j.RequestHash)
	w["interactive"] = &types.AttributeValueMemberBOOL{Value: j.Interactive}
	w.str("outbox", outboxSK)
	w.num(AttrTTL, j.CreatedAt.Add(sendJobTTL).Unix())
	return w
}

func parseJob(item map[string]types.AttributeValue) (*send.Job, error) {
	r := itemReader{m: item}
	j := &send.Job{
		ID: r.str("id"), GatewayID: r.str("gatewayId"),
		Owner:  gateway.Owner{UserID: r.str("userId"), OrganizationID: r.str("organizationId")},
		Status: send.JobStatus(r.str("status")), Total: int(r.num("total")), Sent: int(r.num("sent")),
		Failed: int(r.num("failed")), Unknown: int(r.num("unknown")), CreatedAt: r.time("createdAt"),
		UpdatedAt: r.time("updatedAt"), RequestHash: r.str("requestHash"),
	}
	if b, ok := item["interactive"].(*types.AttributeValueMemberBOOL); ok {
		j.Interactive = b.Value
	}
	return j, r.err
}

// CreateJob writes j, its body, its outbox entry and its bot's SENDQ
// marker in one transaction conditional on the job's absence. A body
// whose compressed JSON is over bodyInline goes in chunks beside the job
// item; those beyond what the transaction can carry are written before
// it under a key of this write only, so a losing duplicate never touches
// the winner's body.
//
// Errors: send.ErrJobExists, with the stored job, for an existing id;
// CodeUnavailable; CodeInternal.
func (s *SendJobs) CreateJob(ctx context.Context, j *send.Job) (*send.Job, error) {
	const op = "dynamo.CreateJob"
	raw, err := json.Marshal(j.Body)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	z, err := gzipped(raw)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	outboxSK := formatTime(j.CreatedAt) + "#" + j.ID
	ttl := nv(j.CreatedAt.Add(sendJobTTL).Unix())
	item := jobItem(j, outboxSK)
	var chunks []map[string]types.AttributeValue
	if len(z) <= bodyInline {
		item["body"] = &types.AttributeValueMemberB{Value: z}
	} else {
		write := gateway.NewToken()
		for n := 0; len(z) > 0; n++ {
			part := z[:min(len(z), s.chunk)]
			z = z[len(part):]
			c := itemWriter(chunkKey(j.ID, write, n))
			c["data"] = &types.AttributeValueMemberB{Value: part}
			c[AttrTTL] = ttl
			chunks = append(chunks, c)
		}
		item.str("bodyWrite", write)
		item.num("bodyChunks", int64(len(chunks)))
	}
	// The transaction takes the first chunks that fit; the rest go first.
	inTx := 0
	for size := 0; inTx < len(chunks) && inTx < maxTransaction-3; inTx++ {
		size += len(chunks[inTx]["data"].(*types.AttributeValueMemberB).Value)
		if size > s.budget {
			break
		}
	}
	early := chunks[inTx:]
	for _, c := range early {
		if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: c}); err != nil {
			return nil, storeError(op, err)
		}
	}
	outbox := itemWriter(outboxKey(j.GatewayID, outboxSK))
	outbox.str("jobId", j.ID)
	outbox[AttrTTL] = ttl
	writes := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: &s.table, Item: outbox}},
		{Update: &types.Update{TableName: &s.table, Key: sendQKey(j.GatewayID),
			UpdateExpression:          aws.String("SET #gw = :gw, #ttl = :ttl ADD #active :one"),
			ExpressionAttributeNames:  namesOf("#gw #ttl #active"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":gw": sv(j.GatewayID), ":ttl": ttl, ":one": nv(1)}}},
	}
	for _, c := range chunks[:inTx] {
		writes = append(writes, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: c}})
	}
	cancel, err := s.store.transact(ctx, writes)
	switch {
	case err == nil:
		return j, nil
	case cancel != nil && reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		s.dropChunks(early)
		existing, err := s.getJob(ctx, op, j.ID)
		if err != nil {
			return nil, err
		}
		if existing == nil {
			return nil, gateway.Internal(op, fmt.Errorf("job %s exists and cannot be read", j.ID))
		}
		return existing, send.ErrJobExists
	case cancel != nil:
		s.dropChunks(early)
		return nil, cancelError(op, cancel.CancellationReasons, err)
	default:
		return nil, storeError(op, err)
	}
}

// dropChunks deletes chunks written for a job that was not created, on a
// context of its own (the caller's may be the reason); TTL removes any
// this misses.
func (s *SendJobs) dropChunks(chunks []map[string]types.AttributeValue) {
	if len(chunks) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range chunks {
		_, _ = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: map[string]types.AttributeValue{AttrPK: c[AttrPK], AttrSK: c[AttrSK]}})
	}
}

// getJob reads job id and its body; nil when there is none.
func (s *SendJobs) getJob(ctx context.Context, op, id string) (*send.Job, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: jobKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, storeError(op, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	j, err := parseJob(out.Item)
	if err != nil {
		return nil, gateway.Internal(op, err)
	}
	r := itemReader{m: out.Item}
	z := r.bytes("body")
	if write := r.str("bodyWrite"); write != "" {
		want := int(r.num("bodyChunks"))
		chunks, err := s.query(ctx, op, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(jobPK(id)), ":p": sv(bodyPrefix + write + "#")},
		})
		if err != nil {
			return nil, err
		}
		if len(chunks) != want {
			return nil, gateway.Internal(op, fmt.Errorf("job %s: %d body chunks of %d", id, len(chunks), want))
		}
		for _, c := range chunks {
			cr := itemReader{m: c}
			z = append(z, cr.bytes("data")...)
			if cr.err != nil {
				return nil, gateway.Internal(op, cr.err)
			}
		}
	}
	if r.err != nil {
		return nil, gateway.Internal(op, r.err)
	}
	raw, err := gunzipBody(z)
	if err == nil {
		err = json.Unmarshal(raw, &j.Body)
	}
	if err != nil {
		return nil, gateway.Internal(op, fmt.Errorf("job %s: body: %w", id, err))
	}
	return j, nil
}

// gunzipBody expands a stored body, at most maxBodyJSON bytes of it.
func gunzipBody(z []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, maxBodyJSON+1))
	if err == nil && len(b) > maxBodyJSON {
		err = errors.New("body too large")
	}
	return b, err
}

// query runs in (a Query of the table, consistent) to its last page.
func (s *SendJobs) query(ctx context.Context, op string, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	in.TableName, in.ConsistentRead = &s.table, aws.Bool(true)
	var items []map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, storeError(op, err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// GetJob reads job jobID of gatewayID and its body with consistent reads.
//
// Errors: CodeNotFound, also for another gateway's job; CodeUnavailable;
// CodeInternal.
func (s *SendJobs) GetJob(ctx context.Context, gatewayID, jobID string) (*send.Job, error) {
	j, err := s.getJob(ctx, "dynamo.GetJob", jobID)
	if err != nil {
		return nil, err
	}
	if j == nil || j.GatewayID != gatewayID {
		return nil, gateway.NotFound()
	}
	return j, nil
}

// parseSendItem reads an ITEM# item: the message's state, and its claim
// when it has one (claim.Owner is "" when not).
func parseSendItem(jobID string, item map[string]types.AttributeValue) (send.Item, send.Claim, int, int, error) {
	r := itemReader{m: item}
	it := send.Item{Index: int(r.num("index")), Status: send.ItemStatus(r.str("status")), Error: r.str("error"),
		Parts: int(r.num("parts")), UpdatedAt: r.time("updatedAt")}
	if chat := r.str("chat"); chat != "" {
		it.ChatID = json.RawMessage(chat)
	}
	if res := r.str("result"); res != "" {
		it.Result = json.RawMessage(res)
	}
	if av, ok := item["messageIds"]; ok {
		l, isList := av.(*types.AttributeValueMemberL)
		if !isList {
			r.fail("messageIds", "is not a list")
		} else {
			for _, e := range l.Value {
				n, isNum := e.(*types.AttributeValueMemberN)
				id, err := int64(0), error(nil)
				if isNum {
					id, err = strconv.ParseInt(n.Value, 10, 64)
				}
				if !isNum || err != nil {
					r.fail("messageIds", "holds a non-integer")
					break
				}
				it.MessageIDs = append(it.MessageIDs, id)
			}
		}
	}
	claimed, done := r.optNum("claimed"), int(r.num("done"))
	var c send.Claim
	n := -1
	if claimed != nil {
		n = int(*claimed)
		c = send.Claim{JobID: jobID, Index: it.Index, Part: n - 1, Owner: r.str("owner"), At: r.time("claimedAt"), Chat: it.ChatID}
	}
	return it, c, n, done, r.err
}

// Items reads the items of job jobID whose index is in [from, from+limit)
// with one Query of their key range.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Items(ctx context.Context, jobID string, from, limit int) ([]send.Item, error) {
	const op = "dynamo.Items"
	from = max(from, 0)
	if limit <= 0 || from > maxItemIndex {
		return nil, nil
	}
	last := min(from+min(limit, maxItemIndex+1)-1, maxItemIndex)
	items, err := s.query(ctx, op, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :from AND :last"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(jobPK(jobID)), ":from": sv(itemSK(from)), ":last": sv(itemSK(last))},
	})
	if err != nil {
		return nil, err
	}
	out := make([]send.Item, 0, len(items))
	for _, item := range items {
		it, _, _, _, err := parseSendItem(jobID, item)
		if err != nil {
			return nil, gateway.Internal(op, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// ActiveJobs reads the bot's outbox, oldest job first, and each job.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) ActiveJobs(ctx context.Context, gatewayID string, skip func(string) bool) ([]*send.Job, error) {
	const op = "dynamo.ActiveJobs"
	entries, err := s.query(ctx, op, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(outboxPrefix + gatewayID)},
	})
	if err != nil {
		return nil, err
	}
	var out []*send.Job
	for _, e := range entries {
		r := itemReader{m: e}
		id := r.str("jobId")
		if r.err != nil {
			return nil, gateway.Internal(op, r.err)
		}
		if skip != nil && skip(id) {
			continue
		}
		j, err := s.getJob(ctx, op, id)
		if err != nil {
			return nil, err
		}
		// A job done (or expired) since the outbox was read is not active.
		if j == nil || j.Status == send.JobDone || j.GatewayID != gatewayID {
			continue
		}
		out = append(out, j)
	}
	return out, nil
}

// Progress writes j's status, counters and UpdatedAt, conditional on the
// stored job not being DONE. DONE also deletes the job's outbox entry and
// counts it off its bot's SENDQ marker in the same transaction, then
// deletes the marker if that was the bot's last active job, on condition
// that it still counts none, so a job created meanwhile keeps it. Writing
// DONE to a DONE job again only retries that last step.
//
// Errors: CodeNotFound; CodeConflict for a status other than DONE on a
// DONE job; CodeUnavailable; CodeInternal.
func (s *SendJobs) Progress(ctx context.Context, j *send.Job) error {
	const op = "dynamo.Progress"
	got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: jobKey(j.ID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#gw, #status, #outbox"), ExpressionAttributeNames: namesOf("#gw, #status, #outbox")})
	if err != nil {
		return storeError(op, err)
	}
	r := itemReader{m: got.Item}
	gw, status, outboxSK := r.str("gatewayId"), send.JobStatus(r.str("status")), r.str("outbox")
	switch {
	case r.err != nil:
		return gateway.Internal(op, r.err)
	case len(got.Item) == 0 || gw != j.GatewayID:
		return gateway.NotFound()
	case status == send.JobDone && j.Status == send.JobDone:
		return s.dropMarker(ctx, op, j.GatewayID)
	case status == send.JobDone:
		return jobDone(op)
	case outboxSK == "" && j.Status == send.JobDone:
		return gateway.Internal(op, fmt.Errorf("job %s has no outbox entry", j.ID))
	}
	update := &types.Update{TableName: &s.table, Key: jobKey(j.ID),
		UpdateExpression:    aws.String("SET #status = :status, #sent = :sent, #failed = :failed, #unknown = :unknown, #updated = :at"),
		ConditionExpression: aws.String("attribute_exists(pk) AND #status <> :done"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":status": sv(string(j.Status)), ":sent": nv(int64(j.Sent)),
			":failed": nv(int64(j.Failed)), ":unknown": nv(int64(j.Unknown)), ":at": sv(formatTime(j.UpdatedAt)), ":done": sv(string(send.JobDone))},
	}
	update.ExpressionAttributeNames = namesOf(*update.UpdateExpression, *update.ConditionExpression)
	if j.Status != send.JobDone {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: update.TableName, Key: update.Key,
			UpdateExpression: update.UpdateExpression, ConditionExpression: update.ConditionExpression,
			ExpressionAttributeNames: update.ExpressionAttributeNames, ExpressionAttributeValues: update.ExpressionAttributeValues})
		if isConditionFailed(err) {
			return jobDone(op) // it existed a moment ago: it became DONE
		}
		if err != nil {
			return storeError(op, err)
		}
		return nil
	}
	writes := []types.TransactWriteItem{
		{Update: update},
		{Delete: &types.Delete{TableName: &s.table, Key: outboxKey(j.GatewayID, outboxSK)}},
		{Update: &types.Update{TableName: &s.table, Key: sendQKey(j.GatewayID),
			UpdateExpression: aws.String("ADD #active :minus"), ConditionExpression: aws.String("attribute_exists(pk)"),
			ExpressionAttributeNames: namesOf("#active"), ExpressionAttributeValues: map[string]types.AttributeValue{":minus": nv(-1)}}},
	}
	cancel, err := s.store.transact(ctx, writes)
	switch {
	case err == nil:
	case cancel != nil && reasonCode(cancel.CancellationReasons, 0) == reasonConditionFailed:
		// Another writer made it DONE first, and counted it off.
	case cancel != nil && reasonCode(cancel.CancellationReasons, 2) == reasonConditionFailed:
		// The marker expired: only the job and its outbox entry to write.
		cancel, err = s.store.transact(ctx, writes[:2])
		if err != nil && (cancel == nil || reasonCode(cancel.CancellationReasons, 0) != reasonConditionFailed) {
			return s.progressError(op, cancel, err)
		}
	default:
		return s.progressError(op, cancel, err)
	}
	return s.dropMarker(ctx, op, j.GatewayID)
}

func (s *SendJobs) progressError(op string, cancel *types.TransactionCanceledException, err error) error {
	if cancel == nil {
		return storeError(op, err)
	}
	return cancelError(op, cancel.CancellationReasons, err)
}

// dropMarker deletes the bot's SENDQ marker if it counts no active job.
func (s *SendJobs) dropMarker(ctx context.Context, op, gatewayID string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: sendQKey(gatewayID),
		ConditionExpression:       aws.String("#active <= :zero"),
		ExpressionAttributeNames:  namesOf("#active"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": nv(0)}})
	if err != nil && !isConditionFailed(err) {
		return storeError(op, err)
	}
	return nil
}

// Acquire takes the bot's sender lease for owner until until with one
// conditional UpdateItem: it wins when the lease is free (never taken, or
// released), expired at now, or already owner's. Times are kept in Unix
// milliseconds.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Acquire(ctx context.Context, gatewayID, owner string, until, now time.Time) (send.PacerState, bool, error) {
	const op = "dynamo.AcquireSender"
	update, cond := "SET #owner = :o, #until = :until, #ttl = :ttl", "attribute_not_exists(#owner) OR #until < :now OR #owner = :o"
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: leaseKey(gatewayID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(update, cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": sv(owner), ":until": ms(until), ":now": ms(now),
			":ttl": nv(until.Add(sendJobTTL).Unix())},
		ReturnValues: types.ReturnValueAllNew,
	})
	switch {
	case isConditionFailed(err):
		return send.PacerState{}, false, nil
	case err != nil:
		return send.PacerState{}, false, storeError(op, err)
	}
	r := itemReader{m: out.Attributes}
	st, err := send.UnmarshalState([]byte(r.str("state")))
	if err == nil {
		err = r.err
	}
	if err != nil {
		return send.PacerState{}, false, gateway.Internal(op, err)
	}
	return st, true, nil
}

// Extend moves owner's lease to until, on condition that owner holds it.
//
// Errors: CodeConflict when another owner holds it or it was released;
// CodeUnavailable; CodeInternal.
func (s *SendJobs) Extend(ctx context.Context, gatewayID, owner string, until time.Time) error {
	const op = "dynamo.ExtendSender"
	update, cond := "SET #until = :until, #ttl = :ttl", "#owner = :o"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: leaseKey(gatewayID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  namesOf(update, cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": sv(owner), ":until": ms(until), ":ttl": nv(until.Add(sendJobTTL).Unix())},
	})
	switch {
	case isConditionFailed(err):
		return leaseConflict(op)
	case err != nil:
		return storeError(op, err)
	}
	return nil
}

// Release lets owner's lease go and stores state (send.MarshalState's
// JSON) for the next holder, on condition that owner holds it.
//
// Errors: CodeConflict, storing nothing, when owner does not hold it;
// CodeUnavailable; CodeInternal.
func (s *SendJobs) Release(ctx context.Context, gatewayID, owner string, state send.PacerState) error {
	const op = "dynamo.ReleaseSender"
	b, err := send.MarshalState(state)
	if err != nil {
		return gateway.Internal(op, err)
	}
	update, cond := "SET #state = :s, #ttl = :ttl REMOVE #owner, #until", "#owner = :o"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: leaseKey(gatewayID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  namesOf(update, cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": sv(owner), ":s": sv(string(b)), ":ttl": nv(s.now().Add(sendJobTTL).Unix())},
	})
	switch {
	case isConditionFailed(err):
		return leaseConflict(op)
	case err != nil:
		return storeError(op, err)
	}
	return nil
}

// Claim is one conditional UpdateItem of the message's item: part 0 wins
// when the item has no claim (or its part 0 was given back), part n when
// exactly n parts are claimed and have results. The item records the
// number of parts claimed, the owner, the time and the chat.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Claim(ctx context.Context, c send.Claim) (bool, error) {
	const op = "dynamo.Claim"
	cond := "#claimed = :part AND #done = :part"
	if c.Part == 0 {
		cond = "attribute_not_exists(#claimed) OR (" + cond + ")"
	}
	update := "SET #claimed = :next, #owner = :o, #at = :at, #index = :index, #job = :job, #done = if_not_exists(#done, :zero), #ttl = if_not_exists(#ttl, :ttl)"
	values := map[string]types.AttributeValue{":part": nv(int64(c.Part)), ":next": nv(int64(c.Part) + 1), ":o": sv(c.Owner),
		":at": sv(formatTime(c.At)), ":index": nv(int64(c.Index)), ":job": sv(c.JobID), ":zero": nv(0),
		":ttl": nv(s.now().Add(sendJobTTL).Unix())}
	if len(c.Chat) > 0 {
		update += ", #chat = :chat"
		values[":chat"] = sv(string(c.Chat))
	}
	if err := checkIndex(op, c.Index); err != nil {
		return false, err
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sendItemKey(c.JobID, c.Index),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(update, cond), ExpressionAttributeValues: values})
	switch {
	case isConditionFailed(err):
		return false, nil
	case err != nil:
		return false, storeError(op, err)
	}
	return true, nil
}

func checkIndex(op string, index int) error {
	if index < 0 || index > maxItemIndex {
		return gateway.Internal(op, fmt.Errorf("message index %d out of range", index))
	}
	return nil
}

// Unclaim gives c back with one conditional UpdateItem: only while c.Owner
// holds the last claimed part and it has no result; otherwise it does
// nothing.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Unclaim(ctx context.Context, c send.Claim) error {
	const op = "dynamo.Unclaim"
	if err := checkIndex(op, c.Index); err != nil {
		return err
	}
	update, cond := "SET #claimed = :part", "#claimed = :next AND #owner = :o AND #done = :part"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sendItemKey(c.JobID, c.Index),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  namesOf(update, cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":part": nv(int64(c.Part)), ":next": nv(int64(c.Part) + 1), ":o": sv(c.Owner)}})
	if err != nil && !isConditionFailed(err) {
		return storeError(op, err)
	}
	return nil
}

// Record writes a result with one UpdateItem: status, message ids, error,
// parts, done and updatedAt (and the chat, when it.ChatID is set), on
// condition that the item has results for no more than done parts.
//
// Errors: CodeConflict, writing nothing, when it has more; CodeUnavailable;
// CodeInternal.
func (s *SendJobs) Record(ctx context.Context, jobID string, it send.Item, done int) error {
	const op = "dynamo.Record"
	if err := checkIndex(op, it.Index); err != nil {
		return err
	}
	set := []string{"#status = :status", "#parts = :parts", "#done = :done", "#updated = :at", "#index = :index", "#job = :job", "#ttl = if_not_exists(#ttl, :ttl)"}
	var remove []string
	values := map[string]types.AttributeValue{":status": sv(string(it.Status)), ":parts": nv(int64(it.Parts)), ":done": nv(int64(done)),
		":at": sv(formatTime(it.UpdatedAt)), ":index": nv(int64(it.Index)), ":job": sv(jobID), ":ttl": nv(s.now().Add(sendJobTTL).Unix())}
	if len(it.MessageIDs) > 0 {
		l := make([]types.AttributeValue, len(it.MessageIDs))
		for i, id := range it.MessageIDs {
			l[i] = nv(id)
		}
		set = append(set, "#ids = :ids")
		values[":ids"] = &types.AttributeValueMemberL{Value: l}
	} else {
		remove = append(remove, "#ids")
	}
	if it.Error != "" {
		set = append(set, "#error = :error")
		values[":error"] = sv(it.Error)
	} else {
		remove = append(remove, "#error")
	}
	if len(it.ChatID) > 0 {
		set = append(set, "#chat = :chat")
		values[":chat"] = sv(string(it.ChatID))
	}
	if len(it.Result) > 0 {
		set = append(set, "#result = :result")
		values[":result"] = sv(string(it.Result))
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	cond := "attribute_not_exists(#done) OR #done <= :done"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sendItemKey(jobID, it.Index),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(update, cond), ExpressionAttributeValues: values})
	switch {
	case isConditionFailed(err):
		return &gateway.Error{Code: gateway.CodeConflict, Message: "The message has later results.", Op: op}
	case err != nil:
		return storeError(op, err)
	}
	return nil
}

// Claims reads the job's items whose claimed parts outnumber their
// results: one Query of the job's items with a filter.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Claims(ctx context.Context, jobID string) ([]send.Item, []send.Claim, error) {
	const op = "dynamo.Claims"
	filter := "#claimed > #done"
	items, err := s.query(ctx, op, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  namesOf(filter),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(jobPK(jobID)), ":p": sv(itemPrefix)},
	})
	if err != nil {
		return nil, nil, err
	}
	var its []send.Item
	var claims []send.Claim
	for _, item := range items {
		it, c, claimed, done, err := parseSendItem(jobID, item)
		if err != nil {
			return nil, nil, gateway.Internal(op, err)
		}
		if claimed <= done {
			continue
		}
		its = append(its, it)
		claims = append(claims, c)
	}
	return its, claims, nil
}

// Pending reads up to limit bots from the SENDQ markers that count active
// jobs, shard by shard, in no particular order.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Pending(ctx context.Context, limit int) ([]string, error) {
	const op = "dynamo.Pending"
	var out []string
	for shard := 0; shard < sendQShards; shard++ {
		filter := "#active > :zero"
		items, err := s.query(ctx, op, &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :pk"),
			FilterExpression:          aws.String(filter),
			ProjectionExpression:      aws.String("sk"),
			ExpressionAttributeNames:  namesOf(filter),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sv(sendQPrefix + strconv.Itoa(shard)), ":zero": nv(0)},
		})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			r := itemReader{m: it}
			out = append(out, r.str(AttrSK))
			if r.err != nil {
				return nil, gateway.Internal(op, r.err)
			}
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// Kick writes kick (now, in Unix milliseconds) on the bot's SENDQ marker,
// which makes a stream record that starts a sender (see the package's
// filter above). A bot with no marker has no active job and nothing to
// send: the kick writes nothing.
//
// Errors: CodeUnavailable; CodeInternal.
func (s *SendJobs) Kick(ctx context.Context, gatewayID string) error {
	const op = "dynamo.KickSender"
	update, cond := "SET #kick = :now", "attribute_exists(pk)"
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: sendQKey(gatewayID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: namesOf(update), ExpressionAttributeValues: map[string]types.AttributeValue{":now": ms(s.now())}})
	if err != nil && !isConditionFailed(err) {
		return storeError(op, err)
	}
	return nil
}
