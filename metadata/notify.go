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
// it through the metadata store: on PostgreSQL a NOTIFY on commitChannel,
// which Watch LISTENs for on a dedicated connection. SQLite is
// single-process: there is nobody else to tell, and Watch returns at once.
//
// The NOTIFY is not sent inside the commit transactions: PostgreSQL
// serializes the commits of notifying transactions behind one
// database-wide lock held through their WAL flush, which cost 16
// committing gateways 35-40% of their commit rate on a durable server
// (BenchmarkCommitNotify, docs/capacity.md). Instead each store has an
// announcer. CommitObject hands it what a commit appended once the commit
// is done, and the announcer, on a connection of its own, sends at most
// once per announceEvery, in one transaction, NOTIFYs that carry what the
// commits handed over since appended (notify_payload.go). So a woken
// reader always finds the commits it was woken for. A commit whose outcome
// CommitObject does not know (its connection lost during COMMIT) is not
// announced: readers see it at the partition's next commit, which leaves
// a gap, or at their own re-check.

// commitChannel is the PostgreSQL notification channel of object commits.
const commitChannel = "caudal_commits"

// Watcher is implemented by stores that tell one process about commits
// made by others.
type Watcher interface {
	// Watch calls fn after objects are committed (by any process, this
	// one's included), with what each commit appended, until ctx ends,
	// and then returns nil. fn(nil) means anything may have changed: a
	// commit too wide to describe, or a reconnect, after which
	// notifications may have been missed. Lost connections are logged on
	// log and retried. A store without cross-process notifications
	// returns nil at once.
	Watch(ctx context.Context, log *slog.Logger, fn func([]Appended)) error
}

const (
	// announceEvery is the least time between two NOTIFYs of a store:
	// one gateway sends at most 40 a second however often it flushes.
	announceEvery = 25 * time.Millisecond
	// announceGiveUp is how long a commit stays pending while the
	// database cannot be reached.
	announceGiveUp = 10 * time.Second
	// announceLinger is how long an idle announcer keeps its connection
	// before it ends; steady flushing never lets it end.
	announceLinger = 5 * time.Second
	// announceTimeout bounds each exchange with the database.
	announceTimeout = 5 * time.Second
)

// announcer announces one store's commits to other processes.
type announcer struct {
	b    *pgBackend
	wake chan struct{} // one token: something is pending
	// pending is the commits to announce, in the order they were handed
	// over; guarded by announcers.
	pending []pendingCommit
	conn    *pgx.Conn // the announcer's own; nil until connected
}

// pendingCommit is a commit waiting to be announced.
type pendingCommit struct {
	since time.Time // when it was handed over
	announced
}

// announcers maps each store with commits to announce to its running
// announcer (kept here rather than in the store: it exists only while
// there is work, and leaves the map when it ends).
var announcers = struct {
	sync.Mutex
	m map[*sqlStore]*announcer
}{m: map[*sqlStore]*announcer{}}

// muted holds the stores whose commits announce nothing (see MuteNotifications).
var muted sync.Map

// MuteNotifications stops (mute) or restarts commits through s telling
// other processes; muted, their long polls see them only when they
// re-check on their own timer. Only benchmarks call it, to print what
// notifications cost.
func MuteNotifications(s Store, mute bool) {
	if mute {
		muted.Store(s, true)
	} else {
		muted.Delete(s)
	}
}

// announce hands a done commit's object and what it appended to the
// store's announcer, starting one if none runs.
func (s *sqlStore) announce(key string, appended []Appended) {
	pb, ok := s.b.(*pgBackend)
	if _, quiet := muted.Load(s); quiet || !ok {
		return
	}
	announcers.Lock()
	a := announcers.m[s]
	if a == nil {
		a = &announcer{b: pb, wake: make(chan struct{}, 1)}
		announcers.m[s] = a
		go a.run(s)
	}
	a.pending = append(a.pending, pendingCommit{time.Now(), announced{key, appended}})
	announcers.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run announces s's commits until it has had nothing to do for
// announceLinger. Database errors drop the connection and back off as
// Watch does; the commits stay pending meanwhile.
func (a *announcer) run(s *sqlStore) {
	defer a.disconnect()
	retry := watchRetry
	var notified time.Time
	for {
		select {
		case <-a.wake:
		case <-time.After(announceLinger):
			if a.retire(s) {
				return
			}
			continue
		}
		for a.due() {
			time.Sleep(time.Until(notified.Add(announceEvery)))
			if err := a.announcePending(); err != nil {
				a.disconnect()
				time.Sleep(retry)
				retry = min(2*retry, watchBackoff)
				continue
			}
			notified, retry = time.Now(), watchRetry
		}
	}
}

// due reports whether commits are pending, forgetting those pending for
// longer than announceGiveUp.
func (a *announcer) due() bool {
	announcers.Lock()
	defer announcers.Unlock()
	old := 0
	for old < len(a.pending) && time.Since(a.pending[old].since) > announceGiveUp {
		old++
	}
	a.pending = a.pending[old:]
	return len(a.pending) > 0
}

// retire ends the announcer unless commits are pending: the next commit
// of s then starts a new one.
func (a *announcer) retire(s *sqlStore) bool {
	announcers.Lock()
	defer announcers.Unlock()
	if len(a.pending) > 0 {
		return false
	}
	delete(announcers.m, s)
	return true
}

// announcePending sends the NOTIFYs that tell what the pending commits
// appended, and stops tracking them.
func (a *announcer) announcePending() error {
	announcers.Lock()
	commits := make([]announced, len(a.pending))
	for i, p := range a.pending {
		commits[i] = p.announced
	}
	announcers.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	if a.conn == nil {
		cfg := a.b.pool.Config().ConnConfig.Copy()
		// A NOTIFY transaction holds PostgreSQL's notification lock until
		// it has committed; it writes nothing that needs to survive a
		// crash, so it need not wait for its WAL flush under that lock.
		cfg.RuntimeParams["synchronous_commit"] = "off"
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		a.conn = conn
	}
	// One statement, one transaction: the notifications are delivered,
	// in order, when it commits.
	if _, err := a.conn.Exec(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", commitChannel, encodePayloads(commits)); err != nil {
		return err
	}
	announcers.Lock()
	// Those handed over meanwhile stay.
	a.pending = a.pending[len(commits):]
	announcers.Unlock()
	return nil
}

func (a *announcer) disconnect() {
	if a.conn != nil {
		a.conn.Close(context.Background())
		a.conn = nil
	}
}

// The wait between reconnects of the listener starts at watchRetry and
// doubles up to watchBackoff. A connection that listened for watchBackoff
// or longer was healthy, so its loss starts a new outage from watchRetry:
// waits do not stay at the maximum after one bad period.
const (
	watchRetry   = 100 * time.Millisecond
	watchBackoff = 5 * time.Second
)

func (s *sqlStore) Watch(ctx context.Context, log *slog.Logger, fn func([]Appended)) error {
	pb, ok := s.b.(*pgBackend)
	if !ok {
		return nil
	}
	wait := watchRetry
	for ctx.Err() == nil {
		listened, err := pb.listen(ctx, log, fn)
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
func (b *pgBackend) listen(ctx context.Context, log *slog.Logger, fn func([]Appended)) (time.Duration, error) {
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
	fn(nil)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return time.Since(start), fmt.Errorf("wait for notification: %w", err)
		}
		appended, err := decodePayload(n.Payload)
		if err != nil {
			log.Warn("commit notification not understood; rereading everything", "err", err)
		}
		fn(appended)
	}
}
