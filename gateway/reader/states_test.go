package reader

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// countingStore answers Partition with a next offset it can be told, and
// counts the queries; it blocks them while hold is set.
type countingStore struct {
	metadata.Store
	queries atomic.Int64
	next    atomic.Int64
	hold    chan struct{}
}

func (s *countingStore) Partition(ctx context.Context, topic uuid.UUID, part int32) (metadata.PartitionState, error) {
	s.queries.Add(1)
	if s.hold != nil {
		<-s.hold
	}
	return metadata.PartitionState{Topic: topic, Partition: part, NextOffset: s.next.Load()}, nil
}

func TestStatesShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var (
		mu  sync.Mutex
		now = time.Unix(0, 0)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := &countingStore{}
	s := newStates(clock)
	topic := uuid.New()

	store.next.Store(5)
	for range 100 {
		if st, _ := s.get(ctx, store, topic, 0); st.NextOffset != 5 {
			t.Fatalf("next offset %d, want 5", st.NextOffset)
		}
	}
	if n := store.queries.Load(); n != 1 {
		t.Fatalf("100 fetches of an unchanged partition ran %d queries, want 1", n)
	}
	// A commit makes the state stale at once.
	store.next.Store(7)
	s.stale()
	if st, _ := s.get(ctx, store, topic, 0); st.NextOffset != 7 {
		t.Fatalf("after a commit: next offset %d, want 7", st.NextOffset)
	}
	// Unannounced changes are seen once the state is stateMaxAge old.
	store.next.Store(9)
	if st, _ := s.get(ctx, store, topic, 0); st.NextOffset != 7 {
		t.Fatalf("state re-read before it aged: %d", st.NextOffset)
	}
	mu.Lock()
	now = now.Add(stateMaxAge)
	mu.Unlock()
	if st, _ := s.get(ctx, store, topic, 0); st.NextOffset != 9 {
		t.Fatalf("after stateMaxAge: next offset %d, want 9", st.NextOffset)
	}

	// Fetches that miss together share one query.
	store.queries.Store(0)
	store.hold = make(chan struct{})
	s.stale()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { s.get(ctx, store, topic, 1) })
	}
	for store.queries.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(store.hold)
	wg.Wait()
	if n := store.queries.Load(); n != 1 {
		t.Fatalf("50 concurrent misses ran %d queries, want 1", n)
	}

	// A query that began before a commit is not kept.
	store.hold = make(chan struct{})
	s.stale()
	done := make(chan struct{})
	go func() { s.get(ctx, store, topic, 2); close(done) }()
	for store.queries.Load() == 1 {
		time.Sleep(time.Millisecond)
	}
	s.stale()
	close(store.hold)
	<-done
	store.hold = nil
	s.get(ctx, store, topic, 2)
	if n := store.queries.Load(); n != 3 {
		t.Fatalf("a state read before the last commit was kept (%d queries, want 3)", n)
	}
}
