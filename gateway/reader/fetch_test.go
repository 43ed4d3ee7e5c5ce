package reader

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
)

func TestBudgetReads(t *testing.T) {
	t.Parallel()
	// rowsOf makes a partition read whose index rows have these sizes.
	rowsOf := func(limit int, sizes ...int64) *partitionRead {
		rd := &partitionRead{limit: limit}
		for _, n := range sizes {
			rd.rows = append(rd.rows, metadata.IndexEntry{ByteLength: n})
		}
		return rd
	}
	failed := &partitionRead{limit: 100, err: errors.New("unknown partition"), rows: []metadata.IndexEntry{{ByteLength: 5}}}
	for _, tc := range []struct {
		name     string
		reads    []*partitionRead
		maxBytes int
		// wantRows and wantLimits per read; wantFirst is the read that
		// may exceed its share.
		wantRows   []int
		wantLimits []int
		wantFirst  int
	}{{
		name:       "all fit",
		reads:      []*partitionRead{rowsOf(100, 10, 10), rowsOf(100, 30)},
		maxBytes:   1000,
		wantRows:   []int{2, 1},
		wantLimits: []int{100, 100},
	}, {
		name:       "max_bytes runs out: later partitions are not read",
		reads:      []*partitionRead{rowsOf(100, 60, 60), rowsOf(100, 60), rowsOf(100, 60)},
		maxBytes:   150,
		wantRows:   []int{2, 1, 0},
		wantLimits: []int{100, 50, 100},
	}, {
		name:       "a partition's own limit cuts its rows",
		reads:      []*partitionRead{rowsOf(50, 40, 40, 40), rowsOf(100, 10)},
		maxBytes:   1000,
		wantRows:   []int{2, 1},
		wantLimits: []int{50, 100},
	}, {
		name:       "the first partition with data may exceed (KIP-74)",
		reads:      []*partitionRead{rowsOf(100), rowsOf(10, 500), rowsOf(100, 5)},
		maxBytes:   10,
		wantRows:   []int{0, 1, 0},
		wantLimits: []int{100, 10, 100},
		wantFirst:  1,
	}, {
		name:       "failed partitions take no budget",
		reads:      []*partitionRead{failed, rowsOf(100, 80)},
		maxBytes:   100,
		wantRows:   []int{1, 1},
		wantLimits: []int{100, 100},
		wantFirst:  1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			budgetReads(tc.reads, tc.maxBytes)
			var rows, limits []int
			for i, rd := range tc.reads {
				rows, limits = append(rows, len(rd.rows)), append(limits, rd.limit)
				if rd.atLeastOne != (i == tc.wantFirst && rd.err == nil) {
					t.Errorf("read %d atLeastOne = %v", i, rd.atLeastOne)
				}
			}
			if !slices.Equal(rows, tc.wantRows) || !slices.Equal(limits, tc.wantLimits) {
				t.Errorf("rows %v limits %v, want %v and %v", rows, limits, tc.wantRows, tc.wantLimits)
			}
		})
	}
}

// countingBucket counts whole and ranged GETs.
type countingBucket struct {
	objstore.Bucket
	gets, ranged atomic.Int64
}

func (b *countingBucket) Get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	b.gets.Add(1)
	return b.Bucket.Get(ctx, key, buf)
}

func (b *countingBucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	b.ranged.Add(1)
	return b.Bucket.GetRange(ctx, key, off, length)
}

// kibRecords are 200 values of 1 KiB: a partition's share of an object
// far larger than the other's.
var kibRecords = slices.Repeat([]string{strings.Repeat("x", 1024)}, 200)

// A partition's last rows that would be read by range, after one read
// from an object read whole, wait for its next fetch, which reads their
// object whole if it wants enough of it; rows whose object is cached are
// read at once.
func TestFetchDefersSlivers(t *testing.T) {
	t.Parallel()
	type step struct {
		partition int32
		offset    int64
		records   int
	}
	for _, tc := range []struct {
		name              string
		steps             []step
		wantGets, wantRgs int64
	}{
		{"deferred, then read by range", []step{{0, 0, 40}, {0, 40, 1}}, 1, 1},
		{"its object cached", []step{{1, 0, 200}, {0, 0, 41}}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			env.commit(t, map[int32][]string{0: kibRecords[:40]})
			env.commit(t, map[int32][]string{0: {"z"}, 1: kibRecords})
			bucket := &countingBucket{Bucket: env.bucket}
			r := env.reader(t, bucket, 8<<20) // objects up to 1 MiB read whole
			for _, s := range tc.steps {
				got, _, release := r.Fetch(t.Context(), []Want{{Topic: env.topic, Partition: s.partition, Offset: s.offset, MaxBytes: 1 << 20}}, 1<<20)
				release()
				if got[0].Err != nil || got[0].Count != s.records {
					t.Errorf("partition %d from %d: %d records (%v), want %d", s.partition, s.offset, got[0].Count, got[0].Err, s.records)
				}
			}
			if gets, ranged := bucket.gets.Load(), bucket.ranged.Load(); gets != tc.wantGets || ranged != tc.wantRgs {
				t.Errorf("fetches made %d GETs and %d ranged GETs, want %d and %d", gets, ranged, tc.wantGets, tc.wantRgs)
			}
		})
	}
}

// gatedBucket holds each whole GET until release is closed.
type gatedBucket struct {
	countingBucket
	started chan struct{}
	release chan struct{}
}

func (b *gatedBucket) Get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	b.started <- struct{}{}
	<-b.release
	return b.countingBucket.Get(ctx, key, buf)
}

// waiting reports whether a whole GET in flight has n waiters, itself
// included.
func (r *objectReader) waiting(n int32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, wr := range r.reading {
		if wr.waiters.Load() >= n {
			return true
		}
	}
	return false
}

// A sliver of an object whose whole GET is in flight for another fetch is
// read from that GET, not by range.
func TestSliverJoinsWholeRead(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.commit(t, map[int32][]string{0: {"z"}, 1: kibRecords})
	bucket := &gatedBucket{countingBucket: countingBucket{Bucket: env.bucket}, started: make(chan struct{}, 1), release: make(chan struct{})}
	r := env.reader(t, bucket, 8<<20)
	whole := make(chan int)
	go func() {
		got, _, release := r.Fetch(context.Background(), []Want{{Topic: env.topic, Partition: 1, MaxBytes: 1 << 20}}, 1<<20)
		release()
		whole <- got[0].Count
	}()
	<-bucket.started
	sliver := make(chan int)
	go func() {
		got, _, release := r.Fetch(context.Background(), []Want{{Topic: env.topic, Partition: 0, MaxBytes: 1 << 20}}, 1<<20)
		release()
		sliver <- got[0].Count
	}()
	// Until the sliver's fetch waits on the whole GET: without joining
	// it, the fetch reads by range and returns first.
	m := -1
	for m < 0 && !r.objects.waiting(3) {
		select {
		case m = <-sliver:
		case <-time.After(time.Millisecond):
		}
	}
	close(bucket.release)
	if m < 0 {
		m = <-sliver
	}
	if n := <-whole; n != len(kibRecords) || m != 1 {
		t.Fatalf("fetches returned %d and %d records, want %d and 1", n, m, len(kibRecords))
	}
	if gets, ranged := bucket.gets.Load(), bucket.ranged.Load(); gets != 1 || ranged != 0 {
		t.Fatalf("fetches made %d GETs and %d ranged GETs, want 1 and 0", gets, ranged)
	}
}

// A cold fetch reads an object whole, once, when it wants much of it,
// and only its rows when it wants a sliver. Consumers fetching one
// partition each share the one read even behind a cache full of entries
// read more often.
func TestColdFetchGets(t *testing.T) {
	for _, tc := range []struct {
		name              string
		produce           map[int32][]string
		fetches           [][]int32
		hotCache          bool
		wantRecords       map[int32]int
		wantGets, wantRgs int64
	}{
		{"two partitions of one object", map[int32][]string{0: {"a", "b"}, 1: {"c", "d", "e"}}, [][]int32{{0, 1}}, false, map[int32]int{0: 2, 1: 3}, 1, 0},
		{"a sliver of a big object", map[int32][]string{0: {"a"}, 1: kibRecords}, [][]int32{{0}}, false, map[int32]int{0: 1}, 0, 1},
		{"one partition per fetch, full cache", map[int32][]string{0: kibRecords[:40], 1: kibRecords[:40]}, [][]int32{{0}, {1}}, true, map[int32]int{0: 40, 1: 40}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.commit(t, tc.produce)
			// A new reader: the cache of a gateway that did not write the object.
			bucket := &countingBucket{Bucket: env.bucket}
			r := env.reader(t, bucket, 1<<20)
			if tc.hotCache {
				fillCache(r.objects.cache)
			}
			for range 2 { // the second from the cache
				for _, parts := range tc.fetches {
					got := env.fetch(t, r, 1<<20, 1<<20, parts...)
					for i, p := range parts {
						if n := got[i].Count; n != tc.wantRecords[p] {
							t.Errorf("partition %d: %d records, want %d", p, n, tc.wantRecords[p])
						}
					}
				}
			}
			if gets, ranged := bucket.gets.Load(), bucket.ranged.Load(); gets != tc.wantGets || ranged != tc.wantRgs {
				t.Errorf("fetches made %d GETs and %d ranged GETs, want %d and %d", gets, ranged, tc.wantGets, tc.wantRgs)
			}
		})
	}
}

// A read counts once in caudal_cache_requests_total: a ranged read that
// misses as a miss, and the same range read again as a hit.
func TestCacheRequestsCounted(t *testing.T) {
	env := newTestEnv(t)
	env.commit(t, map[int32][]string{0: {"a"}, 1: kibRecords})
	r := env.reader(t, env.bucket, 1<<20)
	for range 2 {
		env.fetch(t, r, 1<<20, 1<<20, 0)
	}
	count := func(result string) float64 {
		var m dto.Metric
		if err := r.objects.requests.WithLabelValues(result).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	if miss, hit := count("miss"), count("hit"); miss != 1 || hit != 1 {
		t.Errorf("cache requests: %v misses and %v hits, want 1 and 1", miss, hit)
	}
}

// fillCache fills c past its size with entries read ten times each.
func fillCache(c *objectCache) {
	for range 10 {
		for i := range 64 {
			key := "hot" + strconv.Itoa(i)
			if e, ok := c.get(key); ok {
				e.release()
			} else {
				c.add(newEntry(key, make([]byte, 32<<10), false))
			}
		}
	}
	c.main.Wait()
}

func TestWholeObjects(t *testing.T) {
	t.Parallel()
	row := func(key string, length, size int64) metadata.IndexEntry {
		return metadata.IndexEntry{ObjectKey: key, ByteLength: length, ObjectSize: size}
	}
	reads := []*partitionRead{
		{rows: []metadata.IndexEntry{row("half", 50, 100), row("sliver", 1, 100), row("eighths", 10, 160)}},
		{rows: []metadata.IndexEntry{row("eighths", 10, 160), row("huge", 900, 1000)}},
		{rows: []metadata.IndexEntry{row("unknown", 10, 0), row("awaited", 1, 100), row("awaited huge", 1, 1000)}},
	}
	// Other partitions read here are about to read "awaited" and "awaited
	// huge"; only this fetch reads "sliver".
	readers := map[string]int{"sliver": 1, "awaited": 2, "awaited huge": 5}
	got := wholeObjects(reads, 500, func(key string) int { return readers[key] })
	want := map[string]bool{"half": true, "eighths": true, "awaited": true}
	if !maps.Equal(got, want) {
		t.Errorf("wholeObjects = %v, want %v (sliver: under an eighth, read by this fetch only; huge: over wholeMax; unknown: no size)", got, want)
	}
}

// A negative partition_max_bytes on a partition with data is read as 0:
// the first batch comes back (KIP-74) and nothing panics.
func TestFetchNegativePartitionMaxBytes(t *testing.T) {
	env := newTestEnv(t)
	env.commit(t, map[int32][]string{0: {"a", "b"}})
	env.commit(t, map[int32][]string{0: {"c"}})
	got := env.fetch(t, env.reader(t, env.bucket, 1<<20), 52428800, -1, 0)
	if n := got[0].Count; n != 2 {
		t.Errorf("%d records, want the first batch's 2", n)
	}
}

// Consumers of an object's partitions that are further apart than half
// the cache, but not than its window, read it once between them, even
// behind a main cache of entries read many times: partition 1's consumer
// starts after partition 0's has read every object.
func TestDriftingConsumersReadObjectsOnce(t *testing.T) {
	const objects = 8 // about 200 KiB each, charged 256 KiB
	env := newTestEnv(t)
	for range objects {
		env.commit(t, map[int32][]string{0: kibRecords[:100], 1: kibRecords[:100]})
	}
	bucket := &countingBucket{Bucket: env.bucket}
	r := env.reader(t, bucket, 3<<20) // a window of 10 such objects
	fillCache(r.objects.cache)
	for _, p := range []int32{0, 1} {
		for offset := int64(0); offset < objects*100; offset += 100 {
			got, _, release := r.Fetch(t.Context(), []Want{{Topic: env.topic, Partition: p, Offset: offset, MaxBytes: 100 << 10}}, 100<<10)
			if got[0].Err != nil || got[0].Count != 100 {
				t.Fatalf("partition %d at %d: %d records, %v", p, offset, got[0].Count, got[0].Err)
			}
			release()
		}
	}
	if gets, ranged := bucket.gets.Load(), bucket.ranged.Load(); gets != objects || ranged != 0 {
		t.Errorf("two consumers made %d GETs and %d ranged GETs for %d objects, want %d and 0", gets, ranged, objects, objects)
	}
}
