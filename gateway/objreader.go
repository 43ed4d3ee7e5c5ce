package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
)

// objectReader reads the byte ranges of index rows through an
// objectCache. Objects this gateway wrote are cached whole, so tailing
// consumers rarely reach the bucket. Objects a fetch reads whole (see
// wholeObjects) are cached whole too, with concurrent readers sharing one
// GET; other reads are cached by range.
type objectReader struct {
	bucket   objstore.Bucket
	cache    *objectCache
	metrics  *metrics
	wholeMax int64

	mu      sync.Mutex
	reading map[string]*wholeRead // objects being read whole, by key
	getting sync.WaitGroup        // their GETs, which close waits for
}

// wholeRead is one GET of a whole object that concurrent readers share.
type wholeRead struct {
	done chan struct{}
	data []byte
	err  error
}

// wholeReadTimeout bounds a shared whole-object GET, which runs on after
// the reader that started it has gone, for the others waiting on it.
const wholeReadTimeout = time.Minute

func newObjectReader(bucket objstore.Bucket, maxBytes int64, m *metrics) (*objectReader, error) {
	cache, err := newObjectCache(maxBytes)
	if err != nil {
		return nil, err
	}
	return &objectReader{
		bucket: bucket, cache: cache, metrics: m,
		// A cache too small for several whole objects would evict one
		// while its neighbours are still being read.
		wholeMax: min(16<<20, maxBytes/8),
		reading:  map[string]*wholeRead{},
	}, nil
}

// remember caches an object this gateway just wrote.
func (r *objectReader) remember(key string, data []byte) {
	r.cache.add(wholeKey(key), data)
}

// read returns the stored bytes of one index row, reading its object
// whole on a miss if asked to. The result must not be modified: it may be
// shared with the cache.
func (r *objectReader) read(ctx context.Context, row metadata.IndexEntry, readWhole bool) ([]byte, error) {
	key, off, length := row.ObjectKey, row.ByteOffset, row.ByteLength
	if whole, ok := r.cache.get(wholeKey(key)); ok && off+length <= int64(len(whole)) {
		r.metrics.cacheRequests.WithLabelValues("hit").Inc()
		return whole[off : off+length], nil
	}
	if readWhole {
		r.metrics.cacheRequests.WithLabelValues("miss").Inc()
		whole, err := r.readWhole(ctx, key)
		if err != nil {
			return nil, err
		}
		if off+length > int64(len(whole)) {
			return nil, fmt.Errorf("read object %s [%d, +%d): %w: object has %d bytes", key, off, length, objstore.ErrRange, len(whole))
		}
		return whole[off : off+length], nil
	}
	rk := fmt.Sprintf("%s@%d+%d", key, off, length)
	if b, ok := r.cache.get(rk); ok {
		r.metrics.cacheRequests.WithLabelValues("hit").Inc()
		return b, nil
	}
	r.metrics.cacheRequests.WithLabelValues("miss").Inc()
	b, err := r.bucket.GetRange(ctx, key, off, length)
	if err != nil {
		return nil, fmt.Errorf("read object %s [%d, +%d): %w", key, off, length, err)
	}
	r.cache.add(rk, b)
	return b, nil
}

// readWhole GETs a whole object into the cache, once however many readers
// want it at the same time.
func (r *objectReader) readWhole(ctx context.Context, key string) ([]byte, error) {
	r.mu.Lock()
	wr, joined := r.reading[key]
	if !joined {
		wr = &wholeRead{done: make(chan struct{})}
		r.reading[key] = wr
		r.getting.Go(func() { r.getWhole(context.WithoutCancel(ctx), key, wr) })
	}
	r.mu.Unlock()
	select {
	case <-wr.done:
		return wr.data, wr.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *objectReader) getWhole(ctx context.Context, key string, wr *wholeRead) {
	ctx, cancel := context.WithTimeout(ctx, wholeReadTimeout)
	defer cancel()
	wr.data, wr.err = r.bucket.Get(ctx, key)
	if wr.err != nil {
		wr.err = fmt.Errorf("read object %s: %w", key, wr.err)
	} else {
		r.cache.add(wholeKey(key), wr.data)
	}
	r.mu.Lock()
	delete(r.reading, key)
	r.mu.Unlock()
	close(wr.done)
}

// readConcurrency bounds the reads one partition read keeps in flight.
const readConcurrency = 4

// readRows reads the byte ranges of index rows concurrently; the objects
// in whole are read whole on a miss.
func (r *objectReader) readRows(ctx context.Context, rows []metadata.IndexEntry, whole map[string]bool) ([][]byte, error) {
	out := make([][]byte, len(rows))
	errs := make([]error, len(rows))
	sem := make(chan struct{}, readConcurrency)
	var wg sync.WaitGroup
	for i, row := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = r.read(ctx, row, whole[row.ObjectKey])
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func wholeKey(key string) string { return key + "@all" }

func (r *objectReader) close() {
	r.getting.Wait()
	r.cache.close()
}
