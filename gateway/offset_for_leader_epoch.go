package gateway

// OffsetForLeaderEpoch, versions 0–4.
//
// Every partition has had one leader epoch, 0, for its whole life: any
// gateway serves it and none ever takes over. So the end offset of epoch 0
// is the high watermark. As Kafka answers: an undefined epoch (-1) or an
// epoch newer than 0 gets epoch -1 and offset -1 with no error, and a
// current_leader_epoch (v2+) newer than 0 gets UNKNOWN_LEADER_EPOCH. An
// unknown topic or partition gets UNKNOWN_TOPIC_OR_PARTITION.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetForLeaderEpoch, 0, 4, serveOffsetForLeaderEpoch) }

// leaderEpoch is the one leader epoch of every partition.
const leaderEpoch = 0

func serveOffsetForLeaderEpoch(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		tr := kmsg.NewOffsetForLeaderEpochResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.LeaderEpoch, pr.EndOffset = -1, -1
			if err := c.epochEndOffset(rt.Topic, rp, &pr); err != nil {
				pr.ErrorCode = errCode(err)
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (c *conn) epochEndOffset(topic string, rp kmsg.OffsetForLeaderEpochRequestTopicPartition, pr *kmsg.OffsetForLeaderEpochResponseTopicPartition) error {
	if !c.allowed(kmsg.ACLOperationDescribe, topicResource, topic) {
		return kerr.TopicAuthorizationFailed
	}
	t, err := c.g.topics.ByName(c.ctx, topic)
	if err != nil {
		return err
	}
	if rp.Partition < 0 || rp.Partition >= t.Partitions {
		return kerr.UnknownTopicOrPartition
	}
	// v0–v1 carry no current epoch; the zero value then means "not set".
	if rp.CurrentLeaderEpoch > leaderEpoch {
		return kerr.UnknownLeaderEpoch
	}
	if rp.LeaderEpoch != leaderEpoch {
		return nil // undefined or newer than any epoch: -1, -1
	}
	st, err := c.g.store.Partition(c.ctx, t.ID, rp.Partition)
	if err != nil {
		return err
	}
	pr.LeaderEpoch, pr.EndOffset = leaderEpoch, st.NextOffset
	return nil
}
