// Package reader is a gateway's read path: it plans a fetch over the offset
// index, reads the byte ranges it needs through the object cache (an LRU
// window in front of ristretto, holding pooled buffers), writes the real
// offsets into the batches, and wakes long-polling fetches when objects are
// committed. It never writes to the bucket or the metadata store, and it
// speaks no Kafka protocol: it returns typed errors the gateway maps.
package reader

import (
	"context"
	"fmt"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/google/uuid"
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
	ahead   *readAhead
	// queries counts the store queries of the read path, by query.
	queries *prometheus.CounterVec
}

// New builds a Reader with an empty cache.
func New(c Config) (*Reader, error) {
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	cacheRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "caudal_cache_requests_total", Help: "Object byte reads by result (hit, miss); hit/(hit+miss) is the cache hit ratio.",
	}, []string{"result"})
	queries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "caudal_read_queries_total", Help: "Metadata store queries of the read path, by query (partition, index, aborted).",
	}, []string{"query"})
	for _, m := range []prometheus.Collector{cacheRequests, queries} {
		if err := c.Registerer.Register(m); err != nil {
			return nil, fmt.Errorf("register reader metrics: %w", err)
		}
	}
	// Series that exist from the start, so that rate() sees 0 rather
	// than nothing.
	for _, result := range []string{"hit", "miss"} {
		cacheRequests.WithLabelValues(result)
	}
	for _, q := range []string{"partition", "index", "aborted"} {
		queries.WithLabelValues(q)
	}
	objects, err := newObjectReader(c.Bucket, c.CacheBytes, cacheRequests)
	if err != nil {
		return nil, err
	}
	r := &Reader{store: c.Store, objects: objects, waiters: newWaiters(), ahead: newReadAhead(time.Now), queries: queries}
	// States age on the wall clock, not an injected one: their bound is
	// a cache's, not a retention setting.
	r.states = newStates(time.Now, func(ctx context.Context, topic uuid.UUID, part int32) (metadata.PartitionState, error) {
		r.queries.WithLabelValues("partition").Inc()
		return r.store.Partition(ctx, topic, part)
	})
	return r, nil
}

// Committed caches an object this gateway just committed (data, when
// the writer kept it: Reads), so that tailing consumers rarely reach the
// bucket, and what the commit appended, so that they need no query, and
// wakes the long polls of its partitions.
// It takes data over: the cache recycles it (Buffers) once evicted and
// unread.
func (r *Reader) Committed(key string, data []byte, res metadata.CommitResult) {
	if data != nil {
		r.objects.remember(key, data)
	}
	r.Appended(res.Appended)
}

// Reads says whether a partition was fetched on this gateway in the last
// minute: the writer keeps the objects it writes to such partitions for
// Committed, and sends the others to the bucket without copying them.
func (r *Reader) Reads(topic uuid.UUID, partition int32) bool {
	return r.states.reading(topic, partition)
}

// Appended takes in what a commit appended (another gateway's, told by
// the metadata store; nil when anything may have changed) and wakes the
// long polls of the partitions it changed.
func (r *Reader) Appended(appended []metadata.Appended) {
	if appended == nil {
		r.Notify()
		return
	}
	r.waiters.notify(r.states.apply(appended))
}

// Notify wakes every long poll, after a change that no commit describes
// (such as DeleteRecords); the partition states go stale first, so that
// they are read again.
func (r *Reader) Notify() {
	r.states.dropAll()
	r.waiters.notifyAll()
}

// Wait registers a long poll of wants' partitions. Its channel is closed
// by the next change to one of them; a fetch takes it before it reads,
// so that it misses no commit after the read, and calls stop when it
// stops waiting.
func (r *Reader) Wait(wants []Want) (woken <-chan struct{}, stop func()) {
	keys := make([]stateKey, 0, len(wants))
	for _, w := range wants {
		if w.Err == nil {
			keys = append(keys, stateKey{w.Topic.ID, w.Partition})
		}
	}
	wt := r.waiters.wait(keys)
	return wt.ch, func() { r.waiters.done(wt) }
}

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
