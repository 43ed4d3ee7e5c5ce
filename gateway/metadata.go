package gateway

// Metadata, versions 0–12.
//
// Lists the live gateways as brokers and every partition with this
// gateway's view of its leader. While the metadata store cannot be
// reached, topics are described as this gateway last saw them, and a
// topic it never saw gets LEADER_NOT_AVAILABLE. A topic that does not
// exist is created when auto.create.topics.enable is true and the client
// allows it (v4+; always allowed before), with num.partitions partitions
// (both dynamic broker configs); as in Kafka, the request that creates it
// gets LEADER_NOT_AVAILABLE and no partitions, which clients retry, and
// the next one sees the topic. Without auto-creation it is
// UNKNOWN_TOPIC_OR_PARTITION.
// Topics may be asked for by id from v10; v0 treats an empty list as all
// topics, v1+ a null list. Only topics the principal may DESCRIBE are
// listed (a named one it may not gets TOPIC_AUTHORIZATION_FAILED), and
// auto-creation needs CREATE on the cluster or the topic. Authorized
// operations are reported when asked (v8+).

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/metadata"
)

func init() { register(kmsg.Metadata, 0, 12, serveMetadata) }

func serveMetadata(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	g := c.g
	rack := c.clientRack() // leaders in the client's zone (brokers.go)
	resp.Brokers = g.brokers(c.listener)
	resp.ClusterID = &g.cfg.ClusterID
	resp.ControllerID = g.cfg.NodeID
	if req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = c.authorizedOperations(clusterResource, acl.ClusterName)
	}

	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		topics, err := g.topics.List(c.ctx)
		if err != nil {
			g.log.Warn("list topics for metadata", "err", err)
		}
		for _, t := range topics {
			if c.allowed(kmsg.ACLOperationDescribe, topicResource, t.Name) {
				resp.Topics = append(resp.Topics, c.topicMetadata(req, t, rack))
			}
		}
		return resp
	}
	autoCreate := g.configs.Bool("auto.create.topics.enable") && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		resp.Topics = append(resp.Topics, c.describeTopic(req, rt, autoCreate, rack))
	}
	return resp
}

func (c *conn) describeTopic(req *kmsg.MetadataRequest, rt kmsg.MetadataRequestTopic, autoCreate bool, rack string) kmsg.MetadataResponseTopic {
	g, ctx := c.g, c.ctx
	mt := kmsg.NewMetadataResponseTopic()
	if rt.Topic == nil {
		mt.TopicID = rt.TopicID
		t, err := g.topics.ByID(ctx, uuid.UUID(rt.TopicID))
		switch {
		case err != nil:
			mt.ErrorCode = kerr.UnknownTopicID.Code
		case !c.allowed(kmsg.ACLOperationDescribe, topicResource, t.Name):
			mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
		default:
			return c.topicMetadata(req, t, rack)
		}
		return mt
	}
	name := *rt.Topic
	mt.Topic = &name
	if !validTopicName(name) {
		mt.ErrorCode = kerr.InvalidTopicException.Code
		return mt
	}
	if !c.allowed(kmsg.ACLOperationDescribe, topicResource, name) {
		mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
		return mt
	}
	t, err := g.topics.ByName(ctx, name)
	if errors.Is(err, metadata.ErrUnknownTopic) && autoCreate {
		if !c.mayCreateTopic(name) {
			mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
			return mt
		}
		spec := metadata.TopicSpec{
			Name:              name,
			Partitions:        int32(g.configs.Int("num.partitions")),
			ReplicationFactor: int16(g.configs.Int("default.replication.factor")),
		}
		if name == offsetsTopic {
			spec = g.offsetsTopicSpec()
		}
		t, err = g.createTopic(ctx, spec)
		if err == nil {
			mt.ErrorCode = kerr.LeaderNotAvailable.Code
			mt.IsInternal = isInternalTopic(name)
			return mt
		}
		if errors.Is(err, metadata.ErrTopicExists) {
			t, err = g.topics.ByName(ctx, name)
		}
	}
	if errors.Is(err, metadata.ErrUnavailable) {
		// A topic this gateway has not seen, while the store cannot be
		// reached: retriable, as while a topic's leader moves.
		mt.ErrorCode = kerr.LeaderNotAvailable.Code
		return mt
	}
	if err != nil {
		mt.ErrorCode = errCode(err)
		return mt
	}
	return c.topicMetadata(req, t, rack)
}

// topicMetadata describes t for req, with leaders for a client in rack.
func (c *conn) topicMetadata(req *kmsg.MetadataRequest, t metadata.Topic, rack string) kmsg.MetadataResponseTopic {
	mt := c.g.topicMetadata(t, rack)
	if req.IncludeTopicAuthorizedOperations {
		mt.AuthorizedOperations = c.authorizedOperations(topicResource, t.Name)
	}
	return mt
}

// topicMetadata describes t with leaders for a client in rack.
func (g *Gateway) topicMetadata(t metadata.Topic, rack string) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = isInternalTopic(t.Name)
	for p := int32(0); p < t.Partitions; p++ {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p
		mp.Leader = g.cluster.LeaderFor(rack, t.ID, p)
		mp.LeaderEpoch = 0
		mp.Replicas = []int32{mp.Leader}
		mp.ISR = []int32{mp.Leader}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// createTopic validates a spec and creates the topic.
func (g *Gateway) createTopic(ctx context.Context, spec metadata.TopicSpec) (metadata.Topic, error) {
	t, err := g.store.CreateTopic(ctx, spec)
	if err != nil {
		return metadata.Topic{}, err
	}
	g.topics.Put(t)
	g.log.Info("created topic", "topic", t.Name, "partitions", t.Partitions)
	return t, nil
}
