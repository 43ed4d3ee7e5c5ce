package groups

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testclock"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// joinNow decides a JoinGroup under the coordinator's lock, as join does,
// without waiting: the answer now, or the channel a rebalance answers.
// Tests drive the state machine with it and the fake clock, no sleeping.
func joinNow(t *testing.T, co *Coordinator, req *kmsg.JoinGroupRequest) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	t.Helper()
	gr, err := co.lookup(context.Background(), req.Group, true)
	if err != nil {
		t.Fatal(err)
	}
	defer co.mu.Unlock()
	return co.joinLocked(gr, joinInfo{req: req, clientID: "c"}, sessionOf(req), rebalanceOf(req))
}

func sessionOf(req *kmsg.JoinGroupRequest) time.Duration {
	return time.Duration(req.SessionTimeoutMillis) * time.Millisecond
}

func rebalanceOf(req *kmsg.JoinGroupRequest) time.Duration {
	return time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
}

// answered is the response on a join channel that must already hold one.
func answered(t *testing.T, w chan *kmsg.JoinGroupResponse) *kmsg.JoinGroupResponse {
	t.Helper()
	select {
	case r := <-w:
		return r
	default:
		t.Fatal("the join phase has not answered")
		return nil
	}
}

func staticJoin(member, instance string, version int16, protos ...string) *kmsg.JoinGroupRequest {
	req := joinReq("g", member, protos...)
	req.Version = version
	req.InstanceID = &instance
	return req
}

// staticGroup forms a Stable group g of three static members i0 (the
// leader), i1 and i2 whose assignments are "A0", "A1" and "A2", in one
// generation thanks to the initial rebalance delay; it returns their
// member ids by instance id.
func staticGroup(t *testing.T, co *Coordinator, clk *testclock.Clock) map[string]string {
	t.Helper()
	co.set.initialDelay = time.Second
	defer func() { co.set.initialDelay = 0 }()
	var waits []chan *kmsg.JoinGroupResponse
	for i := range 3 {
		w, r := joinNow(t, co, staticJoin("", fmt.Sprintf("i%d", i), 9, "range", "roundrobin"))
		if r != nil {
			t.Fatalf("join i%d answered at once: %+v", i, r)
		}
		waits = append(waits, w)
	}
	// One step of the delay, extended once for the two that joined in it.
	for range 2 {
		clk.Add(time.Second)
		co.tick(clk.Now())
	}
	ids := map[string]string{}
	assign := map[string]string{}
	for i, w := range waits {
		r := answered(t, w)
		ids[fmt.Sprintf("i%d", i)] = r.MemberID
		assign[r.MemberID] = fmt.Sprintf("A%d", i)
	}
	if ids["i0"] != leaderOf(co) {
		t.Fatalf("leader %s, want i0's %s", leaderOf(co), ids["i0"])
	}
	gen := generationOf(co)
	if sr := co.syncGroup(context.Background(), syncReq("g", ids["i0"], gen, assign)); sr.ErrorCode != 0 {
		t.Fatalf("leader sync: %v", kerr.ErrorForCode(sr.ErrorCode))
	}
	return ids
}

func leaderOf(co *Coordinator) string {
	co.mu.Lock()
	defer co.mu.Unlock()
	return co.groups.get("g").leader
}

func generationOf(co *Coordinator) int32 {
	_, gen := state(co, "g")
	return gen
}

func classicAssignment(co *Coordinator, id string) string {
	co.mu.Lock()
	defer co.mu.Unlock()
	if m := co.groups.get("g").members[id]; m != nil {
		return string(m.assignment)
	}
	return "<no member>"
}

func heartbeatCode(co *Coordinator, member, instance string, gen int32) int16 {
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "g", member, gen, &instance
	return co.heartbeat(context.Background(), hb)
}

// A static member that restarts (rejoins without its member id) in a
// Stable group replaces its old incarnation, as Kafka's
// updateStaticMemberThenRebalanceOrCompleteJoin does: no rebalance unless
// the protocol the group would select changes; a returning leader leads
// again, told to skip the assignment from v9 and shown as a follower
// before; in other states the replacement takes part in a rebalance.
func TestStaticMemberRejoin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		instance string
		version  int16
		protos   []string
		// metadata, if set, replaces the first protocol's metadata.
		metadata string
		// prepare puts the group in the state the rejoin meets.
		prepare func(t *testing.T, co *Coordinator, ids map[string]string)
		// rebalance: the rejoin waits for a join phase (state after it).
		rebalance  groupState
		leads      bool // the response names the new member the leader
		skipAssign bool
	}{
		{name: "follower, Stable", instance: "i1", version: 9, protos: []string{"range", "roundrobin"}},
		{name: "follower, Stable, new subscription", instance: "i1", version: 9, protos: []string{"range", "roundrobin"}, metadata: "new topics"},
		{name: "follower, Stable, fewer protocols, same selection", instance: "i1", version: 9, protos: []string{"range"}},
		{name: "leader, Stable, v9", instance: "i0", version: 9, protos: []string{"range", "roundrobin"}, leads: true, skipAssign: true},
		{name: "leader, Stable, v5", instance: "i0", version: 5, protos: []string{"range", "roundrobin"}},
		{name: "follower, Stable, selected protocol changes", instance: "i1", version: 9, protos: []string{"roundrobin"},
			rebalance: groupPreparingRebalance},
		{name: "follower, CompletingRebalance", instance: "i1", version: 9, protos: []string{"range", "roundrobin"},
			prepare: func(t *testing.T, co *Coordinator, ids map[string]string) {
				co.mu.Lock()
				co.groups.get("g").state = groupCompletingRebalance
				co.mu.Unlock()
			},
			rebalance: groupPreparingRebalance},
		{name: "follower, PreparingRebalance", instance: "i1", version: 9, protos: []string{"range", "roundrobin"},
			prepare: func(t *testing.T, co *Coordinator, ids map[string]string) {
				// The leader rejoins: a rebalance waits for the others.
				if w, r := joinNow(t, co, staticJoin(ids["i0"], "i0", 9, "range", "roundrobin")); w == nil {
					t.Fatalf("leader rejoin answered at once: %+v", r)
				}
			},
			rebalance: groupPreparingRebalance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co, clk := testCoordinator(t)
			ids := staticGroup(t, co, clk)
			gen := generationOf(co)
			if tc.prepare != nil {
				tc.prepare(t, co, ids)
			}
			old := ids[tc.instance]
			req := staticJoin("", tc.instance, tc.version, tc.protos...)
			if tc.metadata != "" {
				req.Protocols[0].Metadata = []byte(tc.metadata)
			}
			w, r := joinNow(t, co, req)
			if s, _ := state(co, "g"); tc.rebalance != groupEmpty {
				if w == nil || s != tc.rebalance {
					t.Fatalf("rejoin: answered %+v in state %v; want a wait in %v", r, s, tc.rebalance)
				}
				if code := heartbeatCode(co, ids["i2"], "i2", gen); code != errCodeRebalancing {
					t.Errorf("other member's heartbeat: %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(code))
				}
				return
			}
			if r == nil || r.ErrorCode != 0 {
				t.Fatalf("rejoin: %+v, want an answer now", r)
			}
			if s, g := state(co, "g"); s != groupStable || g != gen || r.Generation != gen {
				t.Fatalf("after rejoin: %v generation %d (response %d), want Stable %d", s, g, r.Generation, gen)
			}
			if r.MemberID == old {
				t.Fatal("the new incarnation kept the old member id")
			}
			wantLeader := ids["i0"]
			if tc.leads {
				wantLeader = r.MemberID
			}
			if r.LeaderID != wantLeader || r.SkipAssignment != tc.skipAssign || (len(r.Members) == 3) != tc.leads {
				t.Fatalf("rejoin response: leader %s (want %s), skip %v, %d members", r.LeaderID, wantLeader, r.SkipAssignment, len(r.Members))
			}
			if tc.instance == "i0" && leaderOf(co) != r.MemberID {
				t.Errorf("group leader %s, want the new incarnation %s", leaderOf(co), r.MemberID)
			}
			// The others keep their assignments and their generation.
			for inst, id := range ids {
				code := heartbeatCode(co, id, inst, gen)
				switch {
				case inst == tc.instance && code != errCodeFencedInstance:
					t.Errorf("old incarnation's heartbeat: %v, want FENCED_INSTANCE_ID", kerr.ErrorForCode(code))
				case inst != tc.instance && code != 0:
					t.Errorf("%s heartbeat: %v", inst, kerr.ErrorForCode(code))
				case inst != tc.instance && classicAssignment(co, id) != "A"+inst[1:]:
					t.Errorf("%s assignment %q changed", inst, classicAssignment(co, id))
				}
			}
			// The new incarnation syncs (with assignments from a leader
			// that did not skip them, which a Stable group ignores) and
			// gets the old one's back.
			sr := co.syncGroup(context.Background(), syncReq("g", r.MemberID, gen, map[string]string{r.MemberID: "other"}))
			if sr.ErrorCode != 0 || string(sr.MemberAssignment) != "A"+tc.instance[1:] {
				t.Errorf("new incarnation's sync: %v %q", kerr.ErrorForCode(sr.ErrorCode), sr.MemberAssignment)
			}
			sreq := syncReq("g", old, gen, nil)
			sreq.InstanceID = &tc.instance
			if sr := co.syncGroup(context.Background(), sreq); sr.ErrorCode != errCodeFencedInstance {
				t.Errorf("old incarnation's sync: %v, want FENCED_INSTANCE_ID", kerr.ErrorForCode(sr.ErrorCode))
			}
			commit := kmsg.NewPtrOffsetCommitRequest()
			commit.Version = 8
			commit.Group, commit.MemberID, commit.Generation, commit.InstanceID = "g", old, gen, &tc.instance
			if code := co.commitCheck(context.Background(), commit, nil); code != errCodeFencedInstance {
				t.Errorf("old incarnation's commit: %v, want FENCED_INSTANCE_ID", kerr.ErrorForCode(code))
			}
		})
	}
}

// A waiting JoinGroup or SyncGroup of a replaced incarnation is answered
// FENCED_INSTANCE_ID at once; a JoinGroup naming an instance id the group
// does not know gets UNKNOWN_MEMBER_ID, as Kafka's validateMember gives.
func TestStaticReplacementFencesWaiters(t *testing.T) {
	co, clk := testCoordinator(t)
	ids := staticGroup(t, co, clk)
	w, _ := joinNow(t, co, staticJoin(ids["i0"], "i0", 9, "range", "roundrobin"))
	if w == nil {
		t.Fatal("leader rejoin did not start a rebalance")
	}
	if _, r := joinNow(t, co, staticJoin("", "i0", 9, "range", "roundrobin")); r != nil {
		t.Fatalf("replacement during the rebalance answered at once: %+v", r)
	}
	if r := answered(t, w); r.ErrorCode != errCodeFencedInstance {
		t.Errorf("old incarnation's waiting join: %v, want FENCED_INSTANCE_ID", kerr.ErrorForCode(r.ErrorCode))
	}
	if _, r := joinNow(t, co, staticJoin(ids["i1"], "nobody", 9, "range")); r == nil || r.ErrorCode != errCodeUnknownMember {
		t.Errorf("join with an unknown instance id: %+v, want UNKNOWN_MEMBER_ID", r)
	}
}

// A static member that does not rejoin during a rebalance keeps its place
// and assignment until its session expires (Kafka removes only dynamic
// members then): it comes back to the new generation without another
// rebalance, and only its session's end removes it.
func TestAbsentStaticMemberKept(t *testing.T) {
	co, clk := testCoordinator(t)
	ids := staticGroup(t, co, clk)
	gen := generationOf(co)
	// i0 and i1 rejoin; i2 is away past the 30 s rebalance timeout (its
	// 10 s session kept alive by heartbeats it still sends).
	w0, _ := joinNow(t, co, staticJoin(ids["i0"], "i0", 9, "range", "roundrobin"))
	w1, _ := joinNow(t, co, staticJoin(ids["i1"], "i1", 9, "range", "roundrobin"))
	for range 4 {
		clk.Add(8 * time.Second)
		heartbeatCode(co, ids["i2"], "i2", gen)
		co.tick(clk.Now())
	}
	r0, r1 := answered(t, w0), answered(t, w1)
	if r0.Generation != gen+1 || r1.Generation != gen+1 || len(r0.Members) != 3 {
		t.Fatalf("join phase without i2: generation %d/%d, leader saw %d members; want %d and all 3", r0.Generation, r1.Generation, len(r0.Members), gen+1)
	}
	co.syncGroup(context.Background(), syncReq("g", ids["i0"], gen+1, map[string]string{ids["i0"]: "B0", ids["i1"]: "B1", ids["i2"]: "B2"}))
	_, r2 := joinNow(t, co, staticJoin(ids["i2"], "i2", 9, "range", "roundrobin"))
	if r2 == nil || r2.ErrorCode != 0 || r2.Generation != gen+1 {
		t.Fatalf("i2 returns: %+v, want generation %d at once", r2, gen+1)
	}
	if s, g := state(co, "g"); s != groupStable || g != gen+1 {
		t.Fatalf("after i2 returned: %v generation %d", s, g)
	}
	if a := classicAssignment(co, ids["i2"]); a != "B2" {
		t.Errorf("i2's assignment %q, want B2", a)
	}
	// Its session ends: it is removed and the others rebalance.
	for range 2 {
		clk.Add(5 * time.Second)
		heartbeatCode(co, ids["i0"], "i0", gen+1)
		heartbeatCode(co, ids["i1"], "i1", gen+1)
	}
	clk.Add(time.Second)
	co.tick(clk.Now())
	if s, _ := state(co, "g"); s != groupPreparingRebalance || classicAssignment(co, ids["i2"]) != "<no member>" {
		t.Fatalf("after i2's session: %v, i2 %q", s, classicAssignment(co, ids["i2"]))
	}
}

// A rebalance no member rejoins does not make an empty generation while
// static members may still come back: it waits another rebalance timeout.
func TestJoinPhaseWaitsForStaticMembers(t *testing.T) {
	co, clk := testCoordinator(t)
	ids := staticGroup(t, co, clk)
	gen := generationOf(co)
	co.mu.Lock()
	gr := co.groups.get("g")
	for _, m := range gr.members {
		m.expires = clk.Now().Add(time.Hour)
	}
	co.prepareRebalance(gr)
	co.mu.Unlock()
	clk.Add(31 * time.Second)
	co.tick(clk.Now())
	if s, g := state(co, "g"); s != groupPreparingRebalance || g != gen {
		t.Fatalf("after the rebalance timeout with no one back: %v generation %d", s, g)
	}
	w, _ := joinNow(t, co, staticJoin(ids["i1"], "i1", 9, "range", "roundrobin"))
	clk.Add(31 * time.Second)
	co.tick(clk.Now())
	if r := answered(t, w); r.Generation != gen+1 || r.LeaderID != ids["i1"] {
		t.Fatalf("i1 alone back: generation %d leader %s; want %d and i1 as the leader", r.Generation, r.LeaderID, gen+1)
	}
}

// A client that restarts a static member in a loop, each time without its
// member id, replaces one member each time: the group holds three members
// and three instance ids whatever the count, keeps its generation, and
// only the last incarnation is not fenced.
func TestStaticMemberFlappingBounded(t *testing.T) {
	co, clk := testCoordinator(t)
	ids := staticGroup(t, co, clk)
	gen := generationOf(co)
	var last *kmsg.JoinGroupResponse
	for range 10000 {
		_, last = joinNow(t, co, staticJoin("", "i1", 9, "range", "roundrobin"))
		if last == nil || last.ErrorCode != 0 {
			t.Fatalf("rejoin: %+v", last)
		}
	}
	co.mu.Lock()
	gr := co.groups.get("g")
	members, statics, pending := len(gr.members), len(gr.statics), len(gr.pending)
	co.mu.Unlock()
	if members != 3 || statics != 3 || pending != 0 || generationOf(co) != gen {
		t.Fatalf("after 10000 restarts: %d members, %d instance ids, %d pending, generation %d (was %d)", members, statics, pending, generationOf(co), gen)
	}
	if code := heartbeatCode(co, ids["i1"], "i1", gen); code != errCodeFencedInstance {
		t.Errorf("first incarnation: %v, want FENCED_INSTANCE_ID", kerr.ErrorForCode(code))
	}
	if code := heartbeatCode(co, last.MemberID, "i1", gen); code != 0 {
		t.Errorf("last incarnation: %v", kerr.ErrorForCode(code))
	}
}
