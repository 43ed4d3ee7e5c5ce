package groups

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The first join phase of an empty group waits
// group.initial.rebalance.delay.ms, one more delay after each step in
// which a member joined, up to the rebalance timeout in all (Kafka's
// InitialDelayedJoin); later join phases and a zero delay complete as
// soon as every member has joined. Each case is a timeline on the fake
// clock: at each step's offset from the first join, the members that
// join then, and whether the join phase has completed after the timers
// due by then have fired.
func TestInitialRebalanceDelay(t *testing.T) {
	type step struct {
		at    time.Duration
		joins int  // new members joining at this time
		leave bool // the first member leaves instead
		done  bool // the join phase has completed
	}
	for _, tc := range []struct {
		name  string
		delay time.Duration
		steps []step
		// members in the generation the join phase made
		members int
	}{
		{name: "no delay", delay: 0, steps: []step{{at: 0, joins: 1, done: true}}, members: 1},
		{name: "one member waits the delay", delay: 3 * time.Second, members: 1, steps: []step{
			{at: 0, joins: 1}, {at: 2900 * time.Millisecond}, {at: 3 * time.Second, done: true}}},
		{name: "members joining in the delay extend it once", delay: 3 * time.Second, members: 3, steps: []step{
			{at: 0, joins: 1}, {at: time.Second, joins: 2}, {at: 3 * time.Second},
			{at: 5900 * time.Millisecond}, {at: 6 * time.Second, done: true}}},
		{name: "a joiner in each step extends it again", delay: 3 * time.Second, members: 3, steps: []step{
			{at: 0, joins: 1}, {at: time.Second, joins: 1}, {at: 3 * time.Second}, {at: 4 * time.Second, joins: 1},
			{at: 6 * time.Second}, {at: 8900 * time.Millisecond}, {at: 9 * time.Second, done: true}}},
		// The 10 s rebalance timeout bounds the extensions: steps of 3, 3,
		// 3 and the 1 s left.
		{name: "joiners cannot hold it past the rebalance timeout", delay: 3 * time.Second, members: 5, steps: []step{
			{at: 0, joins: 1}, {at: time.Second, joins: 1}, {at: 3 * time.Second}, {at: 4 * time.Second, joins: 1},
			{at: 6 * time.Second}, {at: 7 * time.Second, joins: 1}, {at: 9 * time.Second},
			{at: 9500 * time.Millisecond, joins: 1}, {at: 9900 * time.Millisecond}, {at: 10 * time.Second, done: true}}},
		{name: "a delay longer than the rebalance timeout runs once", delay: 15 * time.Second, members: 2, steps: []step{
			{at: 0, joins: 1}, {at: time.Second, joins: 1}, {at: 14 * time.Second}, {at: 15 * time.Second, done: true}}},
		// As in Kafka, a member going away ends the phase once the rest
		// have joined, delay or not.
		{name: "a member leaving ends it", delay: 3 * time.Second, members: 1, steps: []step{
			{at: 0, joins: 2}, {at: time.Second, leave: true, done: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co, clk := testCoordinator(t)
			co.set.initialDelay = tc.delay
			start := clk.Now()
			var waits []chan *kmsg.JoinGroupResponse
			for i, st := range tc.steps {
				clk.Set(start.Add(st.at))
				co.tick(clk.Now())
				for range st.joins {
					req := joinReq("g", "", "range")
					req.Version = 3 // no MEMBER_ID_REQUIRED round
					req.RebalanceTimeoutMillis = 10000
					w, r := joinNow(t, co, req)
					if w == nil {
						t.Fatalf("step %d: join answered at once: %+v", i, r)
					}
					waits = append(waits, w)
				}
				if st.leave {
					co.leave(t.Context(), "g", []kmsg.LeaveGroupRequestMember{{MemberID: memberOf(co, "g")}})
				}
				s, gen := state(co, "g")
				if done := s == groupCompletingRebalance; done != st.done {
					t.Fatalf("step %d at %v: state %v generation %d, want done=%v", i, st.at, s, gen, st.done)
				}
			}
			// One generation holds every member still there; one that left
			// got UNKNOWN_MEMBER_ID.
			joined := 0
			for _, w := range waits {
				switch r := answered(t, w); {
				case r.ErrorCode == 0 && r.Generation == 1:
					joined++
				case r.ErrorCode != errCodeUnknownMember:
					t.Fatalf("join answer: %+v, want generation 1", r)
				}
			}
			if joined != tc.members {
				t.Fatalf("%d members joined generation 1, want %d", joined, tc.members)
			}
		})
	}
}

// Only a group leaving Empty waits: a rebalance of a Stable group ends as
// soon as its members have rejoined, and a group that empties and fills
// again waits anew.
func TestInitialDelayOnlyFromEmpty(t *testing.T) {
	co, clk := testCoordinator(t)
	co.set.initialDelay = 3 * time.Second
	join := func(member string) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
		req := joinReq("g", member, "range")
		req.Version = 3
		return joinNow(t, co, req)
	}
	w, _ := join("")
	clk.Add(3 * time.Second)
	co.tick(clk.Now())
	a := answered(t, w).MemberID
	co.syncGroup(t.Context(), syncReq("g", a, 1, map[string]string{a: "A"}))
	// The leader rejoins a Stable group: generation 2 at once.
	if w, _ = join(a); answered(t, w).Generation != 2 {
		t.Fatal("a rebalance of a Stable group waited for the initial delay")
	}
	co.leave(t.Context(), "g", []kmsg.LeaveGroupRequestMember{{MemberID: a}})
	if s, _ := state(co, "g"); s != groupEmpty {
		t.Fatalf("after the last member left: %v", s)
	}
	w, _ = join("")
	co.tick(clk.Now())
	select {
	case r := <-w:
		t.Fatalf("a group that emptied did not wait again: %+v", r)
	default:
	}
	clk.Add(3 * time.Second)
	co.tick(clk.Now())
	if r := answered(t, w); r.Generation != 4 {
		t.Fatalf("join after the delay: generation %d, want 4", r.Generation)
	}
}

// A member id handed out (MEMBER_ID_REQUIRED) just before a join phase
// ends stays valid, as in Kafka: its JoinGroup after the phase joins the
// group instead of getting UNKNOWN_MEMBER_ID and starting over.
func TestPendingMemberOutlivesJoinPhase(t *testing.T) {
	co, clk := testCoordinator(t)
	co.set.initialDelay = 3 * time.Second
	first := joinReq("g", "", "range")
	first.Version = 3
	w, _ := joinNow(t, co, first)
	clk.Add(2900 * time.Millisecond)
	_, r := joinNow(t, co, joinReq("g", "", "range"))
	if r == nil || r.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("v9 join without an id: %+v, want MEMBER_ID_REQUIRED", r)
	}
	clk.Add(100 * time.Millisecond)
	co.tick(clk.Now())
	if a := answered(t, w); a.Generation != 1 || len(a.Members) != 1 {
		t.Fatalf("join phase: %+v, want generation 1 of one member", a)
	}
	if w2, r2 := joinNow(t, co, joinReq("g", r.MemberID, "range")); w2 == nil {
		t.Fatalf("the handed-out id after the phase: %+v, want a place in the next rebalance", r2)
	}
}
