package envelope

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// keyCache holds plaintext data keys for a bounded time and count, least
// recently used first out. It hands out and stores copies so that a caller
// can zero its key while another goroutine still uses the cached one, and so
// that eviction can zero the cached bytes without a data race.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	order   *list.List // of *cacheEntry, most recently used at the front
	entries map[[sha256.Size]byte]*list.Element
}

type cacheEntry struct {
	id      [sha256.Size]byte
	key     []byte
	expires time.Time
}

func newKeyCache(ttl time.Duration, maxEntries int, now func() time.Time) *keyCache {
	return &keyCache{
		ttl:     ttl,
		max:     maxEntries,
		now:     now,
		order:   list.New(),
		entries: make(map[[sha256.Size]byte]*list.Element),
	}
}

// get returns a copy of the key cached under id, if there is one that has not
// expired.
func (c *keyCache) get(id [sha256.Size]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[id]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return append([]byte(nil), e.key...), true
}

// put caches a copy of key under id, evicting the least recently used
// entries beyond the bound.
func (c *keyCache) put(id [sha256.Size]byte, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[id]; ok {
		c.remove(el)
	}
	e := &cacheEntry{id: id, key: append([]byte(nil), key...), expires: c.now().Add(c.ttl)}
	c.entries[id] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
}

// len reports the number of entries, expired or not.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// remove drops an entry and zeroes its key. c.mu must be held.
func (c *keyCache) remove(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	delete(c.entries, e.id)
	clear(e.key)
}
