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

// Transactions is the transaction coordinator's state (gateway/txn) and
// what the read path needs of it. The state lives here, not in a
// coordinator's memory, so that any gateway can take a transaction over.
type Transactions interface {
	// Transaction returns a transactional id's state, or ErrNotFound.
	Transaction(ctx context.Context, id string) (Transaction, error)
	// UpdateTransaction reads a transactional id's state under a lock
	// (found is false for a new one), lets fn change it, and stores what
	// fn leaves, all in one transaction; an error from fn is returned
	// and nothing is stored. Partitions fn appends join the transaction
	// (txn_partitions); their epoch follows the transaction's.
	UpdateTransaction(ctx context.Context, id string, fn func(t *Transaction, found bool) error) (Transaction, error)
	// ListTransactions returns the transactions in one of states (all
	// when states is empty), by transactional id.
	ListTransactions(ctx context.Context, states ...TxnState) ([]Transaction, error)
	// CompleteTransaction finishes a transaction that wrote no markers
	// (it added no partitions): the completion's checks and effects of
	// CommitObject, without an object.
	CompleteTransaction(ctx context.Context, c TxnCompletion) error
	// StageTxnOffsets keeps offsets committed in a transaction until it
	// ends (TxnOffsetCommit).
	StageTxnOffsets(ctx context.Context, txnID, group string, offsets []GroupOffset) error
	// PendingTxnOffsets returns the partitions of a group that have
	// offsets staged by open transactions.
	PendingTxnOffsets(ctx context.Context, group string) ([]TopicPartition, error)
	// AbortedTxns returns a partition's aborted transactions whose
	// offsets overlap [from, to): those a read_committed fetch of that
	// range must drop.
	AbortedTxns(ctx context.Context, topic uuid.UUID, partition int32, from, to int64) ([]AbortedTxn, error)
	// PartitionProducers returns the producers with state on a partition
	// (DescribeProducers).
	PartitionProducers(ctx context.Context, topic uuid.UUID, partition int32) ([]ProducerState, error)
}

// TxnState is a transaction's state, named as Kafka names it.
type TxnState string

const (
	TxnEmpty          TxnState = "Empty"
	TxnOngoing        TxnState = "Ongoing"
	TxnPrepareCommit  TxnState = "PrepareCommit"
	TxnPrepareAbort   TxnState = "PrepareAbort"
	TxnCompleteCommit TxnState = "CompleteCommit"
	TxnCompleteAbort  TxnState = "CompleteAbort"
)

// Open reports whether the state has a transaction that has not ended.
func (s TxnState) Open() bool {
	return s == TxnOngoing || s == TxnPrepareCommit || s == TxnPrepareAbort
}

// Transaction is one transactional id's state.
type Transaction struct {
	ID         string
	ProducerID int64
	Epoch      int16
	State      TxnState
	TimeoutMs  int32
	Partitions []TxnPartition
	Groups     []string
	StartedAt  time.Time // zero unless a transaction is open
	UpdatedAt  time.Time
}

// TxnPartition is a partition in a transaction.
type TxnPartition struct {
	Topic     uuid.UUID
	Partition int32
}

// TxnCompletion ends a transaction in the same metadata transaction as its
// markers: it moves PrepareCommit/PrepareAbort with this producer id and
// epoch to CompleteCommit/CompleteAbort, applies or drops its staged
// offsets and releases its partitions. When the transaction is not in that
// state (already completed, fenced), the markers are refused.
type TxnCompletion struct {
	TransactionalID string
	ProducerID      int64
	Epoch           int16
	Commit          bool
	// StartedAt is when the transaction began: at transaction version 1
	// the epoch stays the same from one transaction to the next, and a
	// late completion of an earlier one must not end a later one.
	StartedAt time.Time
}

// AbortedTxn is one entry of a partition's aborted transaction index.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64 // the ABORT marker's offset
}

// ProducerState is a producer's state on one partition.
type ProducerState struct {
	ProducerID    int64
	Epoch         int16
	LastSequence  int32 // -1 when unknown
	LastTimestamp int64 // of its last write, the store's clock, unix ms
	// TxnStartOffset is its open transaction's first offset here, or -1.
	TxnStartOffset int64
}

// ErrInvalidTxnState: a transactional batch for a partition not in the
// producer's transaction, or a marker for a transaction not being ended.
var ErrInvalidTxnState = errors.New("invalid transaction state")

const txnCols = "transactional_id, producer_id, epoch, state, timeout_ms, groups_added, started_at, updated_at"

func scanTxn(r row) (Transaction, error) {
	var (
		t                Transaction
		state, groups    string
		started, updated int64
	)
	if err := r.Scan(&t.ID, &t.ProducerID, &t.Epoch, &state, &t.TimeoutMs, &groups, &started, &updated); err != nil {
		return t, err
	}
	t.State, t.UpdatedAt = TxnState(state), fromMillis(updated)
	if started > 0 {
		t.StartedAt = fromMillis(started)
	}
	if err := json.Unmarshal([]byte(groups), &t.Groups); err != nil {
		return t, fmt.Errorf("transaction %s groups: %w", t.ID, err)
	}
	return t, nil
}

func (s *sqlStore) Transaction(ctx context.Context, id string) (Transaction, error) {
	t, err := s.loadTxn(ctx, s.b, id, "")
	return t, s.wrap(ctx, "transaction "+id, err)
}

// loadTxn reads a transaction and its partitions with q, the row locked
// by lock (a forUpdate clause or "").
func (s *sqlStore) loadTxn(ctx context.Context, q execer, id, lock string) (Transaction, error) {
	t, err := scanTxn(q.queryRow(ctx, "SELECT "+txnCols+" FROM transactions WHERE transactional_id = ?"+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	} else if err != nil {
		return t, err
	}
	t.Partitions, err = txnPartitions(ctx, q, t.ProducerID)
	return t, err
}

func txnPartitions(ctx context.Context, q execer, pid int64) ([]TxnPartition, error) {
	var ps []TxnPartition
	err := scanAll(ctx, q, func(r rows) error {
		var p TxnPartition
		err := r.Scan(&p.Topic, &p.Partition)
		ps = append(ps, p)
		return err
	}, "SELECT topic_id, part FROM txn_partitions WHERE producer_id = ? ORDER BY topic_id, part", pid)
	return ps, err
}

func (s *sqlStore) UpdateTransaction(ctx context.Context, id string, fn func(t *Transaction, found bool) error) (Transaction, error) {
	var out Transaction
	err := s.tx(ctx, "update transaction "+id, func(q execer) error {
		old, err := s.loadTxn(ctx, q, id, s.forUpdate(""))
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		t := old
		t.ID = id
		t.Partitions = append([]TxnPartition(nil), old.Partitions...)
		t.Groups = append([]string(nil), old.Groups...)
		if err := fn(&t, found); err != nil {
			return callerAnswer{err}
		}
		t.UpdatedAt = s.now()
		out = t
		return s.storeTxn(ctx, q, old, t, found)
	})
	return out, err
}

// storeTxn writes t over old: the row, the partitions t added, and the
// epoch of all of them when it changed; partitions t dropped (a new
// producer id) are released.
func (s *sqlStore) storeTxn(ctx context.Context, q execer, old, t Transaction, found bool) error {
	groups, _ := json.Marshal(nonNil(t.Groups))
	args := []any{t.ID, t.ProducerID, t.Epoch, string(t.State), t.TimeoutMs, string(groups), toMillis(t.StartedAt), toMillis(t.UpdatedAt)}
	if _, err := q.exec(ctx, "INSERT INTO transactions ("+txnCols+") VALUES "+placeholders(1, 8)+
		" ON CONFLICT (transactional_id) DO UPDATE SET producer_id = excluded.producer_id, epoch = excluded.epoch, state = excluded.state,"+
		" timeout_ms = excluded.timeout_ms, groups_added = excluded.groups_added,"+
		" started_at = excluded.started_at, updated_at = excluded.updated_at", args...); err != nil {
		return fmt.Errorf("store transaction: %w", err)
	}
	if found && old.ProducerID != t.ProducerID {
		if _, err := q.exec(ctx, "DELETE FROM txn_partitions WHERE producer_id = ?", old.ProducerID); err != nil {
			return fmt.Errorf("release partitions: %w", err)
		}
	}
	if found && old.ProducerID == t.ProducerID && old.Epoch != t.Epoch {
		if _, err := q.exec(ctx, "UPDATE txn_partitions SET epoch = ? WHERE producer_id = ?", t.Epoch, t.ProducerID); err != nil {
			return fmt.Errorf("fence partitions: %w", err)
		}
	}
	have := map[TxnPartition]bool{}
	if old.ProducerID == t.ProducerID {
		for _, p := range old.Partitions {
			have[p] = true
		}
	}
	var add []any
	n := 0
	for _, p := range t.Partitions {
		if !have[p] {
			have[p] = true
			add = append(add, t.ProducerID, p.Topic, p.Partition, t.Epoch, -1)
			n++
		}
	}
	for lo := 0; lo < n; lo += maxStmtRows {
		hi := min(lo+maxStmtRows, n)
		if _, err := q.exec(ctx, "INSERT INTO txn_partitions (producer_id, topic_id, part, epoch, first_offset) VALUES "+
			placeholders(hi-lo, 5)+" ON CONFLICT (producer_id, topic_id, part) DO NOTHING", add[5*lo:5*hi]...); err != nil {
			return fmt.Errorf("add partitions: %w", err)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *sqlStore) ListTransactions(ctx context.Context, states ...TxnState) ([]Transaction, error) {
	q := "SELECT " + txnCols + " FROM transactions"
	var args []any
	if len(states) > 0 {
		q += " WHERE state IN (" + marks(len(states)) + ")"
		for _, st := range states {
			args = append(args, string(st))
		}
	}
	var ts []Transaction
	err := scanAll(ctx, s.b, func(r rows) error {
		t, err := scanTxn(r)
		ts = append(ts, t)
		return err
	}, q+" ORDER BY transactional_id", args...)
	return ts, s.wrap(ctx, "list transactions", err)
}

func (s *sqlStore) CompleteTransaction(ctx context.Context, c TxnCompletion) error {
	return s.tx(ctx, "complete transaction "+c.TransactionalID, func(q execer) error {
		t, err := scanTxn(q.queryRow(ctx, "SELECT "+txnCols+" FROM transactions WHERE transactional_id = ?"+s.forUpdate(""), c.TransactionalID))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err != nil || !completes(t, c) {
			return ErrInvalidTxnState
		}
		return q.execAll(ctx, s.completionWrites(c))
	})
}

// completes reports whether c ends t.
func completes(t Transaction, c TxnCompletion) bool {
	want := TxnPrepareAbort
	if c.Commit {
		want = TxnPrepareCommit
	}
	return t.State == want && t.ProducerID == c.ProducerID && t.Epoch == c.Epoch && toMillis(t.StartedAt) == toMillis(c.StartedAt)
}

// completionWrites are the statements that end a transaction.
func (s *sqlStore) completionWrites(c TxnCompletion) []stmt {
	state := TxnCompleteAbort
	var ws []stmt
	if c.Commit {
		state = TxnCompleteCommit
		ws = append(ws, stmt{`INSERT INTO group_offsets (group_id, topic, part, committed_offset, leader_epoch, metadata, commit_time)
			SELECT group_id, topic, part, committed_offset, leader_epoch, metadata, commit_time FROM txn_offsets WHERE transactional_id = ?
			ON CONFLICT (group_id, topic, part) DO UPDATE SET committed_offset = excluded.committed_offset,
			leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_time = excluded.commit_time`, []any{c.TransactionalID}})
	}
	return append(ws,
		stmt{"DELETE FROM txn_offsets WHERE transactional_id = ?", []any{c.TransactionalID}},
		stmt{"DELETE FROM txn_partitions WHERE producer_id = ?", []any{c.ProducerID}},
		stmt{"UPDATE transactions SET state = ?, groups_added = '[]', started_at = 0, updated_at = ? WHERE transactional_id = ?",
			[]any{string(state), s.nowMillis(), c.TransactionalID}})
}

func (s *sqlStore) StageTxnOffsets(ctx context.Context, txnID, group string, offsets []GroupOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	return s.tx(ctx, "stage offsets of transaction "+txnID, func(q execer) error {
		return s.upsertOffsets(ctx, q, "txn_offsets", []string{"transactional_id", "group_id"}, []any{txnID, group}, offsets)
	})
}

func (s *sqlStore) PendingTxnOffsets(ctx context.Context, group string) ([]TopicPartition, error) {
	var ps []TopicPartition
	err := scanAll(ctx, s.b, func(r rows) error {
		var p TopicPartition
		err := r.Scan(&p.Topic, &p.Partition)
		ps = append(ps, p)
		return err
	}, "SELECT DISTINCT topic, part FROM txn_offsets WHERE group_id = ? ORDER BY topic, part", group)
	return ps, s.wrap(ctx, "pending transactional offsets of group "+group, err)
}

func (s *sqlStore) AbortedTxns(ctx context.Context, topic uuid.UUID, partition int32, from, to int64) ([]AbortedTxn, error) {
	var as []AbortedTxn
	err := scanAll(ctx, s.b, func(r rows) error {
		var a AbortedTxn
		err := r.Scan(&a.ProducerID, &a.FirstOffset, &a.LastOffset)
		as = append(as, a)
		return err
	}, "SELECT producer_id, first_offset, last_offset FROM aborted_txns WHERE topic_id = ? AND part = ? AND last_offset >= ? AND first_offset < ? ORDER BY first_offset",
		topic, partition, from, to)
	return as, s.wrap(ctx, fmt.Sprintf("aborted transactions of %s/%d", topic, partition), err)
}

func (s *sqlStore) PartitionProducers(ctx context.Context, topic uuid.UUID, partition int32) ([]ProducerState, error) {
	var ps []ProducerState
	err := scanAll(ctx, s.b, func(r rows) error {
		var (
			p       ProducerState
			batches string
		)
		if err := r.Scan(&p.ProducerID, &p.Epoch, &batches, &p.LastTimestamp, &p.TxnStartOffset); err != nil {
			return err
		}
		p.LastSequence = -1
		if seqs, err := decodeSeqEntries(batches); err == nil && len(seqs) > 0 {
			p.LastSequence = int32(seqs[len(seqs)-1][1])
		}
		ps = append(ps, p)
		return nil
	}, `SELECT p.producer_id, p.epoch, p.batches, p.last_write, COALESCE(t.first_offset, -1)
		FROM producers p LEFT JOIN txn_partitions t ON t.producer_id = p.producer_id AND t.topic_id = p.topic_id AND t.part = p.part
		WHERE p.topic_id = ? AND p.part = ? ORDER BY p.producer_id`, topic, partition)
	return ps, s.wrap(ctx, fmt.Sprintf("producers of %s/%d", topic, partition), err)
}
