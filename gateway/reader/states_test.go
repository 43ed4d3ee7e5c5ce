package reader

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testclock"
	"github.com/google/uuid"
)

// fakePartitions answers Partition queries with a next offset it can be
// told, and counts them; it blocks them while hold is set.
type fakePartitions struct {
	queries atomic.Int64
	next    atomic.Int64
	lso     atomic.Int64 // 0: equal to next
	hold    chan struct{}
}

func (f *fakePartitions) query(_ context.Context, topic uuid.UUID, part int32) (metadata.PartitionState, error) {
	f.queries.Add(1)
	if f.hold != nil {
		<-f.hold
	}
	st := metadata.PartitionState{Topic: topic, Partition: part, NextOffset: f.next.Load(), LastStableOffset: f.lso.Load()}
	if st.LastStableOffset == 0 {
		st.LastStableOffset = st.NextOffset
	}
	return st, nil
}

func TestStatesShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testclock.New(time.Unix(0, 0))
	f := &fakePartitions{}
	s := newStates(clock.Now, f.query)
	topic := uuid.New()
	next := func(part int32) int64 {
		t.Helper()
		v, err := s.get(ctx, topic, part)
		if err != nil {
			t.Fatal(err)
		}
		return v.st.NextOffset
	}

	f.next.Store(5)
	for range 100 {
		if n := next(0); n != 5 {
			t.Fatalf("next offset %d, want 5", n)
		}
	}
	if n := f.queries.Load(); n != 1 {
		t.Fatalf("100 fetches of an unchanged partition ran %d queries, want 1", n)
	}
	// A change no commit describes drops every state at once.
	f.next.Store(7)
	s.dropAll()
	if n := next(0); n != 7 {
		t.Fatalf("after dropAll: next offset %d, want 7", n)
	}
	// Unannounced changes are seen once the state is MaxStaleness old.
	f.next.Store(9)
	if n := next(0); n != 7 {
		t.Fatalf("state re-read before it aged: %d", n)
	}
	clock.Add(MaxStaleness)
	if n := next(0); n != 9 {
		t.Fatalf("after MaxStaleness: next offset %d, want 9", n)
	}

	// Fetches that miss together share one query.
	f.queries.Store(0)
	f.hold = make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { s.get(ctx, topic, 1) })
	}
	for f.queries.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(f.hold)
	wg.Wait()
	if n := f.queries.Load(); n != 1 {
		t.Fatalf("50 concurrent misses ran %d queries, want 1", n)
	}

	// A query that ran while a commit appended to its partition is not
	// kept: it may predate the commit, whose update found nothing to
	// extend.
	if n := readAcross(ctx, s, f, topic, 2, func() {
		if changed := s.apply([]metadata.Appended{appendedAt(topic, 2, 9, 3, false)}); len(changed) != 1 {
			t.Fatalf("a commit to a partition being read changed %v, want it", changed)
		}
	}); n != 2 {
		t.Fatalf("a state read across a commit was kept (%d queries, want 2)", n)
	}
	// Nor is one that ran while every state was dropped.
	if n := readAcross(ctx, s, f, topic, 3, s.dropAll); n != 2 {
		t.Fatalf("a state read across dropAll was kept (%d queries, want 2)", n)
	}
}

// readAcross reads part's state while during runs, its query held until
// during returns, then reads it again, and returns the queries the two
// reads ran: 1 if the first read's state was kept, 2 if not.
func readAcross(ctx context.Context, s *states, f *fakePartitions, topic uuid.UUID, part int32, during func()) int64 {
	before := f.queries.Load()
	f.hold = make(chan struct{})
	done := make(chan struct{})
	go func() { s.get(ctx, topic, part); close(done) }()
	for f.queries.Load() == before {
		time.Sleep(time.Millisecond)
	}
	during()
	close(f.hold)
	<-done
	f.hold = nil
	s.get(ctx, topic, part)
	return f.queries.Load() - before
}

// appendedAt is a commit of n offsets at base, in one row of 100 bytes.
func appendedAt(topic uuid.UUID, part int32, base, n int64, txn bool) metadata.Appended {
	return metadata.Appended{Topic: topic, Partition: part, Txn: txn, Rows: []metadata.IndexEntry{{
		Topic: topic, Partition: part, BaseOffset: base, LastOffset: base + n - 1, ObjectKey: "o", ByteLength: 100, ObjectSize: 100,
	}}}
}

// TestStatesExtendedByCommits: a commit that follows on from a cached
// state extends it, and its rows serve fetches from the old next offset,
// without a query; any other commit makes the next fetch read again.
func TestStatesExtendedByCommits(t *testing.T) {
	t.Parallel()
	topic := uuid.New()
	for _, tc := range []struct {
		name      string
		lso       int64 // of the cached state; 0: no open transaction
		commits   []metadata.Appended
		queries   int64 // after the first read
		next, lsO int64
		rowsFrom  int64 // the view's from()
	}{
		{name: "follows on", commits: []metadata.Appended{appendedAt(topic, 0, 10, 5, false)}, next: 15, lsO: 15, rowsFrom: 10},
		{name: "two in order", commits: []metadata.Appended{appendedAt(topic, 0, 10, 5, false), appendedAt(topic, 0, 15, 1, false)},
			next: 16, lsO: 16, rowsFrom: 10},
		{name: "told twice", commits: []metadata.Appended{appendedAt(topic, 0, 10, 5, false), appendedAt(topic, 0, 10, 5, false)},
			next: 15, lsO: 15, rowsFrom: 10},
		{name: "open transaction keeps its lso", lso: 8, commits: []metadata.Appended{appendedAt(topic, 0, 10, 5, false)},
			next: 15, lsO: 8, rowsFrom: 10},
		{name: "gap", commits: []metadata.Appended{appendedAt(topic, 0, 12, 5, false)}, queries: 1, next: 99, lsO: 99, rowsFrom: 99},
		{name: "transactional", commits: []metadata.Appended{appendedAt(topic, 0, 10, 5, true)}, queries: 1, next: 99, lsO: 99, rowsFrom: 99},
		{name: "other partition", commits: []metadata.Appended{appendedAt(topic, 1, 10, 5, false)}, next: 10, lsO: 10, rowsFrom: 10},
		{name: "many rows keep the last", commits: slices.Collect(func(yield func(metadata.Appended) bool) {
			for i := range int64(tailRows + 3) {
				yield(appendedAt(topic, 0, 10+i, 1, false))
			}
		}), next: 10 + tailRows + 3, lsO: 10 + tailRows + 3, rowsFrom: 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := testclock.New(time.Unix(0, 0))
			f := &fakePartitions{}
			f.next.Store(10)
			f.lso.Store(tc.lso)
			s := newStates(clock.Now, f.query)
			if _, err := s.get(ctx, topic, 0); err != nil {
				t.Fatal(err)
			}
			f.next.Store(99) // what a query would find now
			f.lso.Store(0)
			f.queries.Store(0)
			s.apply(tc.commits)
			v, err := s.get(ctx, topic, 0)
			if err != nil {
				t.Fatal(err)
			}
			if q := f.queries.Load(); q != tc.queries || v.st.NextOffset != tc.next || v.st.LastStableOffset != tc.lsO || v.from() != tc.rowsFrom {
				t.Fatalf("%d queries, next %d, lso %d, rows from %d; want %d, %d, %d, %d",
					q, v.st.NextOffset, v.st.LastStableOffset, v.from(), tc.queries, tc.next, tc.lsO, tc.rowsFrom)
			}
			for i, r := range v.rows {
				if i > 0 && r.BaseOffset != v.rows[i-1].LastOffset+1 || i == len(v.rows)-1 && r.LastOffset != v.st.NextOffset-1 {
					t.Fatalf("rows %+v do not run to the next offset %d", v.rows, v.st.NextOffset)
				}
			}
		})
	}
}

// TestStatesRowsAge: cached rows stop serving reads once tailRowMaxAge
// old, even while commits keep the state fresh, and survive a re-read of
// a state whose next offset has not moved.
func TestStatesRowsAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testclock.New(time.Unix(0, 0))
	f := &fakePartitions{}
	f.next.Store(10)
	s := newStates(clock.Now, f.query)
	topic := uuid.New()
	s.get(ctx, topic, 0)
	s.apply([]metadata.Appended{appendedAt(topic, 0, 10, 5, false)})
	f.next.Store(15)
	clock.Add(MaxStaleness) // re-read, same next offset: the rows stay
	if v, _ := s.get(ctx, topic, 0); v.from() != 10 || f.queries.Load() != 2 {
		t.Fatalf("after a re-read: rows from %d after %d queries, want 10 after 2", v.from(), f.queries.Load())
	}
	clock.Add(tailRowMaxAge - MaxStaleness - time.Millisecond)
	s.apply([]metadata.Appended{appendedAt(topic, 0, 15, 5, false)})
	if v, _ := s.get(ctx, topic, 0); v.from() != 10 {
		t.Fatalf("rows from %d just before they age, want 10", v.from())
	}
	clock.Add(time.Millisecond)
	if v, _ := s.get(ctx, topic, 0); v.from() != 15 || v.st.NextOffset != 20 {
		t.Fatalf("rows from %d, next %d once the first aged; want 15, 20", v.from(), v.st.NextOffset)
	}
}

func TestCachedRows(t *testing.T) {
	t.Parallel()
	topic := uuid.New()
	rows := []metadata.IndexEntry{
		appendedAt(topic, 0, 10, 5, false).Rows[0],
		appendedAt(topic, 0, 15, 5, false).Rows[0],
		appendedAt(topic, 0, 20, 5, false).Rows[0],
	}
	for _, tc := range []struct {
		from, hw int64
		maxBytes int
		want     []int64 // base offsets
	}{
		{from: 10, hw: 25, maxBytes: 1000, want: []int64{10, 15, 20}},
		{from: 17, hw: 25, maxBytes: 1000, want: []int64{15, 20}},
		{from: 10, hw: 18, maxBytes: 1000, want: []int64{10, 15}},
		{from: 10, hw: 25, maxBytes: 150, want: []int64{10, 15}},
		{from: 10, hw: 25, maxBytes: 1, want: []int64{10}},
		{from: 25, hw: 25, maxBytes: 1000},
		{from: 18, hw: 18, maxBytes: 1000}, // read_committed at the lso
	} {
		var got []int64
		for _, r := range cachedRows(rows, tc.from, tc.hw, tc.maxBytes) {
			got = append(got, r.BaseOffset)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("from %d below %d in %d bytes: rows at %v, want %v", tc.from, tc.hw, tc.maxBytes, got, tc.want)
		}
	}
}

// TestWaiters: a change wakes only the fetches of its partitions; a
// change to anything, or shutdown, wakes all; done leaves nothing behind.
func TestWaiters(t *testing.T) {
	t.Parallel()
	w := newWaiters()
	a, b := stateKey{uuid.New(), 0}, stateKey{uuid.New(), 1}
	onA, onB, onBoth := w.wait([]stateKey{a}), w.wait([]stateKey{b}), w.wait([]stateKey{a, b})
	woken := func(wt *waiter) bool {
		select {
		case <-wt.ch:
			return true
		default:
			return false
		}
	}
	w.notify([]stateKey{a})
	if !woken(onA) || woken(onB) || !woken(onBoth) {
		t.Fatalf("a change to a woke a=%v b=%v both=%v, want true false true", woken(onA), woken(onB), woken(onBoth))
	}
	w.notify([]stateKey{a}) // nobody waits on a now: a no-op
	for _, wt := range []*waiter{onA, onB, onBoth} {
		w.done(wt)
	}
	if len(w.by) != 0 {
		t.Fatalf("registrations left after done: %v", w.by)
	}
	again := w.wait([]stateKey{b})
	w.notifyAll()
	if !woken(again) {
		t.Fatal("notifyAll did not wake a fetch")
	}
	w.done(again)
	w.closeAll()
	if late := w.wait([]stateKey{a}); !woken(late) {
		t.Fatal("a wait after closeAll did not return at once")
	}
}

// A partition counts as read here from its fetch until readInterest
// later, whatever happens to its cached state meanwhile.
func TestStatesReading(t *testing.T) {
	t.Parallel()
	clock := testclock.New(time.Unix(0, 0))
	f := &fakePartitions{}
	s := newStates(clock.Now, f.query)
	topic := uuid.New()
	if s.reading(topic, 0) {
		t.Fatal("a partition never fetched counts as read")
	}
	if _, err := s.get(context.Background(), topic, 0); err != nil {
		t.Fatal(err)
	}
	s.dropAll()
	if !s.reading(topic, 0) || s.reading(topic, 1) || s.reading(uuid.New(), 0) {
		t.Fatal("only the fetched partition counts as read")
	}
	clock.Add(readInterest)
	if s.reading(topic, 0) {
		t.Fatalf("still read %v after its last fetch", readInterest)
	}
}
