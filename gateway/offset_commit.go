package gateway

// OffsetCommit, versions 0–9.
//
// Stores committed offsets in the metadata store. The group-level checks
// apply to every partition of the request: an unknown member gets
// UNKNOWN_MEMBER_ID, a stale generation ILLEGAL_GENERATION, a replaced
// static member FENCED_INSTANCE_ID, a commit while the group waits for
// its leader's assignment REBALANCE_IN_PROGRESS; in a KIP-848 group the
// generation is the member epoch (a newer one is FENCED_MEMBER_EPOCH, an
// older one STALE_MEMBER_EPOCH unless the member still owns the
// partitions). Commits without member and generation (standalone
// consumers, admin tools) are accepted while the group has no members.
// Per partition: UNKNOWN_TOPIC_OR_PARTITION for a topic or partition that
// does not exist, OFFSET_METADATA_TOO_LARGE past
// offset.metadata.max.bytes. v1's per-partition timestamp and v2–v4's
// retention time are ignored: offsets expire per
// offsets.retention.minutes once the group is empty. It needs READ on the
// group (GROUP_AUTHORIZATION_FAILED for every partition) and on each topic
// (TOPIC_AUTHORIZATION_FAILED for its partitions).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetCommit, 0, 9, serveOffsetCommit) }

func serveOffsetCommit(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetCommitRequest)
	groupOK := c.allowed(kmsg.ACLOperationRead, groupResource, req.Group)
	ok := make([]bool, len(req.Topics))
	sub := *req
	sub.Topics = nil
	for i, t := range req.Topics {
		if ok[i] = groupOK && c.allowed(kmsg.ACLOperationRead, topicResource, t.Topic); ok[i] {
			sub.Topics = append(sub.Topics, t)
		}
	}
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	if len(sub.Topics) > 0 {
		resp = c.g.groups.OffsetCommit(c.ctx, &sub)
	}
	code := kerr.TopicAuthorizationFailed.Code
	if !groupOK {
		code = kerr.GroupAuthorizationFailed.Code
	}
	resp.Topics = mergeDenied(ok, resp.Topics, func(i int) kmsg.OffsetCommitResponseTopic {
		tr := kmsg.NewOffsetCommitResponseTopic()
		tr.Topic = req.Topics[i].Topic
		for _, rp := range req.Topics[i].Partitions {
			pr := kmsg.NewOffsetCommitResponseTopicPartition()
			pr.Partition, pr.ErrorCode = rp.Partition, code
			tr.Partitions = append(tr.Partitions, pr)
		}
		return tr
	})
	return resp
}
