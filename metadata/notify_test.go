package metadata_test

import (
	"context"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
)

// TestWatchCommits: on PostgreSQL a commit made through one store (one
// gateway process) wakes Watch on another; SQLite's Watch returns at once.
func TestWatchCommits(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		other := e.open(t)
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		woken := make(chan struct{}, 100)
		done := make(chan error, 1)
		go func() {
			done <- other.Watch(wctx, func() {
				select {
				case woken <- struct{}{}:
				default:
				}
			})
		}()
		if e.url[:6] == "sqlite" {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("sqlite Watch: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("sqlite Watch did not return")
			}
			return
		}
		// The first call comes once the listener is in place.
		select {
		case <-woken:
		case <-time.After(10 * time.Second):
			t.Fatal("Watch never started listening")
		}
		tp := mustTopic(t, e.s, "watched", 2)
		for i := range 3 {
			commitOne(t, e.s, tp.ID, int32(i%2), plain(0, 100, 1, 1))
			select {
			case <-woken:
			case <-time.After(5 * time.Second):
				t.Fatalf("commit %d did not wake the other store's Watch", i)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Watch after cancel: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not return after cancel")
		}
	})
}

var _ metadata.Watcher = metadata.Store(nil)
