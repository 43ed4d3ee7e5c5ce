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
// offsets.retention.minutes once the group is empty.

import (
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetCommit, 0, 9, serveOffsetCommit) }

func serveOffsetCommit(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	g := c.g
	// Per-partition validation first; codes[i][j] answers req.Topics[i].Partitions[j].
	codes := make([][]int16, len(req.Topics))
	valid := partSet{}
	now := g.cfg.Now()
	var offsets []metadata.GroupOffset
	type pos struct{ i, j int }
	var positions []pos
	for i, rt := range req.Topics {
		codes[i] = make([]int16, len(rt.Partitions))
		t, err := g.topics.byNameOrLoad(c.ctx, rt.Topic)
		for j, rp := range rt.Partitions {
			switch {
			case err != nil:
				codes[i][j] = errCode(err)
			case rp.Partition < 0 || rp.Partition >= t.Partitions:
				codes[i][j] = kerr.UnknownTopicOrPartition.Code
			case rp.Metadata != nil && len(*rp.Metadata) > g.groups.set.maxMetadata:
				codes[i][j] = kerr.OffsetMetadataTooLarge.Code
			default:
				valid[topicPart{t.ID, rp.Partition}] = struct{}{}
				md := ""
				if rp.Metadata != nil {
					md = *rp.Metadata
				}
				offsets = append(offsets, metadata.GroupOffset{
					Topic: rt.Topic, Partition: rp.Partition, Offset: rp.Offset,
					LeaderEpoch: rp.LeaderEpoch, Metadata: md, CommitTime: now,
				})
				positions = append(positions, pos{i, j})
			}
		}
	}
	var groupCode int16
	switch {
	case !g.coordinates(req.Group):
		groupCode = kerr.NotCoordinator.Code
	case req.Group == "":
		groupCode = kerr.InvalidGroupID.Code
	default:
		groupCode = g.groups.commitCheck(c.ctx, req, valid)
	}
	if groupCode == 0 && len(offsets) > 0 {
		groupCode = errCode(g.store.CommitOffsets(c.ctx, req.Group, offsets))
	}
	if groupCode != 0 {
		for _, p := range positions {
			codes[p.i][p.j] = groupCode
		}
	}
	for i, rt := range req.Topics {
		tr := kmsg.NewOffsetCommitResponseTopic()
		tr.Topic = rt.Topic
		for j, rp := range rt.Partitions {
			pr := kmsg.NewOffsetCommitResponseTopicPartition()
			pr.Partition, pr.ErrorCode = rp.Partition, codes[i][j]
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}
