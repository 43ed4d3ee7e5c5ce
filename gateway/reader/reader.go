// Package reader is a gateway's read path: it plans a fetch over the offset
// index, reads the byte ranges it needs through the object cache (an LRU
// window in front of ristretto, holding pooled buffers), writes the real
// offsets into the batches, and wakes long-polling fetches when objects are
// committed. It never writes to the bucket or the metadata store, and it
// speaks no Kafka protocol: it returns typed errors the gateway maps.
package reader

import (
	"fmt"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is what a Reader needs.
type Config struct {
	Store  metadata.Store
	Bucket objstore.Bucket
	// CacheBytes sizes the cache of object bytes.
	CacheBytes int64
	// Registerer receives caudal_cache_requests_total.
	Registerer prometheus.Registerer
}

// Reader serves fetches and offset lookups by timestamp.
type Reader struct {
	store   metadata.Store
	objects *objectReader
	waiters *waiters
	states  *states
}

// New builds a Reader with an empty cache.
func New(c Config) (*Reader, error) {
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	cacheRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "caudal_cache_requests_total", Help: "Object byte reads by result (hit, miss); hit/(hit+miss) is the cache hit ratio.",
	}, []string{"result"})
	if err := c.Registerer.Register(cacheRequests); err != nil {
		return nil, fmt.Errorf("register reader metrics: %w", err)
	}
	// Series that exist from the start, so that rate() sees 0 rather
	// than nothing.
	for _, result := range []string{"hit", "miss"} {
		cacheRequests.WithLabelValues(result)
	}
	objects, err := newObjectReader(c.Bucket, c.CacheBytes, cacheRequests)
	if err != nil {
		return nil, err
	}
	// States age on the wall clock, not an injected one: their bound is
	// a cache's, not a retention setting.
	return &Reader{store: c.Store, objects: objects, waiters: newWaiters(), states: newStates(time.Now)}, nil
}

// Committed caches an object this gateway just committed, so that tailing
// consumers rarely reach the bucket, and wakes the long polls. It takes
// data over: the cache recycles it (Buffers) once evicted and unread.
func (r *Reader) Committed(key string, data []byte, _ metadata.CommitResult) {
	r.objects.remember(key, data)
	r.Notify()
}

// Notify wakes the long polls: an object was committed (by another
// gateway, or a change such as DeleteRecords was made). The partition
// states they share go stale first, so that they re-read them.
func (r *Reader) Notify() {
	r.states.stale()
	r.waiters.notify()
}

// Wait returns a channel closed by the next commit; a fetch takes it
// before it reads, so that it misses no commit after the read.
func (r *Reader) Wait() <-chan struct{} { return r.waiters.wait() }

// Closing wakes every long poll for shutdown; later waits return at once.
func (r *Reader) Closing() { r.waiters.closeAll() }

// Close waits for the reads in flight and drops the cache.
func (r *Reader) Close() { r.objects.close() }

// Buffers is the pool the read path recycles its large buffers through;
// the write path builds objects in it, so that the buffers of objects the
// cache evicts come back as the next objects'.
type Buffers struct{}

func (Buffers) Get(n int) []byte { return getBuf(n) }
func (Buffers) Put(b []byte)     { putBuf(b) }
