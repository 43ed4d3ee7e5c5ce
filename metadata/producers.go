package metadata

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// expireChunk is how many producer rows one expiry transaction removes, so
// that a large backlog never holds row locks for long.
const expireChunk = 500

func (s *sqlStore) ExpireProducers(ctx context.Context, maxAge time.Duration) (int, error) {
	cutoff := s.nowMillis() - maxAge.Milliseconds()
	total := 0
	for {
		found, deleted, err := s.expireProducerChunk(ctx, cutoff)
		total += deleted
		if err != nil {
			return total, s.wrap(ctx, "expire producers", err)
		}
		if found < expireChunk {
			return total, nil
		}
	}
}

// expireProducerChunk deletes up to expireChunk producer rows last written
// at or before cutoff (Kafka expires a producer once its age reaches the
// setting), in one transaction. It returns how many rows it found
// expired and how many it deleted: a commit may have written to a found
// one since, which then stays.
func (s *sqlStore) expireProducerChunk(ctx context.Context, cutoff int64) (found, deleted int, err error) {
	err = s.b.inTx(ctx, func(q execer) error {
		found, deleted = 0, 0
		var keys []any
		err := scanAll(ctx, q, func(r rows) error {
			var (
				pid   int64
				topic uuid.UUID
				part  int32
			)
			err := r.Scan(&pid, &topic, &part)
			keys = append(keys, pid, topic, part)
			return err
		}, "SELECT producer_id, topic_id, part FROM producers WHERE last_write <= ? LIMIT ?", cutoff, expireChunk)
		if err != nil {
			return fmt.Errorf("find expired producers: %w", err)
		}
		found = len(keys) / 3
		if found == 0 {
			return nil
		}
		in := "(producer_id, topic_id, part) IN (" + placeholders(found, 3) + ") AND last_write <= ?"
		args := append(keys, cutoff)
		// Lock the rows in CommitObject's order (commit.go) before deleting
		// them, so that this transaction and commits cannot deadlock; the
		// age is checked again under the lock.
		if err := s.lockRows(ctx, q, "SELECT producer_id FROM producers WHERE "+in+" ORDER BY producer_id, topic_id, part", args...); err != nil {
			return fmt.Errorf("lock expired producers: %w", err)
		}
		n, err := q.exec(ctx, "DELETE FROM producers WHERE "+in, args...)
		if err != nil {
			return fmt.Errorf("delete expired producers: %w", err)
		}
		deleted = int(n)
		return nil
	})
	return found, deleted, err
}
