package reader

import (
	"context"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// stateMaxAge bounds how old a shared partition state may be. Commits,
// this gateway's and (through the metadata store's notifications)
// others', make every state stale at once, so the bound only matters for
// what nobody announces: the worker's retention moving a log start, or a
// lost notification. A fetch re-checks every 500 ms (gateway/fetch.go), so
// those reach a long poll within 1.5 s.
const stateMaxAge = time.Second

// maxStates bounds the states kept; past it they are all dropped, which
// costs a query per partition fetched next.
const maxStates = 100_000

// states shares partition states among the fetches of a gateway: without
// it every long poll ran a store query at every re-check and wake-up,
// which with thousands of idle polls was most of the gateway's CPU
// (BenchmarkIdleConnections). A state is reused until the next commit
// anywhere (generation) or stateMaxAge; fetches that miss together share
// one query.
type states struct {
	now func() time.Time

	mu       sync.Mutex
	gen      uint64
	m        map[stateKey]cachedState
	inflight map[stateKey]*stateCall
}

type stateKey struct {
	topic uuid.UUID
	part  int32
}

type cachedState struct {
	st  metadata.PartitionState
	gen uint64
	at  time.Time
}

// stateCall is one query that fetches missing the same state wait on.
type stateCall struct {
	gen  uint64
	done chan struct{}
	st   metadata.PartitionState
	err  error
}

func newStates(now func() time.Time) *states {
	return &states{now: now, m: map[stateKey]cachedState{}, inflight: map[stateKey]*stateCall{}}
}

// stale makes every state stale: something committed.
func (s *states) stale() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
}

// get returns a partition's state, from a query made after the last
// commit this gateway heard of and less than stateMaxAge ago.
func (s *states) get(ctx context.Context, store metadata.Store, topic uuid.UUID, part int32) (metadata.PartitionState, error) {
	k := stateKey{topic, part}
	s.mu.Lock()
	if c, ok := s.m[k]; ok && c.gen == s.gen && s.now().Sub(c.at) < stateMaxAge {
		s.mu.Unlock()
		return c.st, nil
	}
	if call, ok := s.inflight[k]; ok && call.gen == s.gen {
		s.mu.Unlock()
		select {
		case <-call.done:
			return call.st, call.err
		case <-ctx.Done():
			return metadata.PartitionState{}, ctx.Err()
		}
	}
	call := &stateCall{gen: s.gen, done: make(chan struct{})}
	s.inflight[k] = call
	s.mu.Unlock()

	call.st, call.err = store.Partition(ctx, topic, part)
	at := s.now()
	s.mu.Lock()
	if s.inflight[k] == call {
		delete(s.inflight, k)
	}
	if call.err == nil && call.gen == s.gen {
		if len(s.m) >= maxStates {
			s.m = map[stateKey]cachedState{}
		}
		s.m[k] = cachedState{st: call.st, gen: call.gen, at: at}
	}
	s.mu.Unlock()
	close(call.done)
	return call.st, call.err
}
