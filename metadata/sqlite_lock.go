package metadata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// writeLock queues the write transactions of every handle on one SQLite
// file, in this process and in others (a gateway and `caudal worker`, or a
// test that looks behind a gateway's back).
//
// SQLite's own wait for a locked file is a poll that sleeps up to 100 ms
// between tries. A handle with several writers passes the lock from one to
// the next within microseconds, so a second handle's polls kept finding it
// taken until its busy timeout ran out: TestConcurrentCommits failed so in
// CI (writer 6 of 8 got SQLITE_BUSY after 10 s), and in 1 of 3 runs here
// with both cores busy. flock waiters sleep in the kernel instead, and are
// woken when the lock is let go.
//
// flock alone is not fair either: a woken waiter must still run to take
// the lock, and the handle that let it go can take it back first (up to
// 71 of its commits during one of another handle's, in the test). So a
// writer first takes a gate lock and holds it while it waits for the
// write lock. At most one writer waits for the write lock, and a handle
// that just let it go queues at the gate behind the writers already there.
//
// The locks are files beside the database (PATH-writer, PATH-writer-gate),
// never the database itself, whose byte-range locks are SQLite's. On a
// file system without flock (some FUSE and network mounts) the handle's
// writers still take turns, and other handles are left to SQLite's wait.
type writeLock struct {
	// Through os.File, a waiter given up on and still in flock keeps its
	// descriptor from being closed and reused until the call returns.
	gate, write *os.File
	files       bool // flock works on them
	// turn admits one writer of this handle at a time: flock belongs to
	// the open file, so goroutines sharing a descriptor would all pass it.
	turn chan struct{}
	wait time.Duration // sqliteBusyTimeout but in tests
}

// errWriteLockTimeout is a write that waited out the busy timeout for
// the file's write lock, as SQLITE_BUSY would have.
var errWriteLockTimeout = errors.New("sqlite write lock: timed out waiting for another writer")

func openWriteLock(dbPath string) (*writeLock, error) {
	l := &writeLock{turn: make(chan struct{}, 1), wait: sqliteBusyTimeout}
	var err error
	if l.write, err = openLockFile(dbPath + "-writer"); err != nil {
		return nil, err
	}
	if l.gate, err = openLockFile(dbPath + "-writer-gate"); err != nil {
		l.write.Close()
		return nil, err
	}
	switch err := flock(l.gate, syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		flock(l.gate, syscall.LOCK_UN)
		l.files = true
	case errors.Is(err, syscall.EWOULDBLOCK): // another writer waits at the gate
		l.files = true
	}
	return l, nil
}

func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open sqlite lock file: %w", err)
	}
	return f, nil
}

// acquire waits for the write lock for at most l.wait; the caller calls
// release when its transaction has ended.
func (l *writeLock) acquire(ctx context.Context) error {
	timeout := time.NewTimer(l.wait)
	defer timeout.Stop()
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout.C:
		return errWriteLockTimeout
	}
	if !l.files {
		return nil
	}
	atGate, err := l.tryLock()
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		<-l.turn
		return err
	}
	got := make(chan error, 1)
	go func() { got <- l.queue(atGate) }()
	select {
	case err := <-got:
		if err != nil {
			<-l.turn
		}
		return err
	case <-ctx.Done():
		go l.abandon(got)
		return ctx.Err()
	case <-timeout.C:
		go l.abandon(got)
		return errWriteLockTimeout
	}
}

// tryLock takes the gate and the write lock without waiting. When it got
// the gate but the write lock is taken, it keeps the gate (atGate) for
// queue to wait on the write lock.
func (l *writeLock) tryLock() (atGate bool, err error) {
	if err := flock(l.gate, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false, err
	}
	if err := flock(l.write, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return true, err
		}
		flock(l.gate, syscall.LOCK_UN)
		return false, err
	}
	flock(l.gate, syscall.LOCK_UN)
	return false, nil
}

// queue waits at the gate unless it holds it already, then for the write
// lock, and opens the gate to the next writer.
func (l *writeLock) queue(atGate bool) error {
	if !atGate {
		if err := flock(l.gate, syscall.LOCK_EX); err != nil {
			return err
		}
	}
	defer flock(l.gate, syscall.LOCK_UN)
	return flock(l.write, syscall.LOCK_EX)
}

// abandon lets go of a lock its waiter stopped waiting for. The handle's
// turn is held until then, or the next writer's flock on the same file
// would pass at once and this unlock would take the lock from under it.
func (l *writeLock) abandon(got <-chan error) {
	if <-got == nil {
		flock(l.write, syscall.LOCK_UN)
	}
	<-l.turn
}

func (l *writeLock) release() {
	if l.files {
		flock(l.write, syscall.LOCK_UN)
	}
	<-l.turn
}

func (l *writeLock) close() {
	l.write.Close()
	l.gate.Close()
}

// flockSys is syscall.Flock, but in the test of a file system without it.
var flockSys = syscall.Flock

// flock is flockSys on f, tried again when a signal interrupts the wait,
// with the failure said.
func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for ferr = flockSys(int(fd), how); ferr == syscall.EINTR; ferr = flockSys(int(fd), how) {
		}
	}); err != nil {
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	if ferr != nil {
		return fmt.Errorf("flock %s: %w", f.Name(), ferr)
	}
	return nil
}
