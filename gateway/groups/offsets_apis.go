package groups

// Committed offsets' requests: OffsetCommit, OffsetFetch, OffsetDelete.

import (
	"context"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit stores committed offsets after the group-level checks.
func (co *Coordinator) OffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	return co.commitOffsets(ctx, req, true, co.store.CommitOffsets)
}

// TxnOffsetCommit runs OffsetCommit's checks on a transaction's commit,
// given as the OffsetCommit it would be, and hands the offsets to stage,
// which keeps them until the transaction ends. As in Kafka, a commit that
// names no member and generation is not checked against the group: the
// producer need not be a member.
func (co *Coordinator) TxnOffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest, stage func(context.Context, string, []metadata.GroupOffset) error) *kmsg.OffsetCommitResponse {
	member := req.Generation >= 0 || req.MemberID != "" || req.InstanceID != nil
	return co.commitOffsets(ctx, req, member, stage)
}

// commitOffsets validates a commit, with the member checks when check,
// and gives the valid offsets to store.
func (co *Coordinator) commitOffsets(ctx context.Context, req *kmsg.OffsetCommitRequest, check bool, store func(context.Context, string, []metadata.GroupOffset) error) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	// Per-partition validation first; codes[i][j] answers req.Topics[i].Partitions[j].
	codes := make([][]int16, len(req.Topics))
	valid := partSet{}
	now := co.now()
	var offsets []metadata.GroupOffset
	type pos struct{ i, j int }
	var positions []pos
	for i, rt := range req.Topics {
		codes[i] = make([]int16, len(rt.Partitions))
		t, err := co.topics.ByName(ctx, rt.Topic)
		for j, rp := range rt.Partitions {
			switch {
			case err != nil:
				codes[i][j] = co.errCode(err)
			case rp.Partition < 0 || rp.Partition >= t.Partitions:
				codes[i][j] = kerr.UnknownTopicOrPartition.Code
			case rp.Metadata != nil && len(*rp.Metadata) > co.set.maxMetadata:
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
	case !co.coordinates(req.Group):
		groupCode = kerr.NotCoordinator.Code
	case req.Group == "":
		groupCode = kerr.InvalidGroupID.Code
	case check:
		groupCode = co.commitCheck(ctx, req, valid)
	}
	if groupCode == 0 && len(offsets) > 0 {
		if err := store(ctx, req.Group, offsets); err != nil {
			groupCode = co.errCode(err)
		}
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

// fetchedPartition is one partition's committed offset.
type fetchedPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    *string
	errCode     int16
}

type fetchedTopic struct {
	topic string
	parts []fetchedPartition
}

// OffsetFetch returns committed offsets, of one group before v8 and of
// several from v8.
func (co *Coordinator) OffsetFetch(ctx context.Context, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
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
			code := co.fetchGroupCheck(ctx, rg.Group, rg.MemberID, rg.MemberEpoch)
			var fts []fetchedTopic
			if code == 0 {
				var err error
				fts, err = co.fetchOffsets(ctx, rg.Group, topics, req.RequireStable)
				code = co.errCode(err)
			}
			gr.ErrorCode = code
			for _, ft := range fts {
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = ft.topic
				for _, fp := range ft.parts {
					p := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = fp.partition, fp.offset, fp.leaderEpoch, fp.metadata, fp.errCode
					t.Partitions = append(t.Partitions, p)
				}
				gr.Topics = append(gr.Topics, t)
			}
			resp.Groups = append(resp.Groups, gr)
		}
		return resp
	}
	code := co.fetchGroupCheck(ctx, req.Group, nil, -1)
	var fts []fetchedTopic
	if code == 0 {
		var err error
		fts, err = co.fetchOffsets(ctx, req.Group, req.Topics, req.RequireStable)
		code = co.errCode(err)
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
			p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode = fp.partition, fp.offset, fp.leaderEpoch, fp.metadata, fp.errCode
			if req.Version < 2 {
				p.ErrorCode = code
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func (co *Coordinator) fetchGroupCheck(ctx context.Context, group string, memberID *string, epoch int32) int16 {
	if !co.coordinates(group) {
		return kerr.NotCoordinator.Code
	}
	return co.fetchCheck(ctx, group, memberID, epoch)
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
// committed partition. With requireStable (v7+), a partition an open
// transaction has staged an offset for answers UNSTABLE_OFFSET_COMMIT,
// which clients retry until the transaction ends, so that a consumer
// taking it over does not start from before a commit in flight.
func (co *Coordinator) fetchOffsets(ctx context.Context, group string, topics []kmsg.OffsetFetchRequestTopic, requireStable bool) ([]fetchedTopic, error) {
	offs, err := co.store.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	unstable := map[metadata.TopicPartition]bool{}
	if requireStable {
		pending, err := co.store.PendingTxnOffsets(ctx, group)
		if err != nil {
			return nil, err
		}
		for _, p := range pending {
			unstable[p] = true
		}
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
			tp := metadata.TopicPartition{Topic: t.Topic, Partition: p}
			if o, ok := byTP[tp]; ok {
				md := o.Metadata
				fp.offset, fp.leaderEpoch, fp.metadata = o.Offset, o.LeaderEpoch, &md
			}
			if unstable[tp] {
				fp.offset, fp.errCode = -1, kerr.UnstableOffsetCommit.Code
			}
			ft.parts = append(ft.parts, fp)
		}
		out = append(out, ft)
	}
	return out, nil
}

// OffsetDelete deletes a group's committed offsets of partitions its
// members do not consume.
func (co *Coordinator) OffsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if !co.coordinates(req.Group) {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	ok, err := co.groupExists(ctx, req.Group)
	if err != nil || !ok {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		if err != nil {
			resp.ErrorCode = co.errCode(err)
		}
		return resp
	}
	subscribed, known := map[string]bool{}, true
	gr, err := co.lookup(ctx, req.Group, false)
	if err != nil {
		resp.ErrorCode = co.errCode(err)
		return resp
	}
	if gr != nil {
		subscribed, known = gr.subscribedTopics()
	}
	co.mu.Unlock()
	if !known {
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return resp
	}
	var del []metadata.TopicPartition
	for _, rt := range req.Topics {
		tr := kmsg.NewOffsetDeleteResponseTopic()
		tr.Topic = rt.Topic
		t, terr := co.topics.ByName(ctx, rt.Topic)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewOffsetDeleteResponseTopicPartition()
			pr.Partition = rp.Partition
			switch {
			case terr != nil:
				pr.ErrorCode = co.errCode(terr)
			case rp.Partition < 0 || rp.Partition >= t.Partitions:
				pr.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case subscribed[rt.Topic]:
				pr.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				del = append(del, metadata.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	if err := co.store.DeleteOffsets(ctx, req.Group, del); err != nil {
		resp.ErrorCode = co.errCode(err)
	}
	return resp
}
