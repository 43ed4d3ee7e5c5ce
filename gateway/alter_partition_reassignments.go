package gateway

// AlterPartitionReassignments, versions 0–1.
//
// Every gateway serves every partition from the bucket and nothing is
// replicated, so a valid reassignment is complete once accepted and none
// is ever in progress. Each partition is checked as Kafka's controller
// checks it (ReplicationControlManager.alterPartitionReassignment and
// validateManualPartitionAssignment): an unknown topic or partition is
// UNKNOWN_TOPIC_OR_PARTITION; null replicas cancel a reassignment, and
// with none in progress that is NO_REASSIGNMENT_IN_PROGRESS; an empty
// list, a broker id that is not a live gateway, or one named twice is
// INVALID_REPLICA_ASSIGNMENT; from v1, a changed replica count without
// AllowReplicationFactorChange is INVALID_REPLICATION_FACTOR (KIP-860),
// the count being 1 as Metadata lists a partition's leader as its one
// replica. Needs ALTER on the cluster. A refused request gets its error
// at the top level and, as Kafka's getErrorResponse, on every partition.

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
)

func init() {
	register(kmsg.AlterPartitionAssignments, 0, 1, serveAlterPartitionReassignments)
}

// maxAdminPartitions bounds the partitions one reassignment, election or
// listing request may name: Kafka's controller refuses an operation of
// more than 10,000 records (QuorumController.MAX_RECORDS_PER_USER_OP) with
// POLICY_VIOLATION. Past it the error is answered at the top level only,
// so that the response stays small whatever count a client sends.
const maxAdminPartitions = 10_000

// errTooManyPartitions is Kafka's answer to an excessively large batch
// (EventHandlerExceptionInfo).
var errTooManyPartitions = kafkaErr(kerr.PolicyViolation, "Unable to perform excessively large batch operation.")

// checkAdmin is what a cluster admin request naming partitions partitions
// must pass first: op on the cluster, then the size bound.
func (c *conn) checkAdmin(op kmsg.ACLOperation, partitions int) error {
	if !c.allowedCluster(op) {
		return kerr.ClusterAuthorizationFailed
	}
	if partitions > maxAdminPartitions {
		return errTooManyPartitions
	}
	return nil
}

// adminTopics passes checkAdmin and lists the topics by name, from one
// read of the store: a request naming many topics costs one query.
func (c *conn) adminTopics(op kmsg.ACLOperation, partitions int) (map[string]metadata.Topic, error) {
	if err := c.checkAdmin(op, partitions); err != nil {
		return nil, err
	}
	list, err := c.g.topics.List(c.ctx)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]metadata.Topic, len(list))
	for _, t := range list {
		byName[t.Name] = t
	}
	return byName, nil
}

func serveAlterPartitionReassignments(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	n := 0
	for _, rt := range req.Topics {
		n += len(rt.Partitions)
	}
	topics, err := c.adminTopics(kmsg.ACLOperationAlter, n)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
	}
	if n > maxAdminPartitions {
		return resp
	}
	live := map[int32]bool{}
	for _, gw := range c.g.cluster.Gateways() {
		live[gw.NodeID] = true
	}
	for _, rt := range req.Topics {
		tr := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			pr.Partition = rp.Partition
			perr := err
			if perr == nil {
				perr = reassignment(topics, live, rt.Topic, rp, req.Version < 1 || req.AllowReplicationFactorChange)
			}
			pr.ErrorCode, pr.ErrorMessage = errCode(perr), errMessage(perr)
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// reassignment checks one partition's reassignment; nil means it is done.
func reassignment(topics map[string]metadata.Topic, live map[int32]bool, topic string,
	rp kmsg.AlterPartitionAssignmentsRequestTopicPartition, allowRFChange bool) error {
	t, ok := topics[topic]
	if !ok {
		return kafkaErr(kerr.UnknownTopicOrPartition, "Unable to find a topic named %s.", topic)
	}
	if rp.Partition < 0 || rp.Partition >= t.Partitions {
		return kafkaErr(kerr.UnknownTopicOrPartition, "Unable to find partition %s:%d.", topic, rp.Partition)
	}
	if rp.Replicas == nil {
		return kafkaErr(kerr.NoReassignmentInProgress, "%s", kerr.NoReassignmentInProgress.Description)
	}
	if err := checkReplicas(rp.Replicas, live); err != nil {
		return err
	}
	if !allowRFChange && len(rp.Replicas) != 1 {
		return kafkaErr(kerr.InvalidReplicationFactor, "The replication factor is changed from 1 to %d", len(rp.Replicas))
	}
	return nil
}

// checkReplicas is Kafka's validateManualPartitionAssignment: the ids are
// checked in ascending order, each must be a live gateway and none may
// repeat.
func checkReplicas(replicas []int32, live map[int32]bool) error {
	if len(replicas) == 0 {
		return kafkaErr(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	sorted := slices.Sorted(slices.Values(replicas))
	for i, id := range sorted {
		if !live[id] {
			return kafkaErr(kerr.InvalidReplicaAssignment,
				"The manual partition assignment includes broker %d, but no such broker is registered.", id)
		}
		if i > 0 && id == sorted[i-1] {
			return kafkaErr(kerr.InvalidReplicaAssignment,
				"The manual partition assignment includes the broker %d more than once.", id)
		}
	}
	return nil
}
