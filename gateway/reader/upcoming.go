package reader

import (
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// upcoming keeps, for each partition read on this gateway, the rows of
// its last index page (8 rows where a 1 MiB fetch reads about two): they
// name the objects this gateway's readers are about to read, so that a
// fetch wanting only a sliver of one reads it whole for them instead of
// by range (see wholeObjects).
//
// The rows are not read from: serving a partition's next fetch from its
// kept page saved an index query per fetch, but franz-go's TestTxnEtl
// then lost a run of committed records to a read_committed consumer in
// about one run in three, for a reason not yet found (see README).
type upcoming struct {
	now     func() time.Time
	mu      sync.Mutex
	rows    map[stateKey]noted
	objects map[string]int // kept rows naming each object
}

type noted struct {
	rows []metadata.IndexEntry
	at   time.Time
}

// upcomingMax bounds the partitions kept; past it, pages older than
// tailRowMaxAge are dropped, and new ones are not kept until there is
// room.
const upcomingMax = 4096

func newUpcoming(now func() time.Time) *upcoming {
	return &upcoming{now: now, rows: map[stateKey]noted{}, objects: map[string]int{}}
}

// note keeps rows, a partition's index page, in place of its last one.
func (u *upcoming) note(topic uuid.UUID, part int32, rows []metadata.IndexEntry) {
	k := stateKey{topic, part}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.drop(k)
	if len(rows) == 0 {
		return
	}
	now := u.now()
	if len(u.rows) >= upcomingMax {
		for k, n := range u.rows {
			if now.Sub(n.at) >= tailRowMaxAge {
				u.drop(k)
			}
		}
		if len(u.rows) >= upcomingMax {
			return
		}
	}
	u.rows[k] = noted{rows: rows, at: now}
	for _, row := range rows {
		u.objects[row.ObjectKey]++
	}
}

// drop forgets a partition's rows; u.mu is held.
func (u *upcoming) drop(k stateKey) {
	for _, row := range u.rows[k].rows {
		if u.objects[row.ObjectKey]--; u.objects[row.ObjectKey] == 0 {
			delete(u.objects, row.ObjectKey)
		}
	}
	delete(u.rows, k)
}

// readers counts the partitions whose kept rows name the object.
func (u *upcoming) readers(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.objects[key]
}
