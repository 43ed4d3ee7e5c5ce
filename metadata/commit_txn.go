package metadata

import "sort"

// txnCommit is what CommitObject checks and changes of transactions: the
// transactions its completions end, locked first, and the txn_partitions
// rows of its transactional batches and markers, locked last (after the
// partition and producer rows, commit.go), so that its lock order is the
// global one: transactions, partitions, producers, txn_partitions.
// UpdateTransaction locks a transaction and then its txn_partitions rows,
// which keeps to it.
type txnCommit struct {
	completions []TxnCompletion // sorted by transactional id
	keys        []prodKey       // sorted like producer rows
	// valid holds the producer ids whose completion matched the stored
	// transaction; rows the read found.
	valid   map[int64]bool
	rows    map[prodKey]*txnRow
	aborted []abortedRow
}

type txnRow struct {
	epoch          int16
	first          int64
	written, ended bool
}

type abortedRow struct {
	key prodKey
	AbortedTxn
}

func newTxnCommit(c ObjectCommit) *txnCommit {
	tc := &txnCommit{valid: map[int64]bool{}, rows: map[prodKey]*txnRow{}}
	tc.completions = append(tc.completions, c.Completions...)
	sort.Slice(tc.completions, func(i, j int) bool { return tc.completions[i].TransactionalID < tc.completions[j].TransactionalID })
	seen := map[prodKey]bool{}
	for _, r := range c.Runs {
		for _, b := range r.Batches {
			k := prodKey{b.ProducerID, tp{r.Topic, r.Partition}}
			if (b.Transactional || b.Control) && !seen[k] {
				seen[k] = true
				tc.keys = append(tc.keys, k)
			}
		}
	}
	sortProdKeys(tc.keys)
	return tc
}

func sortProdKeys(keys []prodKey) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].pid != keys[j].pid {
			return keys[i].pid < keys[j].pid
		}
		return tpLess(keys[i].tp, keys[j].tp)
	})
}

// txnReads locks the completions' transactions.
func (tc *txnCommit) txnReads(s *sqlStore) []read {
	if len(tc.completions) == 0 {
		return nil
	}
	args := make([]any, len(tc.completions))
	for i, c := range tc.completions {
		args[i] = c.TransactionalID
	}
	byID := map[string]TxnCompletion{}
	for _, c := range tc.completions {
		byID[c.TransactionalID] = c
	}
	return []read{{stmt{"SELECT " + txnCols + " FROM transactions WHERE transactional_id IN (" + marks(len(args)) +
		") ORDER BY transactional_id" + s.forUpdate(""), args}, func(r rows) error {
		t, err := scanTxn(r)
		if err != nil {
			return err
		}
		if c, ok := byID[t.ID]; ok && completes(t, c) {
			tc.valid[c.ProducerID] = true
		}
		return nil
	}}}
}

// partReads locks the txn_partitions rows of the batches.
func (tc *txnCommit) partReads(s *sqlStore) []read {
	return s.producerRows("txn_partitions", "epoch, first_offset", tc.keys, s.forUpdate(" OF t"), func(r rows) error {
		var (
			k   prodKey
			row txnRow
		)
		if err := r.Scan(&k.pid, uuidInto{&k.topic}, &k.part, &row.epoch, &row.first); err != nil {
			return err
		}
		tc.rows[k] = &row
		return nil
	})
}

// reset forgets what a previous attempt read (lockAndWrite retries).
func (tc *txnCommit) reset() {
	tc.valid, tc.rows, tc.aborted = map[int64]bool{}, map[prodKey]*txnRow{}, nil
}

// check applies the transaction rules to one batch before it gets an
// offset: a transactional batch needs its partition in its producer's
// transaction at its epoch; a marker needs that too and, when a
// completion of this commit ends its transaction, that completion to
// match the stored transaction.
func (tc *txnCommit) check(k prodKey, b BatchAppend) error {
	if !b.Transactional && !b.Control {
		return nil
	}
	if b.Control && tc.hasCompletion(k.pid) && !tc.valid[k.pid] {
		return ErrInvalidTxnState
	}
	row := tc.rows[k]
	switch {
	case row == nil || row.ended:
		return ErrInvalidTxnState
	case b.ProducerEpoch < row.epoch:
		return ErrInvalidProducerEpoch
	case !b.Control && b.ProducerEpoch > row.epoch:
		return ErrInvalidTxnState
	}
	return nil
}

func (tc *txnCommit) hasCompletion(pid int64) bool {
	for _, c := range tc.completions {
		if c.ProducerID == pid {
			return true
		}
	}
	return false
}

// accepted records a checked batch written at offset.
func (tc *txnCommit) accepted(k prodKey, b BatchAppend, offset int64) {
	row := tc.rows[k]
	if row == nil {
		return
	}
	if b.Control {
		row.ended = true
		if !b.Commit && row.first >= 0 {
			tc.aborted = append(tc.aborted, abortedRow{k, AbortedTxn{ProducerID: k.pid, FirstOffset: row.first, LastOffset: offset}})
		}
		return
	}
	if row.first < 0 {
		row.first, row.written = offset, true
	}
}

// writes are the statements of the commit's transaction changes.
func (tc *txnCommit) writes(s *sqlStore) []stmt {
	var ws []stmt
	for _, k := range tc.keys {
		row := tc.rows[k]
		switch {
		case row == nil:
		case row.ended:
			ws = append(ws, stmt{"DELETE FROM txn_partitions WHERE producer_id = ? AND topic_id = ? AND part = ?", []any{k.pid, k.topic, k.part}})
		case row.written:
			ws = append(ws, stmt{"UPDATE txn_partitions SET first_offset = ? WHERE producer_id = ? AND topic_id = ? AND part = ?", []any{row.first, k.pid, k.topic, k.part}})
		}
	}
	for _, a := range tc.aborted {
		ws = append(ws, stmt{"INSERT INTO aborted_txns (topic_id, part, last_offset, producer_id, first_offset) VALUES (?, ?, ?, ?, ?)",
			[]any{a.key.topic, a.key.part, a.LastOffset, a.ProducerID, a.FirstOffset}})
	}
	for _, c := range tc.completions {
		if tc.valid[c.ProducerID] {
			ws = append(ws, s.completionWrites(c)...)
		}
	}
	return ws
}
