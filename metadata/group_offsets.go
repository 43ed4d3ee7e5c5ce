package metadata

import (
	"context"
	"strings"
)

func (s *sqlStore) CommitOffsets(ctx context.Context, group string, offsets []GroupOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	return s.tx(ctx, "commit offsets of group "+group, func(q execer) error {
		return s.upsertOffsets(ctx, q, "group_offsets", []string{"group_id"}, []any{group}, offsets)
	})
}

// upsertOffsets writes offsets into table, whose key is keyCols (set to
// key) then topic and partition, a commit time of zero meaning now.
func (s *sqlStore) upsertOffsets(ctx context.Context, q execer, table string, keyCols []string, key []any, offsets []GroupOffset) error {
	now := s.nowMillis()
	cols := len(keyCols) + 6
	for lo := 0; lo < len(offsets); lo += maxStmtRows {
		part := offsets[lo:min(lo+maxStmtRows, len(offsets))]
		args := make([]any, 0, cols*len(part))
		for _, o := range part {
			t := toMillis(o.CommitTime)
			if t == 0 {
				t = now
			}
			args = append(args, key...)
			args = append(args, o.Topic, o.Partition, o.Offset, o.LeaderEpoch, o.Metadata, t)
		}
		keys := strings.Join(keyCols, ", ")
		if _, err := q.exec(ctx, "INSERT INTO "+table+" ("+keys+", topic, part, committed_offset, leader_epoch, metadata, commit_time) VALUES "+
			placeholders(len(part), cols)+" ON CONFLICT ("+keys+", topic, part) DO UPDATE SET committed_offset = excluded.committed_offset,"+
			" leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_time = excluded.commit_time", args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) FetchOffsets(ctx context.Context, group string) ([]GroupOffset, error) {
	var os []GroupOffset
	err := scanAll(ctx, s.b, func(r rows) error {
		var (
			o GroupOffset
			t int64
		)
		err := r.Scan(&o.Topic, &o.Partition, &o.Offset, &o.LeaderEpoch, &o.Metadata, &t)
		o.CommitTime = fromMillis(t)
		os = append(os, o)
		return err
	}, `SELECT topic, part, committed_offset, leader_epoch, metadata, commit_time
		FROM group_offsets WHERE group_id = ? ORDER BY topic, part`, group)
	return os, s.wrap(ctx, "fetch offsets of group "+group, err)
}

func (s *sqlStore) DeleteOffsets(ctx context.Context, group string, parts []TopicPartition) error {
	if len(parts) == 0 {
		return nil
	}
	stmts := make([]stmt, len(parts))
	for i, p := range parts {
		stmts[i] = stmt{"DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND part = ?", []any{group, p.Topic, p.Partition}}
	}
	return s.wrap(ctx, "delete offsets of group "+group, s.b.execAll(ctx, stmts))
}

func (s *sqlStore) Groups(ctx context.Context) ([]string, error) {
	var gs []string
	err := scanAll(ctx, s.b, func(r rows) error {
		var g string
		err := r.Scan(&g)
		gs = append(gs, g)
		return err
	}, "SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id")
	return gs, s.wrap(ctx, "list groups", err)
}
