package gateway

// DescribeCluster, versions 0–1.
//
// Reports the cluster id, the live gateways as brokers and this gateway as
// the controller (there is none; any gateway answers admin requests).
// Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); reports
// the principal's operations on it when asked.

import (
	"github.com/caudal/caudal/gateway/acl"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeCluster, 0, 1, serveDescribeCluster) }

func serveDescribeCluster(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	if !c.allowedCluster(kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	resp.ClusterID = c.g.cfg.ClusterID
	resp.ControllerID = c.g.cfg.NodeID
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = c.authorizedOperations(clusterResource, acl.ClusterName)
	}
	for _, b := range c.g.brokers(c.listener) {
		db := kmsg.NewDescribeClusterResponseBroker()
		db.NodeID, db.Host, db.Port, db.Rack = b.NodeID, b.Host, b.Port, b.Rack
		resp.Brokers = append(resp.Brokers, db)
	}
	return resp
}
