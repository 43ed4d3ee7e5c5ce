package txn

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
)

// InitProducerID gives a transactional id its producer id and a new epoch,
// which fences every older producer of the id. An open transaction is
// aborted first (its markers written) rather than answered with
// CONCURRENT_TRANSACTIONS, so the new producer starts at once. With
// pid/epoch >= 0 (KIP-360) the caller must be the current producer.
func (co *Coordinator) InitProducerID(ctx context.Context, id string, timeoutMs int32, pid int64, epoch int16) (int64, int16, error) {
	if err := co.owns(id); err != nil {
		return -1, -1, err
	}
	if timeoutMs <= 0 || time.Duration(timeoutMs)*time.Millisecond > co.c.MaxTimeout {
		return -1, -1, kerr.InvalidTransactionTimeout
	}
	for attempt := range 3 {
		t, err := co.update(ctx, id, func(t *metadata.Transaction, found bool, src *ids) error {
			// The caller's own abort below bumps the epoch, so only
			// the first attempt compares it.
			if attempt == 0 && found && pid >= 0 && (t.ProducerID != pid || t.Epoch != epoch) {
				return kerr.ProducerFenced
			}
			if found && t.State.Open() {
				if t.State == metadata.TxnOngoing {
					t.State = metadata.TxnPrepareAbort
					return bumpEpoch(t, src)
				}
				return errStop
			}
			if !found {
				id, err := src.take()
				if err != nil {
					return err
				}
				t.ProducerID, t.Epoch = id, 0
			} else if err := bumpEpoch(t, src); err != nil {
				return err
			}
			t.State, t.TimeoutMs = metadata.TxnEmpty, timeoutMs
			t.Partitions, t.Groups, t.StartedAt = nil, nil, time.Time{}
			return nil
		})
		if err != nil {
			return -1, -1, err
		}
		if !t.State.Open() {
			return t.ProducerID, t.Epoch, nil
		}
		if err := co.complete(ctx, t); err != nil {
			return -1, -1, kerr.ConcurrentTransactions
		}
	}
	return -1, -1, kerr.ConcurrentTransactions
}

// AddPartitions adds partitions to the producer's transaction, opening it
// if none is. With verifyOnly it changes nothing and reports
// INVALID_TXN_STATE unless they are all in it already (KIP-890 part 1).
func (co *Coordinator) AddPartitions(ctx context.Context, id string, pid int64, epoch int16, parts []metadata.TxnPartition, verifyOnly bool) error {
	if err := co.owns(id); err != nil {
		return err
	}
	if verifyOnly {
		t, err := co.c.Store.Transaction(ctx, id)
		if err != nil && !errors.Is(err, metadata.ErrNotFound) {
			return err
		}
		if err := checkProducer(&t, err == nil, pid, epoch); err != nil {
			return err
		}
		for _, p := range parts {
			if t.State != metadata.TxnOngoing || !slices.Contains(t.Partitions, p) {
				return kerr.InvalidTxnState
			}
		}
		return nil
	}
	return co.Join(ctx, id, pid, epoch, parts)
}

// Join adds partitions to the producer's transaction on any gateway: a
// Produce v12+ (transaction version 2) adds its partitions implicitly,
// on the partitions' leader rather than the coordinator, as Kafka's
// leaders do on the coordinator's behalf.
func (co *Coordinator) Join(ctx context.Context, id string, pid int64, epoch int16, parts []metadata.TxnPartition) error {
	_, err := co.update(ctx, id, func(t *metadata.Transaction, found bool, src *ids) error {
		if err := checkProducer(t, found, pid, epoch); err != nil {
			return err
		}
		if err := co.begin(t); err != nil {
			return err
		}
		for _, p := range parts {
			if !slices.Contains(t.Partitions, p) {
				t.Partitions = append(t.Partitions, p)
			}
		}
		return nil
	})
	return err
}

// AddGroup adds a consumer group to the producer's transaction
// (AddOffsetsToTxn), so that its TxnOffsetCommits are accepted.
func (co *Coordinator) AddGroup(ctx context.Context, id string, pid int64, epoch int16, group string) error {
	if err := co.owns(id); err != nil {
		return err
	}
	return co.addGroup(ctx, id, pid, epoch, group)
}

func (co *Coordinator) addGroup(ctx context.Context, id string, pid int64, epoch int16, group string) error {
	_, err := co.update(ctx, id, func(t *metadata.Transaction, found bool, src *ids) error {
		if err := checkProducer(t, found, pid, epoch); err != nil {
			return err
		}
		if err := co.begin(t); err != nil {
			return err
		}
		if !slices.Contains(t.Groups, group) {
			t.Groups = append(t.Groups, group)
		}
		return nil
	})
	return err
}

// StageOffsets keeps a TxnOffsetCommit's offsets until the transaction
// ends. The group must have been added (AddOffsetsToTxn) unless implicit
// (TxnOffsetCommit v5+, transaction version 2), which adds it. It runs on
// the group's coordinator, which need not be the transaction's, so it
// reads the transaction's state rather than requiring ownership.
func (co *Coordinator) StageOffsets(ctx context.Context, id string, pid int64, epoch int16, group string, offsets []metadata.GroupOffset, implicit bool) error {
	t, err := co.c.Store.Transaction(ctx, id)
	if err != nil && !errors.Is(err, metadata.ErrNotFound) {
		return err
	}
	if err := checkProducer(&t, err == nil, pid, epoch); err != nil {
		return err
	}
	if !slices.Contains(t.Groups, group) || t.State != metadata.TxnOngoing {
		if !implicit {
			return kerr.InvalidTxnState
		}
		if err := co.addGroup(ctx, id, pid, epoch, group); err != nil {
			return err
		}
	}
	return co.c.Store.StageTxnOffsets(ctx, id, group, offsets)
}

// EndTxn commits or aborts the producer's transaction and answers once its
// markers are committed, so that a read_committed consumer and OffsetFetch
// see the outcome as soon as the producer does. bump is transaction
// version 2 (EndTxn v5+): the epoch rises with every transaction and the
// new one is returned. A retry of an EndTxn that completed gets the same
// answer.
func (co *Coordinator) EndTxn(ctx context.Context, id string, pid int64, epoch int16, commit, bump bool) (int64, int16, error) {
	if err := co.owns(id); err != nil {
		return -1, -1, err
	}
	want, done := metadata.TxnPrepareAbort, metadata.TxnCompleteAbort
	if commit {
		want, done = metadata.TxnPrepareCommit, metadata.TxnCompleteCommit
	}
	t, err := co.update(ctx, id, func(t *metadata.Transaction, found bool, src *ids) error {
		if found && bump && t.ProducerID == pid && epoch == t.Epoch-1 && (t.State == want || t.State == done) {
			return errStop // a retry after the bump
		}
		if err := checkProducer(t, found, pid, epoch); err != nil {
			return err
		}
		switch {
		case t.State == metadata.TxnOngoing:
		case bump && !t.State.Open():
			// Version 2 ends a transaction the coordinator never saw
			// begin (nothing reached it, or every produce failed),
			// bumping the epoch as for any other.
			t.State = done
			return bumpEpoch(t, src)
		case t.State == want || t.State == done:
			return errStop // a retry
		default:
			return kerr.InvalidTxnState
		}
		t.State = want
		if bump {
			return bumpEpoch(t, src)
		}
		return nil
	})
	if err != nil {
		return -1, -1, err
	}
	if t.State == want {
		if err := co.complete(ctx, t); err != nil {
			// Prepared is durable: the sweep finishes it, and the
			// producer's next call waits on CONCURRENT_TRANSACTIONS.
			co.c.Log.Warn("transaction prepared but not yet completed", "transactional_id", id, "err", err)
		}
	}
	return t.ProducerID, t.Epoch, nil
}
