package metadata

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func openTestLocks(t *testing.T, n int) []*writeLock {
	t.Helper()
	path := filepath.Join(t.TempDir(), "metadata.db")
	var ls []*writeLock
	for range n {
		l, err := openWriteLock(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.close)
		ls = append(ls, l)
	}
	return ls
}

// TestWriteLockExcludes: writers of three handles on one file, several
// per handle, are never inside at once. The counts are atomic because the
// race detector cannot see the exclusion flock gives across handles.
func TestWriteLockExcludes(t *testing.T) {
	t.Parallel()
	var (
		inside, most atomic.Int32
		wg           sync.WaitGroup
	)
	for _, l := range openTestLocks(t, 3) {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 {
					if err := l.acquire(context.Background()); err != nil {
						t.Error(err)
						return
					}
					if n := inside.Add(1); n > 1 {
						most.Store(n)
					}
					time.Sleep(50 * time.Microsecond) // long enough for a second writer to come in
					inside.Add(-1)
					l.release()
				}
			}()
		}
	}
	wg.Wait()
	if n := most.Load(); n > 1 {
		t.Fatalf("%d writers inside at once", n)
	}
}

// TestWriteLockGivenUp: a writer that stops waiting, because its context
// ends or its busy timeout runs out, gets no lock, and the lock its
// waiting goroutine takes later is let go, for its own handle's writers
// and for the others', also when its handle is closed while it waits.
func TestWriteLockGivenUp(t *testing.T) {
	t.Parallel()
	deadline := func(t *testing.T, _ *writeLock) (context.Context, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx, context.DeadlineExceeded
	}
	for _, c := range []struct {
		name  string
		give  func(t *testing.T, l *writeLock) (context.Context, error)
		close bool // the quitter's handle, while its waiter is in flock
	}{
		{"context", deadline, false},
		{"busy timeout", func(_ *testing.T, l *writeLock) (context.Context, error) {
			l.wait = 20 * time.Millisecond
			return context.Background(), errWriteLockTimeout
		}, false},
		{"context, handle closed", deadline, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ls := openTestLocks(t, 2)
			holder, quitter := ls[0], ls[1]
			if err := holder.acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, want := c.give(t, quitter)
			if err := quitter.acquire(ctx); !errors.Is(err, want) {
				t.Fatalf("acquire while held: %v, want %v", err, want)
			}
			quitter.wait = sqliteBusyTimeout
			next := []*writeLock{holder, quitter, holder}
			if c.close {
				quitter.close()
				next = []*writeLock{holder, holder}
			}
			holder.release()
			for _, l := range next {
				if err := l.acquire(context.Background()); err != nil {
					t.Fatalf("acquire after the quitter gave up: %v", err)
				}
				l.release()
			}
		})
	}
}

// TestWriteLockWaitsForHolder: an acquire on another handle does not
// return while the lock is held, and does once it is let go.
func TestWriteLockWaitsForHolder(t *testing.T) {
	t.Parallel()
	ls := openTestLocks(t, 2)
	if err := ls[0].acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- ls[1].acquire(context.Background()) }()
	select {
	case err := <-got:
		t.Fatalf("acquired while another handle held the lock: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	ls[0].release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	ls[1].release()
}

// BenchmarkWriteLock is what the lock adds to a write transaction that
// finds it free: the flock calls and the handle's turn.
func BenchmarkWriteLock(b *testing.B) {
	l, err := openWriteLock(filepath.Join(b.TempDir(), "metadata.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.close()
	for b.Loop() {
		if err := l.acquire(context.Background()); err != nil {
			b.Fatal(err)
		}
		l.release()
	}
}

// TestWriteLockWithoutFlock: on a file system whose flock fails, a handle
// opens, and its own writers still take turns.
func TestWriteLockWithoutFlock(t *testing.T) {
	// Not parallel: it swaps the package's flock, and the parallel tests
	// start only once the sequential ones are done.
	flockSys = func(int, int) error { return syscall.ENOLCK }
	defer func() { flockSys = syscall.Flock }()
	l := openTestLocks(t, 1)[0]
	if l.files {
		t.Fatal("lock files in use though flock fails")
	}
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.wait = 20 * time.Millisecond
	if err := l.acquire(context.Background()); !errors.Is(err, errWriteLockTimeout) {
		t.Fatalf("second writer of the handle: %v, want %v", err, errWriteLockTimeout)
	}
	l.release()
	if err := l.acquire(context.Background()); err != nil {
		t.Fatalf("after release: %v", err)
	}
	l.release()
}
