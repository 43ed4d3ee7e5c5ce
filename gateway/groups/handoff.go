package groups

import (
	"context"
	"errors"

	"github.com/caudal/caudal/metadata"
)

// ReleaseMoved hands off the groups this gateway no longer coordinates
// after the live gateways changed (Config.Coordinates): their waiting JoinGroup
// and SyncGroup requests get NOT_COORDINATOR, unsaved state is written to
// the group store, and the in-memory copy is dropped. The new coordinator
// loads the group from the store on its first request (lookup), so
// members rejoin with their committed offsets intact. If this gateway
// becomes the coordinator again later, it loads the group afresh too.
func (co *Coordinator) ReleaseMoved(ctx context.Context) {
	co.mu.Lock()
	if co.stopped {
		co.mu.Unlock()
		return
	}
	var save []groupRecord
	released := 0
	for _, gr := range co.groups.all() {
		if co.coordinates(gr.name) {
			continue
		}
		for _, m := range gr.members {
			co.answerJoinErr(m, errCodeNotCoordinator)
			co.answerSync(m, syncResult{code: errCodeNotCoordinator})
		}
		if co.dirty[gr.name] {
			save = append(save, co.record(gr))
		}
		// Not deleted from the store: the persister deletes only groups
		// that are dirty and gone from the table.
		delete(co.dirty, gr.name)
		co.groups.remove(gr.name)
		released++
	}
	co.mu.Unlock()
	for _, rec := range save {
		if err := co.gs.SaveGroup(ctx, rec); err != nil && !errors.Is(err, metadata.ErrNotFound) {
			co.log.Warn("save group handed off", "group", rec.Name, "err", err)
		}
	}
	if released > 0 {
		co.log.Info("handed off groups to their new coordinators", "groups", released)
	}
}
