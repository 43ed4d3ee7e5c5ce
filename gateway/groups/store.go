package groups

import (
	"context"
	"sync"

	"github.com/caudal/caudal/metadata"
)

// groupStore keeps what a coordinator must not forget across restarts:
// each group's generation (or KIP-848 group epoch), protocol, leader and
// members with their assignments. Committed offsets are not here; they
// are the metadata store's CommitOffsets / FetchOffsets.
//
// LoadGroup returns metadata.ErrNotFound for a group never saved.
type groupStore interface {
	SaveGroup(ctx context.Context, rec groupRecord) error
	LoadGroup(ctx context.Context, name string) (groupRecord, error)
	DeleteGroup(ctx context.Context, name string) error
}

// The records are the metadata store's.
type (
	groupRecord       = metadata.GroupRecord
	groupMemberRecord = metadata.GroupMemberRecord
	groupMemberTopic  = metadata.GroupMemberTopic
)

// groupStoreFor picks where groups persist: the metadata store, which
// implements groupStore; the in-memory store serves unit tests and any
// store that does not.
func groupStoreFor(store metadata.Store) groupStore {
	if gs, ok := store.(groupStore); ok {
		return gs
	}
	return newMemGroupStore()
}

// memGroupStore is the in-memory groupStore.
type memGroupStore struct {
	mu   sync.Mutex
	recs map[string]groupRecord
}

func newMemGroupStore() *memGroupStore { return &memGroupStore{recs: map[string]groupRecord{}} }

func (s *memGroupStore) SaveGroup(_ context.Context, rec groupRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[rec.Name] = rec
	return nil
}

func (s *memGroupStore) LoadGroup(_ context.Context, name string) (groupRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.recs[name]
	if !ok {
		return groupRecord{}, metadata.ErrNotFound
	}
	return rec, nil
}

func (s *memGroupStore) DeleteGroup(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, name)
	return nil
}
