package gateway

// DeleteRecords, versions 0–2.
//
// Advances a partition's log start offset: offset -1 means the high
// watermark, an offset past it gets OFFSET_OUT_OF_RANGE. Records below the
// new start are no longer served; the worker removes their index rows and,
// once unreferenced, their objects.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteRecords, 0, 2, serveDeleteRecords) }

func serveDeleteRecords(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		tr := kmsg.NewDeleteRecordsResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewDeleteRecordsResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.LowWatermark = -1
			low, err := c.deleteRecords(rt.Topic, rp.Partition, rp.Offset)
			if err != nil {
				pr.ErrorCode = errCode(err)
			} else {
				pr.LowWatermark = low
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (c *conn) deleteRecords(topic string, partition int32, offset int64) (int64, error) {
	if !c.allowed(kmsg.ACLOperationDelete, topicResource, topic) {
		return -1, kerr.TopicAuthorizationFailed
	}
	t, err := c.g.topics.ByName(c.ctx, topic)
	if err != nil {
		return -1, err
	}
	if partition < 0 || partition >= t.Partitions {
		return -1, kerr.UnknownTopicOrPartition
	}
	if offset == -1 {
		st, err := c.g.store.Partition(c.ctx, t.ID, partition)
		if err != nil {
			return -1, err
		}
		offset = st.NextOffset
	}
	if offset < 0 {
		return -1, kerr.OffsetOutOfRange
	}
	st, err := c.g.store.AdvanceLogStart(c.ctx, t.ID, partition, offset)
	if err != nil {
		return -1, err
	}
	c.g.reader.Notify() // fetches here see the new log start at once
	return st.LogStartOffset, nil
}
