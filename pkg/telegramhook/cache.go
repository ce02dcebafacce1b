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

// cache holds gateways read within ttl, and, even when ttl is zero, when
// this container may next try to refresh or recover each gateway.
type cache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*cacheEntry
}

type cacheEntry struct {
	g         *inbox.Gateway // nil when only nextTouch is known
	fetchedAt time.Time
	nextTouch time.Time
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, m: make(map[string]*cacheEntry)}
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
