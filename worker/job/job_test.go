package job_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/worker/job"
)

// indexStore serves Index from rows, one row per offset, and counts reads;
// the embedded nil Store panics on any other call.
type indexStore struct {
	metadata.Store
	rows  []metadata.IndexEntry
	reads []int64 // the from of each Index call
}

func (s *indexStore) Index(_ context.Context, _ uuid.UUID, _ int32, from int64, limit int) ([]metadata.IndexEntry, error) {
	s.reads = append(s.reads, from)
	var out []metadata.IndexEntry
	for _, r := range s.rows {
		if r.LastOffset >= from && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func rows(n int) []metadata.IndexEntry {
	out := make([]metadata.IndexEntry, n)
	for i := range out {
		out[i] = metadata.IndexEntry{BaseOffset: int64(2 * i), LastOffset: int64(2*i + 1)}
	}
	return out
}

func TestIndexPages(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rows      int
		stopAfter int // pages fn accepts before returning false; 0: all
		pages     []int
		reads     []int64
	}{
		{"empty", 0, 0, []int{0}, []int64{0}},
		{"one short page", 3, 0, []int{3}, []int64{0}},
		{"a full page and the empty rest", 1000, 0, []int{1000, 0}, []int64{0, 2000}},
		{"pages", 2500, 0, []int{1000, 1000, 500}, []int64{0, 2000, 4000}},
		{"stopped by fn", 2500, 1, []int{1000}, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &indexStore{rows: rows(tc.rows)}
			var pages []int
			err := job.Config{Store: s}.IndexPages(context.Background(), uuid.New(), 0, func(page []metadata.IndexEntry, more bool) bool {
				pages = append(pages, len(page))
				if more != (len(page) == 1000) {
					t.Errorf("page of %d rows: more = %v", len(page), more)
				}
				return tc.stopAfter == 0 || len(pages) < tc.stopAfter
			})
			if err != nil || fmt.Sprint(pages) != fmt.Sprint(tc.pages) || fmt.Sprint(s.reads) != fmt.Sprint(tc.reads) {
				t.Errorf("pages %v reads %v err %v; want pages %v reads %v", pages, s.reads, err, tc.pages, tc.reads)
			}
		})
	}
}

// Every partition is visited with its topic's policy; the errors of
// partitions that went away are dropped, the others joined.
func TestEachPartition(t *testing.T) {
	broker, err := topicconfig.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := job.Config{Broker: broker}
	topics := []metadata.Topic{
		{Name: "a", Partitions: 2, Configs: map[string]string{"cleanup.policy": "compact"}},
		{Name: "b", Partitions: 3},
	}
	failed := errors.New("failed")
	var visited []string
	err = c.EachPartition(context.Background(), topics, func(tp metadata.Topic, p int32, pol topicconfig.Policy) error {
		visited = append(visited, fmt.Sprintf("%s/%d compact=%v", tp.Name, p, pol.Compact))
		switch {
		case tp.Name == "a" && p == 1:
			return fmt.Errorf("a/1: %w", metadata.ErrUnknownPartition)
		case tp.Name == "b" && p == 0:
			return fmt.Errorf("b/0: %w", failed)
		case tp.Name == "b" && p == 2:
			return fmt.Errorf("b/2: %w", metadata.ErrUnknownTopic)
		}
		return nil
	})
	want := "[a/0 compact=true a/1 compact=true b/0 compact=false b/1 compact=false b/2 compact=false]"
	if fmt.Sprint(visited) != want {
		t.Errorf("visited %v, want %s", visited, want)
	}
	if !errors.Is(err, failed) || err.Error() != "b/0: failed" {
		t.Errorf("err = %v, want b/0's alone", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	visited = nil
	err = c.EachPartition(ctx, topics, func(tp metadata.Topic, p int32, _ topicconfig.Policy) error {
		visited = append(visited, fmt.Sprintf("%s/%d", tp.Name, p))
		cancel()
		return nil
	})
	if err != context.Canceled || len(visited) != 1 {
		t.Errorf("after cancel: visited %v, err %v", visited, err)
	}
}

// TestEachPartitionParallel: with Parallel 3, the first three partitions
// run at once (each waits for the other two), no more than three ever do,
// and every partition runs once.
func TestEachPartitionParallel(t *testing.T) {
	broker, err := topicconfig.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := job.Config{Broker: broker, Parallel: 3}
	topics := []metadata.Topic{{Name: "a", Partitions: 7}, {Name: "b", Partitions: 13}}
	var (
		mu               sync.Mutex
		seen             = map[string]int{}
		running, most    int
		first            sync.WaitGroup
		started, timeout atomic.Int32
	)
	first.Add(3)
	err = c.EachPartition(context.Background(), topics, func(tp metadata.Topic, p int32, _ topicconfig.Policy) error {
		mu.Lock()
		seen[fmt.Sprintf("%s/%d", tp.Name, p)]++
		running++
		most = max(most, running)
		mu.Unlock()
		if started.Add(1) <= 3 {
			first.Done()
			done := make(chan struct{})
			go func() { first.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				timeout.Add(1)
			}
		}
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	if err != nil || timeout.Load() > 0 || most != 3 || len(seen) != 20 {
		t.Fatalf("err %v, %d of the first three waited in vain, at most %d at once (want 3), %d partitions seen (want 20)", err, timeout.Load(), most, len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s ran %d times", k, n)
		}
	}
}
