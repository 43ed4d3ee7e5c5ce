package metadata

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Open connects to the metadata store at url and applies any pending schema
// migrations:
//
//	sqlite:///path/to/metadata.db   (embedded; sqlite://relative/path also works)
//	postgres://user@host:5432/db     (or postgresql://)
//
// A database that cannot be reached is an error that Is ErrUnavailable.
func Open(ctx context.Context, url string, opts Options) (Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var (
		b   backend
		err error
	)
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return nil, fmt.Errorf("metadata url %q: no database path", redacted(url))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("open metadata store: %w: %v", ErrUnavailable, err)
		}
		sync := sqliteSync
		if opts.UnsafeSQLiteNoSync {
			sync = "NORMAL"
		}
		b, err = openSQLite(path, sync)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		b, err = openPostgres(ctx, url)
	default:
		return nil, fmt.Errorf("metadata url %q: want sqlite:// or postgres://", redacted(url))
	}
	if err != nil {
		return nil, fmt.Errorf("open metadata store: %w", err)
	}
	s := &sqlStore{b: b, d: b.dialect(), now: opts.Now}
	if err := s.migrateOnOpen(ctx); err != nil {
		b.close()
		return nil, err
	}
	return s, nil
}

// migrateOnOpen migrates, trying again while a new SQLite file is busy.
// Processes opening one new file at once can get SQLITE_BUSY at once,
// without the busy timeout, while one of them turns the file to WAL
// (TestConcurrentFirstOpen failed 2 times in 300), so they try again for
// as long as the busy timeout would have waited.
func (s *sqlStore) migrateOnOpen(ctx context.Context) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	for {
		err := s.migrate(ctx)
		if err == nil || s.d != dialectSQLite || !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// redacted is url with any password replaced, for error messages: a
// mistyped scheme must not put the database password in the logs.
func redacted(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
