package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// TopicTTL bounds how stale a gateway's view of a topic may be when another
// gateway changes it. Changes made through this gateway apply at once.
// While the metadata store cannot be reached, the last view is served
// whatever its age: clients then see their topics as they were, and their
// produce and fetch requests fail with retriable errors, rather than the
// topics failing or vanishing, which clients take for good.
const TopicTTL = 2 * time.Second

// Topics keeps recently used topics so that the produce and fetch hot
// paths do not query the metadata store per request.
type Topics struct {
	store metadata.Store
	now   func() time.Time

	mu     sync.Mutex
	byName map[string]cachedTopic
	byID   map[uuid.UUID]cachedTopic

	allMu sync.Mutex
	all   []metadata.Topic
	allAt time.Time
}

type cachedTopic struct {
	t  metadata.Topic
	at time.Time
}

// NewTopics caches the topics of store.
func NewTopics(store metadata.Store, now func() time.Time) *Topics {
	return &Topics{store: store, now: now, byName: map[string]cachedTopic{}, byID: map[uuid.UUID]cachedTopic{}}
}

// ByName returns the named topic, from the store when not cached.
func (tc *Topics) ByName(ctx context.Context, name string) (metadata.Topic, error) {
	t, err := cached(tc, tc.byName, name, func() (metadata.Topic, error) { return tc.store.Topic(ctx, name) })
	if err != nil {
		tc.Forget(name)
	}
	return t, err
}

// ByID returns the topic with that id, from the store when not cached.
func (tc *Topics) ByID(ctx context.Context, id uuid.UUID) (metadata.Topic, error) {
	return cached(tc, tc.byID, id, func() (metadata.Topic, error) { return tc.store.TopicByID(ctx, id) })
}

// cached returns m[key] while it is fresh, else what load finds (then
// cached), or the stale entry if the store cannot be reached (TopicTTL).
func cached[K comparable](tc *Topics, m map[K]cachedTopic, key K, load func() (metadata.Topic, error)) (metadata.Topic, error) {
	tc.mu.Lock()
	e, ok := m[key]
	tc.mu.Unlock()
	if ok && tc.now().Sub(e.at) < TopicTTL {
		return e.t, nil
	}
	t, err := load()
	if ok && errors.Is(err, metadata.ErrUnavailable) {
		return e.t, nil
	}
	if err != nil {
		return metadata.Topic{}, err
	}
	tc.Put(t)
	return t, nil
}

// Put caches a topic this gateway just created or changed.
func (tc *Topics) Put(t metadata.Topic) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := cachedTopic{t: t, at: tc.now()}
	tc.byName[t.Name] = e
	tc.byID[t.ID] = e
}

// Forget drops a topic this gateway deleted or changed, so that its next
// use reloads it.
func (tc *Topics) Forget(name string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if e, ok := tc.byName[name]; ok {
		delete(tc.byID, e.t.ID)
	}
	delete(tc.byName, name)
}

// All lists every topic, cached for TopicTTL: coordinators match
// subscriptions against it on every heartbeat.
func (tc *Topics) All(ctx context.Context) ([]metadata.Topic, error) {
	tc.allMu.Lock()
	fresh := tc.all != nil && tc.now().Sub(tc.allAt) < TopicTTL
	all := tc.all
	tc.allMu.Unlock()
	if fresh {
		return all, nil
	}
	return tc.List(ctx)
}

// List lists every topic from the store, or as last listed while the store
// cannot be reached.
func (tc *Topics) List(ctx context.Context) ([]metadata.Topic, error) {
	ts, err := tc.store.Topics(ctx)
	tc.allMu.Lock()
	defer tc.allMu.Unlock()
	if errors.Is(err, metadata.ErrUnavailable) && tc.all != nil {
		return tc.all, nil
	}
	if err != nil {
		return nil, err
	}
	if ts == nil {
		ts = []metadata.Topic{}
	}
	tc.all, tc.allAt = ts, tc.now()
	return ts, nil
}
