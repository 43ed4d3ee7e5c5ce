package metadata_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testclock"
)

// TestConcurrentCommits runs 8 writers × 1000 commits, each touching 2–4 of
// 6 partitions (of two topics) in random order, some writers idempotent
// producers, on PostgreSQL from several separate pools (as from separate
// processes). Afterwards every partition's index rows must tile
// [0, next_offset) without gaps or overlaps, and every writer's own offsets
// per partition must increase.
func TestConcurrentCommits(t *testing.T) {
	const (
		writers = 8
		commits = 1000
	)
	eachBackend(t, func(t *testing.T, e *env) {
		a, b := mustTopic(t, e.s, "a", 4), mustTopic(t, e.s, "b", 2)
		var parts []metadata.TopicPartition
		ids := map[string]uuid.UUID{"a": a.ID, "b": b.ID}
		for p := range int32(4) {
			parts = append(parts, metadata.TopicPartition{Topic: "a", Partition: p})
		}
		for p := range int32(2) {
			parts = append(parts, metadata.TopicPartition{Topic: "b", Partition: p})
		}
		// Writers 0–3 share the first store; 4–5 a second; 6 and 7 their own.
		stores := []metadata.Store{e.s, e.open(t), e.open(t), e.open(t)}
		storeOf := []int{0, 0, 0, 0, 1, 1, 2, 3}

		var (
			mu      sync.Mutex
			records = map[int]int64{} // partition → records written
		)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := stores[storeOf[w]]
				rng := rand.New(rand.NewPCG(uint64(w), 42))
				idempotent := w%2 == 0
				pid := int64(1000 + w)
				seq := map[int]int32{}
				last := map[int]int64{}
				mine := map[int]int64{}
				for i := range commits {
					perm := rng.Perm(len(parts))[:2+rng.IntN(3)]
					c := metadata.ObjectCommit{Key: fmt.Sprintf("w%d-%d", w, i), Size: 1}
					for _, p := range perm {
						run := metadata.PartitionRun{Topic: ids[parts[p].Topic], Partition: parts[p].Partition}
						for range 1 + rng.IntN(2) {
							n := int64(1 + rng.IntN(5))
							bt := plain(0, 10, n, int64(i))
							if idempotent {
								bt = idem(pid, 0, seq[p], n)
								seq[p] += int32(n)
							}
							run.Batches = append(run.Batches, bt)
							mine[p] += n
						}
						c.Runs = append(c.Runs, run)
					}
					res, err := s.CommitObject(ctx, c)
					if err != nil {
						t.Errorf("writer %d commit %d: %v", w, i, err)
						return
					}
					for ri, p := range perm {
						for bi, br := range res.Runs[ri] {
							if br.Err != nil || br.Duplicate {
								t.Errorf("writer %d commit %d: %+v", w, i, br)
								return
							}
							if lo, ok := last[p]; ok && br.BaseOffset <= lo {
								t.Errorf("writer %d partition %d: offset %d after %d", w, p, br.BaseOffset, lo)
							}
							last[p] = br.BaseOffset + c.Runs[ri].Batches[bi].Records - 1
						}
					}
				}
				mu.Lock()
				for p, n := range mine {
					records[p] += n
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for p, tp := range parts {
			id := ids[tp.Topic]
			next := nextOffset(t, e.s, id, tp.Partition)
			if next != records[p] {
				t.Fatalf("%v: next offset %d, %d records written", tp, next, records[p])
			}
			want := int64(0)
			for _, r := range index(t, e.s, id, tp.Partition) {
				if r.BaseOffset != want || r.LastOffset < r.BaseOffset {
					t.Fatalf("%v: index row [%d, %d], want base %d", tp, r.BaseOffset, r.LastOffset, want)
				}
				want = r.LastOffset + 1
			}
			if want != next {
				t.Fatalf("%v: index rows end at %d, next offset %d", tp, want, next)
			}
		}
	})
}

// TestSQLiteWritersTakeTurns: a handle whose four writers commit without
// pause must not keep a second handle on the same file waiting. SQLite's
// own busy wait polls, and lost to the in-process hand-off for seconds
// (thousands of the busy handle's commits); the write lock queues them.
// The test counts the busy handle's commits during each of the other's.
func TestSQLiteWritersTakeTurns(t *testing.T) {
	t.Parallel()
	e := &env{url: "sqlite://" + filepath.Join(t.TempDir(), "metadata.db"), clock: testclock.New(time.UnixMilli(1_700_000_000_000))}
	busy, other := e.open(t), e.open(t)
	run := metadata.PartitionRun{Topic: mustTopic(t, busy, "t", 1).ID, Batches: []metadata.BatchAppend{plain(0, 10, 1, 1)}}
	commit := func(s metadata.Store, key string) {
		if _, err := s.CommitObject(ctx, metadata.ObjectCommit{Key: key, Size: 10, Runs: []metadata.PartitionRun{run}}); err != nil {
			t.Errorf("commit %s: %v", key, err)
		}
	}
	var (
		busyCommits atomic.Int64
		stop        = make(chan struct{})
		wg          sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				commit(busy, fmt.Sprintf("busy-%d-%d", w, i))
				busyCommits.Add(1)
			}
		}()
	}
	for busyCommits.Load() < 20 { // the four are under way
		time.Sleep(time.Millisecond)
	}
	var most int64
	for i := range 100 {
		before := busyCommits.Load()
		commit(other, fmt.Sprintf("other-%d", i))
		most = max(most, busyCommits.Load()-before)
	}
	close(stop)
	wg.Wait()
	t.Logf("at most %d of the busy handle's commits during one of the other's (%d in all)", most, busyCommits.Load())
	if most > 10 {
		t.Errorf("the busy handle committed %d times while the other waited for one commit", most)
	}
}
