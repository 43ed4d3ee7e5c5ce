package metadata

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// sqlStore implements Store on SQLite and PostgreSQL.
type sqlStore struct {
	b   backend
	d   dialect
	now func() time.Time
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) Close() error { s.b.close(); return nil }

// wrap gives err the operation's context and makes connection-level
// failures ErrUnavailable.
func (s *sqlStore) wrap(ctx context.Context, op string, err error) error {
	var answer callerAnswer
	switch {
	case err == nil:
		return nil
	case errors.As(err, &answer):
		return fmt.Errorf("%s: %w", op, answer.err)
	case isSentinel(err), ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, err)
	case s.b.unavailable(err):
		return &unavailableError{op: op, err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// callerAnswer carries what a caller's callback returned out of the
// store's transaction as it was. PostgreSQL's backend takes any error that
// is not the server's for a lost connection, and the coordinators' own
// answers (a fenced producer, an invalid state) then reached their clients
// as COORDINATOR_NOT_AVAILABLE, which they retry forever.
type callerAnswer struct{ err error }

func (a callerAnswer) Error() string { return a.err.Error() }
func (a callerAnswer) Unwrap() error { return a.err }

func (s *sqlStore) tx(ctx context.Context, op string, fn func(execer) error) error {
	return s.wrap(ctx, op, s.b.inTx(ctx, fn))
}

// forUpdate is appended to SELECTs that lock rows on PostgreSQL; SQLite's
// write transactions already hold the database's write lock.
func (s *sqlStore) forUpdate(of string) string {
	if s.d == dialectPostgres {
		return " FOR UPDATE" + of
	}
	return ""
}

// forShare is forUpdate's shared lock, which only FOR UPDATE waits for.
func (s *sqlStore) forShare() string {
	if s.d == dialectPostgres {
		return " FOR SHARE"
	}
	return ""
}

// lockRows runs query, a SELECT, only for the row locks FOR UPDATE takes
// on PostgreSQL. It skips SQLite, where the transaction began IMMEDIATE
// (_txlock) and so already holds the database's write lock.
func (s *sqlStore) lockRows(ctx context.Context, q execer, query string, args ...any) error {
	if s.d != dialectPostgres {
		return nil
	}
	return scanAll(ctx, q, func(rows) error { return nil }, query+" FOR UPDATE", args...)
}

// nowMillis is the injected clock, truncated to what the store keeps.
func (s *sqlStore) nowMillis() int64 { return s.now().UnixMilli() }

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// scanAll calls scan for every row of q.
func scanAll(ctx context.Context, e execer, scan func(rows) error, q string, args ...any) error {
	rs, err := e.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}
