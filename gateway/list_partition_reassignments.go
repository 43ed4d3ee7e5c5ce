package gateway

// ListPartitionReassignments, version 0.
//
// No reassignment is ever in progress (AlterPartitionReassignments
// completes at once), so the list is empty; topics named in the request
// are absent from it whether they exist or not, as Kafka lists only
// partitions being reassigned. Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED at the top level and, as Kafka's
// getErrorResponse, with every named partition echoed, up to
// maxAdminPartitions).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(kmsg.ListPartitionReassignments, 0, 0, serveListPartitionReassignments)
}

func serveListPartitionReassignments(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ListPartitionReassignmentsRequest)
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if c.allowedCluster(kmsg.ACLOperationDescribe) {
		return resp
	}
	resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
	n := 0
	for _, rt := range req.Topics {
		n += len(rt.Partitions)
	}
	if n > maxAdminPartitions {
		return resp // the echo would grow with what the client sent
	}
	for _, rt := range req.Topics {
		tr := kmsg.NewListPartitionReassignmentsResponseTopic()
		tr.Topic = rt.Topic
		for _, p := range rt.Partitions {
			pr := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			pr.Partition = p
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}
