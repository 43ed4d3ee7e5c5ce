package groups

// Static membership (KIP-345): a member with a group.instance.id keeps its
// place in the group across restarts. A restarted member rejoins without
// its member id; it gets a new one and takes over its old incarnation's
// assignment, and the old id is fenced (FENCED_INSTANCE_ID) so that a
// zombie of the old process cannot act for it. As Kafka's
// updateStaticMemberThenRebalanceOrCompleteJoin does, a Stable group keeps
// its generation and assignments unless the protocol it would select
// changes, so the other members see no rebalance.

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// replaceStatic serves a static member, known as old, that rejoins
// without its member id.
func (co *Coordinator) replaceStatic(gr *group, old *member, ji joinInfo, session, rebalance time.Duration) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	oldLeader := gr.leader
	co.answerJoinErr(old, errCodeFencedInstance)
	co.answerSync(old, syncResult{code: errCodeFencedInstance})
	delete(gr.members, old.id)
	m := &member{id: newMemberID(old.instanceID), instanceID: old.instanceID, assignment: old.assignment, joinedAt: old.joinedAt}
	co.updateMember(m, ji, session, rebalance)
	gr.members[m.id] = m
	gr.statics[m.instanceID] = m.id
	if gr.leader == old.id {
		gr.leader = m.id
	}
	co.markDirty(gr)
	co.log.Info("static group member replaced", "group", gr.name, "instance", m.instanceID, "old", old.id, "new", m.id)
	switch gr.state {
	case groupStable:
		if gr.selectProtocol() == gr.protocol {
			return nil, staticRejoinResponse(co.joinResponse(gr, m), oldLeader, ji.req.Version)
		}
	case groupPreparingRebalance:
		w := co.awaitRebalance(m)
		co.maybeCompleteJoin(gr)
		return w, nil
	}
	// In CompletingRebalance the leader may already be assigning to the
	// old id, which would leave the new one without partitions: rebalance.
	w := co.awaitRebalance(m)
	co.prepareRebalance(gr)
	return w, nil
}

// staticRejoinResponse adapts the current generation's JoinGroup answer
// for a static member that replaced itself without a rebalance. From v9
// (KIP-814) a returning leader is told it leads, gets the members'
// metadata so that it can watch their subscriptions, and skips the
// assignment: the group keeps the one it has. Before v9 the response
// cannot say that, so it names the old leader id and no members: the
// returning leader syncs as a follower and gets its assignment back.
func staticRejoinResponse(resp *kmsg.JoinGroupResponse, oldLeader string, version int16) *kmsg.JoinGroupResponse {
	if version >= 9 {
		resp.SkipAssignment = resp.LeaderID == resp.MemberID
		return resp
	}
	resp.LeaderID, resp.Members = oldLeader, nil
	return resp
}
