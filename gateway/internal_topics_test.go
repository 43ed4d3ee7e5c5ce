package gateway

import (
	"testing"

	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A group lookup creates __consumer_offsets, which Metadata marks internal
// and which clients cannot produce to, as with Kafka.
func TestOffsetsTopicInternal(t *testing.T) {
	c := testConn(t, newTestGateway(t))
	do := func(req kmsg.Request) kmsg.Response { return serveRequest(t, c, req) }

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g"}
	fc.SetVersion(4)
	do(fc)

	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	var found bool
	for _, mt := range do(md).(*kmsg.MetadataResponse).Topics {
		if *mt.Topic == offsetsTopic {
			found = true
			if !mt.IsInternal || len(mt.Partitions) != 50 {
				t.Errorf("%s: internal %v, %d partitions; want internal, 50", offsetsTopic, mt.IsInternal, len(mt.Partitions))
			}
		} else if mt.IsInternal {
			t.Errorf("%s is marked internal", *mt.Topic)
		}
	}
	if !found {
		t.Fatalf("%s is not in metadata after FindCoordinator", offsetsTopic)
	}

	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = offsetsTopic
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = segmentstest.Batch("x")
	pt.Partitions = append(pt.Partitions, pp)
	pr.Topics = append(pr.Topics, pt)
	pr.SetVersion(9)
	if code := do(pr).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidTopicException.Code {
		t.Errorf("produce to %s: %v, want INVALID_TOPIC_EXCEPTION", offsetsTopic, kerr.ErrorForCode(code))
	}
}
