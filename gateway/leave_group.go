package gateway

// LeaveGroup, versions 0–5.
//
// Removes classic members and rebalances the rest: one member id before
// v3, a batch of members (member id and/or group.instance.id) from v3,
// each with its own error (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID when the
// instance now belongs to another member id).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.LeaveGroup, 0, 5, serveLeaveGroup) }

func serveLeaveGroup(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.LeaveGroupRequest)
	if !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group) {
		resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	return c.g.groups.LeaveGroup(c.ctx, req)
}
