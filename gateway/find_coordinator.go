package gateway

// FindCoordinator, versions 0–5.
//
// Names the gateway that coordinates a group (key type 0) or a
// transactional id (key type 1), one key before v4 and a batch of keys
// from v4. coordinatorFor chooses by rendezvous hashing over the live
// gateways (gateway/cluster). Other key types get INVALID_REQUEST.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.FindCoordinator, 0, 5, serveFindCoordinator) }

func serveFindCoordinator(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.CoordinatorType == 0 {
		// As Kafka does on a group's first lookup (internal_topics.go).
		c.g.ensureOffsetsTopic(c.ctx)
	}
	find := func(key string) kmsg.FindCoordinatorResponseCoordinator {
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key = key
		if req.CoordinatorType != 0 && req.CoordinatorType != 1 {
			rc.ErrorCode = kerr.InvalidRequest.Code
			rc.NodeID = -1
			return rc
		}
		if req.CoordinatorType == 0 && !c.allowed(kmsg.ACLOperationDescribe, groupResource, key) {
			rc.ErrorCode, rc.NodeID = kerr.GroupAuthorizationFailed.Code, -1
			return rc
		}
		if req.CoordinatorType == 1 && !c.allowed(kmsg.ACLOperationDescribe, txnResource, key) {
			rc.ErrorCode, rc.NodeID = kerr.TransactionalIDAuthorizationFailed.Code, -1
			return rc
		}
		b := c.g.coordinatorFor(key, c.listener)
		rc.NodeID, rc.Host, rc.Port = b.NodeID, b.Host, b.Port
		return rc
	}
	if req.Version >= 4 {
		for _, key := range req.CoordinatorKeys {
			resp.Coordinators = append(resp.Coordinators, find(key))
		}
		return resp
	}
	rc := find(req.CoordinatorKey)
	resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = rc.ErrorCode, rc.NodeID, rc.Host, rc.Port
	return resp
}
