package gateway

// AddPartitionsToTxn, versions 0–5.
//
// v0–3 come from producers: one transaction's partitions join it on its
// coordinator, which opens the transaction if none is. Every partition
// gets the request's one outcome, as in Kafka: an unknown topic or
// partition fails it with UNKNOWN_TOPIC_OR_PARTITION, a topic without
// WRITE with TOPIC_AUTHORIZATION_FAILED, and the rest of the request then
// gets OPERATION_NOT_ATTEMPTED. v4+ is Kafka's broker-to-coordinator form
// (needs CLUSTER_ACTION): a batch of transactions, each of which may be
// verify-only (KIP-890 part 1), answered per transaction. caudal's own
// gateways do not send it: they share the coordinator's state through the
// metadata store.

import (
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AddPartitionsToTxn, 0, 5, serveAddPartitionsToTxn) }

// maxTxnPartitions bounds the partitions one request may add, so that a
// hostile count cannot make one store transaction of millions of rows.
const maxTxnPartitions = 100_000

func serveAddPartitionsToTxn(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if req.Version < 4 {
		resp.Topics = c.addPartitionsToTxn(req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Topics, false)
		return resp
	}
	if !c.allowedCluster(kmsg.ACLOperationClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	for _, rt := range req.Transactions {
		tr := kmsg.NewAddPartitionsToTxnResponseTransaction()
		tr.TransactionalID = rt.TransactionalID
		topics := make([]kmsg.AddPartitionsToTxnRequestTopic, len(rt.Topics))
		for i, t := range rt.Topics {
			topics[i].Topic, topics[i].Partitions = t.Topic, t.Partitions
		}
		for _, t := range c.addPartitionsToTxn(req.Version, rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, topics, rt.VerifyOnly) {
			rtr := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			rtr.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, p.ErrorCode
				rtr.Partitions = append(rtr.Partitions, rp)
			}
			tr.Topics = append(tr.Topics, rtr)
		}
		resp.Transactions = append(resp.Transactions, tr)
	}
	return resp
}

// addPartitionsToTxn adds (or verifies) one transaction's partitions and
// returns each partition's outcome.
func (c *conn) addPartitionsToTxn(version int16, id string, pid int64, epoch int16, topics []kmsg.AddPartitionsToTxnRequestTopic, verifyOnly bool) []kmsg.AddPartitionsToTxnResponseTopic {
	var (
		parts   []metadata.TxnPartition
		failed  = map[string]int16{}
		count   int
		anyFail bool
	)
	for _, rt := range topics {
		count += len(rt.Partitions)
		if !c.allowed(kmsg.ACLOperationWrite, topicResource, rt.Topic) {
			failed[rt.Topic], anyFail = kerr.TopicAuthorizationFailed.Code, true
			continue
		}
		t, err := c.g.topics.ByName(c.ctx, rt.Topic)
		if err != nil {
			failed[rt.Topic], anyFail = errCode(err), true
			continue
		}
		for _, p := range rt.Partitions {
			if p < 0 || p >= t.Partitions {
				failed[rt.Topic], anyFail = kerr.UnknownTopicOrPartition.Code, true
			}
			parts = append(parts, metadata.TxnPartition{Topic: t.ID, Partition: p})
		}
	}
	var code int16
	switch {
	case !c.allowed(kmsg.ACLOperationWrite, txnResource, id):
		code = kerr.TransactionalIDAuthorizationFailed.Code
	case count > maxTxnPartitions:
		code = kerr.InvalidRequest.Code
	case !anyFail:
		code = txnErrCodeSince(version, 2, c.g.txn.AddPartitions(c.ctx, id, pid, epoch, parts, verifyOnly))
	}
	out := make([]kmsg.AddPartitionsToTxnResponseTopic, 0, len(topics))
	for _, rt := range topics {
		t := kmsg.NewAddPartitionsToTxnResponseTopic()
		t.Topic = rt.Topic
		pcode := code
		if anyFail {
			pcode = kerr.OperationNotAttempted.Code
			if fc, ok := failed[rt.Topic]; ok {
				pcode = fc
			}
		}
		for _, p := range rt.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, pcode
			t.Partitions = append(t.Partitions, rp)
		}
		out = append(out, t)
	}
	return out
}
