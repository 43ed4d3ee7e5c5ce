package gateway

// DescribeGroups, versions 0–6.
//
// Describes groups with their members (client id, host, instance id, the
// chosen protocol's metadata and the assignment). A KIP-848 group is
// described as a classic "consumer" group would be: the protocol is its
// server assignor, and each member's metadata and assignment are encoded
// as the consumer protocol's, so admin tools (kadm lag) read it alike. A
// group with only committed offsets is Empty. An unknown group is Dead
// with no error before v6 and GROUP_ID_NOT_FOUND from v6, as in Kafka.

import (
	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeGroups, 0, 6, serveDescribeGroups) }

func serveDescribeGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, name := range req.Groups {
		resp.Groups = append(resp.Groups, c.describeGroup(req.Version, name))
	}
	return resp
}

func (c *conn) describeGroup(version int16, name string) kmsg.DescribeGroupsResponseGroup {
	co := c.g.groups
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = name
	dg.AuthorizedOperations = -2147483648
	if !c.g.coordinates(name) {
		dg.ErrorCode = kerr.NotCoordinator.Code
		return dg
	}
	topics, err := co.topicsSnapshot(c.ctx)
	if err == nil {
		var gr *group
		gr, err = co.lookup(c.ctx, name, false)
		if err == nil && gr != nil {
			co.describeLocked(gr, &dg, topics)
			co.mu.Unlock()
			return dg
		}
		if err == nil {
			co.mu.Unlock()
		}
	}
	if err != nil {
		dg.ErrorCode = errCode(err)
		return dg
	}
	ok, err := co.groupExists(c.ctx, name)
	switch {
	case err != nil:
		dg.ErrorCode = errCode(err)
	case ok:
		dg.State = groupEmpty.String()
	default:
		dg.State = groupDead.String()
		if version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			msg := "group " + name + " not found"
			dg.ErrorMessage = &msg
		}
	}
	return dg
}

func (co *groupCoordinator) describeLocked(gr *group, dg *kmsg.DescribeGroupsResponseGroup, topics []metadata.Topic) {
	dg.State = gr.stateName()
	dg.ProtocolType = gr.protocolType
	dg.Protocol = gr.protocol
	if gr.typ == groupTypeClassic {
		for _, m := range gr.sortedMembers() {
			dm := kmsg.NewDescribeGroupsResponseGroupMember()
			dm.MemberID, dm.ClientID, dm.ClientHost = m.id, m.clientID, m.host
			if m.instanceID != "" {
				id := m.instanceID
				dm.InstanceID = &id
			}
			dm.ProtocolMetadata = m.metadataFor(gr.protocol)
			dm.MemberAssignment = m.assignment
			dg.Members = append(dg.Members, dm)
		}
		return
	}
	names := topicNames(topics)
	dg.ProtocolType = "consumer"
	dg.Protocol = gr.cons.assignor
	for _, m := range gr.cons.sortedMembers() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.ClientID, dm.ClientHost = m.id, m.clientID, m.host
		if m.instanceID != "" {
			id := m.instanceID
			dm.InstanceID = &id
		}
		md := kmsg.NewConsumerMemberMetadata()
		md.Topics = m.subscribed
		dm.ProtocolMetadata = md.AppendTo(nil)
		as := kmsg.NewConsumerMemberAssignment()
		for _, t := range groupByTopic(m.assigned) {
			at := kmsg.NewConsumerMemberAssignmentTopic()
			at.Topic, at.Partitions = names[t.TopicID], t.Partitions
			as.Topics = append(as.Topics, at)
		}
		dm.MemberAssignment = as.AppendTo(nil)
		dg.Members = append(dg.Members, dm)
	}
}

func topicNames(topics []metadata.Topic) map[uuid.UUID]string {
	names := make(map[uuid.UUID]string, len(topics))
	for _, t := range topics {
		names[t.ID] = t.Name
	}
	return names
}
