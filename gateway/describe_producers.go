package gateway

// DescribeProducers, version 0.
//
// Lists, per partition, the producers with state there (idempotent and
// transactional ones whose state retention has not dropped): producer id,
// epoch, last sequence (-1 when unknown), the time of its last write, and
// the first offset of its open transaction there (-1 when none), which is
// what `kafka-transactions.sh abort --start-offset` looks up. Coordinator
// epochs are -1: caudal's coordinators have none, and Kafka reports -1
// for a producer whose transaction never ended. Any gateway answers for
// any partition. A topic needs READ (TOPIC_AUTHORIZATION_FAILED); an
// unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION. A request
// naming more than maxAdminItems partitions is answered INVALID_REQUEST
// for each, without reading the store.

import (
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeProducers, 0, 0, serveDescribeProducers) }

func serveDescribeProducers(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	count := 0
	for _, rt := range req.Topics {
		count += len(rt.Partitions)
	}
	for _, rt := range req.Topics {
		t := kmsg.NewDescribeProducersResponseTopic()
		t.Topic = rt.Topic
		var (
			topic metadata.Topic
			code  int16
			err   error
		)
		switch {
		case count > maxAdminItems:
			code = kerr.InvalidRequest.Code
		case !c.allowed(kmsg.ACLOperationRead, topicResource, rt.Topic):
			code = kerr.TopicAuthorizationFailed.Code
		default:
			topic, err = c.g.topics.ByName(c.ctx, rt.Topic)
			code = errCode(err)
		}
		for _, p := range rt.Partitions {
			rp := kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			if code == 0 {
				c.describePartitionProducers(&rp, topic)
			}
			t.Partitions = append(t.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// describePartitionProducers fills rp with the producers of its partition
// of topic.
func (c *conn) describePartitionProducers(rp *kmsg.DescribeProducersResponseTopicPartition, topic metadata.Topic) {
	if rp.Partition < 0 || rp.Partition >= topic.Partitions {
		rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return
	}
	prods, err := c.g.store.PartitionProducers(c.ctx, topic.ID, rp.Partition)
	if err != nil {
		rp.ErrorCode, rp.ErrorMessage = errCode(err), errMessage(err)
		return
	}
	for _, p := range prods {
		ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
		ap.ProducerID, ap.ProducerEpoch, ap.LastSequence = p.ProducerID, int32(p.Epoch), p.LastSequence
		ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = p.LastTimestamp, -1, p.TxnStartOffset
		rp.ActiveProducers = append(rp.ActiveProducers, ap)
	}
}
