package gateway

// SyncGroup, versions 0–5.
//
// Completes a classic rebalance: the leader sends every member's
// assignment, which each member's SyncGroup then returns. Non-leaders
// wait for the leader. A stale generation gets ILLEGAL_GENERATION, an
// unknown member UNKNOWN_MEMBER_ID, a replaced static member
// FENCED_INSTANCE_ID, a sync during the join phase REBALANCE_IN_PROGRESS,
// and from v5 a protocol type or name that is not the group's
// INCONSISTENT_GROUP_PROTOCOL.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.SyncGroup, 0, 5, serveSyncGroup) }

func serveSyncGroup(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.SyncGroupRequest)
	if !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group) {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	return c.g.groups.SyncGroup(c.ctx, req)
}
