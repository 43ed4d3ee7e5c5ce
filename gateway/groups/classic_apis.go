package groups

// The classic protocol's requests: JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup. Each is answered NOT_COORDINATOR by a gateway that does not
// coordinate the group.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client is who sent a request: its client id and address as Kafka
// reports it ("/1.2.3.4").
type Client struct {
	ID, Host string
}

// JoinGroup serves a JoinGroup, waiting for the rebalance it takes part in.
func (co *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, client Client) *kmsg.JoinGroupResponse {
	var resp *kmsg.JoinGroupResponse
	if !co.coordinates(req.Group) {
		resp = joinError(req, kerr.NotCoordinator.Code)
	} else {
		resp = co.join(ctx, joinInfo{req: req, clientID: client.ID, host: client.Host})
	}
	resp.Version = req.Version
	return resp
}

// SyncGroup serves a SyncGroup; non-leaders wait for the leader's.
func (co *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	if !co.coordinates(req.Group) {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	return co.syncGroup(ctx, req)
}

// Heartbeat serves a classic member's Heartbeat.
func (co *Coordinator) Heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if !co.coordinates(req.Group) {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	resp.ErrorCode = co.heartbeat(ctx, req)
	return resp
}

// LeaveGroup removes members: one before v3, a batch from v3.
func (co *Coordinator) LeaveGroup(ctx context.Context, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !co.coordinates(req.Group) {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	members := req.Members
	if req.Version < 3 {
		members = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	code, codes := co.leave(ctx, req.Group, members)
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
