package gateway

// ConsumerGroupHeartbeat, versions 0–1 (KIP-848).
//
// Joins (epoch 0), heartbeats and leaves (epoch -1; -2, a static member's
// temporary leave, is served as a leave) a KIP-848 consumer group whose
// partitions the coordinator assigns with the "uniform" (default) or
// "range" assignor. The response carries the member's epoch, the
// heartbeat interval (group.consumer.heartbeat.interval.ms) and, when it
// changed, the member's assignment; partitions move revoke-before-assign
// (see gateway/groups). An epoch the coordinator does not know gets
// FENCED_MEMBER_EPOCH, an unknown member UNKNOWN_MEMBER_ID; members are
// expired after group.consumer.session.timeout.ms without a heartbeat. v1
// members generate their own ids and may subscribe by regular expression
// (RE2 syntax, matched against whole topic names). A classic group with
// members gets GROUP_ID_NOT_FOUND. It needs READ on the group
// (GROUP_AUTHORIZATION_FAILED) and DESCRIBE on every topic subscribed by
// name (TOPIC_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ConsumerGroupHeartbeat, 0, 1, serveConsumerGroupHeartbeat) }

func serveConsumerGroupHeartbeat(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ConsumerGroupHeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	if !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	for _, topic := range req.SubscribedTopicNames {
		if !c.allowed(kmsg.ACLOperationDescribe, topicResource, topic) {
			resp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.ErrorMessage = kmsg.StringPtr("not authorized to describe topic " + topic)
			return resp
		}
	}
	return c.g.groups.ConsumerGroupHeartbeat(c.ctx, req, c.groupClient())
}
