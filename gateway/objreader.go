package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/dgraph-io/ristretto/v2"
)

// objectReader reads byte ranges of segment objects through a ristretto
// cache. Objects this gateway wrote are cached whole, so tailing consumers
// rarely reach the bucket; other reads are cached by range.
type objectReader struct {
	bucket  objstore.Bucket
	cache   *ristretto.Cache[string, []byte]
	metrics *metrics
}

func newObjectReader(bucket objstore.Bucket, maxBytes int64, m *metrics) (*objectReader, error) {
	cache, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		// About ten counters per expected entry; entries are ranges of
		// tens of KiB up to whole objects of a few MiB.
		NumCounters: max(maxBytes/(64<<10)*10, 1000),
		MaxCost:     maxBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("create object cache: %w", err)
	}
	return &objectReader{bucket: bucket, cache: cache, metrics: m}, nil
}

// remember caches an object this gateway just wrote.
func (r *objectReader) remember(key string, data []byte) {
	r.cache.Set(wholeKey(key), data, int64(len(data)))
}

// read returns length bytes of object key from off. The result must not
// be modified: it may be shared with the cache.
func (r *objectReader) read(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if whole, ok := r.cache.Get(wholeKey(key)); ok && off+length <= int64(len(whole)) {
		r.metrics.cacheRequests.WithLabelValues("hit").Inc()
		return whole[off : off+length], nil
	}
	rk := fmt.Sprintf("%s@%d+%d", key, off, length)
	if b, ok := r.cache.Get(rk); ok {
		r.metrics.cacheRequests.WithLabelValues("hit").Inc()
		return b, nil
	}
	r.metrics.cacheRequests.WithLabelValues("miss").Inc()
	b, err := r.bucket.GetRange(ctx, key, off, length)
	if err != nil {
		return nil, fmt.Errorf("read object %s [%d, +%d): %w", key, off, length, err)
	}
	r.cache.Set(rk, b, int64(len(b)))
	return b, nil
}

// readConcurrency bounds the ranged GETs one partition read keeps in
// flight.
const readConcurrency = 4

// readRows reads the byte ranges of index rows concurrently.
func (r *objectReader) readRows(ctx context.Context, rows []metadata.IndexEntry) ([][]byte, error) {
	out := make([][]byte, len(rows))
	errs := make([]error, len(rows))
	sem := make(chan struct{}, readConcurrency)
	var wg sync.WaitGroup
	for i, row := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = r.read(ctx, row.ObjectKey, row.ByteOffset, row.ByteLength)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func wholeKey(key string) string { return key + "@all" }

func (r *objectReader) close() { r.cache.Close() }
