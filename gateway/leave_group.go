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
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !c.g.coordinates(req.Group) {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	members := req.Members
	if req.Version < 3 {
		members = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	code, codes := c.g.groups.leave(c.ctx, req.Group, members)
	resp.ErrorCode = code
	if req.Version < 3 {
		if code == 0 {
			resp.ErrorCode = codes[0]
		}
		return resp
	}
	for i, lm := range members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = lm.MemberID, lm.InstanceID, codes[i]
		resp.Members = append(resp.Members, rm)
	}
	return resp
}
