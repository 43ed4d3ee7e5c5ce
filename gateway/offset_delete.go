package gateway

// OffsetDelete, version 0.
//
// Deletes a group's committed offsets for some partitions. A partition of
// a topic the group's members consume gets GROUP_SUBSCRIBED_TO_TOPIC; an
// unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION. An unknown group
// gets GROUP_ID_NOT_FOUND, and a classic group with members whose
// protocol type is not "consumer" (so its topics are unknown)
// NON_EMPTY_GROUP.

import (
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetDelete, 0, 0, serveOffsetDelete) }

func serveOffsetDelete(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	g := c.g
	if !g.coordinates(req.Group) {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	ok, err := g.groups.groupExists(c.ctx, req.Group)
	if err != nil || !ok {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		if err != nil {
			resp.ErrorCode = errCode(err)
		}
		return resp
	}
	subscribed, known := map[string]bool{}, true
	gr, err := g.groups.lookup(c.ctx, req.Group, false)
	if err != nil {
		resp.ErrorCode = errCode(err)
		return resp
	}
	if gr != nil {
		subscribed, known = gr.subscribedTopics()
	}
	g.groups.mu.Unlock()
	if !known {
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return resp
	}
	var del []metadata.TopicPartition
	for _, rt := range req.Topics {
		tr := kmsg.NewOffsetDeleteResponseTopic()
		tr.Topic = rt.Topic
		t, terr := g.topics.byNameOrLoad(c.ctx, rt.Topic)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewOffsetDeleteResponseTopicPartition()
			pr.Partition = rp.Partition
			switch {
			case terr != nil:
				pr.ErrorCode = errCode(terr)
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
	if err := g.store.DeleteOffsets(c.ctx, req.Group, del); err != nil {
		resp.ErrorCode = errCode(err)
	}
	return resp
}
