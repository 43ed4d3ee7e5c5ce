package groups

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/test/testclock"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fixedTopics are the topics a test's coordinator sees.
type fixedTopics []metadata.Topic

func (ts fixedTopics) ByName(_ context.Context, name string) (metadata.Topic, error) {
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return metadata.Topic{}, metadata.ErrUnknownTopic
}

func (ts fixedTopics) All(context.Context) ([]metadata.Topic, error) { return ts, nil }

// testCoordinator is a coordinator whose timers only the test fires.
func testCoordinator(t *testing.T) (*Coordinator, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Unix(1_700_000_000, 0))
	bc, err := topicconfig.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	co := New(Config{Broker: bc, Now: clk.Now, Registerer: prometheus.NewRegistry(),
		Coordinates: func(string) bool { return true }})
	co.gs = newMemGroupStore()
	return co, clk
}

func joinReq(group, member string, protos ...string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 9
	req.Group, req.MemberID, req.ProtocolType = group, member, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 30000
	for _, p := range protos {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte(p)})
	}
	return req
}

// joinAsync starts a JoinGroup and returns its eventual response.
func joinAsync(co *Coordinator, req *kmsg.JoinGroupRequest) chan *kmsg.JoinGroupResponse {
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { ch <- co.join(context.Background(), joinInfo{req: req, clientID: "c"}) }()
	return ch
}

func recv(t *testing.T, ch chan *kmsg.JoinGroupResponse) *kmsg.JoinGroupResponse {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("join did not complete")
		return nil
	}
}

// joinNew does the two-step v4+ join of a new member.
func joinNew(t *testing.T, co *Coordinator, group string, protos ...string) (string, chan *kmsg.JoinGroupResponse) {
	t.Helper()
	r := co.join(context.Background(), joinInfo{req: joinReq(group, "", protos...)})
	if r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		t.Fatalf("first join: code %d member %q, want MEMBER_ID_REQUIRED", r.ErrorCode, r.MemberID)
	}
	return r.MemberID, joinAsync(co, joinReq(group, r.MemberID, protos...))
}

// waitJoining waits until the group's member count awaiting join is n.
func waitJoining(t *testing.T, co *Coordinator, name string, n int) {
	t.Helper()
	for range 500 {
		co.mu.Lock()
		k := 0
		if gr := co.groups.get(name); gr != nil {
			for _, m := range gr.members {
				if m.join != nil {
					k++
				}
			}
		}
		co.mu.Unlock()
		if k == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("never %d members awaiting join", n)
}

func state(co *Coordinator, name string) (groupState, int32) {
	co.mu.Lock()
	defer co.mu.Unlock()
	gr := co.groups.get(name)
	return gr.state, gr.generation
}

func syncReq(group, member string, gen int32, assign map[string]string) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation = group, member, gen
	for m, a := range assign {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte(a)})
	}
	return req
}

func TestClassicGroupLifecycle(t *testing.T) {
	co, clk := testCoordinator(t)
	ctx := context.Background()
	a, aw := joinNew(t, co, "g", "range", "roundrobin")
	ra := recv(t, aw)
	if ra.ErrorCode != 0 || ra.Generation != 1 || ra.LeaderID != a || *ra.Protocol != "range" || len(ra.Members) != 1 {
		t.Fatalf("first member's join: %+v", ra)
	}
	if s, _ := state(co, "g"); s != groupCompletingRebalance {
		t.Fatalf("state %v, want CompletingRebalance", s)
	}
	if sr := co.syncGroup(ctx, syncReq("g", a, 1, map[string]string{a: "A"})); sr.ErrorCode != 0 || string(sr.MemberAssignment) != "A" {
		t.Fatalf("leader sync: %+v", sr)
	}
	// A second member that prefers roundrobin: the leader's preference
	// among the common protocols wins.
	b, bw := joinNew(t, co, "g", "roundrobin", "range")
	waitJoining(t, co, "g", 1)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "g", a, 1
	if code := co.heartbeat(ctx, hb); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during rebalance: %d", code)
	}
	aw = joinAsync(co, joinReq("g", a, "range", "roundrobin"))
	ra, rb := recv(t, aw), recv(t, bw)
	if ra.Generation != 2 || rb.Generation != 2 || *ra.Protocol != "range" || len(ra.Members) != 2 || len(rb.Members) != 0 || rb.LeaderID != a {
		t.Fatalf("rebalance: leader %+v, follower %+v", ra, rb)
	}
	// Follower waits for the leader's sync.
	done := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { done <- co.syncGroup(ctx, syncReq("g", b, 2, nil)) }()
	if sr := co.syncGroup(ctx, syncReq("g", a, 2, map[string]string{a: "A2", b: "B2"})); sr.ErrorCode != 0 {
		t.Fatalf("leader sync: %d", sr.ErrorCode)
	}
	if sr := <-done; sr.ErrorCode != 0 || string(sr.MemberAssignment) != "B2" {
		t.Fatalf("follower sync: %+v", sr)
	}
	if s, _ := state(co, "g"); s != groupStable {
		t.Fatalf("state %v, want Stable", s)
	}
	// Stale generation, unknown member.
	hb.Generation = 1
	if code := co.heartbeat(ctx, hb); code != kerr.IllegalGeneration.Code {
		t.Fatalf("stale heartbeat: %d", code)
	}
	hb.MemberID, hb.Generation = "nobody", 2
	if code := co.heartbeat(ctx, hb); code != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member heartbeat: %d", code)
	}
	// b's session expires: a rebalance starts, a rejoins alone.
	clk.Add(6 * time.Second)
	hb.MemberID = a
	if code := co.heartbeat(ctx, hb); code != 0 {
		t.Fatalf("heartbeat: %d", code)
	}
	clk.Add(6 * time.Second)
	co.tick(clk.Now())
	if s, _ := state(co, "g"); s != groupPreparingRebalance {
		t.Fatalf("after expiry state %v", s)
	}
	ra = recv(t, joinAsync(co, joinReq("g", a, "range", "roundrobin")))
	if ra.Generation != 3 || len(ra.Members) != 1 {
		t.Fatalf("after expiry: %+v", ra)
	}
	// Leaving empties the group; the generation still goes up.
	code, codes := co.leave(ctx, "g", []kmsg.LeaveGroupRequestMember{{MemberID: a}, {MemberID: "nobody"}})
	if code != 0 || codes[0] != 0 || codes[1] != kerr.UnknownMemberID.Code {
		t.Fatalf("leave: %d %v", code, codes)
	}
	if s, gen := state(co, "g"); s != groupEmpty || gen != 4 {
		t.Fatalf("after leave: %v gen %d", s, gen)
	}
}

func TestJoinPhaseWaitsForRebalanceTimeout(t *testing.T) {
	co, clk := testCoordinator(t)
	_, aw := joinNew(t, co, "g", "range")
	recv(t, aw)
	// Sessions longer than the rebalance timeout, so that only the
	// latter ends the join phase.
	r := co.join(context.Background(), joinInfo{req: joinReq("g", "", "range")})
	breq := joinReq("g", r.MemberID, "range")
	breq.SessionTimeoutMillis = 120000
	b, bw := r.MemberID, joinAsync(co, breq)
	waitJoining(t, co, "g", 1)
	co.mu.Lock()
	for _, m := range co.groups.get("g").members {
		m.expires = clk.Now().Add(time.Hour)
	}
	co.mu.Unlock()
	// a never rejoins: the join phase ends at the rebalance timeout.
	clk.Add(29 * time.Second)
	co.tick(clk.Now())
	select {
	case <-bw:
		t.Fatal("join completed before the rebalance timeout")
	case <-time.After(50 * time.Millisecond):
	}
	clk.Add(2 * time.Second)
	co.tick(clk.Now())
	rb := recv(t, bw)
	if rb.Generation != 2 || rb.LeaderID != b || len(rb.Members) != 1 {
		t.Fatalf("after timeout: %+v", rb)
	}
}

func TestStaticMemberReplaced(t *testing.T) {
	co, _ := testCoordinator(t)
	ctx := context.Background()
	static := func(member string) *kmsg.JoinGroupRequest {
		r := joinReq("g", member, "range")
		id := "instance-1"
		r.InstanceID = &id
		return r
	}
	_, lw := joinNew(t, co, "g", "range") // leader, dynamic
	leader := recv(t, lw)
	ow := joinAsync(co, static(""))
	waitJoining(t, co, "g", 1)
	la := recv(t, joinAsync(co, joinReq("g", leader.MemberID, "range")))
	old := recv(t, ow)
	co.syncGroup(ctx, syncReq("g", la.MemberID, la.Generation, map[string]string{la.MemberID: "L", old.MemberID: "S"}))
	_, gen := state(co, "g")
	// A new incarnation with the same instance id and protocols: a new
	// member id, same generation, no rebalance.
	r := recv(t, joinAsync(co, static("")))
	if r.ErrorCode != 0 || r.Generation != gen || r.MemberID == old.MemberID {
		t.Fatalf("replacement join: %+v (old %s gen %d)", r, old.MemberID, gen)
	}
	if s, _ := state(co, "g"); s != groupStable {
		t.Fatalf("state %v, want Stable", s)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	id := "instance-1"
	hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "g", old.MemberID, gen, &id
	if code := co.heartbeat(ctx, hb); code != kerr.FencedInstanceID.Code {
		t.Fatalf("old incarnation heartbeat: %d, want FENCED_INSTANCE_ID", code)
	}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 8
	commit.Group, commit.MemberID, commit.Generation, commit.InstanceID = "g", old.MemberID, gen, &id
	if code := co.commitCheck(ctx, commit, nil); code != kerr.FencedInstanceID.Code {
		t.Fatalf("old incarnation commit: %d", code)
	}
	commit.MemberID, commit.Generation = r.MemberID, gen-1
	if code := co.commitCheck(ctx, commit, nil); code != kerr.IllegalGeneration.Code {
		t.Fatalf("stale commit: %d", code)
	}
}

func TestRestoreRaisesGeneration(t *testing.T) {
	co, _ := testCoordinator(t)
	a, aw := joinNew(t, co, "g", "range")
	ra := recv(t, aw)
	co.syncGroup(context.Background(), syncReq("g", a, ra.Generation, map[string]string{a: "A"}))
	co.persist(context.Background())
	// A new coordinator on the same group store.
	co2, _ := testCoordinator(t)
	co2.gs = co.gs
	r := recv(t, joinAsync(co2, joinReq("g", a, "range")))
	if r.ErrorCode != 0 || r.Generation != ra.Generation+1 || r.MemberID != a {
		t.Fatalf("rejoin after restart: %+v, had generation %d", r, ra.Generation)
	}
}

func TestAssignors(t *testing.T) {
	t1, t2 := uuid.New(), uuid.New()
	both := map[uuid.UUID]bool{t1: true, t2: true}
	mk := func(n int, topics map[uuid.UUID]bool) []assignMember {
		var ms []assignMember
		for i := range n {
			ms = append(ms, assignMember{id: fmt.Sprintf("m%d", i), topics: topics})
		}
		return ms
	}
	for _, tc := range []struct {
		name     string
		assignor string
		spec     assignSpec
		counts   []int
	}{
		{"uniform balanced", "uniform", assignSpec{members: mk(3, both), partitions: map[uuid.UUID]int32{t1: 8, t2: 8}}, []int{6, 5, 5}},
		{"uniform more members than partitions", "uniform", assignSpec{members: mk(4, both), partitions: map[uuid.UUID]int32{t1: 2, t2: 1}}, []int{1, 1, 1, 0}},
		{"range per topic", "range", assignSpec{members: mk(3, both), partitions: map[uuid.UUID]int32{t1: 4, t2: 4}}, []int{4, 2, 2}},
		{"no members", "uniform", assignSpec{partitions: map[uuid.UUID]int32{t1: 4}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := assignors[tc.assignor](tc.spec)
			seen := partSet{}
			var counts []int
			for _, m := range tc.spec.members {
				counts = append(counts, len(out[m.id]))
				for p := range out[m.id] {
					if _, dup := seen[p]; dup {
						t.Fatalf("partition %v assigned twice", p)
					}
					seen[p] = struct{}{}
				}
			}
			if fmt.Sprint(sortedDesc(counts)) != fmt.Sprint(tc.counts) && !(len(counts) == 0 && tc.counts == nil) {
				t.Fatalf("counts %v, want %v", counts, tc.counts)
			}
		})
	}
	// Uniform is sticky: a third member takes only what balance requires.
	ms := mk(2, both)
	first := assignUniform(assignSpec{members: ms, partitions: map[uuid.UUID]int32{t1: 6, t2: 6}})
	ms = mk(3, both)
	ms[0].prev, ms[1].prev = first["m0"], first["m1"]
	second := assignUniform(assignSpec{members: ms, partitions: map[uuid.UUID]int32{t1: 6, t2: 6}})
	moved := 0
	for _, id := range []string{"m0", "m1"} {
		for p := range first[id] {
			if _, ok := second[id][p]; !ok {
				moved++
			}
		}
	}
	if moved != 4 || len(second["m2"]) != 4 {
		t.Fatalf("sticky: %d partitions moved, new member got %d; want 4 and 4", moved, len(second["m2"]))
	}
}

func sortedDesc(xs []int) []int {
	out := append([]int(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] > out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestConsumerRevokeBeforeAssign drives two KIP-848 members by hand: the
// second member gets a partition only after the first acknowledges that
// it gave it up.
func TestConsumerRevokeBeforeAssign(t *testing.T) {
	co, clk := testCoordinator(t)
	topic := uuid.New()
	co.topics = fixedTopics{{ID: topic, Name: "t", Partitions: 4}}
	hb := func(member string, epoch int32, owned []int32) *kmsg.ConsumerGroupHeartbeatResponse {
		req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		req.Version = 1
		req.Group, req.MemberID, req.MemberEpoch = "cg", member, epoch
		if epoch == 0 {
			req.SubscribedTopicNames = []string{"t"}
		}
		if owned != nil {
			req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: topic, Partitions: owned}}
		}
		return co.consumerHeartbeat(context.Background(), heartbeatInfo{req: req})
	}
	parts := func(r *kmsg.ConsumerGroupHeartbeatResponse) []int32 {
		if r.Assignment == nil {
			return nil
		}
		var out []int32
		for _, t := range r.Assignment.Topics {
			out = append(out, t.Partitions...)
		}
		return out
	}
	r := hb("a", 0, nil)
	if r.ErrorCode != 0 || r.MemberEpoch < 1 || len(parts(r)) != 4 {
		t.Fatalf("a joins: %+v %v", r, parts(r))
	}
	ea := r.MemberEpoch
	rb := hb("b", 0, nil)
	if rb.MemberEpoch <= ea || len(parts(rb)) != 0 {
		t.Fatalf("b joins: epoch %d parts %v; want a newer epoch and nothing yet", rb.MemberEpoch, parts(rb))
	}
	eb := rb.MemberEpoch
	// a is told to keep two partitions, still at its epoch.
	r = hb("a", ea, []int32{0, 1, 2, 3})
	if r.MemberEpoch != ea || len(parts(r)) != 2 {
		t.Fatalf("a revoking: epoch %d parts %v", r.MemberEpoch, parts(r))
	}
	kept := parts(r)
	// b still gets nothing while a owns them.
	if rb = hb("b", eb, []int32{}); len(parts(rb)) != 0 {
		t.Fatalf("b got %v before a released them", parts(rb))
	}
	// a acknowledges: the new epoch; then b gets the released two.
	r = hb("a", ea, kept)
	if r.MemberEpoch != eb {
		t.Fatalf("a after ack: epoch %d, want %d", r.MemberEpoch, eb)
	}
	rb = hb("b", eb, []int32{})
	if len(parts(rb)) != 2 {
		t.Fatalf("b after release: parts %v", parts(rb))
	}
	// Wrong epochs and unknown members.
	if r := hb("a", eb+5, kept); r.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("future epoch: %d", r.ErrorCode)
	}
	if r := hb("zz", eb, nil); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %d", r.ErrorCode)
	}
	// b leaves; a's session then expires.
	if r := hb("b", -1, nil); r.ErrorCode != 0 || r.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", r)
	}
	clk.Add(46 * time.Second)
	co.tick(clk.Now())
	co.mu.Lock()
	n := len(co.groups.get("cg").cons.members)
	co.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d members after session timeout", n)
	}
}
