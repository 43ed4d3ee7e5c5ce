package metadata

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// LogDirs is what the gateway's DescribeLogDirs reports of the stored log.
type LogDirs interface {
	// PartitionSizes sums the byte lengths of the index rows of each of
	// the topic's partitions in one query: the sum PartitionSize gives
	// one partition, and the storage metrics report. A partition without
	// rows is absent (its size is 0).
	PartitionSizes(ctx context.Context, topic uuid.UUID) (map[int32]int64, error)
}

func (s *sqlStore) PartitionSizes(ctx context.Context, topic uuid.UUID) (map[int32]int64, error) {
	sizes := map[int32]int64{}
	err := scanAll(ctx, s.b, func(r rows) error {
		var part int32
		var bytes int64
		err := r.Scan(&part, &bytes)
		sizes[part] = bytes
		return err
	}, "SELECT part, COALESCE(SUM(byte_length), 0) FROM index_entries WHERE topic_id = ? GROUP BY part", topic)
	if err != nil {
		return nil, s.wrap(ctx, fmt.Sprintf("partition sizes of %s", topic), err)
	}
	return sizes, nil
}
