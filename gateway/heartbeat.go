package gateway

// Heartbeat, versions 0–4.
//
// Keeps a classic member's session alive. REBALANCE_IN_PROGRESS tells it
// to rejoin; a stale generation gets ILLEGAL_GENERATION, an unknown member
// UNKNOWN_MEMBER_ID and a replaced static member FENCED_INSTANCE_ID.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Heartbeat, 0, 4, serveHeartbeat) }

func serveHeartbeat(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.HeartbeatRequest)
	if !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group) {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	return c.g.groups.Heartbeat(c.ctx, req)
}
