package groups

// Committed offsets and the group-level checks of OffsetCommit,
// OffsetFetch, OffsetDelete and DeleteGroups.

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors of DeleteGroups, which the gateway maps to Kafka codes.
var (
	ErrGroupNotFound = errors.New("group not found")
	ErrNonEmptyGroup = errors.New("group has members")
)

// commitCheck validates a commit's member and generation (member epoch
// in a KIP-848 group) against the group; parts are the partitions
// committed. A commit without member and generation (standalone
// consumers, admin tools) is accepted only while the group is empty.
func (co *Coordinator) commitCheck(ctx context.Context, req *kmsg.OffsetCommitRequest, parts partSet) int16 {
	gr, err := co.lookup(ctx, req.Group, true)
	if err != nil {
		return co.errCode(err)
	}
	defer co.mu.Unlock()
	simple := req.Version == 0 || (req.Generation < 0 && req.MemberID == "" && req.InstanceID == nil)
	if gr.typ == groupTypeConsumer {
		cg := gr.cons
		if simple {
			if len(cg.members) > 0 {
				return errCodeUnknownMember
			}
			return 0
		}
		m := cg.members[req.MemberID]
		if m == nil {
			return errCodeUnknownMember
		}
		if req.Generation == m.epoch || req.Generation == m.prevEpoch {
			return 0
		}
		if req.Generation > m.epoch {
			return kerr.FencedMemberEpoch.Code
		}
		// An older epoch is fine for partitions the member still owns.
		for tp := range parts {
			if _, ok := m.assigned[tp]; !ok {
				return kerr.StaleMemberEpoch.Code
			}
		}
		return 0
	}
	if simple {
		if len(gr.members) > 0 {
			return errCodeUnknownMember
		}
		return 0
	}
	m, code := gr.checkMember(req.MemberID, req.InstanceID, req.Generation)
	if code != 0 {
		return code
	}
	m.expires = co.now().Add(m.session)
	if gr.state == groupCompletingRebalance {
		return errCodeRebalancing
	}
	return 0
}

// fetchCheck validates a v9+ OffsetFetch's member and epoch in a KIP-848
// group.
func (co *Coordinator) fetchCheck(ctx context.Context, group string, memberID *string, epoch int32) int16 {
	if memberID == nil || *memberID == "" {
		return 0
	}
	gr, err := co.lookup(ctx, group, false)
	if err != nil {
		return co.errCode(err)
	}
	defer co.mu.Unlock()
	if gr == nil || gr.typ != groupTypeConsumer {
		return 0 // classic members are not checked, as in Kafka
	}
	m := gr.cons.members[*memberID]
	switch {
	case m == nil:
		return errCodeUnknownMember
	case epoch != m.epoch && epoch != m.prevEpoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// groupExists reports whether the group has state here or committed
// offsets.
func (co *Coordinator) groupExists(ctx context.Context, name string) (bool, error) {
	gr, err := co.lookup(ctx, name, false)
	if err != nil {
		return false, err
	}
	co.mu.Unlock()
	if gr != nil {
		return true, nil
	}
	offs, err := co.store.FetchOffsets(ctx, name)
	return len(offs) > 0, err
}

// deleteGroup serves one group of DeleteGroups.
func (co *Coordinator) deleteGroup(ctx context.Context, name string) error {
	ok, err := co.groupExists(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("delete group %s: %w", name, ErrGroupNotFound)
	}
	gr, err := co.lookup(ctx, name, false)
	if err != nil {
		return err
	}
	if gr != nil {
		if gr.memberCount() > 0 {
			co.mu.Unlock()
			return fmt.Errorf("delete group %s: %w", name, ErrNonEmptyGroup)
		}
		co.groups.remove(name)
		delete(co.dirty, name)
	}
	co.mu.Unlock()
	offs, err := co.store.FetchOffsets(ctx, name)
	if err != nil {
		return err
	}
	parts := make([]metadata.TopicPartition, 0, len(offs))
	for _, o := range offs {
		parts = append(parts, metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition})
	}
	if err := co.store.DeleteOffsets(ctx, name, parts); err != nil {
		return err
	}
	if err := co.gs.DeleteGroup(ctx, name); err != nil && !errors.Is(err, metadata.ErrNotFound) {
		return err
	}
	co.log.Info("deleted group", "group", name)
	return nil
}

// subscribedTopics lists the topics the group's members consume, for
// OffsetDelete; ok is false for a classic group with members whose
// protocol type is not "consumer" (its topics are unknown).
func (gr *group) subscribedTopics() (topics map[string]bool, ok bool) {
	topics = map[string]bool{}
	if gr.typ == groupTypeConsumer {
		for _, m := range gr.cons.members {
			for _, t := range m.subscribed {
				topics[t] = true
			}
		}
		return topics, true
	}
	if len(gr.members) == 0 {
		return topics, true
	}
	if gr.protocolType != "consumer" {
		return nil, false
	}
	for _, m := range gr.members {
		var md kmsg.ConsumerMemberMetadata
		if md.ReadFrom(m.metadataFor(gr.protocol)) == nil {
			for _, t := range md.Topics {
				topics[t] = true
			}
		}
	}
	return topics, true
}

// listedGroup is one ListGroups entry.
type listedGroup struct {
	name, protocolType, state, typ string
}

// listGroups lists the groups with state here and those with only
// committed offsets.
func (co *Coordinator) listGroups(ctx context.Context) ([]listedGroup, error) {
	names, err := co.store.Groups(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []listedGroup
	co.mu.Lock()
	for _, gr := range co.groups.all() {
		seen[gr.name] = true
		out = append(out, listedGroup{name: gr.name, protocolType: gr.protocolType, state: gr.stateName(), typ: gr.typ})
	}
	co.mu.Unlock()
	for _, n := range names {
		if !seen[n] && co.coordinates(n) {
			out = append(out, listedGroup{name: n, state: groupEmpty.String(), typ: groupTypeClassic})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
