package metadata_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
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
			done <- other.Watch(wctx, slog.New(slog.DiscardHandler), func() {
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

// TestWatchReconnects: when PostgreSQL ends the listener's connection,
// Watch logs why, reconnects and calls fn (commits may have been missed).
// Quick losses double the wait before reconnecting; the loss of a
// connection that lasted starts again from the shortest wait.
func TestWatchReconnects(t *testing.T) {
	url := testenv.Postgres(t)
	s, err := metadata.Open(ctx, url, metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)

	logged := &retryLog{waits: make(chan time.Duration, 10)}
	calls := make(chan struct{}, 10)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Watch(wctx, slog.New(logged), func() { calls <- struct{}{} }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	waitFor := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
		}
	}
	waitFor("first call: Watch never listened", calls)

	for i, step := range []struct {
		listenFor time.Duration // before the connection is ended
		wantWait  time.Duration
	}{
		{0, 100 * time.Millisecond},
		{0, 200 * time.Millisecond},
		{0, 400 * time.Millisecond},
		{5500 * time.Millisecond, 100 * time.Millisecond}, // after a healthy connection
	} {
		time.Sleep(step.listenFor)
		var ended int
		err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&ended)
		if err != nil || ended != 1 {
			t.Fatalf("step %d: ended %d listeners: %v", i, ended, err)
		}
		select {
		case w := <-logged.waits:
			if w != step.wantWait {
				t.Errorf("step %d: logged a retry in %v, want %v", i, w, step.wantWait)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("step %d: the lost connection was not logged", i)
		}
		waitFor("call after the reconnect", calls)
	}
}

// retryLog is a slog handler that passes on the retry_in of each record.
type retryLog struct{ waits chan time.Duration }

func (h *retryLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *retryLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *retryLog) WithGroup(string) slog.Handler            { return h }
func (h *retryLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			h.waits <- a.Value.Duration()
		}
		return true
	})
	return nil
}

var _ metadata.Watcher = metadata.Store(nil)
