package metadata_test

import (
	"testing"
)

// PartitionSizes gives, in one query, each partition's PartitionSize: the
// sum DescribeLogDirs reports and the storage metrics gauge.
func TestPartitionSizes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		tp := mustTopic(t, s, "sized", 3)
		other := mustTopic(t, s, "other", 1)
		commitOne(t, s, tp.ID, 0, plain(0, 100, 2, 1), plain(100, 50, 1, 2))
		commitOne(t, s, tp.ID, 0, plain(0, 7, 1, 3))
		commitOne(t, s, tp.ID, 2, plain(0, 1<<40, 1, 4)) // sizes past 32 bits
		commitOne(t, s, other.ID, 0, plain(0, 999, 1, 5))

		sizes, err := s.PartitionSizes(ctx, tp.ID)
		if err != nil {
			t.Fatal(err)
		}
		for p := range tp.Partitions {
			_, want, err := s.PartitionSize(ctx, tp.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			if sizes[p] != want {
				t.Errorf("partition %d: PartitionSizes %d, PartitionSize %d", p, sizes[p], want)
			}
		}
		if sizes[0] != 157 || sizes[2] != 1<<40 || len(sizes) != 2 {
			t.Errorf("sizes %v, want 0:157 and 2:2^40 only (an empty partition is absent)", sizes)
		}
		if none, err := s.PartitionSizes(ctx, mustTopic(t, s, "none", 2).ID); err != nil || len(none) != 0 {
			t.Errorf("empty topic: %v, %v", none, err)
		}
	})
}
