package reader

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Kept rows answer a read from the row holding its offset, once, while
// they are fresh, and only a read past the offset they were looked up
// from: one from there again looks them up again.
func TestReadAheadTake(t *testing.T) {
	t.Parallel()
	topic := uuid.New()
	rows := []metadata.IndexEntry{{BaseOffset: 10, LastOffset: 19}, {BaseOffset: 20, LastOffset: 29}, {BaseOffset: 35, LastOffset: 39}}
	for _, tc := range []struct {
		name  string
		from  int64
		age   time.Duration
		first int64 // base offset of the first row taken; -1 for none
	}{
		{"inside the first row", 15, 0, 10},
		{"inside the second", 25, 0, 20},
		{"in a gap compaction left", 32, 0, 35},
		{"where they were looked up from", 10, 0, -1},
		{"before that", 9, 0, -1},
		{"past the last", 40, 0, -1},
		{"too old", 15, tailRowMaxAge, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(1000, 0)
			a := newReadAhead(func() time.Time { return now })
			a.keep(topic, 3, aheadRows{rows: rows, from: 10, at: now})
			now = now.Add(tc.age)
			got := a.take(topic, 3, tc.from)
			if first := int64(-1); len(got.rows) > 0 && got.rows[0].BaseOffset != tc.first || len(got.rows) == 0 && tc.first != first {
				t.Fatalf("take from %d: %v, want rows from %d", tc.from, got.rows, tc.first)
			}
			if again := a.take(topic, 3, tc.from); again.rows != nil {
				t.Fatalf("rows taken twice: %v", again.rows)
			}
		})
	}
}

// A page taken from its second row and kept again does not answer a
// read from inside its first: a consumer taking over a partition behind
// the one that kept it must not skip the rows between.
func TestReadAheadRetakenPage(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	a := newReadAhead(func() time.Time { return now })
	topic := uuid.New()
	rows := []metadata.IndexEntry{{BaseOffset: 10, LastOffset: 19}, {BaseOffset: 20, LastOffset: 29}, {BaseOffset: 30, LastOffset: 39}}
	a.keep(topic, 3, aheadRows{rows: rows, from: 10, at: now})
	ahead := a.take(topic, 3, 25) // the leading consumer
	if len(ahead.rows) != 2 || ahead.rows[0].BaseOffset != 20 {
		t.Fatalf("take from 25: %v", ahead.rows)
	}
	a.keep(topic, 3, ahead) // as indexRows keeps what it was given
	if got := a.take(topic, 3, 12); got.rows != nil {
		t.Fatalf("take from 12 after the page was kept from row 20: %v, want none (rows 10-19 would be skipped)", got.rows)
	}
}

// A partition read through the log, a few rows per fetch, looks up the
// index once per page of rows, not once per fetch.
func TestSequentialReadsShareIndexPages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const objects = 16
	for range objects {
		env.commit(t, map[int32][]string{0: kibRecords[:10]})
	}
	store := &indexCounter{Store: env.store}
	r, err := New(Config{Store: store, Bucket: env.bucket, CacheBytes: 8 << 20, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	offset, fetches := int64(0), 0
	for offset < objects*10 {
		got, _, release := r.Fetch(t.Context(), []Want{{Topic: env.topic, Partition: 0, Offset: offset, MaxBytes: 10 << 10}}, 10<<10)
		release()
		if got[0].Err != nil || got[0].Count == 0 {
			t.Fatalf("fetch from %d: %d records, %v", offset, got[0].Count, got[0].Err)
		}
		offset += int64(got[0].Count)
		fetches++
	}
	if q := store.queries.Load(); fetches != objects || q > objects/indexFirstPage {
		t.Fatalf("%d fetches ran %d index queries, want %d fetches and at most %d queries", fetches, q, objects, objects/indexFirstPage)
	}
}

type indexCounter struct {
	metadata.Store
	queries atomic.Int64
}

func (s *indexCounter) Index(ctx context.Context, topic uuid.UUID, partition int32, from int64, limit int) ([]metadata.IndexEntry, error) {
	s.queries.Add(1)
	return s.Store.Index(ctx, topic, partition, from, limit)
}

// readers counts the partitions whose kept rows name an object, as rows
// are kept, replaced and taken.
func TestReadAheadReaders(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	a := newReadAhead(func() time.Time { return now })
	topic := uuid.New()
	rows := func(keys ...string) []metadata.IndexEntry {
		var rs []metadata.IndexEntry
		for i, k := range keys {
			rs = append(rs, metadata.IndexEntry{ObjectKey: k, BaseOffset: int64(10 * i), LastOffset: int64(10*i + 9)})
		}
		return rs
	}
	check := func(step string, want map[string]int) {
		t.Helper()
		for key, n := range want {
			if got := a.readers(key); got != n {
				t.Errorf("%s: %d readers of %s, want %d", step, got, key, n)
			}
		}
	}
	a.keep(topic, 0, aheadRows{rows: rows("x", "y"), at: now})
	a.keep(topic, 1, aheadRows{rows: rows("y", "z"), at: now})
	check("kept", map[string]int{"x": 1, "y": 2, "z": 1})
	a.keep(topic, 0, aheadRows{rows: rows("y"), at: now})
	check("replaced", map[string]int{"x": 0, "y": 2, "z": 1})
	a.take(topic, 1, 0)
	check("taken", map[string]int{"y": 1, "z": 0})
	if len(a.objects) != 1 {
		t.Errorf("%d objects counted, want 1", len(a.objects))
	}
}
