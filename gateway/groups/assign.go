package groups

// KIP-848 server-side assignors. Both are pure functions of the members'
// subscriptions, the subscribed topics' partition counts and the previous
// target assignment:
//
//   - uniform: spreads all subscribed partitions so that member counts
//     differ by at most one (among members subscribing to the same
//     topics), keeping each partition with its previous owner where the
//     quota allows, then giving the rest to the least-loaded eligible
//     member.
//   - range: per topic, the subscribed members sorted by id get
//     contiguous ranges of partitions, the first (partitions mod members)
//     one more; with the same members on co-partitioned topics, members
//     get the same partition numbers of each.

import (
	"cmp"
	"slices"

	"github.com/google/uuid"
)

type topicPart struct {
	topic uuid.UUID
	part  int32
}

func compareTP(a, b topicPart) int {
	if c := slices.Compare(a.topic[:], b.topic[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.part, b.part)
}

// partSet is a set of partitions.
type partSet map[topicPart]struct{}

func (s partSet) sorted() []topicPart {
	out := make([]topicPart, 0, len(s))
	for tp := range s {
		out = append(out, tp)
	}
	slices.SortFunc(out, compareTP)
	return out
}

func (s partSet) clone() partSet {
	out := make(partSet, len(s))
	for tp := range s {
		out[tp] = struct{}{}
	}
	return out
}

func (s partSet) equal(o partSet) bool {
	if len(s) != len(o) {
		return false
	}
	for tp := range s {
		if _, ok := o[tp]; !ok {
			return false
		}
	}
	return true
}

// assignMember is one member as an assignor sees it.
type assignMember struct {
	id     string
	topics map[uuid.UUID]bool // subscribed, resolved to ids
	prev   partSet            // previous target assignment
}

// assignSpec is an assignor's input; members are sorted by id.
type assignSpec struct {
	members    []assignMember
	partitions map[uuid.UUID]int32
}

type assignor func(assignSpec) map[string]partSet

var assignors = map[string]assignor{
	"uniform": assignUniform,
	"range":   assignRange,
}

const defaultAssignor = "uniform"

func assignUniform(spec assignSpec) map[string]partSet {
	out := make(map[string]partSet, len(spec.members))
	for _, m := range spec.members {
		out[m.id] = partSet{}
	}
	if len(spec.members) == 0 {
		return out
	}
	// Every partition of a subscribed topic, in a fixed order.
	var all []topicPart
	for t, n := range spec.partitions {
		subscribed := false
		for _, m := range spec.members {
			if m.topics[t] {
				subscribed = true
				break
			}
		}
		if !subscribed {
			continue
		}
		for p := int32(0); p < n; p++ {
			all = append(all, topicPart{t, p})
		}
	}
	slices.SortFunc(all, compareTP)
	// Quotas: floor for everyone, one more for the first `extra` members
	// that claim it.
	n := len(spec.members)
	floor, extra := len(all)/n, len(all)%n
	quota := func(id string) int {
		if len(out[id]) < floor {
			return floor
		}
		if extra > 0 {
			return floor + 1
		}
		return floor
	}
	give := func(id string, tp topicPart) {
		if len(out[id]) == floor {
			extra--
		}
		out[id][tp] = struct{}{}
	}
	owner := map[topicPart]bool{}
	// Sticky pass: members keep previous partitions up to their quota.
	// Members keep floor first, then the extras, so that stickiness is
	// spread fairly.
	for _, round := range []int{floor, floor + 1} {
		for _, m := range spec.members {
			for _, tp := range m.prev.sorted() {
				if owner[tp] || !m.topics[tp.topic] || tp.part >= spec.partitions[tp.topic] {
					continue
				}
				if len(out[m.id]) >= round || len(out[m.id]) >= quota(m.id) {
					break
				}
				give(m.id, tp)
				owner[tp] = true
			}
		}
	}
	// The rest go to the least-loaded eligible member.
	for _, tp := range all {
		if owner[tp] {
			continue
		}
		best := ""
		for _, m := range spec.members {
			if !m.topics[tp.topic] {
				continue
			}
			if best == "" || len(out[m.id]) < len(out[best]) {
				best = m.id
			}
		}
		if best != "" {
			give(best, tp)
			owner[tp] = true
		}
	}
	return out
}

func assignRange(spec assignSpec) map[string]partSet {
	out := make(map[string]partSet, len(spec.members))
	for _, m := range spec.members {
		out[m.id] = partSet{}
	}
	topics := make([]uuid.UUID, 0, len(spec.partitions))
	for t := range spec.partitions {
		topics = append(topics, t)
	}
	slices.SortFunc(topics, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	for _, t := range topics {
		var subs []string
		for _, m := range spec.members {
			if m.topics[t] {
				subs = append(subs, m.id)
			}
		}
		if len(subs) == 0 {
			continue
		}
		n := spec.partitions[t]
		per, extra := n/int32(len(subs)), n%int32(len(subs))
		next := int32(0)
		for i, id := range subs {
			count := per
			if int32(i) < extra {
				count++
			}
			for p := next; p < next+count; p++ {
				out[id][topicPart{t, p}] = struct{}{}
			}
			next += count
		}
	}
	return out
}
