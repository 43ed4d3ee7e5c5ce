package groups

import (
	"context"
	"time"
)

// Any OffsetCommit or JoinGroup names a group, so a client could fill a
// coordinator's memory with groups. A group that has been empty for
// evictAfter, with its state saved, leaves memory: lookup loads it again
// from the group store when it is next used. If it has no committed
// offsets either, it is gone for good, as Kafka removes such a group:
// its stored state is deleted too.

// evictEmpty drops the groups that have been empty since before
// now-evictAfter.
func (co *Coordinator) evictEmpty(ctx context.Context, now time.Time) {
	var names []string
	co.mu.Lock()
	for _, gr := range co.groups.all() {
		if co.evictable(gr, now) {
			names = append(names, gr.name)
		}
	}
	co.mu.Unlock()
	evicted, deleted := 0, 0
	for _, name := range names {
		offs, err := co.store.FetchOffsets(ctx, name)
		if err != nil {
			co.log.Warn("evict empty group", "group", name, "err", err)
			continue
		}
		co.mu.Lock()
		if gr := co.groups.get(name); gr != nil && co.evictable(gr, now) {
			co.groups.remove(name)
			evicted++
			if len(offs) == 0 {
				co.markDirty(gr) // the persister deletes a dirty group missing from memory
				deleted++
			}
		}
		co.mu.Unlock()
	}
	if evicted > 0 {
		co.log.Info("evicted empty groups", "groups", evicted, "deleted", deleted)
	}
}

// evictable: empty, not waiting on a member id handed out, saved, and
// empty for evictAfter. Called with co.mu held.
func (co *Coordinator) evictable(gr *group, now time.Time) bool {
	return gr.memberCount() == 0 && len(gr.pending) == 0 && !co.dirty[gr.name] &&
		now.Sub(gr.emptySince) >= co.set.evictAfter
}
