package metadata

import "math"

// Time marks: how ListOffsets by timestamp finds its row without an index
// on every row's timestamp, which cost every commit as much as the rest of
// its index inserts together (migration 0015).
//
// A partition's row keeps the running maximum of its index rows'
// max_timestamp. An index row whose max_timestamp moves that maximum into
// a later timeMarkEvery is marked, and only marked rows are indexed by
// timestamp. So a marked row's max_timestamp is at least that of every
// row before it, and between two marks the running maximum stays within
// one timeMarkEvery. The first row whose max_timestamp reaches ts (Kafka's
// answer, timestamps need not grow) therefore lies after the last mark
// below ts's timeMarkEvery, and no more than about two timeMarkEvery of
// rows after it.

// timeMarkEvery is the span, in milliseconds, of timestamps one mark
// stands for: a lookup scans about two of them of rows.
const timeMarkEvery = 1000

// timeSpan is the timeMarkEvery that ts falls in, rounded down.
func timeSpan(ts int64) int64 {
	q := ts / timeMarkEvery
	if ts%timeMarkEvery < 0 {
		q--
	}
	return q
}

// timeSpanStart is the first timestamp of ts's timeMarkEvery, or
// math.MinInt64 where that would not fit.
func timeSpanStart(ts int64) int64 {
	if ts < math.MinInt64+timeMarkEvery {
		return math.MinInt64
	}
	return timeSpan(ts) * timeMarkEvery
}

// markTimes returns the time_mark of each of a commit's index rows, which
// are in offset order within each partition, and advances each
// partition's running maximum past them.
func markTimes(index []IndexEntry, parts map[tp]*partState) []int64 {
	marks := make([]int64, len(index))
	for i, e := range index {
		ps := parts[tp{e.Topic, e.Partition}]
		if timeSpan(e.MaxTimestamp) > timeSpan(ps.maxTS) {
			marks[i] = 1
		}
		ps.maxTS = max(ps.maxTS, e.MaxTimestamp)
	}
	return marks
}

// newTimeMarks returns the time_mark of each of repl, which replace old,
// whose marks are marked. A new row keeps a mark of an old row it shares
// offsets with if its max_timestamp is still at least that row's: it is
// then at least every earlier row's too. A mark key compaction lowers is
// dropped; lookups then scan further, but never past their row.
func newTimeMarks(old []IndexEntry, marked []bool, repl []IndexEntry) []int64 {
	// Both lists are in offset order and without overlaps.
	marks := make([]int64, len(repl))
	j := 0
	for i, n := range repl {
		for j < len(old) && old[j].LastOffset < n.BaseOffset {
			j++
		}
		for k := j; k < len(old) && old[k].BaseOffset <= n.LastOffset; k++ {
			if marked[k] && n.MaxTimestamp >= old[k].MaxTimestamp {
				marks[i] = 1
				break
			}
		}
	}
	return marks
}
