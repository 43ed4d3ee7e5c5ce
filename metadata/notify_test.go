package metadata_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
	"github.com/jackc/pgx/v5"
)

// TestWatchCommits: on PostgreSQL a commit made through one store (one
// gateway process) reaches Watch on another with what it appended, as
// its CommitResult said; SQLite's Watch returns at once.
func TestWatchCommits(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		other := e.open(t)
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		told := make(chan []metadata.Appended, 100)
		done := make(chan error, 1)
		go func() {
			done <- other.Watch(wctx, slog.New(slog.DiscardHandler), func(a []metadata.Appended) { told <- a })
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
		// The first call comes once the listener is in place, and says
		// that anything may have changed.
		select {
		case a := <-told:
			if a != nil {
				t.Fatalf("first call told %+v, want nil", a)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Watch never started listening")
		}
		tp := mustTopic(t, e.s, "watched", 2)
		for i, c := range []metadata.ObjectCommit{
			{Size: 1000, Runs: []metadata.PartitionRun{{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(0, 100, 1, 1), plain(100, 50, 3, 7)}}}},
			{Size: 2000, Runs: []metadata.PartitionRun{
				{Topic: tp.ID, Partition: 1, Batches: []metadata.BatchAppend{plain(0, 100, 2, 1)}},
				{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(100, 100, 1, -5)}},
			}},
		} {
			res := mustCommit(t, e.s, c)
			if len(res.Appended) != len(c.Runs) {
				t.Fatalf("commit %d appended %+v, want one per run", i, res.Appended)
			}
			select {
			case a := <-told:
				if !reflect.DeepEqual(a, res.Appended) {
					t.Fatalf("commit %d: Watch told %+v, want %+v", i, a, res.Appended)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("commit %d did not reach the other store's Watch", i)
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

// TestWatchWokenAfterCommit: the notification of a commit on PostgreSQL
// comes only once the commit is visible to other connections, so that a
// process woken by it, reading at once, finds what was committed. The
// commit is held between its writes and COMMIT (its objects row waits on
// another transaction's uncommitted row of the same key) for as long as
// it takes to be sure it is stuck there; a notification sent before the
// commit finished would wake the reader to the old offset.
func TestWatchWokenAfterCommit(t *testing.T) {
	read := make(chan int64, 100)
	w := watchOther(t, func(other metadata.Store, tp metadata.Topic) {
		p, err := other.Partition(ctx, tp.ID, 0)
		if err != nil {
			p.NextOffset = -1
		}
		read <- p.NextOffset
	})
	s, tp, admin := w.s, w.tp, w.admin
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch never listened")
	}

	blocker, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(ctx, "INSERT INTO objects (object_key, size, state, created_at) VALUES ('held', 0, 'live', 0)"); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() {
		_, err := s.CommitObject(ctx, metadata.ObjectCommit{Key: "held", Size: 100, Runs: []metadata.PartitionRun{{
			Topic: tp.ID, Batches: []metadata.BatchAppend{plain(0, 100, 1, 1)}}}})
		committed <- err
	}()
	// Asked outside the blocking transaction, which would see one
	// snapshot of pg_stat_activity for as long as it lasts.
	observer, err := pgx.Connect(ctx, w.url)
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; {
		err := observer.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO objects%'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the commit never waited for the held row")
		}
		select {
		case err := <-committed:
			t.Fatalf("the commit was not held: %v", err)
		case n := <-read:
			t.Fatalf("woken (next offset %d) while the commit waits before COMMIT", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Long enough for an announcer told too early to have sent.
	select {
	case n := <-read:
		t.Fatalf("woken (next offset %d) while the commit waits before COMMIT", n)
	case <-time.After(200 * time.Millisecond):
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-read:
		if n != 1 {
			t.Fatalf("woken after the commit, read next offset %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the commit woke nobody")
	}
}

// TestWatchAfterIdleAnnouncer: a store stops its announcer (and closes
// its connection) when it has had nothing to announce for a while; its
// next commit starts a new one and still wakes the other store.
func TestWatchAfterIdleAnnouncer(t *testing.T) {
	calls := make(chan struct{}, 10)
	w := watchOther(t, func(metadata.Store, metadata.Topic) { calls <- struct{}{} })
	s, tp, admin := w.s, w.tp, w.admin
	waitFor := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
		}
	}
	waitFor("first call: Watch never listened")
	announcers := func() int {
		var n int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%pg_notify%' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	commitOne(t, s, tp.ID, 0, plain(0, 100, 1, 1))
	waitFor("wake-up after the first commit")
	if n := announcers(); n != 1 {
		t.Fatalf("%d announcer connections after a commit, want 1", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for announcers() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle announcer kept its connection")
		}
		time.Sleep(100 * time.Millisecond)
	}
	commitOne(t, s, tp.ID, 0, plain(0, 100, 1, 1))
	waitFor("wake-up after a commit by a new announcer")
}

// watched is a store that commits, seen by another store's Watch.
type watched struct {
	url   string
	s     metadata.Store
	tp    metadata.Topic // "watched", one partition
	admin *pgx.Conn      // the test's own connection
}

// watchOther opens two stores on a fresh PostgreSQL database, creates the
// topic through the first and runs the second's Watch until the test
// ends, calling fn with the second store and the topic.
func watchOther(t *testing.T, fn func(other metadata.Store, tp metadata.Topic)) watched {
	t.Helper()
	w := watched{url: testenv.Postgres(t)}
	w.s = openStore(t, w.url)
	other := openStore(t, w.url)
	admin, err := pgx.Connect(ctx, w.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(ctx) })
	w.admin = admin
	w.tp = mustTopic(t, w.s, "watched", 1)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- other.Watch(wctx, slog.New(slog.DiscardHandler), func([]metadata.Appended) { fn(other, w.tp) })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	return w
}

func openStore(t *testing.T, url string) metadata.Store {
	t.Helper()
	s, err := metadata.Open(ctx, url, metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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
	go func() { done <- s.Watch(wctx, slog.New(logged), func([]metadata.Appended) { calls <- struct{}{} }) }()
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
