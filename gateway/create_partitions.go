package gateway

// CreatePartitions, versions 0–3.
//
// Raises a topic's partition count. New partitions start empty at offset
// 0. A count that is not larger than the current one gets
// INVALID_PARTITIONS with Kafka's message; validate_only checks only.

import (
	"errors"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.CreatePartitions, 0, 3, serveCreatePartitions) }

func serveCreatePartitions(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, rt := range req.Topics {
		tr := kmsg.NewCreatePartitionsResponseTopic()
		tr.Topic = rt.Topic
		if err := c.createPartitions(req.ValidateOnly, rt); err != nil {
			tr.ErrorCode = errCode(err)
			tr.ErrorMessage = errMessage(err)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (c *conn) createPartitions(validateOnly bool, rt kmsg.CreatePartitionsRequestTopic) error {
	if !c.allowed(kmsg.ACLOperationAlter, topicResource, rt.Topic) {
		return kerr.TopicAuthorizationFailed
	}
	t, err := c.g.store.Topic(c.ctx, rt.Topic)
	if err != nil {
		return err
	}
	switch {
	case rt.Count < t.Partitions:
		return kafkaErr(kerr.InvalidPartitions, "topic currently has %d partitions, which is higher than the requested %d", t.Partitions, rt.Count)
	case rt.Count == t.Partitions:
		return kafkaErr(kerr.InvalidPartitions, "topic already has %d partitions", t.Partitions)
	case rt.Count > maxTopicPartitions:
		return kafkaErr(kerr.InvalidPartitions, "number of partitions %d exceeds the limit of %d per topic", rt.Count, maxTopicPartitions)
	case validateOnly:
		return nil
	}
	err = c.g.store.CreatePartitions(c.ctx, rt.Topic, rt.Count)
	if errors.Is(err, metadata.ErrInvalidPartitions) {
		return kafkaErr(kerr.InvalidPartitions, "%v", err)
	}
	c.g.topics.Forget(rt.Topic)
	return err
}
