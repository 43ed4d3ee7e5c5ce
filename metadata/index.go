package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

const indexCols = "topic_id, part, base_offset, last_offset, object_key, byte_offset, byte_length, max_timestamp"

// indexReadCols are the columns scanIndex reads: indexCols and the flag
// key compaction sets (migration 0003).
const indexReadCols = indexCols + ", absolute"

// indexSelect selects what scanIndex reads from index_entries: the row and
// its object's size, which tells readers whether to fetch the object whole.
const indexSelect = "SELECT " + indexReadCols + indexSizeCol + " FROM index_entries"

// indexMarkedSelect is indexSelect and each row's time mark (timemarks.go).
const indexMarkedSelect = "SELECT " + indexReadCols + indexSizeCol + ", time_mark FROM index_entries"

const indexSizeCol = ", COALESCE((SELECT size FROM objects WHERE objects.object_key = index_entries.object_key), 0)"

// scanIndex scans a row of indexSelect, or of indexMarkedSelect with the
// mark's destination in extra.
func scanIndex(r row, extra ...any) (IndexEntry, error) {
	var e IndexEntry
	err := r.Scan(append([]any{uuidInto{&e.Topic}, &e.Partition, &e.BaseOffset, &e.LastOffset, &e.ObjectKey, &e.ByteOffset, &e.ByteLength, &e.MaxTimestamp, &e.Absolute, &e.ObjectSize}, extra...)...)
	return e, err
}

// rowsFrom is a WHERE clause for the index rows of a partition holding
// offset from or any later one, and its arguments. A partition's rows
// never overlap, so they are those from the last row starting at or
// before from on, in primary-key order, less that row if it ends before
// from (a gap left by compaction). Without an index on last_offset, which
// every commit paid for, this is how the primary key answers.
func rowsFrom(topic uuid.UUID, partition int32, from int64) (string, []any) {
	return "topic_id = ? AND part = ? AND base_offset >= COALESCE((SELECT base_offset FROM index_entries" +
			" WHERE topic_id = ? AND part = ? AND base_offset <= ? ORDER BY base_offset DESC LIMIT 1), ?) AND last_offset >= ?",
		[]any{topic, partition, topic, partition, from, from, from}
}

func (s *sqlStore) Index(ctx context.Context, topic uuid.UUID, partition int32, from int64, limit int) ([]IndexEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	var es []IndexEntry
	where, args := rowsFrom(topic, partition, from)
	err := scanAll(ctx, s.b, func(r rows) error {
		e, err := scanIndex(r)
		es = append(es, e)
		return err
	}, indexSelect+" WHERE "+where+" ORDER BY base_offset LIMIT ?", append(args, limit)...)
	return es, s.wrap(ctx, fmt.Sprintf("index of %s/%d", topic, partition), err)
}

func (s *sqlStore) indexOne(ctx context.Context, op, q string, args ...any) (IndexEntry, bool, error) {
	e, err := scanIndex(s.b.queryRow(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return IndexEntry{}, false, nil
	}
	if err != nil {
		return IndexEntry{}, false, s.wrap(ctx, op, err)
	}
	return e, true, nil
}

// lastMark is a subquery for the base offset of a partition's last time
// mark (timemarks.go) satisfying cond, or -1.
const lastMark = "COALESCE((SELECT base_offset FROM index_entries WHERE topic_id = ? AND part = ? AND time_mark = 1%s ORDER BY max_timestamp DESC LIMIT 1), -1)"

// firstMarkFrom is a subquery for the base offset of a partition's first
// time mark whose timestamp reaches a timestamp, or the largest offset.
const firstMarkFrom = "COALESCE((SELECT base_offset FROM index_entries WHERE topic_id = ? AND part = ? AND time_mark = 1 AND max_timestamp >= ? ORDER BY max_timestamp LIMIT 1), 9223372036854775807)"

// IndexByTimestamp scans in offset order from after the last time mark
// below ts's span (no row up to it reaches ts) through the first mark
// that reaches ts (which does), and not at all when ts is past the
// partition's running maximum: so a partition whose timestamps stopped
// growing, or that has none (-1), is not scanned whole.
func (s *sqlStore) IndexByTimestamp(ctx context.Context, topic uuid.UUID, partition int32, ts int64) (IndexEntry, bool, error) {
	return s.indexOne(ctx, fmt.Sprintf("index of %s/%d by timestamp", topic, partition),
		indexSelect+" WHERE topic_id = ? AND part = ? AND base_offset > "+fmt.Sprintf(lastMark, " AND max_timestamp < ?")+
			" AND base_offset <= "+firstMarkFrom+" AND max_timestamp >= ?"+
			" AND ? <= (SELECT max_timestamp FROM partitions WHERE topic_id = ? AND part = ?) ORDER BY base_offset LIMIT 1",
		topic, partition, topic, partition, timeSpanStart(ts), topic, partition, ts, ts, ts, topic, partition)
}

// IndexMaxTimestamp looks from the last time mark on: every earlier row
// has a timestamp in an earlier second, so the earliest row holding the
// largest timestamp is among those it scans.
func (s *sqlStore) IndexMaxTimestamp(ctx context.Context, topic uuid.UUID, partition int32) (IndexEntry, bool, error) {
	return s.indexOne(ctx, fmt.Sprintf("max timestamp of %s/%d", topic, partition),
		indexSelect+" WHERE topic_id = ? AND part = ? AND base_offset >= "+fmt.Sprintf(lastMark, "")+
			" ORDER BY max_timestamp DESC, base_offset LIMIT 1",
		topic, partition, topic, partition)
}
