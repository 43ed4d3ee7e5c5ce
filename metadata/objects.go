package metadata

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// objectCols are the columns an insert names (merged defaults to 0);
// objectRead those a read scans.
const (
	objectCols = "object_key, size, state, created_at, delete_after"
	objectRead = objectCols + ", merged"
)

func scanObject(r row) (Object, error) {
	var (
		o                        Object
		created, deleteA, merged int64
	)
	err := r.Scan(&o.Key, &o.Size, &o.State, &created, &deleteA, &merged)
	o.CreatedAt, o.DeleteAfter, o.Merged = fromMillis(created), fromMillis(deleteA), merged != 0
	return o, err
}

func (s *sqlStore) Object(ctx context.Context, key string) (Object, error) {
	o, err := scanObject(s.b.queryRow(ctx, "SELECT "+objectRead+" FROM objects WHERE object_key = ?", key))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return o, s.wrap(ctx, "object "+key, err)
}

// Objects reads pages of rows and calls fn between queries, so fn may use
// the store.
func (s *sqlStore) Objects(ctx context.Context, fn func(Object) error) error {
	const page = 1000
	after := ""
	for {
		var os []Object
		err := scanAll(ctx, s.b, func(r rows) error {
			o, err := scanObject(r)
			os = append(os, o)
			return err
		}, "SELECT "+objectRead+" FROM objects WHERE object_key > ? ORDER BY object_key LIMIT ?", after, page)
		if err != nil {
			return s.wrap(ctx, "list objects", err)
		}
		for _, o := range os {
			if err := fn(o); err != nil {
				return err
			}
		}
		if len(os) < page {
			return nil
		}
		after = os[len(os)-1].Key
	}
}

// keyChunks runs stmtFor over keys in chunks of IN lists.
func keyChunks(keys []string, stmtFor func(in string, args []any) stmt, lead ...any) []stmt {
	var out []stmt
	for lo := 0; lo < len(keys); lo += maxStmtRows {
		part := keys[lo:min(lo+maxStmtRows, len(keys))]
		args := append([]any{}, lead...)
		for _, k := range part {
			args = append(args, k)
		}
		out = append(out, stmtFor(placeholders(1, len(part)), args))
	}
	return out
}

func (s *sqlStore) MarkObjects(ctx context.Context, keys []string, deleteAfter time.Time) error {
	stmts := keyChunks(keys, func(in string, args []any) stmt {
		return stmt{"UPDATE objects SET state = ?, delete_after = ? WHERE object_key IN " + in, args}
	}, string(ObjectMarked), toMillis(deleteAfter))
	return s.wrap(ctx, "mark objects", s.b.execAll(ctx, stmts))
}

func (s *sqlStore) ForgetObjects(ctx context.Context, keys []string) error {
	stmts := keyChunks(keys, func(in string, args []any) stmt {
		return stmt{"DELETE FROM objects WHERE object_key IN " + in, args}
	})
	return s.wrap(ctx, "forget objects", s.b.execAll(ctx, stmts))
}

func (s *sqlStore) ClaimOrphans(ctx context.Context, keys []string) ([]string, error) {
	now := s.nowMillis()
	var stmts []stmt
	for lo := 0; lo < len(keys); lo += maxStmtRows {
		part := keys[lo:min(lo+maxStmtRows, len(keys))]
		args := make([]any, 0, 5*len(part))
		for _, k := range part {
			args = append(args, k, 0, string(ObjectOrphan), now, 0)
		}
		stmts = append(stmts, stmt{"INSERT INTO objects (" + objectCols + ") VALUES " + placeholders(len(part), 5) +
			" ON CONFLICT (object_key) DO NOTHING", args})
	}
	if err := s.wrap(ctx, "claim orphan objects", s.b.execAll(ctx, stmts)); err != nil {
		return nil, err
	}
	rows, err := s.ObjectsByKey(ctx, keys)
	if err != nil {
		return nil, err
	}
	var fenced []string
	for _, k := range keys {
		if o, ok := rows[k]; ok && o.State == ObjectOrphan {
			fenced = append(fenced, k)
		}
	}
	return fenced, nil
}

func (s *sqlStore) DropOrphanFences(ctx context.Context, maxAge time.Duration) (int, error) {
	n, err := s.b.exec(ctx, "DELETE FROM objects WHERE state = ? AND created_at <= ?", string(ObjectOrphan), s.nowMillis()-maxAge.Milliseconds())
	return int(n), s.wrap(ctx, "drop orphan fences", err)
}
