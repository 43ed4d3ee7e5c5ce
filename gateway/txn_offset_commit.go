package gateway

// TxnOffsetCommit, versions 0–5.
//
// Sent to the group's coordinator: the group-level checks of OffsetCommit
// (gateway/groups) apply when the request names a member or generation
// (v3+; UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID), and
// the producer must be the transaction's current one with the group added
// by AddOffsetsToTxn (INVALID_TXN_STATE otherwise) unless v5+, where
// transaction version 2 adds it implicitly. The offsets are staged in the
// metadata store and become the group's when the transaction commits;
// until then OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for them. Needs READ on the group and topics and
// WRITE on the transactional id. v6 (topic ids) is not served.

import (
	"context"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.TxnOffsetCommit, 0, 5, serveTxnOffsetCommit) }

func serveTxnOffsetCommit(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.TxnOffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	code := int16(0)
	switch {
	case !c.allowed(kmsg.ACLOperationWrite, txnResource, req.TransactionalID):
		code = kerr.TransactionalIDAuthorizationFailed.Code
	case !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group):
		code = kerr.GroupAuthorizationFailed.Code
	}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation, oc.MemberID, oc.InstanceID = 7, req.Group, req.Generation, req.MemberID, req.InstanceID
	if req.Version < 3 {
		oc.Generation, oc.MemberID, oc.InstanceID = -1, "", nil
	}
	denied := map[string]bool{}
	for _, rt := range req.Topics {
		if !c.allowed(kmsg.ACLOperationRead, topicResource, rt.Topic) {
			denied[rt.Topic] = true
			continue
		}
		t := kmsg.NewOffsetCommitRequestTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetCommitRequestTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata
			t.Partitions = append(t.Partitions, p)
		}
		oc.Topics = append(oc.Topics, t)
	}
	codes := map[string]map[int32]int16{}
	if code == 0 && len(oc.Topics) > 0 {
		stage := func(ctx context.Context, group string, offs []metadata.GroupOffset) error {
			return c.g.txn.StageOffsets(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, group, offs, req.Version >= 5)
		}
		r := c.g.groups.TxnOffsetCommit(c.ctx, oc, stage)
		for _, t := range r.Topics {
			codes[t.Topic] = map[int32]int16{}
			for _, p := range t.Partitions {
				codes[t.Topic][p.Partition] = fencedFor(req.Version, 3, p.ErrorCode)
			}
		}
	}
	for _, rt := range req.Topics {
		t := kmsg.NewTxnOffsetCommitResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			p.Partition = rp.Partition
			switch {
			case code != 0:
				p.ErrorCode = code
			case denied[rt.Topic]:
				p.ErrorCode = kerr.TopicAuthorizationFailed.Code
			default:
				p.ErrorCode = codes[rt.Topic][rp.Partition]
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}
