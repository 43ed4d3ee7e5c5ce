package reader

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/prometheus/client_golang/prometheus"
)

// objectReader reads the byte ranges of index rows through an
// objectCache. Objects this gateway wrote for partitions read here are
// cached whole, so tailing consumers rarely reach the bucket. Objects a
// fetch reads whole (see wholeObjects) are cached whole too, with
// concurrent readers sharing one GET; other reads are cached by range.
type objectReader struct {
	bucket   objstore.Bucket
	cache    *objectCache
	requests *prometheus.CounterVec // caudal_cache_requests_total, by result
	wholeMax int64

	mu      sync.Mutex
	reading map[string]*wholeRead // objects being read whole, by key
	getting sync.WaitGroup        // their GETs, which close waits for
}

// wholeRead is one GET of a whole object that concurrent readers share.
type wholeRead struct {
	done chan struct{}
	e    *entry // held for the waiters until the last has its own hold
	err  error
	// waiters counts the readers waiting and getWhole itself; the last
	// to leave lets go of e.
	waiters atomic.Int32
}

func (wr *wholeRead) leave() {
	if wr.waiters.Add(-1) == 0 && wr.e != nil {
		wr.e.release()
	}
}

// wholeReadTimeout bounds a shared whole-object GET, which runs on after
// the reader that started it has gone, for the others waiting on it.
const wholeReadTimeout = time.Minute

func newObjectReader(bucket objstore.Bucket, maxBytes int64, requests *prometheus.CounterVec) (*objectReader, error) {
	cache, err := newObjectCache(maxBytes)
	if err != nil {
		return nil, err
	}
	return &objectReader{
		bucket: bucket, cache: cache, requests: requests,
		// A cache too small for several whole objects would evict one
		// while its neighbours are still being read.
		wholeMax: min(16<<20, maxBytes/8),
		reading:  map[string]*wholeRead{},
	}, nil
}

// remember caches an object this gateway just wrote.
func (r *objectReader) remember(key string, data []byte) {
	r.cache.add(newEntry(wholeKey(key), data, true))
}

// read returns the stored bytes of one index row, reading its object
// whole on a miss if asked to, and the entry they are in, held for the
// caller to release once done with them. The bytes must not be modified:
// they are the cache's.
func (r *objectReader) read(ctx context.Context, row metadata.IndexEntry, readWhole bool) ([]byte, *entry, error) {
	if b, e, ok := r.lookup(row); ok {
		r.requests.WithLabelValues("hit").Inc()
		return b, e, nil
	}
	return r.readMiss(ctx, row, readWhole)
}

// lookup returns the row's bytes and their entry, held for the caller,
// when the cache has them. Its callers count the hit: cached only looks.
func (r *objectReader) lookup(row metadata.IndexEntry) ([]byte, *entry, bool) {
	off, length := row.ByteOffset, row.ByteLength
	if e, ok := r.cache.get(wholeKey(row.ObjectKey)); ok {
		if off+length <= int64(len(e.data)) {
			return e.data[off : off+length], e, true
		}
		e.release()
	}
	if e, ok := r.cache.get(rangeKey(row)); ok {
		return e.data, e, true
	}
	return nil, nil, false
}

// readMiss is read of a row lookup did not find.
func (r *objectReader) readMiss(ctx context.Context, row metadata.IndexEntry, readWhole bool) ([]byte, *entry, error) {
	key, off, length := row.ObjectKey, row.ByteOffset, row.ByteLength
	r.requests.WithLabelValues("miss").Inc()
	if readWhole || r.beingRead(key) {
		e, err := r.readWhole(ctx, key, row.ObjectSize)
		if err != nil {
			return nil, nil, err
		}
		if off+length > int64(len(e.data)) {
			e.release()
			return nil, nil, fmt.Errorf("read object %s [%d, +%d): %w: object has %d bytes", key, off, length, objstore.ErrRange, len(e.data))
		}
		return e.data[off : off+length], e, nil
	}
	b, err := r.bucket.GetRange(ctx, key, off, length)
	if err != nil {
		return nil, nil, fmt.Errorf("read object %s [%d, +%d): %w", key, off, length, err)
	}
	e := newEntry(rangeKey(row), b, false)
	e.acquire() // for the cache
	r.cache.add(e)
	return b, e, nil
}

// beingRead reports whether a GET of the whole object is in flight: a
// sliver of it is then read from that GET's bytes rather than by range.
func (r *objectReader) beingRead(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.reading[key]
	return ok
}

// cached reports whether the cache holds row's bytes.
func (r *objectReader) cached(row metadata.IndexEntry) bool {
	_, e, ok := r.lookup(row)
	if ok {
		e.release()
	}
	return ok
}

// readWhole GETs a whole object of size bytes (0 if unknown) into the
// cache, once however many readers want it at the same time, and returns
// its entry, held for the caller.
func (r *objectReader) readWhole(ctx context.Context, key string, size int64) (*entry, error) {
	r.mu.Lock()
	wr, joined := r.reading[key]
	if !joined {
		// A GET that ended since the caller missed the cache put the
		// object there before it left r.reading.
		if e, ok := r.cache.get(wholeKey(key)); ok {
			r.mu.Unlock()
			return e, nil
		}
		wr = &wholeRead{done: make(chan struct{})}
		wr.waiters.Store(1) // getWhole's
		r.reading[key] = wr
		r.getting.Go(func() { r.getWhole(context.WithoutCancel(ctx), key, size, wr) })
	}
	wr.waiters.Add(1)
	r.mu.Unlock()
	defer wr.leave()
	select {
	case <-wr.done:
		if wr.err != nil {
			return nil, wr.err
		}
		wr.e.acquire() // cannot fail: wr holds it until every waiter left
		return wr.e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// getWhole reads the object into a pooled buffer, so that the memory of
// objects the cache evicts serves the next ones.
func (r *objectReader) getWhole(ctx context.Context, key string, size int64, wr *wholeRead) {
	ctx, cancel := context.WithTimeout(ctx, wholeReadTimeout)
	defer cancel()
	buf := getBuf(int(size))
	data, err := r.bucket.Get(ctx, key, buf)
	switch {
	case err != nil:
		putBuf(buf)
		wr.err = fmt.Errorf("read object %s: %w", key, err)
	case cap(buf) > 0 && cap(data) > 0 && &data[:1][0] == &buf[:1][0]:
		wr.e = newEntry(wholeKey(key), data, true)
	default: // the object was larger than the index said
		putBuf(buf)
		wr.e = newEntry(wholeKey(key), data, false)
	}
	if wr.e != nil {
		wr.e.acquire() // for the cache
		r.cache.add(wr.e)
	}
	r.mu.Lock()
	delete(r.reading, key)
	r.mu.Unlock()
	close(wr.done)
	wr.leave()
}

// readConcurrency bounds the reads one partition read keeps in flight.
const readConcurrency = 4

// readRows reads the byte ranges of index rows concurrently; the objects
// in whole are read whole on a miss. The caller calls release once done
// with the bytes.
func (r *objectReader) readRows(ctx context.Context, rows []metadata.IndexEntry, whole map[string]bool) (stored [][]byte, release func(), err error) {
	stored = make([][]byte, len(rows))
	held := make([]*entry, len(rows))
	errs := make([]error, len(rows))
	sem := make(chan struct{}, readConcurrency)
	var wg sync.WaitGroup
	for i, row := range rows {
		// Hits inline: a goroutine per row, its stack grown anew each
		// time, cost more than most hits.
		var ok bool
		if stored[i], held[i], ok = r.lookup(row); ok {
			r.requests.WithLabelValues("hit").Inc()
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			stored[i], held[i], errs[i] = r.readMiss(ctx, row, whole[row.ObjectKey])
		})
	}
	wg.Wait()
	release = func() {
		for _, e := range held {
			if e != nil {
				e.release()
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		release()
		return nil, nil, err
	}
	return stored, release, nil
}

const wholeSuffix = "@all"

func wholeKey(key string) string { return key + wholeSuffix }

func isWhole(cacheKey string) bool { return strings.HasSuffix(cacheKey, wholeSuffix) }

func rangeKey(row metadata.IndexEntry) string {
	return fmt.Sprintf("%s@%d+%d", row.ObjectKey, row.ByteOffset, row.ByteLength)
}

func (r *objectReader) close() {
	r.getting.Wait()
	r.cache.close()
}
