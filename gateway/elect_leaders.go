package gateway

// ElectLeaders, versions 0–2.
//
// A partition's leader is whichever live gateway rendezvous hashing picks
// and any gateway serves it, so the preferred leader always leads and
// every partition has one: each existing partition named is
// ELECTION_NOT_NEEDED, as Kafka's controller answers a partition that
// already has its preferred leader (or, for an unclean election, any
// leader), and an unknown one UNKNOWN_TOPIC_OR_PARTITION. A null topic
// list means every partition; Kafka then leaves out those that need no
// election (ReplicationControlManager.electLeaders), so every topic is
// listed with no partitions. An election type other than preferred (0)
// or unclean (1) is INVALID_REQUEST. Needs ALTER on the cluster;
// a refused request, or one naming more than maxAdminPartitions
// partitions, gets its error at the top level (v1+) and, within that
// bound, on every partition, as Kafka's getErrorResponse.

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ElectLeaders, 0, 2, serveElectLeaders) }

func serveElectLeaders(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ElectLeadersRequest)
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	n := 0
	for _, rt := range req.Topics {
		n += len(rt.Partitions)
	}
	topics, err := c.adminTopics(kmsg.ACLOperationAlter, n)
	if err == nil && req.Version >= 1 && req.ElectionType != 0 && req.ElectionType != 1 {
		err = kafkaErr(kerr.InvalidRequest, "Unknown election type %d", req.ElectionType)
	}
	if err != nil {
		resp.ErrorCode = errCode(err)
		if n > maxAdminPartitions {
			return resp
		}
	}
	if req.Topics == nil && err == nil {
		for _, name := range slices.Sorted(maps.Keys(topics)) {
			tr := kmsg.NewElectLeadersResponseTopic()
			tr.Topic = name
			resp.Topics = append(resp.Topics, tr)
		}
		return resp
	}
	for _, rt := range req.Topics {
		tr := kmsg.NewElectLeadersResponseTopic()
		tr.Topic = rt.Topic
		for _, p := range rt.Partitions {
			pr := kmsg.NewElectLeadersResponseTopicPartition()
			pr.Partition = p
			perr := err
			if perr == nil {
				perr = election(topics[rt.Topic].Partitions, rt.Topic, p)
			}
			pr.ErrorCode, pr.ErrorMessage = errCode(perr), errMessage(perr)
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// election is the outcome for one partition of a topic with partitions
// partitions (0 when the topic does not exist), in Kafka's words.
func election(partitions int32, topic string, p int32) error {
	switch {
	case partitions == 0:
		return kafkaErr(kerr.UnknownTopicOrPartition, "No such topic as %s", topic)
	case p < 0 || p >= partitions:
		return kafkaErr(kerr.UnknownTopicOrPartition, "No such partition as %s-%d", topic, p)
	}
	return kafkaErr(kerr.ElectionNotNeeded, "%s", kerr.ElectionNotNeeded.Description)
}
