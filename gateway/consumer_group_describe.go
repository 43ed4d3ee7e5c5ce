package gateway

// ConsumerGroupDescribe, versions 0–1 (KIP-848).
//
// Describes KIP-848 groups: state (Empty, Assigning, Reconciling,
// Stable), group and assignment epochs, the assignor, and per member its
// epoch, subscription, current and target assignments. A group that does
// not exist or is a classic group gets GROUP_ID_NOT_FOUND.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ConsumerGroupDescribe, 0, 1, serveConsumerGroupDescribe) }

func serveConsumerGroupDescribe(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ConsumerGroupDescribeRequest)
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	co := c.g.groups
	for _, name := range req.Groups {
		dg := kmsg.NewConsumerGroupDescribeResponseGroup()
		dg.Group = name
		dg.AuthorizedOperations = -2147483648
		fail := func(err error) {
			dg.ErrorCode, dg.ErrorMessage = errCode(err), errMessage(err)
		}
		if !c.g.coordinates(name) {
			fail(kafkaErr(kerr.NotCoordinator, "not the coordinator of %s", name))
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		topics, err := co.topicsSnapshot(c.ctx)
		if err != nil {
			fail(err)
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		gr, err := co.lookup(c.ctx, name, false)
		if err != nil {
			fail(err)
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		if gr == nil || gr.typ != groupTypeConsumer {
			co.mu.Unlock()
			fail(kafkaErr(kerr.GroupIDNotFound, "group %s is not a consumer group", name))
			resp.Groups = append(resp.Groups, dg)
			continue
		}
		names := topicNames(topics)
		assignment := func(s partSet) kmsg.Assignment {
			var a kmsg.Assignment
			for _, t := range groupByTopic(s) {
				atp := kmsg.AssignmentTopicPartition{TopicID: t.TopicID, Topic: names[t.TopicID], Partitions: t.Partitions}
				a.TopicPartitions = append(a.TopicPartitions, atp)
			}
			return a
		}
		cg := gr.cons
		dg.State = gr.stateName()
		dg.Epoch, dg.AssignmentEpoch, dg.AssignorName = cg.epoch, cg.targetEpoch, cg.assignor
		for _, m := range cg.sortedMembers() {
			dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
			dm.MemberID, dm.MemberEpoch, dm.ClientID, dm.ClientHost = m.id, m.epoch, m.clientID, m.host
			if m.instanceID != "" {
				id := m.instanceID
				dm.InstanceID = &id
			}
			if m.rack != "" {
				rack := m.rack
				dm.RackID = &rack
			}
			dm.SubscribedTopics = m.subscribed
			if m.regex != "" {
				re := m.regex
				dm.SubscribedTopicRegex = &re
			}
			dm.Assignment = assignment(m.assigned)
			dm.TargetAssignment = assignment(cg.target[m.id])
			dm.MemberType = 1
			dg.Members = append(dg.Members, dm)
		}
		co.mu.Unlock()
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}
