package telegramhook

import (
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/pkg/gateway"
	"github.com/gatehouse/gatehouse/pkg/inbox"
)

// DefaultCacheTTL is how long a warm container trusts a gateway it read.
const DefaultCacheTTL = 30 * time.Second

// MaxCacheTTL bounds CacheTTL: a rotated secret must take effect within a
// minute.
const MaxCacheTTL = 60 * time.Second

// TouchInterval is the least time between two lastConnectedAt refreshes of
// a gateway, and between two attempts of one container to refresh or
// recover it.
const TouchInterval = time.Minute

// maxCacheEntries bounds the cache; a container serves few gateways, so
// reaching it means ids are being made up, and starting over is cheap.
const maxCacheEntries = 4096

// NegativeTTL is how long a warm container answers 404 without a read for
// an id it read as absent. Ids are random and made only by creation, so a
// gateway cannot appear under an id someone asked for before: the TTL only
// bounds the memory of a flood that repeats its ids.
const NegativeTTL = 30 * time.Second

// maxAbsentEntries bounds the ids remembered as absent; when full, expired
// ones go, and if none has expired all go. Forgetting costs reads, which
// the miss budget bounds anyway.
const maxAbsentEntries = 4096

// SecretRecheckInterval is the least time between two reads of one
// gateway caused by secrets that do not match the cached read. A secret
// just rotated in is accepted at the latest this long after it was stored,
// even while wrong secrets flood the gateway; a wrong secret otherwise costs
// no read, and the right one keeps working from the cache.
const SecretRecheckInterval = 5 * time.Second

// MissBurst and MissRefill are a container's budget of reads that find no
// gateway: a token bucket of MissBurst reads, one more every MissRefill. A
// read of an id the container has not seen needs a token and spends it
// only when it finds nothing; with none left such an id is answered 503
// (Telegram retries) without a read. So made-up ids cost at most
// MissBurst + t/MissRefill reads per container over t, whatever their
// variety, while gateways the container knows keep working. Real gateways
// never spend the budget: a busy container meeting many bots at a cold
// start reads them all.
const (
	MissBurst  = 20
	MissRefill = time.Second
)

// cache holds gateways read within ttl, and, even when ttl is zero, when
// this container may next try to refresh or recover each gateway.
//
// It also remembers what costs reads without finding anything: ids read as
// absent (absent, until their NegativeTTL expiry), when each gateway may
// next be read again because of a wrong secret (nextRecheck), and the miss
// budget (tokens, refilled at lastRefill).
type cache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*cacheEntry

	absent     map[string]time.Time
	tokens     float64
	lastRefill time.Time
}

type cacheEntry struct {
	g           *inbox.Gateway // nil when only nextTouch is known
	fetchedAt   time.Time
	nextTouch   time.Time
	nextRecheck time.Time
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, m: make(map[string]*cacheEntry), absent: make(map[string]time.Time), tokens: MissBurst}
}

// isAbsent reports whether id was read as absent less than NegativeTTL
// before now.
func (c *cache) isAbsent(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.absent[id]
	return ok && now.Before(until) && !now.Before(until.Add(-NegativeTTL))
}

// putAbsent remembers that id was read as absent at now.
func (c *cache) putAbsent(id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.absent[id]; !ok && len(c.absent) >= maxAbsentEntries {
		for k, until := range c.absent {
			if !now.Before(until) {
				delete(c.absent, k)
			}
		}
		if len(c.absent) >= maxAbsentEntries {
			clear(c.absent)
		}
	}
	c.absent[id] = now.Add(NegativeTTL)
}

// mayMiss reports whether gateway id may be read now: always for a
// gateway this container has read, otherwise when the miss budget has a
// token left. A read that then finds nothing spends one (spendMiss), so
// concurrent reads can overdraw the budget by at most their number less
// one, which in Lambda, one request per container at a time, is zero.
func (c *cache) mayMiss(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, known := c.m[id]; known && e.g != nil {
		return true
	}
	c.refill(now)
	return c.tokens >= 1
}

// spendMiss takes a token of the miss budget for a read that found
// nothing at now.
func (c *cache) spendMiss(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refill(now)
	c.tokens--
}

// refill adds the tokens earned since the last refill. The caller holds
// c.mu.
func (c *cache) refill(now time.Time) {
	if c.lastRefill.IsZero() || now.Before(c.lastRefill) {
		c.lastRefill = now
		return
	}
	c.tokens = min(MissBurst, c.tokens+float64(now.Sub(c.lastRefill))/float64(MissRefill))
	c.lastRefill = now
}

// claimRecheck reports whether a secret that does not match the cached
// gateway id may be checked against a fresh read now; if so, no other may
// for SecretRecheckInterval.
func (c *cache) claimRecheck(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Before(e.nextRecheck) {
		return false
	}
	e.nextRecheck = now.Add(SecretRecheckInterval)
	return true
}

// get returns a copy of the gateway read less than ttl before now.
func (c *cache) get(id string, now time.Time) (inbox.Gateway, bool) {
	if c.ttl <= 0 {
		return inbox.Gateway{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.g == nil || now.Sub(e.fetchedAt) >= c.ttl || now.Before(e.fetchedAt) {
		return inbox.Gateway{}, false
	}
	return *e.g, true
}

// put remembers g as read at now.
func (c *cache) put(g inbox.Gateway, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(g.ID, now)
	e.g, e.fetchedAt = &g, now
}

// claimTouch reports whether this caller may try to refresh or recover
// gateway id now; if so, nobody else in this container may for
// TouchInterval. Concurrent updates of one gateway thus make one write.
func (c *cache) claimTouch(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(id, now)
	if now.Before(e.nextTouch) {
		return false
	}
	e.nextTouch = now.Add(TouchInterval)
	return true
}

// touched records in the cached gateway that it was connected at now,
// and, when connected is true, that its status is CONNECTED.
func (c *cache) touched(id string, now time.Time, connected bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.g == nil {
		return
	}
	g := *e.g // readers hold copies; replace rather than modify
	t := now
	g.LastConnectedAt = &t
	if connected {
		g.Status = gateway.StatusConnected
	}
	e.g = &g
}

// entry returns the entry of id, making room for it when the cache is full.
// The caller holds c.mu.
func (c *cache) entry(id string, now time.Time) *cacheEntry {
	if e, ok := c.m[id]; ok {
		return e
	}
	if len(c.m) >= maxCacheEntries {
		for k, e := range c.m {
			if now.Sub(e.fetchedAt) >= c.ttl && !now.Before(e.nextTouch) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCacheEntries {
			clear(c.m)
		}
	}
	e := &cacheEntry{}
	c.m[id] = e
	return e
}
