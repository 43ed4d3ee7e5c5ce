package metadata_test

import (
	"testing"

	"github.com/caudal/caudal/metadata"
)

// TestWideCommit commits one object over 12,000 partitions from one
// idempotent producer, some of them transactional: past SQLite's bound
// parameters for one statement and PostgreSQL's expression depth for an
// IN list, which a gateway producing to 10,000 partitions reached.
func TestWideCommit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		const parts = 12_000
		tp := mustTopic(t, e.s, "wide", parts)
		pid, err := e.s.AllocateProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := metadata.ObjectCommit{Key: newKey(), Size: parts * 100}
		for p := range int32(parts) {
			c.Runs = append(c.Runs, metadata.PartitionRun{Topic: tp.ID, Partition: p, Batches: []metadata.BatchAppend{idem(pid, 0, 0, 2)}})
		}
		for i, r := range mustCommit(t, e.s, c).Runs {
			if r[0].Err != nil || r[0].BaseOffset != 0 {
				t.Fatalf("partition %d: %+v", i, r[0])
			}
		}
		// The producer's state was stored for every partition: the next
		// batches follow on, and a replay is a duplicate.
		c.Key = newKey()
		for i := range c.Runs {
			c.Runs[i].Batches = []metadata.BatchAppend{idem(pid, 0, 2, 1)}
		}
		c.Runs[0].Batches = []metadata.BatchAppend{idem(pid, 0, 0, 2)}
		res := mustCommit(t, e.s, c)
		if !res.Runs[0][0].Duplicate {
			t.Fatalf("replayed batch not a duplicate: %+v", res.Runs[0][0])
		}
		for i, r := range res.Runs[1:] {
			if r[0].Err != nil || r[0].BaseOffset != 2 {
				t.Fatalf("partition %d: %+v", i+1, r[0])
			}
		}
	})
}
