package reader

import "sync"

// waiters wakes long-polling fetches when a partition they wait on
// changes. A fetch registers before it reads, so that it misses no commit
// after the read; only the polls on the partitions a commit appended to
// wake, so that thousands of polls on quiet partitions cost nothing when
// a busy one commits.
type waiters struct {
	mu     sync.Mutex
	by     map[stateKey]map[*waiter]struct{}
	closed bool
}

// waiter is one fetch's registration; ch closes at the first change.
type waiter struct {
	ch    chan struct{}
	keys  []stateKey
	fired bool
}

func newWaiters() *waiters { return &waiters{by: map[stateKey]map[*waiter]struct{}{}} }

// wait registers a fetch of keys; call done when it stops waiting.
func (w *waiters) wait(keys []stateKey) *waiter {
	wt := &waiter{ch: make(chan struct{}), keys: keys}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		wt.fire()
		return wt
	}
	for _, k := range keys {
		set := w.by[k]
		if set == nil {
			set = map[*waiter]struct{}{}
			w.by[k] = set
		}
		set[wt] = struct{}{}
	}
	return wt
}

func (w *waiters) done(wt *waiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range wt.keys {
		if set := w.by[k]; set != nil {
			delete(set, wt)
			if len(set) == 0 {
				delete(w.by, k)
			}
		}
	}
}

// notify wakes the fetches waiting on keys.
func (w *waiters) notify(keys []stateKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		for wt := range w.by[k] {
			wt.fire()
		}
		delete(w.by, k)
	}
}

// notifyAll wakes every fetch: anything may have changed.
func (w *waiters) notifyAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fireAll()
}

// closeAll wakes every fetch for shutdown; later waits return at once.
func (w *waiters) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.fireAll()
}

func (w *waiters) fireAll() {
	for _, set := range w.by {
		for wt := range set {
			wt.fire()
		}
	}
	clear(w.by)
}

func (wt *waiter) fire() {
	if !wt.fired {
		wt.fired = true
		close(wt.ch)
	}
}
