package reader

import "sync"

// waiters wakes long-polling fetches when this gateway commits an object.
// A commit closes the current channel and installs a new one, so a fetch
// waits on what it saw before it read; commits come at most once per flush
// interval, so waking every poller and letting each re-read is cheap.
type waiters struct {
	mu     sync.Mutex
	ch     chan struct{}
	closed bool
}

func newWaiters() *waiters { return &waiters{ch: make(chan struct{})} }

// wait returns a channel closed by the next commit.
func (w *waiters) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *waiters) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	close(w.ch)
	w.ch = make(chan struct{})
}

// closeAll wakes every poller for shutdown; later waits return at once.
func (w *waiters) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}
