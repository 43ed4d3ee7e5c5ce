package reader

import (
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// readAhead keeps the index rows a partition read was given (an index
// page asks for 8 rows where a 1 MiB fetch reads about two) for the
// partition's next read, which starts where this one ended. A consumer
// reading through the log then costs an index query every few fetches
// instead of every fetch: in the cold fetch benchmark those queries were
// 11% of the gateway's CPU.
//
// The rows also tell which objects this gateway's readers will read
// next, so that a fetch wanting a sliver of one reads it whole for them
// (see wholeObjects).
//
// The rows are used for at most tailRowMaxAge, as the tail's are, since
// compaction may replace the objects they name, and only by a read past
// the offset they were looked up from: one that starts there again (a
// new consumer, a retry, a rewind) looks them up again, and finds what
// compaction has written since. Only a read carrying on through the log
// may see the rows as they were a few seconds before.
type readAhead struct {
	now     func() time.Time
	mu      sync.Mutex
	rows    map[stateKey]aheadRows
	objects map[string]int // kept rows naming each object
}

type aheadRows struct {
	rows []metadata.IndexEntry // contiguous, as one index query returned them
	from int64                 // the offset the query, or the last take, asked for
	at   time.Time
}

// aheadMax bounds the partitions kept; past it, new rows are not kept
// until old ones are taken or expire.
const aheadMax = 4096

func newReadAhead(now func() time.Time) *readAhead {
	return &readAhead{now: now, rows: map[stateKey]aheadRows{}, objects: map[string]int{}}
}

// take returns the kept rows of a partition from the one holding offset
// `from` on, as the index would, and forgets them; no rows when from is
// not past the offset they were looked up or last taken from.
func (a *readAhead) take(topic uuid.UUID, part int32, from int64) aheadRows {
	a.mu.Lock()
	kept, ok := a.rows[stateKey{topic, part}]
	a.drop(stateKey{topic, part})
	a.mu.Unlock()
	if !ok || a.now().Sub(kept.at) >= tailRowMaxAge || from <= kept.from {
		return aheadRows{}
	}
	for i, row := range kept.rows {
		if row.LastOffset >= from {
			// What is returned, and kept again, starts at the row
			// holding from, so from is now where its rows hold. With
			// the first offset kept instead, a consumer taking over the
			// partition from further back was handed these rows and
			// skipped the ones between; read_committed then also
			// dropped a producer's next transaction as aborted, its
			// abort marker skipped (franz-go's TestTxnEtl, 1 run in 3).
			kept.rows, kept.from = kept.rows[i:], from
			return kept
		}
	}
	return aheadRows{}
}

// keep holds page for the partition's next read.
func (a *readAhead) keep(topic uuid.UUID, part int32, page aheadRows) {
	if len(page.rows) == 0 {
		return
	}
	k := stateKey{topic, part}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.drop(k)
	if len(a.rows) >= aheadMax {
		now := a.now()
		for k, kept := range a.rows {
			if now.Sub(kept.at) >= tailRowMaxAge {
				a.drop(k)
			}
		}
		if len(a.rows) >= aheadMax {
			return
		}
	}
	a.rows[k] = page
	for _, row := range page.rows {
		a.objects[row.ObjectKey]++
	}
}

// drop forgets a partition's rows; a.mu is held.
func (a *readAhead) drop(k stateKey) {
	for _, row := range a.rows[k].rows {
		if a.objects[row.ObjectKey]--; a.objects[row.ObjectKey] == 0 {
			delete(a.objects, row.ObjectKey)
		}
	}
	delete(a.rows, k)
}

// readers counts the partitions whose kept rows name the object.
func (a *readAhead) readers(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.objects[key]
}
