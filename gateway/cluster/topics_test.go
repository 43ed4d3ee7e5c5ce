package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// topicStore holds one topic and fails with err while err is set.
type topicStore struct {
	metadata.Store
	t     metadata.Topic
	err   error
	reads int
}

func (s *topicStore) Topic(_ context.Context, name string) (metadata.Topic, error) {
	s.reads++
	if s.err != nil {
		return metadata.Topic{}, s.err
	}
	if name != s.t.Name {
		return metadata.Topic{}, metadata.ErrUnknownTopic
	}
	return s.t, nil
}

func (s *topicStore) TopicByID(_ context.Context, id uuid.UUID) (metadata.Topic, error) {
	s.reads++
	if s.err != nil {
		return metadata.Topic{}, s.err
	}
	if id != s.t.ID {
		return metadata.Topic{}, metadata.ErrUnknownTopic
	}
	return s.t, nil
}

// ByName and ByID serve a topic from the cache for TopicTTL, then reload
// it; while the store is unavailable they serve the last view whatever its
// age, and any other failure is the caller's.
func TestTopicsCache(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	st := &topicStore{t: metadata.Topic{Name: "t", ID: uuid.New(), Partitions: 1}}
	tc := NewTopics(st, func() time.Time { return now })
	lookups := map[string]func() (metadata.Topic, error){
		"ByName": func() (metadata.Topic, error) { return tc.ByName(ctx, "t") },
		"ByID":   func() (metadata.Topic, error) { return tc.ByID(ctx, st.t.ID) },
	}
	for name, lookup := range lookups {
		t.Run(name, func(t *testing.T) {
			tc.Forget("t")
			st.err, st.t.Partitions = nil, 1
			get := func(wantReads, wantPartitions int) {
				t.Helper()
				st.reads = 0
				got, err := lookup()
				if err != nil || got.Partitions != int32(wantPartitions) || st.reads != wantReads {
					t.Fatalf("%d partitions, %v after %d store reads; want %d partitions after %d",
						got.Partitions, err, st.reads, wantPartitions, wantReads)
				}
			}
			get(1, 1)
			st.t.Partitions = 2
			get(0, 1) // cached
			now = now.Add(TopicTTL)
			get(1, 2) // reloaded
			now = now.Add(time.Hour)
			st.err = metadata.ErrUnavailable
			get(1, 2) // the last view, however old
			st.err = metadata.ErrUnknownTopic
			if _, err := lookup(); !errors.Is(err, metadata.ErrUnknownTopic) {
				t.Fatalf("a deleted topic: %v, want ErrUnknownTopic", err)
			}
		})
	}
	// A topic ByName finds gone is forgotten: it is not served while the
	// store is unavailable afterwards.
	st.err = metadata.ErrUnknownTopic
	tc.ByName(ctx, "t")
	st.err = metadata.ErrUnavailable
	if _, err := tc.ByName(ctx, "t"); !errors.Is(err, metadata.ErrUnavailable) {
		t.Fatalf("a deleted topic while the store is unavailable: %v, want ErrUnavailable", err)
	}
}
