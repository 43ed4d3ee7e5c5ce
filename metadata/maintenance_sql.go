package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// The worker's transactions lock the one partition row they change first
// (SELECT … FOR UPDATE on PostgreSQL), as CommitObject and DeleteTopic do,
// so lock waits between them cannot form a cycle.

// maintWrap is wrap that keeps ErrConflict a plain error (it is not a
// connection failure).
func (s *sqlStore) maintWrap(ctx context.Context, op string, err error) error {
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("%s: %w", op, ErrConflict)
	}
	return s.wrap(ctx, op, err)
}

// lockPartition locks and reads one partition row inside a transaction.
func (s *sqlStore) lockPartition(ctx context.Context, q execer, topic uuid.UUID, partition int32) (PartitionState, error) {
	p, err := scanPartition(q.queryRow(ctx, "SELECT "+partitionCols+" FROM partitions WHERE topic_id = ? AND part = ?"+s.forUpdate(""), topic, partition))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrUnknownPartition
	}
	return p, err
}

// markIfUnreferenced marks those of keys that are live and that no index
// row references, and returns them. On PostgreSQL it first narrows keys to
// those that look unreferenced now: the others cannot be marked by this
// transaction anyway, and locking them would make the trims of the
// partitions sharing an object queue on it.
func (s *sqlStore) markIfUnreferenced(ctx context.Context, q execer, keys []string, deleteAfter time.Time) ([]string, error) {
	keys = dedupe(keys)
	if s.d == dialectPostgres {
		var maybe []string
		for _, st := range keyChunks(keys, func(in string, args []any) stmt {
			return stmt{"SELECT object_key FROM objects WHERE state = ? AND object_key IN " + in + " AND " + unreferenced, args}
		}, string(ObjectLive)) {
			var err error
			if maybe, err = appendKeys(ctx, q, maybe, st.q, st.args...); err != nil {
				return nil, err
			}
		}
		keys = maybe
	}
	return s.markUnreferenced(ctx, q, keys, deleteAfter)
}

// markUnreferenced locks the objects of keys FOR UPDATE, in key order, and
// then marks those that are live and unreferenced, checking in a later
// statement, whose snapshot is newer than the locks. A swap adding rows
// to a merged object holds it FOR SHARE (recordObject), and a check in the
// statement that waited for it would still miss its rows and mark an
// object they point at.
func (s *sqlStore) markUnreferenced(ctx context.Context, q execer, keys []string, deleteAfter time.Time) ([]string, error) {
	slices.Sort(keys)
	for _, st := range keyChunks(keys, func(in string, args []any) stmt {
		return stmt{"SELECT object_key FROM objects WHERE object_key IN " + in + " ORDER BY object_key", args}
	}) {
		if err := s.lockRows(ctx, q, st.q, st.args...); err != nil {
			return nil, err
		}
	}
	var marked []string
	for _, st := range keyChunks(keys, func(in string, args []any) stmt {
		return stmt{"UPDATE objects SET state = ?, delete_after = ? WHERE state = ? AND object_key IN " + in +
			" AND " + unreferenced + " RETURNING object_key", args}
	}, string(ObjectMarked), toMillis(deleteAfter), string(ObjectLive)) {
		var err error
		if marked, err = appendKeys(ctx, q, marked, st.q, st.args...); err != nil {
			return nil, err
		}
	}
	return marked, nil
}

// unreferenced is true of an objects row no index row points at.
const unreferenced = "NOT EXISTS (SELECT 1 FROM index_entries i WHERE i.object_key = objects.object_key)"

// appendKeys appends the one text column of query's rows to keys.
func appendKeys(ctx context.Context, q execer, keys []string, query string, args ...any) ([]string, error) {
	err := scanAll(ctx, q, func(r rows) error {
		var k string
		err := r.Scan(&k)
		keys = append(keys, k)
		return err
	}, query, args...)
	return keys, err
}

func dedupe(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func (s *sqlStore) TrimLog(ctx context.Context, topic uuid.UUID, partition int32, start int64, deleteAfter time.Time) (TrimResult, error) {
	var res TrimResult
	op := fmt.Sprintf("trim log of %s/%d to %d", topic, partition, start)
	err := s.tx(ctx, op, func(q execer) error {
		res = TrimResult{}
		p, err := s.lockPartition(ctx, q, topic, partition)
		if err != nil {
			return err
		}
		if start = min(start, p.NextOffset); start > p.LogStartOffset {
			if _, err := q.exec(ctx, "UPDATE partitions SET log_start_offset = ? WHERE topic_id = ? AND part = ?", start, topic, partition); err != nil {
				return err
			}
			p.LogStartOffset = start
		}
		res.State = p
		var keys []string
		// base_offset < ? follows from last_offset < ?, and lets the
		// primary key find the rows.
		keys, err = appendKeys(ctx, q, keys, "DELETE FROM index_entries WHERE topic_id = ? AND part = ? AND base_offset < ? AND last_offset < ? RETURNING object_key",
			topic, partition, p.LogStartOffset, p.LogStartOffset)
		if err != nil {
			return err
		}
		res.RemovedRows = len(keys)
		res.Marked, err = s.markIfUnreferenced(ctx, q, keys, deleteAfter)
		return err
	})
	return res, err
}

func (s *sqlStore) PartitionSize(ctx context.Context, topic uuid.UUID, partition int32) (int64, int64, error) {
	var n, bytes int64
	err := s.b.queryRow(ctx, "SELECT COUNT(*), COALESCE(SUM(byte_length), 0) FROM index_entries WHERE topic_id = ? AND part = ?",
		topic, partition).Scan(&n, &bytes)
	return n, bytes, s.wrap(ctx, fmt.Sprintf("size of %s/%d", topic, partition), err)
}

// sameRow compares what a replacement planned on with a stored row.
func sameRow(a, b IndexEntry) bool {
	return a.BaseOffset == b.BaseOffset && a.LastOffset == b.LastOffset && a.ObjectKey == b.ObjectKey &&
		a.ByteOffset == b.ByteOffset && a.ByteLength == b.ByteLength && a.Absolute == b.Absolute
}

func (s *sqlStore) ReplaceIndex(ctx context.Context, r IndexReplacement, deleteAfter time.Time) error {
	op := fmt.Sprintf("replace index rows of %s/%d", r.Topic, r.Partition)
	if len(r.Old) == 0 {
		return fmt.Errorf("%s: no rows to replace", op)
	}
	lo, hi := r.Old[0].BaseOffset, r.Old[len(r.Old)-1].LastOffset
	newKeys := map[string]bool{}
	for _, o := range r.Objects {
		newKeys[o.Key] = true
	}
	for i, e := range r.New {
		if e.BaseOffset < lo || e.LastOffset > hi || e.LastOffset < e.BaseOffset ||
			(i > 0 && e.BaseOffset <= r.New[i-1].LastOffset) || !newKeys[e.ObjectKey] {
			return fmt.Errorf("%s: new row %d [%d, %d] in %s does not fit [%d, %d] or the new objects",
				op, i, e.BaseOffset, e.LastOffset, e.ObjectKey, lo, hi)
		}
	}
	err := s.tx(ctx, op, func(q execer) error {
		if _, err := s.lockPartition(ctx, q, r.Topic, r.Partition); err != nil {
			return err
		}
		var (
			cur    []IndexEntry
			marked []bool
		)
		where, args := rowsFrom(r.Topic, r.Partition, lo)
		where += " AND base_offset <= ?"
		args = append(args, hi)
		err := scanAll(ctx, q, func(rs rows) error {
			var mark int64
			e, err := scanIndex(rs, &mark)
			cur, marked = append(cur, e), append(marked, mark == 1)
			return err
		}, indexMarkedSelect+" WHERE "+where+" ORDER BY base_offset", args...)
		if err != nil {
			return err
		}
		if len(cur) != len(r.Old) {
			return ErrConflict
		}
		for i := range cur {
			if !sameRow(cur[i], r.Old[i]) {
				return ErrConflict
			}
		}
		marks := newTimeMarks(cur, marked, r.New)
		if _, err := q.exec(ctx, "DELETE FROM index_entries WHERE "+where, args...); err != nil {
			return err
		}
		for _, o := range r.Objects {
			if err := s.recordObject(ctx, q, o); err != nil {
				return err
			}
		}
		for c := 0; c < len(r.New); c += maxStmtRows {
			part := r.New[c:min(c+maxStmtRows, len(r.New))]
			args := make([]any, 0, 10*len(part))
			for i, e := range part {
				abs := 0
				if e.Absolute {
					abs = 1
				}
				args = append(args, r.Topic, r.Partition, e.BaseOffset, e.LastOffset, e.ObjectKey, e.ByteOffset, e.ByteLength, e.MaxTimestamp, abs, marks[c+i])
			}
			ph := placeholders(len(part), 10)
			if s.d == dialectPostgres {
				// absolute is boolean there; the ninth placeholder of each
				// tuple gets a cast.
				ph = boolTuples(len(part))
			}
			if _, err := q.exec(ctx, "INSERT INTO index_entries ("+indexReadCols+", time_mark) VALUES "+ph, args...); err != nil {
				return err
			}
		}
		keys := make([]string, len(r.Old))
		for i, e := range r.Old {
			keys[i] = e.ObjectKey
		}
		_, err = s.markIfUnreferenced(ctx, q, keys, deleteAfter)
		return err
	})
	return s.maintWrap(ctx, op, err)
}

// recordObject records a replacement's new object as live. A merged one
// may already be recorded by the swap of another of its partitions, and
// then must still be live: an object marked for deletion, or fenced by
// orphan GC because its first swap came too late, takes no more rows.
// The swap holds it FOR SHARE until it commits, so that marking it waits
// for the rows (markIfUnreferenced).
func (s *sqlStore) recordObject(ctx context.Context, q execer, o Object) error {
	if !o.Merged {
		_, err := q.exec(ctx, "INSERT INTO objects ("+objectCols+") VALUES (?, ?, ?, ?, 0)", o.Key, o.Size, string(ObjectLive), s.nowMillis())
		return err
	}
	if _, err := q.exec(ctx, "INSERT INTO objects ("+objectCols+", merged) VALUES (?, ?, ?, ?, 0, 1) ON CONFLICT (object_key) DO NOTHING",
		o.Key, o.Size, string(ObjectLive), s.nowMillis()); err != nil {
		return err
	}
	cur, err := scanObject(q.queryRow(ctx, "SELECT "+objectRead+" FROM objects WHERE object_key = ?"+s.forShare(), o.Key))
	if err != nil {
		return err
	}
	if cur.State != ObjectLive || !cur.Merged || cur.Size != o.Size {
		return fmt.Errorf("%w: object %s is %s (merged %v, %d bytes), not the live merged object of %d bytes", ErrConflict, o.Key, cur.State, cur.Merged, cur.Size, o.Size)
	}
	return nil
}

// boolTuples is placeholders(n, 10) with the ninth column cast from an
// integer to boolean, for PostgreSQL.
func boolTuples(n int) string {
	const tuple = "(?,?,?,?,?,?,?,?,?::integer::boolean,?)"
	out := make([]byte, 0, n*(len(tuple)+1))
	for i := range n {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, tuple...)
	}
	return string(out)
}

func (s *sqlStore) ObjectsByKey(ctx context.Context, keys []string) (map[string]Object, error) {
	out := make(map[string]Object, len(keys))
	for _, st := range keyChunks(dedupe(keys), func(in string, args []any) stmt {
		return stmt{"SELECT " + objectRead + " FROM objects WHERE object_key IN " + in, args}
	}) {
		err := scanAll(ctx, s.b, func(r rows) error {
			o, err := scanObject(r)
			out[o.Key] = o
			return err
		}, st.q, st.args...)
		if err != nil {
			return nil, s.wrap(ctx, "look up objects", err)
		}
	}
	return out, nil
}

// MarkUnreferenced finds its candidates first and marks them as
// markUnreferenced does, which checks them again after locking them.
func (s *sqlStore) MarkUnreferenced(ctx context.Context, deleteAfter time.Time) (int, error) {
	var n int
	err := s.tx(ctx, "mark unreferenced objects", func(q execer) error {
		keys, err := appendKeys(ctx, q, nil, "SELECT object_key FROM objects WHERE state = ? AND "+unreferenced,
			string(ObjectLive))
		if err != nil {
			return err
		}
		marked, err := s.markUnreferenced(ctx, q, keys, deleteAfter)
		n = len(marked)
		return err
	})
	return n, err
}

func (s *sqlStore) ExpiredObjects(ctx context.Context, t time.Time, limit int) ([]Object, error) {
	var os []Object
	err := scanAll(ctx, s.b, func(r rows) error {
		o, err := scanObject(r)
		os = append(os, o)
		return err
	}, "SELECT "+objectRead+" FROM objects WHERE state = ? AND delete_after <= ? ORDER BY object_key LIMIT ?",
		string(ObjectMarked), toMillis(t), limit)
	return os, s.wrap(ctx, "list expired objects", err)
}
