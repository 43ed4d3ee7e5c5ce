package groups

// group.initial.rebalance.delay.ms, as Kafka's classic coordinator runs
// it (InitialDelayedJoin): the first join phase of an empty group does not
// end when every member known so far has joined, since consumers started
// together arrive one by one and each would otherwise cost a rebalance.
// It waits the delay; if a new member joined meanwhile it waits another
// delay, until the group's rebalance timeout is used up.

import "time"

// initialJoin is the state of a delayed first join phase.
type initialJoin struct {
	active bool
	// step is the delay now running; remaining is what the rebalance
	// timeout leaves for further steps.
	step, remaining time.Duration
	// newMember is set when a member joined during the step.
	newMember bool
}

// startInitialJoin delays the join phase of a group leaving Empty whose
// largest rebalance timeout is maxRebalance. It reports false when there
// is no delay to wait.
func (co *Coordinator) startInitialJoin(gr *group, maxRebalance time.Duration) bool {
	d := co.set.initialDelay
	if d <= 0 {
		return false
	}
	gr.initial = initialJoin{active: true, step: d, remaining: max(maxRebalance-d, 0)}
	gr.joinDeadline = co.now().Add(d)
	return true
}

// noteInitialJoiner records that a new member joined during the delay.
func (gr *group) noteInitialJoiner() {
	if gr.initial.active {
		gr.initial.newMember = true
	}
}

// initialStepDue runs when a step of the delay ends: another step when a
// member joined during this one and the rebalance timeout allows it,
// otherwise the join phase completes.
func (co *Coordinator) initialStepDue(gr *group, now time.Time) {
	in := &gr.initial
	if !in.newMember || in.remaining == 0 {
		co.completeJoin(gr)
		return
	}
	// Kafka takes the step just ended off what remains, and runs the
	// next one for at most what remained before that.
	next := min(co.set.initialDelay, in.remaining)
	in.remaining = max(in.remaining-in.step, 0)
	in.step, in.newMember = next, false
	gr.joinDeadline = now.Add(next)
}
