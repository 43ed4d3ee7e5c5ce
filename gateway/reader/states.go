package reader

import (
	"context"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// MaxStaleness bounds how old a shared partition state may be. Commits,
// this gateway's and (through the metadata store's notifications)
// others', update the states they append to, so the bound only matters
// for what nobody announces: the worker's retention or another gateway's
// DeleteRecords moving a log start, or a notification lost with the
// gateway that was to send it.
const MaxStaleness = 2 * time.Second

const (
	// maxStates bounds the states kept; past it they are all dropped,
	// which costs a query per partition fetched next.
	maxStates = 100_000
	// tailRows bounds the index rows kept per partition: a tailing
	// consumer reads the last few.
	tailRows = 8
	// tailRowMaxAge bounds how long a cached row is used. Compaction may
	// replace the object it names, which then stays readable for
	// segments.MinDeleteGrace (a minute) before it is deleted.
	tailRowMaxAge = 10 * time.Second
)

// states shares partition states, and their last index rows, among the
// fetches of a gateway: without it every long poll ran a Partition and an
// Index query at every re-check and wake-up, which with thousands of idle
// polls was most of the gateway's CPU (BenchmarkIdleConnections), and
// with many tailing consumers most of the metadata store's load
// (BenchmarkTailingQueries). A state is read once and then extended by
// the commits that append to it, as long as they follow on from it; a
// commit that does not (one was missed), or that may move the last stable
// offset (a transaction's), drops it, and so does age. Fetches that miss
// together share one query.
type states struct {
	now   func() time.Time
	query func(ctx context.Context, topic uuid.UUID, part int32) (metadata.PartitionState, error)

	mu       sync.Mutex
	m        map[stateKey]*tail
	inflight map[stateKey]*stateCall
	// readAt is when each partition was last fetched here, which states
	// dropped or not (reading).
	readAt map[stateKey]time.Time
}

type stateKey struct {
	topic uuid.UUID
	part  int32
}

// tail is one partition's cached state and last index rows. Its slices
// are never written in place once shared, only replaced.
type tail struct {
	st metadata.PartitionState
	at time.Time // when st was read, or last extended by a commit
	// rows end at st.NextOffset, contiguous; added is when each came.
	rows  []metadata.IndexEntry
	added []time.Time
}

// view is what a fetch reads of a partition: its state and the index
// rows known from some offset up to its next offset.
type view struct {
	st   metadata.PartitionState
	rows []metadata.IndexEntry
}

// from is the first offset whose index rows the view holds.
func (v view) from() int64 {
	if len(v.rows) == 0 {
		return v.st.NextOffset
	}
	return v.rows[0].BaseOffset
}

// stateCall is one query that fetches missing the same state wait on.
// It is stale when a commit changed the partition while it ran, or every
// state was dropped: its answer is returned to them but not kept.
type stateCall struct {
	stale bool
	done  chan struct{}
	st    metadata.PartitionState
	err   error
}

func newStates(now func() time.Time, query func(context.Context, uuid.UUID, int32) (metadata.PartitionState, error)) *states {
	return &states{now: now, query: query, m: map[stateKey]*tail{}, inflight: map[stateKey]*stateCall{}, readAt: map[stateKey]time.Time{}}
}

// readInterest is how long after its last fetch here a partition counts as
// read on this gateway, so that the objects this gateway writes to it are
// kept for its readers (Reader.Reads). A tailing consumer fetches every
// few hundred milliseconds; one that pauses longer reads from the bucket.
const readInterest = time.Minute

// reading says whether the partition was fetched here within readInterest.
func (s *states) reading(topic uuid.UUID, part int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.readAt[stateKey{topic, part}]
	return ok && s.now().Sub(at) < readInterest
}

// dropAll drops every state: anything may have changed.
func (s *states) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[stateKey]*tail{}
	for _, call := range s.inflight {
		call.stale = true
	}
}

// apply extends the states that commits appended to, drops those it
// cannot, and returns the partitions whose long polls should look again:
// all but those the commits told nothing new (this gateway's own commits,
// come back as notifications).
func (s *states) apply(appended []metadata.Appended) []stateKey {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := make([]stateKey, 0, len(appended))
	for _, a := range appended {
		k := stateKey{a.Topic, a.Partition}
		t := s.m[k]
		if t != nil && a.NextOffset() <= t.st.NextOffset {
			continue // read after the commit, or extended by it already
		}
		changed = append(changed, k)
		if call := s.inflight[k]; call != nil {
			call.stale = true
		}
		switch {
		case t == nil:
		case a.Txn || a.Rows[0].BaseOffset != t.st.NextOffset:
			delete(s.m, k)
		default:
			s.m[k] = t.extend(a, now)
		}
	}
	return changed
}

// extend returns t with a's rows appended.
func (t *tail) extend(a metadata.Appended, now time.Time) *tail {
	st := t.st
	if st.LastStableOffset == st.NextOffset { // no open transaction, and a added none
		st.LastStableOffset = a.NextOffset()
	}
	st.NextOffset = a.NextOffset()
	st.LogStartOffset = max(st.LogStartOffset, a.LogStartOffset)
	drop := max(0, len(t.rows)+len(a.Rows)-tailRows)
	rows := append(t.rows[min(drop, len(t.rows)):len(t.rows):len(t.rows)], a.Rows[max(0, drop-len(t.rows)):]...)
	added := t.added[min(drop, len(t.added)):len(t.added):len(t.added)]
	for len(added) < len(rows) {
		added = append(added, now)
	}
	return &tail{st: st, at: now, rows: rows, added: added}
}

// get returns a partition's state, read or extended less than
// MaxStaleness ago, with the rows it holds that are young enough to use.
func (s *states) get(ctx context.Context, topic uuid.UUID, part int32) (view, error) {
	k := stateKey{topic, part}
	s.mu.Lock()
	now := s.now()
	if len(s.readAt) >= maxStates {
		s.readAt = map[stateKey]time.Time{}
	}
	s.readAt[k] = now
	if t, ok := s.m[k]; ok && now.Sub(t.at) < MaxStaleness {
		s.mu.Unlock()
		return t.view(now), nil
	}
	if call, ok := s.inflight[k]; ok && !call.stale {
		s.mu.Unlock()
		select {
		case <-call.done:
			return view{st: call.st}, call.err
		case <-ctx.Done():
			return view{}, ctx.Err()
		}
	}
	call := &stateCall{done: make(chan struct{})}
	s.inflight[k] = call
	s.mu.Unlock()

	call.st, call.err = s.query(ctx, topic, part)
	at := s.now()
	s.mu.Lock()
	if s.inflight[k] == call {
		delete(s.inflight, k)
	}
	v := view{st: call.st}
	if call.err == nil && !call.stale {
		v = s.keep(k, call.st, at).view(at)
	}
	s.mu.Unlock()
	close(call.done)
	return v, call.err
}

// keep caches a state read at at. The rows of the state it replaces are
// still the partition's last while its next offset has not moved.
func (s *states) keep(k stateKey, st metadata.PartitionState, at time.Time) *tail {
	t := &tail{st: st, at: at}
	if old := s.m[k]; old != nil && old.st.NextOffset == st.NextOffset {
		t.rows, t.added = old.rows, old.added
	}
	if len(s.m) >= maxStates {
		s.m = map[stateKey]*tail{}
	}
	s.m[k] = t
	return t
}

// view is t's state with its rows added less than tailRowMaxAge ago.
func (t *tail) view(now time.Time) view {
	i := 0
	for i < len(t.added) && now.Sub(t.added[i]) >= tailRowMaxAge {
		i++
	}
	return view{st: t.st, rows: t.rows[i:len(t.rows):len(t.rows)]}
}
