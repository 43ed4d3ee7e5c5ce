package metadata

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// TxnMaintenance is what the worker's jobs change of transaction state:
// the aborted transaction index as retention and compaction remove what it
// points at, and transactional ids that expired.
type TxnMaintenance interface {
	// DropAbortedTxnsBelow deletes a partition's aborted transactions
	// whose ABORT marker lies below offset, the log start: nothing of
	// them can be fetched any more, as Kafka drops a deleted segment's
	// transaction index with it. It returns how many it deleted.
	DropAbortedTxnsBelow(ctx context.Context, topic uuid.UUID, partition int32, offset int64) (int, error)
	// DropAbortedTxns deletes a partition's aborted transactions whose
	// ABORT markers are at the given offsets: key compaction removes a
	// marker only once its transaction's records are gone, and then the
	// entry has nothing left to cover. It returns how many it deleted.
	DropAbortedTxns(ctx context.Context, topic uuid.UUID, partition int32, markers []int64) (int, error)
	// ForgetTransactions deletes the transactional ids of ts that are
	// still exactly as given (producer id, epoch, state, last change)
	// with no transaction open, so that an id that changed since it was
	// read stays. It returns how many it deleted.
	ForgetTransactions(ctx context.Context, ts []Transaction) (int, error)
}

func (s *sqlStore) DropAbortedTxnsBelow(ctx context.Context, topic uuid.UUID, partition int32, offset int64) (int, error) {
	n, err := s.b.exec(ctx, "DELETE FROM aborted_txns WHERE topic_id = ? AND part = ? AND last_offset < ?", topic, partition, offset)
	return int(n), s.wrap(ctx, fmt.Sprintf("drop aborted transactions of %s/%d below %d", topic, partition, offset), err)
}

func (s *sqlStore) DropAbortedTxns(ctx context.Context, topic uuid.UUID, partition int32, markers []int64) (int, error) {
	total := 0
	for lo := 0; lo < len(markers); lo += maxStmtRows {
		part := markers[lo:min(lo+maxStmtRows, len(markers))]
		args := []any{topic, partition}
		for _, m := range part {
			args = append(args, m)
		}
		n, err := s.b.exec(ctx, "DELETE FROM aborted_txns WHERE topic_id = ? AND part = ? AND last_offset IN ("+marks(len(part))+")", args...)
		if err != nil {
			return total, s.wrap(ctx, fmt.Sprintf("drop aborted transactions of %s/%d", topic, partition), err)
		}
		total += int(n)
	}
	return total, nil
}

func (s *sqlStore) ForgetTransactions(ctx context.Context, ts []Transaction) (int, error) {
	total := 0
	for _, t := range ts {
		if t.State.Open() {
			continue
		}
		n, err := s.b.exec(ctx, "DELETE FROM transactions WHERE transactional_id = ? AND producer_id = ? AND epoch = ? AND state = ? AND updated_at = ?",
			t.ID, t.ProducerID, t.Epoch, string(t.State), toMillis(t.UpdatedAt))
		if err != nil {
			return total, s.wrap(ctx, "forget transactional id "+t.ID, err)
		}
		total += int(n)
	}
	return total, nil
}
