package groups

import (
	"context"
	"errors"
	"time"

	"github.com/caudal/caudal/metadata"
)

// persistLoop saves dirty groups when kicked, and retries failed saves
// every persistRetry until they succeed: a group that failed to save
// may not change again for a long time.
func (co *Coordinator) persistLoop() {
	defer co.wg.Done()
	var retry <-chan time.Time
	for {
		select {
		case <-co.stop:
			return
		case <-co.kick:
		case <-retry:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		failed := co.persist(ctx)
		cancel()
		retry = nil
		if failed {
			retry = time.After(co.set.persistRetry)
		}
	}
}

// persist writes every dirty group's latest snapshot, deletes the stored
// state of dirty groups no longer in memory, and reports whether any
// failed (those stay dirty).
func (co *Coordinator) persist(ctx context.Context) (failed bool) {
	type job struct {
		name string
		rec  *groupRecord
	}
	co.mu.Lock()
	var jobs []job
	for name := range co.dirty {
		gr := co.groups.get(name)
		if gr == nil {
			jobs = append(jobs, job{name: name})
			continue
		}
		rec := co.record(gr)
		jobs = append(jobs, job{name: name, rec: &rec})
	}
	clear(co.dirty)
	co.mu.Unlock()
	for _, j := range jobs {
		var err error
		if j.rec == nil {
			err = co.gs.DeleteGroup(ctx, j.name)
		} else {
			err = co.gs.SaveGroup(ctx, *j.rec)
		}
		if err != nil && !errors.Is(err, metadata.ErrNotFound) {
			co.log.Warn("persist group", "group", j.name, "err", err)
			co.mu.Lock()
			co.dirty[j.name] = true
			co.mu.Unlock()
			failed = true
		}
	}
	return failed
}
