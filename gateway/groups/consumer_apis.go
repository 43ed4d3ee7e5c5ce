package groups

// KIP-848's requests: ConsumerGroupHeartbeat and ConsumerGroupDescribe.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerGroupHeartbeat joins, heartbeats or leaves a KIP-848 group.
func (co *Coordinator) ConsumerGroupHeartbeat(ctx context.Context, req *kmsg.ConsumerGroupHeartbeatRequest, client Client) *kmsg.ConsumerGroupHeartbeatResponse {
	if !co.coordinates(req.Group) {
		resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	return co.consumerHeartbeat(ctx, heartbeatInfo{req: req, clientID: client.ID, host: client.Host})
}

// ConsumerGroupDescribe describes KIP-848 groups.
func (co *Coordinator) ConsumerGroupDescribe(ctx context.Context, req *kmsg.ConsumerGroupDescribeRequest) *kmsg.ConsumerGroupDescribeResponse {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	for _, name := range req.Groups {
		resp.Groups = append(resp.Groups, co.describeConsumerGroup(ctx, name))
	}
	return resp
}

func (co *Coordinator) describeConsumerGroup(ctx context.Context, name string) kmsg.ConsumerGroupDescribeResponseGroup {
	dg := kmsg.NewConsumerGroupDescribeResponseGroup()
	dg.Group = name
	dg.AuthorizedOperations = -2147483648
	fail := func(code int16, msg string) kmsg.ConsumerGroupDescribeResponseGroup {
		dg.ErrorCode = code
		if msg != "" {
			dg.ErrorMessage = &msg
		}
		return dg
	}
	if !co.coordinates(name) {
		return fail(kerr.NotCoordinator.Code, "not the coordinator of "+name)
	}
	topics, err := co.topics.All(ctx)
	if err != nil {
		return fail(co.errCode(err), co.errText(err))
	}
	gr, err := co.lookup(ctx, name, false)
	if err != nil {
		return fail(co.errCode(err), co.errText(err))
	}
	defer co.mu.Unlock()
	if gr == nil || gr.typ != groupTypeConsumer {
		return fail(kerr.GroupIDNotFound.Code, "group "+name+" is not a consumer group")
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
	return dg
}
