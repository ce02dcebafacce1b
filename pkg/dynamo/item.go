package dynamo

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gatehouse/gatehouse/pkg/gateway"
)

// Item kinds, by sort key. Everything about one gateway shares its partition
// "GW#<id>", so a gateway and its history are one item collection that a
// single Query reads. Kinds to come, with TTL: health samples
// ("HEALTH#<at>") and received Telegram updates ("UPDATE#<update_id>", whose
// key makes a redelivered update a conditional-put failure).
const (
	gatewayPrefix = "GW#"
	skGateway     = "GATEWAY"
	auditPrefix   = "AUDIT#"
	idemPrefix    = "IDEM#"
	skIdem        = "IDEM"
)

// timeLayout is RFC 3339 with exactly nine fractional digits. Fixed width
// makes string order time order, which sort keys rely on; RFC3339Nano trims
// trailing zeros and would sort "…05Z" after "…05.5Z".
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func gatewayPK(id string) string { return gatewayPrefix + id }

func gatewayKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: sv(gatewayPK(id)), AttrSK: sv(skGateway)}
}

// idemKey is the key of owner o's idempotency record of key:
// "IDEM#USER#<sub>#<key>" or "IDEM#ORG#<id>#<key>". It reads back as one
// (owner, key) pair only because an owner id never holds "#" (the key may:
// it is the rest); Owner.CheckedKey refuses an id that does, which would
// let user "a#b"'s key "c" be user "a"'s key "b#c".
//
// Errors: CodeInternal for an owner id that is not a principal id.
func idemKey(o gateway.Owner, key string) (map[string]types.AttributeValue, error) {
	ok, err := o.CheckedKey()
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{AttrPK: sv(idemPrefix + ok + "#" + key), AttrSK: sv(skIdem)}, nil
}

func sv(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func nv(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// gatewayItem is the item of g. Empty optional fields are left out rather
// than stored empty, so the item shows what is actually known.
func gatewayItem(g *gateway.Gateway) (map[string]types.AttributeValue, error) {
	owner, err := g.Owner().CheckedKey()
	if err != nil {
		return nil, err
	}
	w := itemWriter{
		AttrPK:     sv(gatewayPK(g.ID)),
		AttrSK:     sv(skGateway),
		AttrGSI1PK: sv(owner),
		AttrGSI1SK: sv(formatTime(g.CreatedAt) + "#" + g.ID),
	}
	w.str("id", g.ID)
	w.str("userId", g.UserID)
	w.optStr("organizationId", g.OrganizationID)
	w.str("name", g.Name)
	w.str("type", string(g.Type))
	w.str("status", string(g.Status))
	config := string(g.Config)
	if config == "" {
		config = "{}" // the domain promises a JSON object once stored
	}
	w.str("config", config)
	if g.CredentialInfo != nil {
		av, err := anyValue(map[string]any(g.CredentialInfo))
		if err != nil {
			return nil, fmt.Errorf("credentialInfo: %w", err)
		}
		w["credentialInfo"] = av
	}
	w.bytes("credentials", g.SealedCredentials)
	w.optTime("lastConnectedAt", g.LastConnectedAt)
	w.optTime("lastErrorAt", g.LastErrorAt)
	w.optStr("lastError", g.LastError)
	w.time("createdAt", g.CreatedAt)
	w.time("updatedAt", g.UpdatedAt)
	w.num("version", g.Version)
	w.optTime("lastCheckedAt", g.LastCheckedAt)
	if g.LastLatencyMs != nil {
		w.num("lastLatencyMs", *g.LastLatencyMs)
	}
	w.num("consecutiveFailures", int64(g.ConsecutiveFailures))
	w.bytes("webhookSecretHash", g.WebhookSecretHash)
	w.optStr(attrClaimedBot, g.ClaimedBot)
	return w, nil
}

// parseGateway is the inverse of gatewayItem. Its errors name the attribute
// and never its value.
func parseGateway(item map[string]types.AttributeValue) (*gateway.Gateway, error) {
	r := itemReader{m: item}
	g := &gateway.Gateway{
		ID:                r.str("id"),
		UserID:            r.str("userId"),
		OrganizationID:    r.str("organizationId"),
		Name:              r.str("name"),
		Type:              gateway.Type(r.str("type")),
		Status:            gateway.Status(r.str("status")),
		SealedCredentials: r.bytes("credentials"),
		LastConnectedAt:   r.optTime("lastConnectedAt"),
		LastErrorAt:       r.optTime("lastErrorAt"),
		LastError:         r.str("lastError"),
		CreatedAt:         r.time("createdAt"),
		UpdatedAt:         r.time("updatedAt"),
		Version:           r.num("version"),
		LastCheckedAt:     r.optTime("lastCheckedAt"),
		LastLatencyMs:     r.optNum("lastLatencyMs"),
		WebhookSecretHash: r.bytes("webhookSecretHash"),
		ClaimedBot:        r.str(attrClaimedBot),
	}
	g.ConsecutiveFailures = int(r.num("consecutiveFailures"))
	if c := r.str("config"); c != "" {
		g.Config = json.RawMessage(c)
	}
	if av, ok := item["credentialInfo"]; ok {
		v, err := anyFrom(av)
		m, isMap := v.(map[string]any)
		if err != nil || !isMap {
			r.fail("credentialInfo", "is not a map")
		}
		// Items written before credentialInfo's URLs were masked hold them
		// whole; they are masked as read, so no answer ever carries one,
		// until a rotation run rewrites the item (pkg/rekey).
		g.CredentialInfo, _ = gateway.MaskCredentialInfo(m)
	}
	if r.err != nil {
		return nil, r.err
	}
	return g, nil
}

// auditItem is the item of ev in the partition of gateway id. The sort key
// starts with the time so that a Query reads the trail in time order; the
// event id after it keeps two events of the same instant apart.
func auditItem(id string, ev gateway.AuditEvent, retention time.Duration) map[string]types.AttributeValue {
	w := itemWriter{
		AttrPK: sv(gatewayPK(id)),
		AttrSK: sv(auditPrefix + formatTime(ev.At) + "#" + ev.ID),
	}
	w.str("id", ev.ID)
	w.str("gatewayId", id)
	w.str("action", ev.Action)
	a := itemWriter{}
	a.optStr("userId", ev.Actor.UserID)
	a.optStr("organizationId", ev.Actor.OrganizationID)
	a.optStr("sourceIp", ev.Actor.SourceIP)
	a.optStr("userAgent", ev.Actor.UserAgent)
	a.optStr("requestId", ev.Actor.RequestID)
	a.optStr("system", ev.Actor.System)
	w["actor"] = &types.AttributeValueMemberM{Value: a}
	w.time("at", ev.At)
	w.optStr("ownerUserId", ev.Owner.UserID)
	w.optStr("ownerOrganizationId", ev.Owner.OrganizationID)
	// Events expire by TTL (the store's retention, gateway.AuditRetention
	// by default), and so outlive a deleted gateway by that much.
	w.num(AttrTTL, ev.At.Add(retention).Unix())
	if ev.Changes != nil {
		l := make([]types.AttributeValue, len(ev.Changes))
		for i, c := range ev.Changes {
			l[i] = sv(c)
		}
		w["changes"] = &types.AttributeValueMemberL{Value: l}
	}
	if ev.Details != nil {
		m := make(map[string]types.AttributeValue, len(ev.Details))
		for k, v := range ev.Details {
			m[k] = sv(v)
		}
		w["details"] = &types.AttributeValueMemberM{Value: m}
	}
	return w
}

func parseAudit(item map[string]types.AttributeValue) (gateway.AuditEvent, error) {
	r := itemReader{m: item}
	ev := gateway.AuditEvent{
		ID:        r.str("id"),
		GatewayID: r.str("gatewayId"),
		Action:    r.str("action"),
		At:        r.time("at"),
		Changes:   r.strList("changes"),
		Details:   r.strMap("details"),
		Owner:     gateway.Owner{UserID: r.str("ownerUserId"), OrganizationID: r.str("ownerOrganizationId")},
	}
	if av, ok := item["actor"]; ok {
		m, isMap := av.(*types.AttributeValueMemberM)
		if !isMap {
			r.fail("actor", "is not a map")
		} else {
			a := itemReader{m: m.Value}
			ev.Actor = gateway.Actor{
				UserID:         a.str("userId"),
				OrganizationID: a.str("organizationId"),
				SourceIP:       a.str("sourceIp"),
				UserAgent:      a.str("userAgent"),
				RequestID:      a.str("requestId"),
				System:         a.str("system"),
			}
			if a.err != nil {
				r.fail("actor", a.err.Error())
			}
		}
	}
	return ev, r.err
}

// idemItem is the item of an idempotency record. Its ttl is the expiry in
// whole seconds, as DynamoDB's TTL wants, so the record's ExpiresAt loses
// its fraction of a second.
func idemItem(rec *gateway.Idempotency, gatewayID string) (map[string]types.AttributeValue, error) {
	key, err := idemKey(rec.Owner, rec.Key)
	if err != nil {
		return nil, err
	}
	w := itemWriter(key)
	w.str("requestHash", rec.RequestHash)
	w.str("gatewayId", gatewayID)
	w.num(AttrTTL, rec.ExpiresAt.Unix())
	return w, nil
}

// itemWriter builds an item attribute by attribute.
type itemWriter map[string]types.AttributeValue

func (w itemWriter) str(name, v string) { w[name] = sv(v) }
func (w itemWriter) optStr(name, v string) {
	if v != "" {
		w[name] = sv(v)
	}
}
func (w itemWriter) num(name string, v int64)      { w[name] = nv(v) }
func (w itemWriter) time(name string, t time.Time) { w[name] = sv(formatTime(t)) }
func (w itemWriter) optTime(name string, t *time.Time) {
	if t != nil {
		w.time(name, *t)
	}
}
func (w itemWriter) bytes(name string, b []byte) {
	if len(b) > 0 {
		w[name] = &types.AttributeValueMemberB{Value: b}
	}
}

// itemReader reads attributes of an item, keeping the first error so that a
// parse reads like a struct literal. A missing attribute reads as the zero
// value; an attribute of the wrong type is an error.
type itemReader struct {
	m   map[string]types.AttributeValue
	err error
}

func (r *itemReader) fail(name, msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("attribute %q %s", name, msg)
	}
}

func (r *itemReader) str(name string) string {
	av, ok := r.m[name]
	if !ok {
		return ""
	}
	v, ok := av.(*types.AttributeValueMemberS)
	if !ok {
		r.fail(name, "is not a string")
		return ""
	}
	return v.Value
}

func (r *itemReader) optNum(name string) *int64 {
	av, ok := r.m[name]
	if !ok {
		return nil
	}
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		r.fail(name, "is not a number")
		return nil
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		r.fail(name, "is not an integer")
		return nil
	}
	return &i
}

func (r *itemReader) num(name string) int64 {
	if p := r.optNum(name); p != nil {
		return *p
	}
	return 0
}

func (r *itemReader) optTime(name string) *time.Time {
	v := r.str(name)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		r.fail(name, "is not an RFC 3339 time")
		return nil
	}
	t = t.UTC()
	return &t
}

func (r *itemReader) time(name string) time.Time {
	if p := r.optTime(name); p != nil {
		return *p
	}
	return time.Time{}
}

func (r *itemReader) bytes(name string) []byte {
	av, ok := r.m[name]
	if !ok {
		return nil
	}
	v, ok := av.(*types.AttributeValueMemberB)
	if !ok {
		r.fail(name, "is not binary")
		return nil
	}
	return v.Value
}

func (r *itemReader) strList(name string) []string {
	av, ok := r.m[name]
	if !ok {
		return nil
	}
	l, ok := av.(*types.AttributeValueMemberL)
	if !ok {
		r.fail(name, "is not a list")
		return nil
	}
	out := make([]string, len(l.Value))
	for i, e := range l.Value {
		v, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			r.fail(name, "holds a non-string")
			return nil
		}
		out[i] = v.Value
	}
	return out
}

func (r *itemReader) strMap(name string) map[string]string {
	av, ok := r.m[name]
	if !ok {
		return nil
	}
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		r.fail(name, "is not a map")
		return nil
	}
	out := make(map[string]string, len(m.Value))
	for k, e := range m.Value {
		v, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			r.fail(name, "holds a non-string")
			return nil
		}
		out[k] = v.Value
	}
	return out
}

// anyValue converts the JSON-like values of CredentialInfo: strings, bools,
// numbers, nil, maps and lists of them.
func anyValue(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case string:
		return sv(x), nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case int:
		return nv(int64(x)), nil
	case int64:
		return nv(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("number %s has no DynamoDB form", strconv.FormatFloat(x, 'g', -1, 64))
		}
		return &types.AttributeValueMemberN{Value: strconv.FormatFloat(x, 'g', -1, 64)}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}, nil
	case map[string]string:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			m[k] = sv(e)
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			av, err := anyValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = av
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			av, err := anyValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case []string:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			l[i] = sv(e)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	default:
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
}

// anyFrom is the inverse of anyValue. Numbers come back as float64 and lists
// as []any, the types encoding/json gives, because CredentialInfo is read to
// be sent as JSON.
func anyFrom(av types.AttributeValue) (any, error) {
	switch x := av.(type) {
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberS:
		return x.Value, nil
	case *types.AttributeValueMemberBOOL:
		return x.Value, nil
	case *types.AttributeValueMemberN:
		f, err := strconv.ParseFloat(x.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number")
		}
		return f, nil
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(x.Value))
		for k, e := range x.Value {
			v, err := anyFrom(e)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			v, err := anyFrom(e)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	default:
		return nil, fmt.Errorf("unsupported attribute type %T", av)
	}
}

// keysOf returns the named string attributes of item: the key of a returned
// item, from which a cursor resumes.
func keysOf(item map[string]types.AttributeValue, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, name := range names {
		v, ok := item[name].(*types.AttributeValueMemberS)
		if !ok || v.Value == "" {
			return nil, fmt.Errorf("item lacks key attribute %q", name)
		}
		out[name] = v.Value
	}
	return out, nil
}
