package metadata

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations live in migrations/<dialect>/NNNN_name.sql, one set per
// dialect, applied in version order. A file is a list of statements each
// ending with ';' at the end of a line. Never edit an applied migration;
// add a new file with both dialects' versions.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	stmts   []string
}

// migrationLock is the PostgreSQL advisory lock key that serializes
// migrations of processes starting at once ("caudal" in ASCII, roughly).
const migrationLock = 0x636175646c

func loadMigrations(d dialect) ([]migration, error) {
	dir := "migrations/sqlite"
	if d == dialectPostgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", e.Name())
		}
		text, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), stmts: splitStatements(string(text))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// splitStatements splits SQL text at semicolons that end a line, dropping
// comment-only lines.
func splitStatements(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// migrate applies the pending migrations in one transaction. On PostgreSQL
// a transaction-scoped advisory lock makes concurrent start-ups wait for
// each other; on SQLite the write transaction (BEGIN IMMEDIATE) does.
func (s *sqlStore) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	err = s.b.inTx(ctx, func(q execer) error {
		if s.d == dialectPostgres {
			if _, err := q.exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(migrationLock)); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		applied := map[int]bool{}
		rs, err := q.query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		for rs.Next() {
			var v int
			if err := rs.Scan(&v); err != nil {
				rs.Close()
				return err
			}
			applied[v] = true
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			for _, st := range m.stmts {
				if _, err := q.exec(ctx, st); err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
			}
			if _, err := q.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
				m.version, s.now().UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap(ctx, "migrate metadata schema", err)
}
