package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
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
	switch {
	case err == nil:
		return nil
	case isSentinel(err), ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, err)
	case s.b.unavailable(err):
		return &unavailableError{op: op, err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

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

// ---- topics ----

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
	if err := json.Unmarshal([]byte(configs), &t.Configs); err != nil {
		return Topic{}, fmt.Errorf("topic %s configs: %w", t.Name, err)
	}
	if t.Configs == nil {
		t.Configs = map[string]string{}
	}
	t.CreatedAt = fromMillis(created)
	return t, nil
}

func encodeConfigs(c map[string]string) string {
	if c == nil {
		c = map[string]string{}
	}
	b, _ := json.Marshal(c) // map[string]string always encodes
	return string(b)
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
			t.ID, t.Name, t.Partitions, t.ReplicationFactor, encodeConfigs(t.Configs), toMillis(t.CreatedAt))
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
	const chunk = 500
	for lo := from; lo < to; lo += chunk {
		hi := min(lo+chunk, to)
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
		if err := scanAll(ctx, q, func(rows) error { return nil },
			"SELECT part FROM partitions WHERE topic_id = ? ORDER BY topic_id, part"+s.forUpdate(""), id); err != nil {
			return err
		}
		return q.execAll(ctx, []stmt{
			{"DELETE FROM index_entries WHERE topic_id = ?", []any{id}},
			{"DELETE FROM producers WHERE topic_id = ?", []any{id}},
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
	n, err := s.b.exec(ctx, "UPDATE topics SET configs = ? WHERE name = ?", encodeConfigs(configs), name)
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

// ---- partitions ----

const partitionCols = "topic_id, part, log_start_offset, next_offset"

func scanPartition(r row) (PartitionState, error) {
	var p PartitionState
	err := r.Scan(&p.Topic, &p.Partition, &p.LogStartOffset, &p.NextOffset)
	return p, err
}

func (s *sqlStore) Partition(ctx context.Context, topic uuid.UUID, partition int32) (PartitionState, error) {
	p, err := scanPartition(s.b.queryRow(ctx, "SELECT "+partitionCols+" FROM partitions WHERE topic_id = ? AND part = ?", topic, partition))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrUnknownPartition
	}
	return p, s.wrap(ctx, fmt.Sprintf("partition %s/%d", topic, partition), err)
}

func (s *sqlStore) Partitions(ctx context.Context, topic uuid.UUID) ([]PartitionState, error) {
	var ps []PartitionState
	err := scanAll(ctx, s.b, func(r rows) error {
		p, err := scanPartition(r)
		ps = append(ps, p)
		return err
	}, "SELECT "+partitionCols+" FROM partitions WHERE topic_id = ? ORDER BY part", topic)
	if err == nil && len(ps) == 0 {
		err = ErrUnknownTopic // every topic has at least one partition
	}
	return ps, s.wrap(ctx, "partitions of topic "+topic.String(), err)
}

func (s *sqlStore) AdvanceLogStart(ctx context.Context, topic uuid.UUID, partition int32, offset int64) (PartitionState, error) {
	var p PartitionState
	err := s.tx(ctx, fmt.Sprintf("advance log start of %s/%d", topic, partition), func(q execer) error {
		var err error
		p, err = scanPartition(q.queryRow(ctx, "SELECT "+partitionCols+" FROM partitions WHERE topic_id = ? AND part = ?"+s.forUpdate(""), topic, partition))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrUnknownPartition
		} else if err != nil {
			return err
		}
		if offset > p.NextOffset {
			return fmt.Errorf("%w: %d is past the next offset %d", ErrOffsetOutOfRange, offset, p.NextOffset)
		}
		if offset <= p.LogStartOffset {
			return nil
		}
		p.LogStartOffset = offset
		_, err = q.exec(ctx, "UPDATE partitions SET log_start_offset = ? WHERE topic_id = ? AND part = ?", offset, topic, partition)
		return err
	})
	return p, err
}

// ---- index ----

const indexCols = "topic_id, part, base_offset, last_offset, object_key, byte_offset, byte_length, max_timestamp"

// indexReadCols are the columns scanIndex reads: indexCols and the flag
// key compaction sets (migration 0003).
const indexReadCols = indexCols + ", absolute"

// indexSelect selects what scanIndex reads from index_entries: the row and
// its object's size, which tells readers whether to fetch the object whole.
const indexSelect = "SELECT " + indexReadCols +
	", COALESCE((SELECT size FROM objects WHERE objects.object_key = index_entries.object_key), 0) FROM index_entries"

func scanIndex(r row) (IndexEntry, error) {
	var e IndexEntry
	err := r.Scan(&e.Topic, &e.Partition, &e.BaseOffset, &e.LastOffset, &e.ObjectKey, &e.ByteOffset, &e.ByteLength, &e.MaxTimestamp, &e.Absolute, &e.ObjectSize)
	return e, err
}

// Index rows of a partition never overlap, so last_offset order is offset
// order and the (topic_id, part, last_offset) index serves the query.
func (s *sqlStore) Index(ctx context.Context, topic uuid.UUID, partition int32, from int64, limit int) ([]IndexEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	var es []IndexEntry
	err := scanAll(ctx, s.b, func(r rows) error {
		e, err := scanIndex(r)
		es = append(es, e)
		return err
	}, indexSelect+" WHERE topic_id = ? AND part = ? AND last_offset >= ? ORDER BY last_offset LIMIT ?",
		topic, partition, from, limit)
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

func (s *sqlStore) IndexByTimestamp(ctx context.Context, topic uuid.UUID, partition int32, ts int64) (IndexEntry, bool, error) {
	return s.indexOne(ctx, fmt.Sprintf("index of %s/%d by timestamp", topic, partition),
		indexSelect+" WHERE topic_id = ? AND part = ? AND max_timestamp >= ? ORDER BY base_offset LIMIT 1",
		topic, partition, ts)
}

func (s *sqlStore) IndexMaxTimestamp(ctx context.Context, topic uuid.UUID, partition int32) (IndexEntry, bool, error) {
	return s.indexOne(ctx, fmt.Sprintf("max timestamp of %s/%d", topic, partition),
		indexSelect+" WHERE topic_id = ? AND part = ? ORDER BY max_timestamp DESC, base_offset DESC LIMIT 1",
		topic, partition)
}

// ---- ids ----

// nextID draws from a cluster-wide monotonic sequence.
func (s *sqlStore) nextID(ctx context.Context, q execer, seq string) (int64, error) {
	var id int64
	var err error
	if s.d == dialectPostgres {
		err = q.queryRow(ctx, "SELECT nextval('"+seq+"')").Scan(&id)
	} else {
		err = q.queryRow(ctx, "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", seq).Scan(&id)
	}
	return id, err
}

func (s *sqlStore) AllocateProducerID(ctx context.Context) (int64, error) {
	var id int64
	err := s.tx(ctx, "allocate producer id", func(q execer) error {
		var err error
		id, err = s.nextID(ctx, q, "producer_ids")
		return err
	})
	return id, err
}

// ---- group offsets ----

func (s *sqlStore) CommitOffsets(ctx context.Context, group string, offsets []GroupOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	now := s.nowMillis()
	return s.tx(ctx, "commit offsets of group "+group, func(q execer) error {
		const chunk = 500
		for lo := 0; lo < len(offsets); lo += chunk {
			part := offsets[lo:min(lo+chunk, len(offsets))]
			args := make([]any, 0, 7*len(part))
			for _, o := range part {
				t := toMillis(o.CommitTime)
				if t == 0 {
					t = now
				}
				args = append(args, group, o.Topic, o.Partition, o.Offset, o.LeaderEpoch, o.Metadata, t)
			}
			if _, err := q.exec(ctx, `INSERT INTO group_offsets
				(group_id, topic, part, committed_offset, leader_epoch, metadata, commit_time)
				VALUES `+placeholders(len(part), 7)+`
				ON CONFLICT (group_id, topic, part) DO UPDATE SET committed_offset = excluded.committed_offset,
				leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_time = excluded.commit_time`,
				args...); err != nil {
				return err
			}
		}
		return nil
	})
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

// ---- objects ----

const objectCols = "object_key, size, state, created_at, delete_after"

func scanObject(r row) (Object, error) {
	var (
		o                Object
		created, deleteA int64
	)
	err := r.Scan(&o.Key, &o.Size, &o.State, &created, &deleteA)
	o.CreatedAt, o.DeleteAfter = fromMillis(created), fromMillis(deleteA)
	return o, err
}

func (s *sqlStore) Object(ctx context.Context, key string) (Object, error) {
	o, err := scanObject(s.b.queryRow(ctx, "SELECT "+objectCols+" FROM objects WHERE object_key = ?", key))
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
		}, "SELECT "+objectCols+" FROM objects WHERE object_key > ? ORDER BY object_key LIMIT ?", after, page)
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
	const chunk = 500
	var out []stmt
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
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

// ---- gateways and leases ----

func (s *sqlStore) Heartbeat(ctx context.Context, g Gateway) (Gateway, error) {
	g.HeartbeatAt = fromMillis(s.nowMillis())
	err := s.tx(ctx, "gateway heartbeat", func(q execer) error {
		for g.NodeID < 0 {
			id, err := s.nextID(ctx, q, "node_ids")
			if err != nil {
				return err
			}
			if id > 1<<31-1 {
				return errors.New("node ids exhausted")
			}
			var taken int
			err = q.queryRow(ctx, "SELECT 1 FROM gateways WHERE node_id = ?", int32(id)).Scan(&taken)
			if errors.Is(err, sql.ErrNoRows) {
				g.NodeID = int32(id) // not chosen explicitly by another gateway
			} else if err != nil {
				return err
			}
		}
		_, err := q.exec(ctx, `INSERT INTO gateways (node_id, addr, rack, heartbeat_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (node_id) DO UPDATE SET addr = excluded.addr, rack = excluded.rack, heartbeat_at = excluded.heartbeat_at`,
			g.NodeID, g.Addr, g.Rack, toMillis(g.HeartbeatAt))
		return err
	})
	if err != nil {
		return Gateway{}, err
	}
	return g, nil
}

func (s *sqlStore) Gateways(ctx context.Context, since time.Time) ([]Gateway, error) {
	var gs []Gateway
	err := scanAll(ctx, s.b, func(r rows) error {
		var (
			g  Gateway
			hb int64
		)
		err := r.Scan(&g.NodeID, &g.Addr, &g.Rack, &hb)
		g.HeartbeatAt = fromMillis(hb)
		gs = append(gs, g)
		return err
	}, "SELECT node_id, addr, rack, heartbeat_at FROM gateways WHERE heartbeat_at > ? ORDER BY node_id", since.UnixMilli())
	return gs, s.wrap(ctx, "list gateways", err)
}

func (s *sqlStore) RemoveGateway(ctx context.Context, nodeID int32) error {
	_, err := s.b.exec(ctx, "DELETE FROM gateways WHERE node_id = ?", nodeID)
	return s.wrap(ctx, fmt.Sprintf("remove gateway %d", nodeID), err)
}

// AcquireLease is one atomic upsert: it writes only when the lease is free,
// expired or already the holder's, and RETURNING tells whether it did.
func (s *sqlStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	now := s.now()
	l := Lease{Name: name}
	acquired := false
	err := s.tx(ctx, "acquire lease "+name, func(q execer) error {
		var exp int64
		err := q.queryRow(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.holder = excluded.holder OR leases.expires <= ?
			RETURNING holder, expires`, name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli()).Scan(&l.Holder, &exp)
		if err == nil {
			acquired = true
		} else if errors.Is(err, sql.ErrNoRows) {
			err = q.queryRow(ctx, "SELECT holder, expires FROM leases WHERE name = ?", name).Scan(&l.Holder, &exp)
		}
		l.Expires = fromMillis(exp)
		return err
	})
	if err != nil {
		return Lease{}, false, err
	}
	return l, acquired, nil
}

func (s *sqlStore) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.b.exec(ctx, "DELETE FROM leases WHERE name = ? AND holder = ?", name, holder)
	return s.wrap(ctx, "release lease "+name, err)
}
