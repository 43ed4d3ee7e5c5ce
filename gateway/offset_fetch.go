package gateway

// OffsetFetch, versions 0–9.
//
// Returns committed offsets: the requested partitions, or every committed
// partition of the group when topics is null (v2+). A partition without a
// commit gets offset -1 and no error. v8+ asks for several groups at once;
// v9 names the KIP-848 member and epoch, checked as OffsetCommit checks
// them (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH). require_stable (v7+) is
// ignored: without transactions every commit is stable.

import (
	"context"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetFetch, 0, 9, serveOffsetFetch) }

// fetchedPartition is one partition's committed offset.
type fetchedPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    *string
}

type fetchedTopic struct {
	topic string
	parts []fetchedPartition
}

func serveOffsetFetch(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			gr := kmsg.NewOffsetFetchResponseGroup()
			gr.Group = rg.Group
			var topics []kmsg.OffsetFetchRequestTopic
			if rg.Topics != nil {
				topics = []kmsg.OffsetFetchRequestTopic{}
				for _, t := range rg.Topics {
					topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			code := c.fetchGroupCheck(rg.Group, rg.MemberID, rg.MemberEpoch)
			var fts []fetchedTopic
			if code == 0 {
				var err error
				fts, err = c.g.fetchOffsets(c.ctx, rg.Group, topics)
				code = errCode(err)
			}
			gr.ErrorCode = code
			for _, ft := range fts {
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = ft.topic
				for _, fp := range ft.parts {
					p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = fp.partition, fp.offset, fp.leaderEpoch, fp.metadata
					t.Partitions = append(t.Partitions, p)
				}
				gr.Topics = append(gr.Topics, t)
			}
			resp.Groups = append(resp.Groups, gr)
		}
		return resp
	}
	code := c.fetchGroupCheck(req.Group, nil, -1)
	var fts []fetchedTopic
	if code == 0 {
		var err error
		fts, err = c.g.fetchOffsets(c.ctx, req.Group, req.Topics)
		code = errCode(err)
	}
	if code != 0 && req.Version < 2 {
		// No group-level error before v2: every partition carries it.
		fts = failedTopics(req.Topics)
	}
	resp.ErrorCode = code
	for _, ft := range fts {
		t := kmsg.NewOffsetFetchResponseTopic()
		t.Topic = ft.topic
		for _, fp := range ft.parts {
			p := kmsg.NewOffsetFetchResponseTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = fp.partition, fp.offset, fp.leaderEpoch, fp.metadata
			if req.Version < 2 {
				p.ErrorCode = code
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func (c *conn) fetchGroupCheck(group string, memberID *string, epoch int32) int16 {
	if !c.g.coordinates(group) {
		return kerr.NotCoordinator.Code
	}
	return c.g.groups.fetchCheck(c.ctx, group, memberID, epoch)
}

func failedTopics(topics []kmsg.OffsetFetchRequestTopic) []fetchedTopic {
	var out []fetchedTopic
	for _, t := range topics {
		ft := fetchedTopic{topic: t.Topic}
		for _, p := range t.Partitions {
			ft.parts = append(ft.parts, fetchedPartition{partition: p, offset: -1, leaderEpoch: -1})
		}
		out = append(out, ft)
	}
	return out
}

// fetchOffsets answers one group's OffsetFetch; topics nil means every
// committed partition.
func (g *Gateway) fetchOffsets(ctx context.Context, group string, topics []kmsg.OffsetFetchRequestTopic) ([]fetchedTopic, error) {
	offs, err := g.store.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	byTP := make(map[metadata.TopicPartition]metadata.GroupOffset, len(offs))
	for _, o := range offs {
		byTP[metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o
	}
	if topics == nil {
		var order []string
		idx := map[string]int{}
		for _, o := range offs {
			if _, ok := idx[o.Topic]; !ok {
				idx[o.Topic] = len(order)
				order = append(order, o.Topic)
				topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: o.Topic})
			}
			i := idx[o.Topic]
			topics[i].Partitions = append(topics[i].Partitions, o.Partition)
		}
	}
	out := make([]fetchedTopic, 0, len(topics))
	for _, t := range topics {
		ft := fetchedTopic{topic: t.Topic}
		for _, p := range t.Partitions {
			fp := fetchedPartition{partition: p, offset: -1, leaderEpoch: -1}
			empty := ""
			fp.metadata = &empty
			if o, ok := byTP[metadata.TopicPartition{Topic: t.Topic, Partition: p}]; ok {
				md := o.Metadata
				fp.offset, fp.leaderEpoch, fp.metadata = o.Offset, o.LeaderEpoch, &md
			}
			ft.parts = append(ft.parts, fp)
		}
		out = append(out, ft)
	}
	return out, nil
}
