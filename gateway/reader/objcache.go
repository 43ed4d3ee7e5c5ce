package reader

import (
	"container/list"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// objectCache holds segment bytes in two parts, as W-TinyLFU does: an LRU
// window that takes every new entry, and ristretto's main cache, which a
// range leaving the window is offered to. Ristretto admits an entry only
// if it has been asked for more often than the entries it would evict, and
// an object just written or just read whole has hardly been asked for yet:
// with ristretto alone, behind a full cache each consumer of an object's
// partitions found the object missing and read it again (4.4 times the
// objects' bytes with 4 consumers in the cold fetch benchmark). Whole
// objects never reach it: their requests count the partitions that have
// read them, not those still to come, so ristretto refused the objects
// consumers still needed and kept those they were done with. An object
// leaving the window is dropped.
type objectCache struct {
	main *ristretto.Cache[string, *entry]

	mu      sync.Mutex
	order   *list.List               // of *entry, most recently used first
	entries map[string]*list.Element // the window's, by key
	size    int64                    // bytes in the window
	max     int64
}

// entry is cached bytes and a count of their holders: the cache, and each
// reader between get and release. Whole objects are read into pooled
// buffers, which the last holder recycles: a gateway reading objects
// through a full cache then reuses the memory of the ones it evicts
// instead of mapping and zeroing new memory for each.
type entry struct {
	key    string
	data   []byte
	pooled bool
	refs   atomic.Int32
}

// newEntry returns an entry with one holder, the caller.
func newEntry(key string, data []byte, pooled bool) *entry {
	e := &entry{key: key, data: data, pooled: pooled}
	e.refs.Store(1)
	return e
}

// acquire adds a holder, unless the last one has gone: an entry is
// never revived, so its buffer cannot be recycled under a reader.
func (e *entry) acquire() bool {
	for {
		n := e.refs.Load()
		if n == 0 {
			return false
		}
		if e.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a holder; nothing may use e.data after it.
func (e *entry) release() {
	if e.refs.Add(-1) == 0 && e.pooled {
		putBuf(e.data)
	}
}

// newObjectCache holds at most maxBytes: seven eighths in the window and
// the rest in the main cache, for ranges. Kafka reads are mostly recent or
// sequential, which favours recency: with a quarter in the window,
// consumers of one topic that drifted a few objects apart still read some
// objects twice (37–44 GETs for 34–36 objects in the cold fetch
// benchmark); with half, 7–17 of 116 objects twice.
func newObjectCache(maxBytes int64) (*objectCache, error) {
	window := maxBytes - maxBytes/8
	main, err := ristretto.NewCache(&ristretto.Config[string, *entry]{
		// About ten counters per expected entry; entries are ranges of
		// tens of KiB up to whole objects of a few MiB.
		NumCounters: max(maxBytes/(64<<10)*10, 1000),
		MaxCost:     max(maxBytes-window, 1),
		BufferItems: 64,
		// Cost is the entry's buffer, capacity included (a pooled one may
		// be larger than its object; see getBuf); ristretto's own per-item
		// overhead is small next to entries of KiBs to MiBs.
		IgnoreInternalCost: true,
		// Evicted, refused or replaced: the cache lets go of it.
		OnExit: func(e *entry) {
			if e != nil {
				e.release()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create object cache: %w", err)
	}
	return &objectCache{main: main, order: list.New(), entries: map[string]*list.Element{}, max: window}, nil
}

// get returns the entry for key with the caller as one of its holders.
// It looks in the main cache first, which counts the request towards the
// entry's admission even when the window holds it.
func (c *objectCache) get(key string) (*entry, bool) {
	if e, ok := c.main.Get(key); ok && e.acquire() {
		return e, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	e := el.Value.(*entry)
	e.acquire() // cannot fail: the window holds it
	return e, true
}

// add takes over the caller's hold on e and puts e in the window, passing
// the least recently used entries out of it on to the main cache.
func (c *objectCache) add(e *entry) {
	if int64(cap(e.data)) > c.max {
		c.pass(e)
		return
	}
	c.mu.Lock()
	var out []*entry
	if el, ok := c.entries[e.key]; ok {
		old := c.order.Remove(el).(*entry)
		c.size -= int64(cap(old.data))
		defer old.release()
	}
	c.entries[e.key] = c.order.PushFront(e)
	c.size += int64(cap(e.data))
	for c.size > c.max {
		old := c.order.Remove(c.order.Back()).(*entry)
		delete(c.entries, old.key)
		c.size -= int64(cap(old.data))
		out = append(out, old)
	}
	c.mu.Unlock()
	for _, old := range out {
		c.pass(old)
	}
}

// pass hands a range, and the hold on it, to the main cache, which may
// refuse it, and drops a whole object.
func (c *objectCache) pass(e *entry) {
	if isWhole(e.key) || !c.main.Set(e.key, e, int64(cap(e.data))) {
		e.release()
	}
}

func (c *objectCache) close() { c.main.Close() }
