package groups

// The classic group protocol's state machine (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup), as Apache Kafka's GroupCoordinator runs it:
//
//	Empty ──join──► PreparingRebalance ──all known members rejoined, or
//	the largest rebalance timeout passed──► CompletingRebalance ──leader's
//	SyncGroup──► Stable ──join with new protocols / leader rejoin / member
//	leaves or expires──► PreparingRebalance …
//
// Leaving Empty, the join phase waits group.initial.rebalance.delay.ms
// instead (initial_delay.go); a restarted static member replaces itself
// without a rebalance (static.go). Assignors run in the clients: the leader gets every member's metadata
// for the chosen protocol and sends the assignments back in SyncGroup.

import (
	"bytes"
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	errCodeNotCoordinator = kerr.NotCoordinator.Code
	errCodeUnknownMember  = kerr.UnknownMemberID.Code
	errCodeRebalancing    = kerr.RebalanceInProgress.Code
	errCodeFencedInstance = kerr.FencedInstanceID.Code
	errCodeIllegalGen     = kerr.IllegalGeneration.Code
	errCodeInconsistent   = kerr.InconsistentGroupProtocol.Code
)

// joinInfo is a JoinGroup request with the connection's client id and host.
type joinInfo struct {
	req      *kmsg.JoinGroupRequest
	clientID string
	host     string
}

func joinError(req *kmsg.JoinGroupRequest, code int16) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = req.MemberID
	return resp
}

// join serves one JoinGroup, waiting for the rebalance when it takes part
// in one.
func (co *Coordinator) join(ctx context.Context, ji joinInfo) *kmsg.JoinGroupResponse {
	req := ji.req
	if req.Group == "" {
		return joinError(req, kerr.InvalidGroupID.Code)
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	rebalance := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		rebalance = session
	}
	if session < co.set.minSession || session > co.set.maxSession {
		return joinError(req, kerr.InvalidSessionTimeout.Code)
	}
	rebalance = co.set.capRebalance(rebalance)
	if req.ProtocolType == "" || len(req.Protocols) == 0 {
		return joinError(req, errCodeInconsistent)
	}
	gr, err := co.lookup(ctx, req.Group, true)
	if err != nil {
		return joinError(req, co.errCode(err))
	}
	wait, resp := co.joinLocked(gr, ji, session, rebalance)
	co.mu.Unlock()
	if resp != nil {
		return resp
	}
	return co.awaitJoin(ctx, gr, req, wait, rebalance)
}

// joinLocked decides a JoinGroup with co.mu held: either an answer now or
// a channel that the rebalance answers.
func (co *Coordinator) joinLocked(gr *group, ji joinInfo, session, rebalance time.Duration) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	req := ji.req
	if gr.typ == groupTypeConsumer {
		if len(gr.cons.members) > 0 {
			return nil, joinError(req, errCodeInconsistent)
		}
		gr.typ = groupTypeClassic
		gr.state = groupEmpty
	}
	instance := ""
	if req.InstanceID != nil {
		instance = *req.InstanceID
	}
	if gr.state != groupEmpty && (gr.protocolType != req.ProtocolType || !gr.supports(req.MemberID, req.Protocols)) {
		return nil, joinError(req, errCodeInconsistent)
	}
	now := co.now()
	if req.MemberID == "" {
		if instance != "" {
			if oldID, ok := gr.statics[instance]; ok {
				return co.replaceStatic(gr, gr.members[oldID], ji, session, rebalance)
			}
			return co.addMember(gr, newMemberID(instance), ji, session, rebalance), nil
		}
		if req.Version >= 4 {
			// KIP-394: the member must come back with this id.
			id := newMemberID(ji.clientID)
			gr.pending[id] = now.Add(session)
			resp := joinError(req, kerr.MemberIDRequired.Code)
			resp.MemberID = id
			return nil, resp
		}
		return co.addMember(gr, newMemberID(ji.clientID), ji, session, rebalance), nil
	}
	if _, ok := gr.pending[req.MemberID]; ok {
		delete(gr.pending, req.MemberID)
		return co.addMember(gr, req.MemberID, ji, session, rebalance), nil
	}
	m, code := gr.validateMember(req.MemberID, req.InstanceID)
	if code != 0 {
		return nil, joinError(req, code)
	}
	changed := !sameProtocols(m.protocols, req.Protocols)
	co.updateMember(m, ji, session, rebalance)
	switch gr.state {
	case groupPreparingRebalance:
		w := co.awaitRebalance(m)
		co.maybeCompleteJoin(gr)
		return w, nil
	case groupCompletingRebalance:
		if !changed {
			// A resend (the response was lost): answer as before.
			return nil, co.joinResponse(gr, m)
		}
	case groupStable:
		if !changed && m.id != gr.leader {
			return nil, co.joinResponse(gr, m)
		}
	default:
		return nil, joinError(req, errCodeUnknownMember)
	}
	w := co.awaitRebalance(m)
	co.prepareRebalance(gr)
	return w, nil
}

// awaitJoin waits for the rebalance to answer; a stopped coordinator, a
// client that went away (ctx) or a rebalance that outlives the member's
// rebalance timeout (or the initial delay, when longer) answers for it.
func (co *Coordinator) awaitJoin(ctx context.Context, gr *group, req *kmsg.JoinGroupRequest, wait chan *kmsg.JoinGroupResponse, rebalance time.Duration) *kmsg.JoinGroupResponse {
	timer := time.NewTimer(max(rebalance, co.set.initialDelay) + 5*time.Second)
	defer timer.Stop()
	select {
	case resp := <-wait:
		return resp
	case <-co.stop:
		return joinError(req, errCodeNotCoordinator)
	case <-ctx.Done():
	case <-timer.C:
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	select {
	case resp := <-wait:
		return resp
	default:
	}
	for _, m := range gr.members {
		if m.join == wait {
			m.join = nil
		}
	}
	return joinError(req, errCodeRebalancing)
}

func (co *Coordinator) updateMember(m *member, ji joinInfo, session, rebalance time.Duration) {
	m.protocols = ji.req.Protocols
	m.clientID, m.host = ji.clientID, ji.host
	m.session, m.rebalance = session, rebalance
	m.expires = co.now().Add(session)
}

func (co *Coordinator) addMember(gr *group, id string, ji joinInfo, session, rebalance time.Duration) chan *kmsg.JoinGroupResponse {
	gr.joinSeq++
	m := &member{id: id, joinedAt: gr.joinSeq}
	if ji.req.InstanceID != nil {
		m.instanceID = *ji.req.InstanceID
		gr.statics[m.instanceID] = id
	}
	co.updateMember(m, ji, session, rebalance)
	if gr.state == groupEmpty {
		gr.protocolType = ji.req.ProtocolType
	}
	gr.members[id] = m
	w := co.awaitRebalance(m)
	if gr.state == groupPreparingRebalance {
		gr.noteInitialJoiner()
		co.maybeCompleteJoin(gr)
	} else {
		co.prepareRebalance(gr)
	}
	return w
}

func (co *Coordinator) awaitRebalance(m *member) chan *kmsg.JoinGroupResponse {
	if m.join != nil {
		// A second JoinGroup from the same member replaces the first.
		co.answerJoinErr(m, errCodeRebalancing)
	}
	m.join = make(chan *kmsg.JoinGroupResponse, 1)
	return m.join
}

// supports reports whether every other member also supports one of protos.
func (gr *group) supports(self string, protos []kmsg.JoinGroupRequestProtocol) bool {
	for _, p := range protos {
		all := true
		for _, m := range gr.members {
			if m.id != self && !hasProtocol(m.protocols, p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func hasProtocol(ps []kmsg.JoinGroupRequestProtocol, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

func sameProtocols(a, b []kmsg.JoinGroupRequestProtocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Metadata, b[i].Metadata) {
			return false
		}
	}
	return true
}

// prepareRebalance starts a join phase: members have up to the largest
// rebalance timeout to rejoin. The first one of an empty group waits
// group.initial.rebalance.delay.ms for more members instead.
func (co *Coordinator) prepareRebalance(gr *group) {
	if gr.state == groupCompletingRebalance {
		for _, m := range gr.members {
			m.assignment = nil
			co.answerSync(m, syncResult{code: errCodeRebalancing})
		}
	}
	wasEmpty := gr.state == groupEmpty
	gr.state = groupPreparingRebalance
	if wasEmpty && co.startInitialJoin(gr, gr.maxRebalance()) {
		return
	}
	gr.joinDeadline = co.now().Add(gr.maxRebalance())
	co.maybeCompleteJoin(gr)
}

func (gr *group) maxRebalance() time.Duration {
	var d time.Duration
	for _, m := range gr.members {
		d = max(d, m.rebalance)
	}
	return d
}

// allJoined reports whether every known member has rejoined and no member
// id handed out is still expected.
func (gr *group) allJoined() bool {
	if len(gr.pending) > 0 {
		return false
	}
	for _, m := range gr.members {
		if m.join == nil {
			return false
		}
	}
	return true
}

// maybeCompleteJoin ends the join phase early once all have joined, when
// a member joins; a delayed first join phase waits its delay out.
func (co *Coordinator) maybeCompleteJoin(gr *group) {
	if gr.state == groupPreparingRebalance && !gr.initial.active && gr.allJoined() {
		co.completeJoin(gr)
	}
}

// completeJoinAfterRemoval ends the join phase once the members left have
// all joined, when a member or an expected member id goes away. As in
// Kafka, this ends a delayed first join phase too.
func (co *Coordinator) completeJoinAfterRemoval(gr *group) {
	if gr.state == groupPreparingRebalance && gr.allJoined() {
		co.completeJoin(gr)
	}
}

// completeJoin ends the join phase: dynamic members that did not rejoin
// are removed, the generation goes up, the protocol is chosen and every
// waiting member is answered; the leader gets the members' metadata.
// Static members that did not rejoin stay, with their assignment, until
// their session expires: a restarting one comes back to its place. When
// only such members are left, the join phase waits another rebalance
// timeout. Member ids handed out with MEMBER_ID_REQUIRED stay valid until
// their session passes, as in Kafka: a second JoinGroup that comes just
// after the phase joins the next one instead of being refused.
func (co *Coordinator) completeJoin(gr *group) {
	gr.initial = initialJoin{}
	for _, m := range gr.members {
		if m.join == nil && m.instanceID == "" {
			co.dropMember(gr, m)
		}
	}
	if !gr.electJoinedLeader() {
		co.log.Info("no group member rejoined; waiting for the static members", "group", gr.name)
		gr.joinDeadline = co.now().Add(gr.maxRebalance())
		return
	}
	gr.generation++
	co.markDirty(gr)
	if len(gr.members) == 0 {
		gr.state = groupEmpty
		gr.protocol, gr.leader = "", ""
		gr.emptySince = co.now()
		return
	}
	gr.protocol = gr.selectProtocol()
	gr.state = groupCompletingRebalance
	now := co.now()
	for _, m := range gr.members {
		if m.join == nil {
			continue
		}
		m.join <- co.joinResponse(gr, m)
		m.join = nil
		m.expires = now.Add(m.session)
	}
}

// electJoinedLeader keeps the leader if it rejoined and otherwise makes
// the earliest member that rejoined the leader. It reports false when
// members are left but none rejoined.
func (gr *group) electJoinedLeader() bool {
	if len(gr.members) == 0 {
		return true
	}
	if l := gr.members[gr.leader]; l != nil && l.join != nil {
		return true
	}
	for _, m := range gr.sortedMembers() {
		if m.join != nil {
			gr.leader = m.id
			return true
		}
	}
	return false
}

// selectProtocol is the first protocol in the leader's preference order
// that every member supports.
func (gr *group) selectProtocol() string {
	leader := gr.members[gr.leader]
	for _, p := range leader.protocols {
		all := true
		for _, m := range gr.members {
			if !hasProtocol(m.protocols, p.Name) {
				all = false
				break
			}
		}
		if all {
			return p.Name
		}
	}
	return leader.protocols[0].Name
}

// joinResponse is the current generation as m sees it; the leader gets
// every member's metadata. The handler sets the version.
func (co *Coordinator) joinResponse(gr *group, m *member) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Generation = gr.generation
	pt, p := gr.protocolType, gr.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.LeaderID = gr.leader
	resp.MemberID = m.id
	if m.id == gr.leader {
		for _, o := range gr.sortedMembers() {
			jm := kmsg.NewJoinGroupResponseMember()
			jm.MemberID = o.id
			if o.instanceID != "" {
				id := o.instanceID
				jm.InstanceID = &id
			}
			jm.ProtocolMetadata = o.metadataFor(gr.protocol)
			resp.Members = append(resp.Members, jm)
		}
	}
	return resp
}

func (co *Coordinator) answerJoinErr(m *member, code int16) {
	if m.join == nil {
		return
	}
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = m.id
	m.join <- resp
	m.join = nil
}

func (co *Coordinator) answerSync(m *member, r syncResult) {
	if m.sync == nil {
		return
	}
	m.sync <- r
	m.sync = nil
}

// dropMember removes m without starting a rebalance.
func (co *Coordinator) dropMember(gr *group, m *member) {
	co.answerJoinErr(m, errCodeUnknownMember)
	co.answerSync(m, syncResult{code: errCodeUnknownMember})
	delete(gr.members, m.id)
	if m.instanceID != "" && gr.statics[m.instanceID] == m.id {
		delete(gr.statics, m.instanceID)
	}
	if gr.leader == m.id {
		gr.leader = ""
	}
	co.markDirty(gr)
}

// removeMember removes m (left or expired) and rebalances the rest.
func (co *Coordinator) removeMember(gr *group, m *member) {
	co.dropMember(gr, m)
	switch gr.state {
	case groupStable, groupCompletingRebalance:
		co.prepareRebalance(gr)
	case groupPreparingRebalance:
		co.completeJoinAfterRemoval(gr)
	}
}

// validateMember checks a member id / instance id pair as Kafka does: an
// instance id must be known and map to the member id, which otherwise
// belongs to a replaced incarnation (FENCED_INSTANCE_ID).
func (gr *group) validateMember(memberID string, instanceID *string) (*member, int16) {
	if instanceID != nil {
		id, ok := gr.statics[*instanceID]
		if !ok {
			return nil, errCodeUnknownMember
		}
		if id != memberID {
			return nil, errCodeFencedInstance
		}
	}
	m := gr.members[memberID]
	if m == nil {
		return nil, errCodeUnknownMember
	}
	return m, 0
}

// checkMember validates a member id / instance id pair and the
// generation, as SyncGroup, Heartbeat and OffsetCommit do.
func (gr *group) checkMember(memberID string, instanceID *string, generation int32) (*member, int16) {
	m, code := gr.validateMember(memberID, instanceID)
	if code != 0 {
		return nil, code
	}
	if generation != gr.generation {
		return m, errCodeIllegalGen
	}
	return m, 0
}

// syncGroup serves SyncGroup: the leader's assignments complete the
// rebalance; the others wait for them.
func (co *Coordinator) syncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	gr, err := co.lookup(ctx, req.Group, false)
	if err != nil {
		resp.ErrorCode = co.errCode(err)
		return resp
	}
	if gr == nil || gr.typ != groupTypeClassic {
		co.mu.Unlock()
		resp.ErrorCode = errCodeUnknownMember
		return resp
	}
	m, code := gr.checkMember(req.MemberID, req.InstanceID, req.Generation)
	if code == 0 && ((req.ProtocolType != nil && *req.ProtocolType != gr.protocolType) || (req.Protocol != nil && *req.Protocol != gr.protocol)) {
		code = errCodeInconsistent
	}
	if code != 0 {
		co.mu.Unlock()
		resp.ErrorCode = code
		return resp
	}
	pt, p := gr.protocolType, gr.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	m.expires = co.now().Add(m.session)
	switch gr.state {
	case groupPreparingRebalance:
		co.mu.Unlock()
		resp.ErrorCode = errCodeRebalancing
		return resp
	case groupStable:
		resp.MemberAssignment = m.assignment
		co.mu.Unlock()
		return resp
	case groupCompletingRebalance:
	default:
		co.mu.Unlock()
		resp.ErrorCode = errCodeUnknownMember
		return resp
	}
	co.answerSync(m, syncResult{code: errCodeRebalancing})
	wait := make(chan syncResult, 1)
	m.sync = wait
	if m.id == gr.leader {
		given := map[string][]byte{}
		for _, a := range req.GroupAssignment {
			given[a.MemberID] = a.MemberAssignment
		}
		for _, o := range gr.members {
			o.assignment = given[o.id]
			co.answerSync(o, syncResult{assignment: o.assignment})
		}
		gr.state = groupStable
		co.markDirty(gr)
	}
	co.mu.Unlock()

	timer := time.NewTimer(m.rebalance + 5*time.Second)
	defer timer.Stop()
	var r syncResult
	select {
	case r = <-wait:
	case <-co.stop:
		r.code = errCodeNotCoordinator
	case <-ctx.Done(): // the client went away: stop waiting for it
		r = co.abandonSync(m, wait)
	case <-timer.C:
		r = co.abandonSync(m, wait)
	}
	resp.ErrorCode = r.code
	resp.MemberAssignment = r.assignment
	return resp
}

// abandonSync stops a SyncGroup's wait: it takes the answer if one came
// meanwhile, and REBALANCE_IN_PROGRESS otherwise.
func (co *Coordinator) abandonSync(m *member, wait chan syncResult) syncResult {
	co.mu.Lock()
	defer co.mu.Unlock()
	select {
	case r := <-wait:
		return r
	default:
		if m.sync == wait {
			m.sync = nil
		}
		return syncResult{code: errCodeRebalancing}
	}
}

// heartbeat serves Heartbeat: it keeps the member's session alive and
// tells it when to rejoin.
func (co *Coordinator) heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) int16 {
	gr, err := co.lookup(ctx, req.Group, false)
	if err != nil {
		return co.errCode(err)
	}
	defer co.mu.Unlock()
	if gr == nil || gr.typ != groupTypeClassic {
		return errCodeUnknownMember
	}
	m, code := gr.checkMember(req.MemberID, req.InstanceID, req.Generation)
	if m != nil {
		m.expires = co.now().Add(m.session)
	}
	if code != 0 {
		return code
	}
	switch gr.state {
	case groupPreparingRebalance:
		return errCodeRebalancing
	case groupEmpty:
		return errCodeUnknownMember
	}
	return 0
}

// leave serves LeaveGroup for a batch of members (one before v3). An
// empty member id with an instance id names the static member.
func (co *Coordinator) leave(ctx context.Context, group string, members []kmsg.LeaveGroupRequestMember) (int16, []int16) {
	codes := make([]int16, len(members))
	gr, err := co.lookup(ctx, group, false)
	if err != nil {
		return co.errCode(err), codes
	}
	defer co.mu.Unlock()
	if gr == nil || gr.typ != groupTypeClassic {
		for i := range codes {
			codes[i] = errCodeUnknownMember
		}
		return 0, codes
	}
	for i, lm := range members {
		id := lm.MemberID
		if lm.InstanceID != nil {
			cur, ok := gr.statics[*lm.InstanceID]
			switch {
			case !ok:
				codes[i] = errCodeUnknownMember
				continue
			case id != "" && id != cur:
				codes[i] = errCodeFencedInstance
				continue
			}
			id = cur
		}
		m := gr.members[id]
		if m == nil {
			if _, ok := gr.pending[id]; ok {
				delete(gr.pending, id)
				co.completeJoinAfterRemoval(gr)
				continue
			}
			codes[i] = errCodeUnknownMember
			continue
		}
		co.log.Info("group member left", "group", group, "member", id)
		co.removeMember(gr, m)
	}
	return 0, codes
}
