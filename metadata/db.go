package metadata

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
)

// The SQL in this package is written once, with ? placeholders, and runs on
// both databases through the small execer interface below; the PostgreSQL
// backend rewrites ? to $n. Dialect differences are few and explicit
// (row locks, id sequences, column types in the migrations).

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface{ Scan(dest ...any) error }

// stmt is one statement with its arguments, for execAll.
type stmt struct {
	q    string
	args []any
}

type execer interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	// queryRow's Scan returns sql.ErrNoRows when there is no row.
	queryRow(ctx context.Context, q string, args ...any) row
	// execAll runs the statements in order; PostgreSQL pipelines them in
	// one round trip.
	execAll(ctx context.Context, stmts []stmt) error
}

type backend interface {
	execer // outside any transaction
	dialect() dialect
	// inTx runs fn in a read-write transaction, retrying it a few times on
	// serialization failures and deadlocks.
	inTx(ctx context.Context, fn func(execer) error) error
	// lockAndWrite runs one transaction of two phases: the reads (row
	// locks) and then the writes that writes computes from what the reads
	// scanned. PostgreSQL sends each phase as one pipelined round trip
	// (BEGIN with the reads, the writes with COMMIT), which keeps the row
	// locks held for about one round trip. Retried like inTx; attempt is
	// called afresh for every try.
	lockAndWrite(ctx context.Context, attempt func() ([]read, func() ([]stmt, error))) error
	// unavailable reports whether err means the database could not be
	// reached or cannot serve now (retriable by the client).
	unavailable(err error) bool
	close()
}

// unavailableError is both ErrUnavailable and the underlying error.
type unavailableError struct {
	op  string
	err error
}

func (e *unavailableError) Error() string {
	return e.op + ": " + ErrUnavailable.Error() + ": " + e.err.Error()
}
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *unavailableError) Unwrap() error        { return e.err }

var sentinels = []error{ErrUnknownTopic, ErrUnknownPartition, ErrTopicExists, ErrInvalidPartitions,
	ErrOffsetOutOfRange, ErrOutOfOrderSequence, ErrInvalidProducerEpoch, ErrNotFound, ErrUnavailable,
	ErrInvalidTxnState, ErrConflict}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// read is a query whose rows are passed to scan.
type read struct {
	stmt
	scan func(rows) error
}

// runPhases is lockAndWrite on an open transaction, one statement at a time.
func runPhases(ctx context.Context, q execer, reads []read, writes func() ([]stmt, error)) error {
	for _, r := range reads {
		if err := scanAll(ctx, q, r.scan, r.q, r.args...); err != nil {
			return err
		}
	}
	ws, err := writes()
	if err != nil {
		return err
	}
	return q.execAll(ctx, ws)
}

// ---- SQLite ----

type sqliteBackend struct {
	w    *sql.DB    // one connection: writers queue in-process instead of spinning on SQLITE_BUSY
	r    *sql.DB    // readers (WAL lets them run beside the writer)
	lock *writeLock // held by every use of w, so other handles' writers get their turn
}

// sqliteSync is the synchronous pragma every SQLite connection runs with.
// In WAL mode NORMAL fsyncs only at checkpoints, so a commit that returned
// can vanish in a power loss or OS crash: acked records would lose their
// index rows and next_offset would go back and hand out their offsets
// again. FULL fsyncs the WAL at every commit, so a commit that returned is
// on disk, which is what an ack promises.
const sqliteSync = "FULL"

// sqliteBusyTimeout is how long a statement waits for another
// connection's lock on the file.
const sqliteBusyTimeout = 10 * time.Second

// openSQLite opens path with synchronous=sync (sqliteSync unless a
// benchmark asks for NORMAL to print what FULL costs).
func openSQLite(path, sync string) (*sqliteBackend, error) {
	q := "?_txlock=immediate&_pragma=busy_timeout(" + strconv.FormatInt(sqliteBusyTimeout.Milliseconds(), 10) + ")&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(" + sync + ")&_pragma=foreign_keys(1)"
	lock, err := openWriteLock(path)
	if err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", path+q)
	if err != nil {
		lock.close()
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", path+q)
	if err != nil {
		w.Close()
		lock.close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	return &sqliteBackend{w: w, r: r, lock: lock}, nil
}

func (b *sqliteBackend) dialect() dialect { return dialectSQLite }
func (b *sqliteBackend) close()           { b.r.Close(); b.w.Close(); b.lock.close() }

func (b *sqliteBackend) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if err := b.lock.acquire(ctx); err != nil {
		return 0, err
	}
	defer b.lock.release()
	return sqlExec(ctx, b.w, q, args)
}
func (b *sqliteBackend) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlQuery(ctx, b.r, q, args)
}
func (b *sqliteBackend) queryRow(ctx context.Context, q string, args ...any) row {
	return b.r.QueryRowContext(ctx, q, args...)
}
func (b *sqliteBackend) execAll(ctx context.Context, stmts []stmt) error {
	return b.inTx(ctx, func(e execer) error { return e.execAll(ctx, stmts) })
}

func (b *sqliteBackend) inTx(ctx context.Context, fn func(execer) error) error {
	if err := b.lock.acquire(ctx); err != nil {
		return err
	}
	defer b.lock.release()
	tx, err := b.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return err
	}
	if err := fn(sqlTx{tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (b *sqliteBackend) lockAndWrite(ctx context.Context, attempt func() ([]read, func() ([]stmt, error))) error {
	return b.inTx(ctx, func(q execer) error {
		reads, writes := attempt()
		return runPhases(ctx, q, reads, writes)
	})
}

func (b *sqliteBackend) unavailable(err error) bool {
	if errors.Is(err, errWriteLockTimeout) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6, 7, 8, 10, 13, 14, 15: // BUSY LOCKED NOMEM READONLY IOERR FULL CANTOPEN PROTOCOL
			return true
		}
		return false
	}
	return errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn)
}

type sqlQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func sqlExec(ctx context.Context, db sqlQuerier, q string, args []any) (int64, error) {
	res, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func sqlQuery(ctx context.Context, db sqlQuerier, q string, args []any) (rows, error) {
	r, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlExec(ctx, t.tx, q, args)
}
func (t sqlTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlQuery(ctx, t.tx, q, args)
}
func (t sqlTx) queryRow(ctx context.Context, q string, args ...any) row {
	return t.tx.QueryRowContext(ctx, q, args...)
}
func (t sqlTx) execAll(ctx context.Context, stmts []stmt) error {
	for _, s := range stmts {
		if _, err := t.tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// ---- PostgreSQL ----

type pgBackend struct {
	pool *pgxpool.Pool
}

func openPostgres(ctx context.Context, url string) (*pgBackend, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.AfterConnect = registerWireArrays
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgBackend{pool: pool}, nil
}

func (b *pgBackend) dialect() dialect { return dialectPostgres }
func (b *pgBackend) close()           { b.pool.Close() }

func (b *pgBackend) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := b.pool.Exec(ctx, rebind(q), args...)
	return tag.RowsAffected(), err
}
func (b *pgBackend) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := b.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}
func (b *pgBackend) queryRow(ctx context.Context, q string, args ...any) row {
	return pgRow{b.pool.QueryRow(ctx, rebind(q), args...)}
}
func (b *pgBackend) execAll(ctx context.Context, stmts []stmt) error {
	return b.inTx(ctx, func(e execer) error { return e.execAll(ctx, stmts) })
}

const pgMaxAttempts = 5

func (b *pgBackend) inTx(ctx context.Context, fn func(execer) error) error {
	return pgRetry(ctx, func() error { return b.tryTx(ctx, fn) })
}

func pgRetry(ctx context.Context, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil || attempt == pgMaxAttempts || !pgRetriable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * time.Millisecond):
		}
	}
}

func (b *pgBackend) tryTx(ctx context.Context, fn func(execer) error) error {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(pgTx{tx}); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

func (b *pgBackend) lockAndWrite(ctx context.Context, attempt func() ([]read, func() ([]stmt, error))) error {
	return pgRetry(ctx, func() error {
		reads, writes := attempt()
		return b.tryLockAndWrite(ctx, reads, writes)
	})
}

func (b *pgBackend) tryLockAndWrite(ctx context.Context, reads []read, writes func() ([]stmt, error)) (err error) {
	c, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// Release destroys a connection left inside a transaction.
	defer c.Release()
	defer func() {
		if err != nil && c.Conn().PgConn().TxStatus() != 'I' && !c.Conn().IsClosed() {
			c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	var batch pgx.Batch
	batch.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	for _, r := range reads {
		batch.Queue(rebind(r.q), r.args...)
	}
	br := c.SendBatch(ctx, &batch)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return err
	}
	for _, r := range reads {
		rs, err := br.Query()
		if err == nil {
			for rs.Next() {
				if err = r.scan(rs); err != nil {
					break
				}
			}
			rs.Close()
			if err == nil {
				err = rs.Err()
			}
		}
		if err != nil {
			br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	ws, err := writes()
	if err != nil {
		return err
	}
	batch = pgx.Batch{}
	for _, w := range ws {
		batch.Queue(rebind(w.q), w.args...)
	}
	batch.Queue("COMMIT")
	br = c.SendBatch(ctx, &batch)
	for range batch.QueuedQueries {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// pgRetriable: serialization failure or deadlock detected.
func pgRetriable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (b *pgBackend) unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources (too many connections, disk full)
			strings.HasPrefix(pe.Code, "57P"), // admin shutdown, crash shutdown, cannot connect now
			strings.HasPrefix(pe.Code, "58"):  // system error (I/O)
			return true
		}
		return false
	}
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sql.ErrNoRows) {
		return false
	}
	// Anything that is not a server-side SQL error comes from the
	// connection: dial failures, resets, timeouts, a closed pool.
	return true
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, rebind(q), args...)
	return tag.RowsAffected(), err
}
func (t pgTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := t.tx.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}
func (t pgTx) queryRow(ctx context.Context, q string, args ...any) row {
	return pgRow{t.tx.QueryRow(ctx, rebind(q), args...)}
}
func (t pgTx) execAll(ctx context.Context, stmts []stmt) error {
	switch len(stmts) {
	case 0:
		return nil
	case 1:
		_, err := t.exec(ctx, stmts[0].q, stmts[0].args...)
		return err
	}
	var batch pgx.Batch
	for _, s := range stmts {
		batch.Queue(rebind(s.q), s.args...)
	}
	br := t.tx.SendBatch(ctx, &batch)
	for range stmts {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

var rebound sync.Map // string → string

// rebind turns ? placeholders into PostgreSQL's $1, $2, … The package's SQL
// never has ? inside literals.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	if n < 64 { // don't cache the long generated multi-row statements
		rebound.Store(q, out)
	}
	return out
}

// maxStmtRows bounds the rows, or IN-list items, of one generated
// statement. At the widest row (9 arguments) that is 4500 bound
// parameters, well under SQLite's limit of 32766 (and PostgreSQL's 65535).
const maxStmtRows = 500

// placeholders returns "(?,?,…),(?,?,…)…" for rows tuples of width cols.
// marks is n comma-separated placeholders, for IN lists.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func placeholders(rows, cols int) string {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(tuple+",", rows), ",")
}
