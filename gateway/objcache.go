package gateway

import (
	"container/list"
	"fmt"
	"sync"

	"github.com/dgraph-io/ristretto/v2"
)

// objectCache holds segment bytes in two parts, as W-TinyLFU does: an LRU
// window that takes every new entry, and ristretto's main cache, which an
// entry leaving the window is offered to. Ristretto admits an entry only
// if it has been asked for more often than the entries it would evict, and
// an object just written or just read whole has hardly been asked for yet:
// with ristretto alone, behind a full cache each consumer of an object's
// partitions found the object missing and read it again (4.4 times the
// objects' bytes with 4 consumers in the cold fetch benchmark).
type objectCache struct {
	main *ristretto.Cache[string, []byte]

	mu      sync.Mutex
	order   *list.List               // of *cached, most recently used first
	entries map[string]*list.Element // the window's, by key
	size    int64                    // bytes in the window
	max     int64
}

type cached struct {
	key  string
	data []byte
}

// newObjectCache holds at most maxBytes: a quarter in the window, so that
// several objects being read by several consumers stay, and the rest in
// the main cache.
func newObjectCache(maxBytes int64) (*objectCache, error) {
	window := maxBytes / 4
	main, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		// About ten counters per expected entry; entries are ranges of
		// tens of KiB up to whole objects of a few MiB.
		NumCounters: max(maxBytes/(64<<10)*10, 1000),
		MaxCost:     max(maxBytes-window, 1),
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("create object cache: %w", err)
	}
	return &objectCache{main: main, order: list.New(), entries: map[string]*list.Element{}, max: window}, nil
}

// get looks in the main cache first, which counts the request towards the
// entry's admission even when the window holds it.
func (c *objectCache) get(key string) ([]byte, bool) {
	if data, ok := c.main.Get(key); ok {
		return data, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cached).data, true
}

// add puts data in the window, moving the least recently used entries out
// of it into the main cache, which may refuse them.
func (c *objectCache) add(key string, data []byte) {
	if int64(len(data)) > c.max {
		c.main.Set(key, data, int64(len(data)))
		return
	}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		c.size -= int64(len(e.Value.(*cached).data))
		c.order.Remove(e)
	}
	c.entries[key] = c.order.PushFront(&cached{key, data})
	c.size += int64(len(data))
	var out []*cached
	for c.size > c.max {
		e := c.order.Back()
		old := c.order.Remove(e).(*cached)
		delete(c.entries, old.key)
		c.size -= int64(len(old.data))
		out = append(out, old)
	}
	c.mu.Unlock()
	for _, old := range out {
		c.main.Set(old.key, old.data, int64(len(old.data)))
	}
}

func (c *objectCache) close() { c.main.Close() }
