package gateway

// ListOffsets, versions 1–8.
//
// Answers earliest (-2, and -4 "earliest local", which is the same here
// since everything is in the bucket), latest (-1), max timestamp (-3, v7+:
// the first record holding the largest timestamp, as Kafka answers since
// KAFKA-16310) and by timestamp: the first offset whose record timestamp
// is >= the one asked, or -1 when there is none. Under isolation_level=read_committed,
// latest is the last stable offset, as in Kafka.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListOffsets, 1, 8, serveListOffsets) }

func serveListOffsets(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		tr := kmsg.NewListOffsetsResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewListOffsetsResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.Offset, pr.Timestamp, pr.LeaderEpoch = -1, -1, 0
			if err := c.listOffset(rt.Topic, rp, req.IsolationLevel == 1, &pr); err != nil {
				pr.ErrorCode = errCode(err)
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (c *conn) listOffset(topic string, rp kmsg.ListOffsetsRequestTopicPartition, committed bool, pr *kmsg.ListOffsetsResponseTopicPartition) error {
	g := c.g
	if !c.allowed(kmsg.ACLOperationDescribe, topicResource, topic) {
		return kerr.TopicAuthorizationFailed
	}
	t, err := g.topics.ByName(c.ctx, topic)
	if err != nil {
		return err
	}
	if rp.Partition < 0 || rp.Partition >= t.Partitions {
		return kerr.UnknownTopicOrPartition
	}
	st, err := g.store.Partition(c.ctx, t.ID, rp.Partition)
	if err != nil {
		return err
	}
	switch ts := rp.Timestamp; {
	case ts == -2 || ts == -4:
		pr.Offset = st.LogStartOffset
	case ts == -1 && committed:
		pr.Offset = st.LastStableOffset
	case ts == -1:
		pr.Offset = st.NextOffset
	case ts == -3:
		off, at, ok, err := g.reader.OffsetOfMaxTime(c.ctx, t.ID, rp.Partition)
		if err != nil {
			return err
		}
		if ok && off >= st.LogStartOffset {
			pr.Offset, pr.Timestamp = off, at
		}
	case ts >= 0:
		off, at, ok, err := g.reader.OffsetForTime(c.ctx, t.ID, rp.Partition, ts)
		if err != nil {
			return err
		}
		if ok {
			pr.Offset, pr.Timestamp = max(off, st.LogStartOffset), at
		}
	default:
		return kerr.InvalidRequest
	}
	return nil
}
