package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

const topicCols = "id, name, partitions, replication_factor, configs, created_at"

func scanTopic(r row) (Topic, error) {
	var (
		t       Topic
		configs string
		created int64
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Partitions, &t.ReplicationFactor, &configs, &created); err != nil {
		return Topic{}, err
	}
	var err error
	if t.Configs, err = decodeStringMap(configs); err != nil {
		return Topic{}, fmt.Errorf("topic %s configs: %w", t.Name, err)
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

func encodeStringMap(c map[string]string) string {
	if c == nil {
		c = map[string]string{}
	}
	b, _ := json.Marshal(c) // map[string]string always encodes
	return string(b)
}

// decodeStringMap reads what encodeStringMap wrote. The map is never nil,
// so callers may add to it.
func decodeStringMap(s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

func (s *sqlStore) CreateTopic(ctx context.Context, spec TopicSpec) (Topic, error) {
	op := "create topic " + spec.Name
	if spec.Partitions < 1 {
		return Topic{}, fmt.Errorf("%s: %w: %d", op, ErrInvalidPartitions, spec.Partitions)
	}
	t := Topic{
		ID:                uuid.New(),
		Name:              spec.Name,
		Partitions:        spec.Partitions,
		ReplicationFactor: spec.ReplicationFactor,
		Configs:           map[string]string{},
		CreatedAt:         fromMillis(s.nowMillis()),
	}
	for k, v := range spec.Configs {
		t.Configs[k] = v
	}
	err := s.tx(ctx, op, func(q execer) error {
		n, err := q.exec(ctx, "INSERT INTO topics ("+topicCols+") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
			t.ID, t.Name, t.Partitions, t.ReplicationFactor, encodeStringMap(t.Configs), toMillis(t.CreatedAt))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrTopicExists
		}
		return insertPartitions(ctx, q, t.ID, 0, t.Partitions)
	})
	if err != nil {
		return Topic{}, err
	}
	return t, nil
}

// insertPartitions creates the empty partitions [from, to) of a topic.
func insertPartitions(ctx context.Context, q execer, topic uuid.UUID, from, to int32) error {
	for lo := from; lo < to; lo += maxStmtRows {
		hi := min(lo+maxStmtRows, to)
		args := make([]any, 0, 2*(hi-lo))
		for p := lo; p < hi; p++ {
			args = append(args, topic, p)
		}
		if _, err := q.exec(ctx, "INSERT INTO partitions (topic_id, part) VALUES "+placeholders(int(hi-lo), 2), args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) DeleteTopic(ctx context.Context, name string) error {
	return s.tx(ctx, "delete topic "+name, func(q execer) error {
		var id uuid.UUID
		err := q.queryRow(ctx, "SELECT id FROM topics WHERE name = ?"+s.forUpdate(""), name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrUnknownTopic
		} else if err != nil {
			return err
		}
		// Lock the partitions in the same global order CommitObject uses.
		if err := s.lockRows(ctx, q, "SELECT part FROM partitions WHERE topic_id = ? ORDER BY topic_id, part", id); err != nil {
			return err
		}
		// Committed offsets are keyed by topic name: left behind, they
		// would apply to a topic created later under the same name, whose
		// groups would then skip its first records. Kafka deletes them
		// with the topic too.
		return q.execAll(ctx, []stmt{
			{"DELETE FROM index_entries WHERE topic_id = ?", []any{id}},
			{"DELETE FROM producers WHERE topic_id = ?", []any{id}},
			{"DELETE FROM txn_partitions WHERE topic_id = ?", []any{id}},
			{"DELETE FROM aborted_txns WHERE topic_id = ?", []any{id}},
			{"DELETE FROM group_offsets WHERE topic = ?", []any{name}},
			{"DELETE FROM partitions WHERE topic_id = ?", []any{id}},
			{"DELETE FROM topics WHERE id = ?", []any{id}},
		})
	})
}

func (s *sqlStore) Topic(ctx context.Context, name string) (Topic, error) {
	t, err := scanTopic(s.b.queryRow(ctx, "SELECT "+topicCols+" FROM topics WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrUnknownTopic
	}
	return t, s.wrap(ctx, "topic "+name, err)
}

func (s *sqlStore) TopicByID(ctx context.Context, id uuid.UUID) (Topic, error) {
	t, err := scanTopic(s.b.queryRow(ctx, "SELECT "+topicCols+" FROM topics WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrUnknownTopic
	}
	return t, s.wrap(ctx, "topic "+id.String(), err)
}

func (s *sqlStore) Topics(ctx context.Context) ([]Topic, error) {
	var ts []Topic
	err := scanAll(ctx, s.b, func(r rows) error {
		t, err := scanTopic(r)
		ts = append(ts, t)
		return err
	}, "SELECT "+topicCols+" FROM topics ORDER BY name")
	return ts, s.wrap(ctx, "list topics", err)
}

func (s *sqlStore) SetTopicConfigs(ctx context.Context, name string, configs map[string]string) error {
	n, err := s.b.exec(ctx, "UPDATE topics SET configs = ? WHERE name = ?", encodeStringMap(configs), name)
	if err == nil && n == 0 {
		err = ErrUnknownTopic
	}
	return s.wrap(ctx, "set configs of topic "+name, err)
}

func (s *sqlStore) CreatePartitions(ctx context.Context, name string, count int32) error {
	return s.tx(ctx, "create partitions of topic "+name, func(q execer) error {
		var (
			id  uuid.UUID
			cur int32
		)
		err := q.queryRow(ctx, "SELECT id, partitions FROM topics WHERE name = ?"+s.forUpdate(""), name).Scan(&id, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrUnknownTopic
		} else if err != nil {
			return err
		}
		if count <= cur {
			return fmt.Errorf("%w: %d, topic has %d", ErrInvalidPartitions, count, cur)
		}
		if err := insertPartitions(ctx, q, id, cur, count); err != nil {
			return err
		}
		_, err = q.exec(ctx, "UPDATE topics SET partitions = ? WHERE id = ?", count, id)
		return err
	})
}
