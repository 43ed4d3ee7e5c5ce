package groups

// The admin requests on groups: DescribeGroups, ListGroups, DeleteGroups.

import (
	"context"
	"slices"
	"strings"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups describes groups with their members. A KIP-848 group is
// described as a classic "consumer" group would be, so admin tools read
// both alike.
func (co *Coordinator) DescribeGroups(ctx context.Context, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, name := range req.Groups {
		resp.Groups = append(resp.Groups, co.describeGroup(ctx, req.Version, name))
	}
	return resp
}

func (co *Coordinator) describeGroup(ctx context.Context, version int16, name string) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = name
	dg.AuthorizedOperations = -2147483648
	if !co.coordinates(name) {
		dg.ErrorCode = kerr.NotCoordinator.Code
		return dg
	}
	topics, err := co.topics.All(ctx)
	if err == nil {
		var gr *group
		gr, err = co.lookup(ctx, name, false)
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
		dg.ErrorCode = co.errCode(err)
		return dg
	}
	ok, err := co.groupExists(ctx, name)
	switch {
	case err != nil:
		dg.ErrorCode = co.errCode(err)
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

func (co *Coordinator) describeLocked(gr *group, dg *kmsg.DescribeGroupsResponseGroup, topics []metadata.Topic) {
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

// ListGroups lists the groups this gateway coordinates, filtered by state
// (v4) and type (v5), case-insensitively.
func (co *Coordinator) ListGroups(ctx context.Context, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	groups, err := co.listGroups(ctx)
	if err != nil {
		resp.ErrorCode = co.errCode(err)
		return resp
	}
	match := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	for _, lg := range groups {
		if !match(req.StatesFilter, lg.state) || !match(req.TypesFilter, lg.typ) {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = lg.name, lg.protocolType, lg.state, lg.typ
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

// DeleteGroups deletes empty groups with their committed offsets.
func (co *Coordinator) DeleteGroups(ctx context.Context, req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, name := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = name
		if !co.coordinates(name) {
			rg.ErrorCode = kerr.NotCoordinator.Code
		} else if err := co.deleteGroup(ctx, name); err != nil {
			rg.ErrorCode = co.errCode(err)
			if msg := co.errText(err); msg != "" {
				rg.ErrorMessage = &msg
			}
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
