package metadata

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cross-process commit notifications. A gateway's long-polling fetches are
// woken by its own commits in-process; commits made by other gateways reach
// it through the metadata store. On PostgreSQL every CommitObject sends
// NOTIFY on commitChannel inside its transaction (delivered at COMMIT, so a
// woken reader sees the new offsets), and Watch LISTENs on a dedicated
// connection. SQLite is single-process: there is nobody else to tell, and
// Watch returns at once.

// commitChannel is the PostgreSQL notification channel of object commits.
const commitChannel = "caudal_commits"

// Watcher is implemented by stores that tell one process about commits
// made by others.
type Watcher interface {
	// Watch calls fn after objects are committed (by any process), until
	// ctx ends, and then returns nil. fn may also be called spuriously,
	// e.g. after a reconnect, when notifications may have been missed.
	// Lost connections are logged on log and retried. A store without
	// cross-process notifications returns nil at once.
	Watch(ctx context.Context, log *slog.Logger, fn func()) error
}

// commitNotify is the statement CommitObject adds to its writes so that
// the transaction announces itself on commit; none on SQLite.
func (s *sqlStore) commitNotify() []stmt {
	if _, quiet := muted.Load(s); quiet || s.d != dialectPostgres {
		return nil
	}
	// The payload is only a tick: readers re-read the partitions they
	// wait on. PostgreSQL folds identical notifications of one transaction.
	return []stmt{{q: "SELECT pg_notify('" + commitChannel + "', '')"}}
}

// muted holds the stores whose commits announce nothing (see MuteNotifications).
var muted sync.Map

// MuteNotifications stops commits through s from telling other processes;
// their long polls then see them only when they re-check on their own
// timer. Only benchmarks call it, to print what notifications cost.
func MuteNotifications(s Store) { muted.Store(s, true) }

// The wait between reconnects of the listener starts at watchRetry and
// doubles up to watchBackoff. A connection that listened for watchBackoff
// or longer was healthy, so its loss starts a new outage from watchRetry:
// waits do not stay at the maximum after one bad period.
const (
	watchRetry   = 100 * time.Millisecond
	watchBackoff = 5 * time.Second
)

func (s *sqlStore) Watch(ctx context.Context, log *slog.Logger, fn func()) error {
	pb, ok := s.b.(*pgBackend)
	if !ok {
		return nil
	}
	wait := watchRetry
	for ctx.Err() == nil {
		listened, err := pb.listen(ctx, fn)
		if ctx.Err() != nil {
			break
		}
		if listened >= watchBackoff {
			wait = watchRetry
		}
		// Until it reconnects this gateway's long polls miss other
		// gateways' commits (they still re-check on their own timer).
		log.Warn("listen for commits of other gateways", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, watchBackoff)
	}
	return nil
}

// listen holds one dedicated connection (outside the pool, which it would
// otherwise pin) in LISTEN until it fails or ctx ends, and returns for how
// long it listened.
func (b *pgBackend) listen(ctx context.Context, fn func()) (time.Duration, error) {
	conn, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig.Copy())
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+commitChannel); err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	start := time.Now()
	// Commits may have happened while this process was not listening.
	fn()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return time.Since(start), fmt.Errorf("wait for notification: %w", err)
		}
		fn()
	}
}
