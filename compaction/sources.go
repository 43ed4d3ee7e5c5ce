package compaction

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
)

// sources reads the stored bytes of index rows for a pass. A gateway puts
// each flush's batches of many partitions into one object, so a pass over
// every partition reads rows of the same objects again and again: the
// merge pass of BenchmarkTenThousandPartitions read 36,000 rows of 17
// objects with a ranged GET each. Here the second row a pass reads of an
// object of at most wholeMax bytes reads the object whole, and the object
// is kept while it is among the last maxBytes of such objects used.
//
// An object is read whole at most once a pass: once it has left the
// cache, its rows are read by range again. So a pass whose small objects
// do not fit reads at most each object's bytes once more than it did, and
// one whose objects fit reads each about once.
type sources struct {
	bucket   objstore.Bucket
	wholeMax int64
	maxBytes int64

	mu      sync.Mutex
	seen    map[string]seen    // this pass's objects, by key
	objects map[string]*source // read whole, or being read
	order   *list.List         // of *source once read, most recently used first
	size    int64              // bytes of the objects in order
}

// seen is what a pass has done with an object.
type seen uint8

const (
	seenRange seen = iota + 1 // a row was read by range
	seenWhole                 // it was read whole (and may have left the cache)
)

// maxSeen bounds the pass's memory of objects; past it the pass forgets
// them, which costs at most a ranged read more per object.
const maxSeen = 100_000

// source is an object read whole, shared by the rows that read it.
type source struct {
	key  string
	done chan struct{} // closed once data or err is set
	data []byte
	err  error
	el   *list.Element // in order, once read
}

func newSources(bucket objstore.Bucket, wholeMax, maxBytes int64) *sources {
	s := &sources{bucket: bucket, wholeMax: wholeMax, maxBytes: maxBytes, order: list.New()}
	s.reset()
	return s
}

// reset starts a pass: everything is forgotten.
func (s *sources) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen, s.objects, s.size = map[string]seen{}, map[string]*source{}, 0
	s.order.Init()
}

// row reads r's stored bytes into memory the caller owns (callers patch
// offsets into them).
func (s *sources) row(ctx context.Context, r metadata.IndexEntry) ([]byte, error) {
	if src, mine := s.whole(r); src != nil {
		if mine {
			s.get(ctx, src, r.ObjectSize)
		}
		select {
		case <-src.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// A whole read that failed leaves the row to its ranged read,
		// which reports its own error.
		if end := r.ByteOffset + r.ByteLength; src.err == nil && end <= int64(len(src.data)) {
			return bytes.Clone(src.data[r.ByteOffset:end]), nil
		}
	}
	b, err := s.bucket.GetRange(ctx, r.ObjectKey, r.ByteOffset, r.ByteLength)
	if err != nil {
		return nil, fmt.Errorf("read %d bytes at %d of object %s: %w", r.ByteLength, r.ByteOffset, r.ObjectKey, err)
	}
	return b, nil
}

// whole returns the source r is to be read from, if any, and whether the
// caller is to read it.
func (s *sources) whole(r metadata.IndexEntry) (*source, bool) {
	if r.ObjectSize <= 0 || r.ObjectSize > s.wholeMax {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.objects[r.ObjectKey]; ok {
		if src.el != nil {
			s.order.MoveToFront(src.el)
		}
		return src, false
	}
	switch s.seen[r.ObjectKey] {
	case 0:
		if len(s.seen) >= maxSeen {
			clear(s.seen)
		}
		s.seen[r.ObjectKey] = seenRange
		return nil, false
	case seenWhole:
		return nil, false
	}
	s.seen[r.ObjectKey] = seenWhole
	src := &source{key: r.ObjectKey, done: make(chan struct{})}
	s.objects[r.ObjectKey] = src
	return src, true
}

// get reads src's object of size bytes and caches it, evicting the least
// recently used objects past maxBytes.
func (s *sources) get(ctx context.Context, src *source, size int64) {
	src.data, src.err = s.bucket.Get(ctx, src.key, make([]byte, 0, size))
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(src.done)
	if s.objects[src.key] != src { // reset meanwhile
		return
	}
	if src.err != nil {
		delete(s.objects, src.key)
		return
	}
	src.el = s.order.PushFront(src)
	s.size += int64(len(src.data))
	for s.size > s.maxBytes {
		old := s.order.Remove(s.order.Back()).(*source)
		delete(s.objects, old.key)
		s.size -= int64(len(old.data))
	}
}
