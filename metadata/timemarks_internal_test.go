package metadata

import (
	"math"
	"slices"
	"testing"
)

// TestMarkTimes: a row is marked when it moves its partition's running
// maximum into a later second, so steady producers mark about one row a
// second however often they commit.
func TestMarkTimes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		start int64 // the running maximum before the rows
		ts    []int64
		marks []int64
		after int64
	}{
		{"first row of a partition", math.MinInt64, []int64{5}, []int64{1}, 5},
		{"many rows in one second", 0, []int64{1_000, 1_100, 1_999, 1_500}, []int64{1, 0, 0, 0}, 1_999},
		{"each second once", 900, []int64{1_000, 1_500, 2_000, 2_999, 3_000}, []int64{1, 0, 1, 0, 1}, 3_000},
		{"clocks behind mark nothing", 10_000, []int64{500, 9_999, -1}, []int64{0, 0, 0}, 10_000},
		{"within the maximum's second", 10_500, []int64{10_999}, []int64{0}, 10_999},
		{"negative seconds round down", -1_500, []int64{-1_001, -1_000, -1}, []int64{0, 1, 0}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := tp{part: 3}
			parts := map[tp]*partState{k: {maxTS: c.start}}
			var rows []IndexEntry
			for _, ts := range c.ts {
				rows = append(rows, IndexEntry{Partition: 3, MaxTimestamp: ts})
			}
			if got := markTimes(rows, parts); !slices.Equal(got, c.marks) {
				t.Errorf("marks %v, want %v", got, c.marks)
			}
			if parts[k].maxTS != c.after {
				t.Errorf("running maximum %d, want %d", parts[k].maxTS, c.after)
			}
		})
	}
}

func TestTimeSpanStart(t *testing.T) {
	t.Parallel()
	for ts, want := range map[int64]int64{0: 0, 999: 0, 1_000: 1_000, -1: -1_000, -1_000: -1_000, -1_001: -2_000,
		math.MinInt64: math.MinInt64, math.MinInt64 + 999: math.MinInt64, math.MaxInt64: math.MaxInt64 - math.MaxInt64%1_000} {
		if got := timeSpanStart(ts); got != want {
			t.Errorf("timeSpanStart(%d) = %d, want %d", ts, got, want)
		}
	}
}
