package gateway

// The internal topic __consumer_offsets.
//
// caudal keeps committed offsets in the metadata store, not in a topic, but
// Kafka clients and tools know the topic: it exists once a group
// coordinator has been looked up (Kafka creates it then, and so does
// FindCoordinator here, or a Metadata request that auto-creates it), with
// offsets.topic.num.partitions partitions and cleanup.policy=compact, and
// Metadata marks it internal (clients' regex subscriptions skip it). It
// stays empty: a client's produce to it gets INVALID_TOPIC_EXCEPTION, as
// Kafka answers, and fetching it returns nothing.

import (
	"context"
	"errors"

	"github.com/caudal/caudal/metadata"
)

// offsetsTopic is Kafka's internal topic of committed offsets.
const offsetsTopic = "__consumer_offsets"

// isInternalTopic reports whether Kafka reserves name for itself.
func isInternalTopic(name string) bool {
	return name == offsetsTopic || name == "__transaction_state"
}

// offsetsTopicSpec is how __consumer_offsets is created.
func (g *Gateway) offsetsTopicSpec() metadata.TopicSpec {
	return metadata.TopicSpec{
		Name:              offsetsTopic,
		Partitions:        int32(g.configs.Int("offsets.topic.num.partitions")),
		ReplicationFactor: int16(g.configs.Int("offsets.topic.replication.factor")),
		Configs:           map[string]string{"cleanup.policy": "compact"},
	}
}

// ensureOffsetsTopic creates __consumer_offsets unless it exists. It is
// best effort: a failure is logged and retried on the next lookup.
func (g *Gateway) ensureOffsetsTopic(ctx context.Context) {
	_, err := g.topics.ByName(ctx, offsetsTopic)
	if errors.Is(err, metadata.ErrUnknownTopic) {
		_, err = g.createTopic(ctx, g.offsetsTopicSpec())
		if errors.Is(err, metadata.ErrTopicExists) {
			err = nil
		}
	}
	if err != nil {
		g.log.Warn("create internal topic", "topic", offsetsTopic, "err", err)
	}
}
