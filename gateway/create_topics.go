package gateway

// CreateTopics, versions 0–7.
//
// Creates topics with their configs, checked with Kafka's names and value
// rules. num_partitions and replication_factor of -1 (v4+) take the broker
// defaults (num.partitions, default.replication.factor). The replication
// factor is accepted and reported but storage durability is the bucket's.
// validate_only checks everything without creating. From v5 the response
// carries the effective configs, from v7 the topic id.

import (
	"errors"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.CreateTopics, 0, 7, serveCreateTopics) }

func serveCreateTopics(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		tr := kmsg.NewCreateTopicsResponseTopic()
		tr.Topic = rt.Topic
		tr.NumPartitions, tr.ReplicationFactor = -1, -1
		var err error
		if seen[rt.Topic] > 1 {
			err = kafkaErr(kerr.InvalidRequest, "topic %s is listed more than once", rt.Topic)
		} else {
			err = c.createTopic(req.ValidateOnly, rt, &tr)
		}
		if err != nil {
			tr.ErrorCode = errCode(err)
			tr.ErrorMessage = errMessage(err)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (c *conn) createTopic(validateOnly bool, rt kmsg.CreateTopicsRequestTopic, tr *kmsg.CreateTopicsResponseTopic) error {
	g := c.g
	if !c.mayCreateTopic(rt.Topic) {
		return kerr.TopicAuthorizationFailed
	}
	spec, err := g.topicSpec(rt)
	if err != nil {
		return err
	}
	var t metadata.Topic
	if validateOnly {
		_, err := g.store.Topic(c.ctx, spec.Name)
		if err == nil {
			return kafkaErr(kerr.TopicAlreadyExists, "topic '%s' already exists", spec.Name)
		}
		if !errors.Is(err, metadata.ErrUnknownTopic) {
			return err
		}
		t = metadata.Topic{Name: spec.Name, Partitions: spec.Partitions, ReplicationFactor: spec.ReplicationFactor, Configs: spec.Configs}
	} else {
		t, err = g.createTopic(c.ctx, spec)
		if errors.Is(err, metadata.ErrTopicExists) {
			return kafkaErr(kerr.TopicAlreadyExists, "topic '%s' already exists", spec.Name)
		}
		if err != nil {
			return err
		}
	}
	tr.TopicID = t.ID
	tr.NumPartitions = t.Partitions
	tr.ReplicationFactor = t.ReplicationFactor
	for _, e := range g.configs.TopicEntries(t.Configs) {
		ce := kmsg.NewCreateTopicsResponseTopicConfig()
		ce.Name = e.Name
		v := e.Value
		ce.Value = &v
		ce.Source = e.Source
		tr.Configs = append(tr.Configs, ce)
	}
	return nil
}

// maxTopicPartitions bounds one topic's partitions: each is a metadata
// row, so a single request asking for 2^31-1 of them would otherwise hold
// the metadata store for hours.
const maxTopicPartitions = 100_000

// topicSpec checks a requested topic as Kafka does and fills in defaults.
func (g *Gateway) topicSpec(rt kmsg.CreateTopicsRequestTopic) (metadata.TopicSpec, error) {
	spec := metadata.TopicSpec{Name: rt.Topic, Partitions: rt.NumPartitions, ReplicationFactor: rt.ReplicationFactor, Configs: map[string]string{}}
	if !validTopicName(rt.Topic) {
		return spec, kafkaErr(kerr.InvalidTopicException, "topic name %q is illegal: it must be 1-249 characters of [a-zA-Z0-9._-] and not '.' or '..'", rt.Topic)
	}
	if len(rt.ReplicaAssignment) > 0 {
		if rt.NumPartitions != -1 || rt.ReplicationFactor != -1 {
			return spec, kafkaErr(kerr.InvalidRequest, "both numPartitions or replicationFactor and replicasAssignments were set; both cannot be used at the same time")
		}
		spec.Partitions = int32(len(rt.ReplicaAssignment))
		spec.ReplicationFactor = int16(len(rt.ReplicaAssignment[0].Replicas))
	}
	if spec.Partitions == -1 {
		spec.Partitions = int32(g.configs.Int("num.partitions"))
	}
	if spec.ReplicationFactor == -1 {
		spec.ReplicationFactor = int16(g.configs.Int("default.replication.factor"))
	}
	if spec.Partitions <= 0 {
		return spec, kafkaErr(kerr.InvalidPartitions, "number of partitions must be larger than 0")
	}
	if spec.Partitions > maxTopicPartitions {
		return spec, kafkaErr(kerr.InvalidPartitions, "number of partitions %d exceeds the limit of %d per topic", spec.Partitions, maxTopicPartitions)
	}
	if spec.ReplicationFactor <= 0 {
		return spec, kafkaErr(kerr.InvalidReplicationFactor, "replication factor must be larger than 0")
	}
	for _, cfg := range rt.Configs {
		if cfg.Value == nil {
			continue
		}
		if err := topicconfig.Validate(cfg.Name, *cfg.Value); err != nil {
			return spec, kafkaErr(kerr.InvalidConfig, "%v", err)
		}
		spec.Configs[cfg.Name] = *cfg.Value
	}
	return spec, nil
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

// mayCreateTopic: CREATE on the cluster or on the topic, as Kafka asks.
func (c *conn) mayCreateTopic(name string) bool {
	return c.allowedCluster(kmsg.ACLOperationCreate) || c.allowed(kmsg.ACLOperationCreate, topicResource, name)
}
