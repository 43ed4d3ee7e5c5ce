package gateway

// OffsetDelete, version 0.
//
// Deletes a group's committed offsets for some partitions. A partition of
// a topic the group's members consume gets GROUP_SUBSCRIBED_TO_TOPIC; an
// unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION. An unknown group
// gets GROUP_ID_NOT_FOUND, and a classic group with members whose
// protocol type is not "consumer" (so its topics are unknown)
// NON_EMPTY_GROUP. It needs DELETE on the group
// (GROUP_AUTHORIZATION_FAILED) and READ on each topic
// (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetDelete, 0, 0, serveOffsetDelete) }

func serveOffsetDelete(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	if !c.allowed(kmsg.ACLOperationDelete, groupResource, req.Group) {
		resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	ok := make([]bool, len(req.Topics))
	sub := *req
	sub.Topics = nil
	for i, t := range req.Topics {
		if ok[i] = c.allowed(kmsg.ACLOperationRead, topicResource, t.Topic); ok[i] {
			sub.Topics = append(sub.Topics, t)
		}
	}
	resp := c.g.groups.OffsetDelete(c.ctx, &sub)
	if resp.ErrorCode != 0 {
		return resp
	}
	resp.Topics = mergeDenied(ok, resp.Topics, func(i int) kmsg.OffsetDeleteResponseTopic {
		t := kmsg.NewOffsetDeleteResponseTopic()
		t.Topic = req.Topics[i].Topic
		for _, p := range req.Topics[i].Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, kerr.TopicAuthorizationFailed.Code
			t.Partitions = append(t.Partitions, rp)
		}
		return t
	})
	return resp
}
