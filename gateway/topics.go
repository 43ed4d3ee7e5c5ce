package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// topicTTL bounds how stale a gateway's view of a topic may be when another
// gateway changes it. Changes made through this gateway apply at once.
const topicTTL = 2 * time.Second

// topicCache keeps recently used topics so that the produce and fetch hot
// paths do not query the metadata store per request.
type topicCache struct {
	store metadata.Store
	now   func() time.Time

	mu     sync.Mutex
	byName map[string]cachedTopic
	byID   map[uuid.UUID]cachedTopic
}

type cachedTopic struct {
	t  metadata.Topic
	at time.Time
}

func newTopicCache(store metadata.Store, now func() time.Time) *topicCache {
	return &topicCache{store: store, now: now, byName: map[string]cachedTopic{}, byID: map[uuid.UUID]cachedTopic{}}
}

func (tc *topicCache) byNameOrLoad(ctx context.Context, name string) (metadata.Topic, error) {
	tc.mu.Lock()
	e, ok := tc.byName[name]
	tc.mu.Unlock()
	if ok && tc.now().Sub(e.at) < topicTTL {
		return e.t, nil
	}
	t, err := tc.store.Topic(ctx, name)
	if err != nil {
		tc.forget(name)
		return metadata.Topic{}, err
	}
	tc.put(t)
	return t, nil
}

func (tc *topicCache) byIDOrLoad(ctx context.Context, id uuid.UUID) (metadata.Topic, error) {
	tc.mu.Lock()
	e, ok := tc.byID[id]
	tc.mu.Unlock()
	if ok && tc.now().Sub(e.at) < topicTTL {
		return e.t, nil
	}
	t, err := tc.store.TopicByID(ctx, id)
	if err != nil {
		return metadata.Topic{}, err
	}
	tc.put(t)
	return t, nil
}

func (tc *topicCache) put(t metadata.Topic) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := cachedTopic{t: t, at: tc.now()}
	tc.byName[t.Name] = e
	tc.byID[t.ID] = e
}

func (tc *topicCache) forget(name string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if e, ok := tc.byName[name]; ok {
		delete(tc.byID, e.t.ID)
	}
	delete(tc.byName, name)
}

// validTopicName applies Kafka's rules: 1–249 characters of [a-zA-Z0-9._-],
// and not "." or "..".
func validTopicName(name string) bool {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		ok := r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
