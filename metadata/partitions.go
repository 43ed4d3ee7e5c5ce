package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// partitionCols reads a partition's state; its last stable offset is the
// first offset of its oldest open transaction, or its next offset, and
// never below the log start (DeleteRecords or retention may pass an open
// transaction's first offset), as Kafka's first unstable offset.
const partitionCols = "topic_id, part, log_start_offset, next_offset, " + lastStable

const lastStable = "(SELECT CASE WHEN u.lso < partitions.log_start_offset THEN partitions.log_start_offset ELSE u.lso END FROM" +
	" (SELECT COALESCE(MIN(t.first_offset), partitions.next_offset) AS lso FROM txn_partitions t" +
	" WHERE t.topic_id = partitions.topic_id AND t.part = partitions.part AND t.first_offset >= 0) u)"

func scanPartition(r row) (PartitionState, error) {
	var p PartitionState
	err := r.Scan(uuidInto{&p.Topic}, &p.Partition, &p.LogStartOffset, &p.NextOffset, &p.LastStableOffset)
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
