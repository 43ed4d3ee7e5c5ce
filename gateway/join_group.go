package gateway

// JoinGroup, versions 0–9.
//
// Classic group membership. A new member without an id gets one with
// MEMBER_ID_REQUIRED from v4 (KIP-394) and must join again with it. The
// join phase lasts until every known member has rejoined or the largest
// rebalance timeout passes; the request waits for it. The leader gets
// every member's metadata for the chosen protocol (the first in the
// leader's preference order that all members support). A static member
// (group.instance.id) that rejoins without its id replaces its old
// incarnation, which gets FENCED_INSTANCE_ID; with unchanged protocols
// the group does not rebalance; a returning leader gets the member list
// with SkipAssignment from v9, or the old leader id before it. The first
// rebalance of an empty group waits group.initial.rebalance.delay.ms
// (--group-initial-rebalance-delay), extended per new member up to the
// rebalance timeout, so consumers that start together land in one
// generation. A session timeout outside
// group.{min,max}.session.timeout.ms gets INVALID_SESSION_TIMEOUT.
// JoinGroup, SyncGroup, Heartbeat and LeaveGroup need READ on the group
// (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/caudal/caudal/gateway/groups"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.JoinGroup, 0, 9, serveJoinGroup) }

func serveJoinGroup(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.JoinGroupRequest)
	if !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.Generation = kerr.GroupAuthorizationFailed.Code, -1
		return resp
	}
	return c.g.groups.JoinGroup(c.ctx, req, c.groupClient())
}

// groupClient is the connection's client as group members report it.
func (c *conn) groupClient() groups.Client {
	return groups.Client{ID: c.clientID, Host: c.clientHost()}
}

// clientHost is the client's address as Kafka reports it ("/1.2.3.4").
func (c *conn) clientHost() string {
	addr := c.nc.RemoteAddr().String()
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			addr = addr[:i]
			break
		}
	}
	return "/" + addr
}
