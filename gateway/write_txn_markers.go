package gateway

// WriteTxnMarkers, versions 1–2 (Kafka 4 removed v0).
//
// Writes COMMIT or ABORT markers (control batches) for a producer into the
// named partitions through the gateway's normal flush path, and answers
// once they are committed. Kafka's coordinators send it to partition
// leaders; caudal's coordinator does not need it (it writes its markers
// itself), so what sends it is an administrator: `kafka-transactions.sh
// abort` ends a hanging transaction with it, after which the partition's
// last stable offset moves past that transaction. Needs ALTER or
// CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED for every
// partition). An unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION
// and an epoch older than the producer's INVALID_PRODUCER_EPOCH. A marker
// for a partition that holds no open transaction of the producer is
// answered NONE, as Kafka answers it: there is nothing there for it to
// end, so caudal writes nothing (Kafka writes a marker that changes
// nothing). The coordinator epoch is not checked, since caudal's
// coordinators have none, nor is v2's transaction version, which does not
// change a marker's bytes. A request naming more than maxAdminItems
// partitions is answered INVALID_REQUEST for each, writing nothing.

import (
	"errors"

	"github.com/caudal/caudal/gateway/writer"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.WriteTxnMarkers, 1, 2, serveWriteTxnMarkers) }

func serveWriteTxnMarkers(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.WriteTxnMarkersRequest)
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	count := 0
	for _, m := range req.Markers {
		for _, t := range m.Topics {
			count += len(t.Partitions)
		}
	}
	var refuse int16
	switch {
	case !c.allowedCluster(kmsg.ACLOperationAlter) && !c.allowedCluster(kmsg.ACLOperationClusterAction):
		refuse = kerr.ClusterAuthorizationFailed.Code
	case count > maxAdminItems:
		refuse = kerr.InvalidRequest.Code
	}
	var pending markerWrites
	ts := c.g.cfg.Now().UnixMilli()
	for _, m := range req.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		batch := segments.ControlBatch(m.ProducerID, m.ProducerEpoch, m.Committed, ts)
		meta := metadata.BatchAppend{Records: 1, MaxTimestamp: ts, ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch,
			BaseSequence: -1, Control: true, Commit: m.Committed}
		for _, rt := range m.Topics {
			t := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			t.Topic = rt.Topic
			t.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(rt.Partitions))
			for k, p := range rt.Partitions {
				t.Partitions[k] = kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				t.Partitions[k].Partition, t.Partitions[k].ErrorCode = p, refuse
			}
			if refuse == 0 {
				c.planMarkers(&pending, t.Partitions, rt.Topic, batch, meta)
			}
			rm.Topics = append(rm.Topics, t)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	if len(pending.items) > 0 {
		for i, code := range c.appendMarkers(pending.items) {
			*pending.codes[i] = code
		}
	}
	return resp
}

// markerWrites are the markers to write and where each one's answer goes.
type markerWrites struct {
	items []writer.Item
	codes []*int16
}

// planMarkers adds the marker of each partition of topic to w, or answers
// the partition at once when the topic or partition is unknown. The
// response's partitions are not moved before w is written: w points into
// them.
func (c *conn) planMarkers(w *markerWrites, parts []kmsg.WriteTxnMarkersResponseMarkerTopicPartition, topic string, batch []byte, meta metadata.BatchAppend) {
	tp, err := c.g.topics.ByName(c.ctx, topic)
	for i := range parts {
		rp := &parts[i]
		switch {
		case err != nil:
			rp.ErrorCode = errCode(err)
		case rp.Partition < 0 || rp.Partition >= tp.Partitions:
			rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			w.items = append(w.items, writer.Item{Topic: tp.ID, Partition: rp.Partition, TopicName: tp.Name, Batch: batch, Meta: meta})
			w.codes = append(w.codes, &rp.ErrorCode)
		}
	}
}

// appendMarkers writes the markers and returns each one's error code.
func (c *conn) appendMarkers(items []writer.Item) []int16 {
	codes := make([]int16, len(items))
	results, err := c.appendAndWait(items)
	for i := range codes {
		switch {
		case err != nil:
			codes[i] = errCode(err)
		case errors.Is(results[i].Err, metadata.ErrInvalidTxnState):
			// No open transaction of the producer there: nothing to end.
		default:
			codes[i] = errCode(results[i].Err)
		}
	}
	return codes
}

// appendAndWait appends items through the writer and waits for their
// commit, or for the connection to end.
func (c *conn) appendAndWait(items []writer.Item) ([]metadata.BatchResult, error) {
	ack, err := c.g.writer.Append(items)
	if err != nil {
		return nil, err
	}
	select {
	case <-ack.Done():
	case <-c.ctx.Done():
		return nil, c.ctx.Err()
	}
	return ack.Results()
}
