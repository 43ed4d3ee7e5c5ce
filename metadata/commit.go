package metadata

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// How CommitObject stays deadlock-free across processes (PostgreSQL, READ
// COMMITTED): before anything else it locks every partition row the commit
// touches with one SELECT … ORDER BY topic_id, part FOR UPDATE. Every writer
// takes locks in that same global order, so lock waits cannot form a cycle.
//
// The producer rows are then read without a lock: only commits write them,
// and a commit holds the lock of the row's partition, so two commits never
// write one producer row at once and a missing row cannot be inserted
// twice; the read, a statement after the partition lock is granted, sees
// the last commit's state. Locking them too cost a 1,000-partition commit
// a lock (and its WAL record) per row. Expiry, the only other writer,
// deletes a row only if it is still old once locked (producers.go), and
// waits for nothing after that, so a commit that reads a row expiry then
// deletes writes it back whole, and lock waits still cannot form a cycle.
//
// BEGIN and the SELECTs go to the server in one pipelined round trip, all
// writes and COMMIT in a second, so the locks are held for about one round
// trip. On SQLite the write transaction (BEGIN IMMEDIATE) serializes
// commits outright.

// producerHistory is how many batches per producer and partition are
// remembered for duplicate detection, as in Kafka.
const producerHistory = 5

type tp struct {
	topic uuid.UUID
	part  int32
}

func tpLess(a, b tp) bool {
	if c := bytes.Compare(a.topic[:], b.topic[:]); c != 0 {
		return c < 0
	}
	return a.part < b.part
}

type partState struct {
	start, next, origNext int64
	maxTS                 int64 // the running maximum timestamp (timemarks.go)
}

type prodKey struct {
	pid int64
	tp
}

// seqEntry is one remembered batch: [base sequence, last sequence, base offset].
type seqEntry [3]int64

type prodState struct {
	epoch   int16
	batches []seqEntry
	dirty   bool
}

// lastSequence is the batch's last sequence number; sequences wrap from
// MaxInt32 to 0.
func lastSequence(base int32, records int64) int32 {
	return int32((int64(base) + records - 1) % (math.MaxInt32 + 1))
}

func nextSequence(s int32) int32 {
	if s == math.MaxInt32 {
		return 0
	}
	return s + 1
}

// check applies Kafka's idempotent-producer rules to one batch. It returns
// (original base offset, true, nil) for a duplicate.
//
// A producer without state here (p nil: new to the partition, or expired
// after producer.id.expiration.ms, see ExpireProducers) may start at any
// sequence, which is then tracked, as Kafka does since 2.5 (KIP-360). An
// idle producer whose state expired goes on where it was: answered
// OUT_OF_ORDER_SEQUENCE_NUMBER instead, librdkafka 2.0 fails for good
// ("sequence desynchronization"), which is why expiry must not cost it.
func (p *prodState) check(b BatchAppend) (dupOffset int64, dup bool, err error) {
	switch {
	case p == nil || len(p.batches) == 0:
		if p != nil && p.epoch > b.ProducerEpoch {
			return 0, false, ErrInvalidProducerEpoch
		}
	case p.epoch > b.ProducerEpoch:
		return 0, false, ErrInvalidProducerEpoch
	case b.ProducerEpoch > p.epoch:
		if b.BaseSequence != 0 {
			return 0, false, ErrOutOfOrderSequence
		}
	default:
		last := lastSequence(b.BaseSequence, b.Records)
		for _, e := range p.batches {
			if e[0] == int64(b.BaseSequence) && e[1] == int64(last) {
				return e[2], true, nil
			}
		}
		if b.BaseSequence != nextSequence(int32(p.batches[len(p.batches)-1][1])) {
			return 0, false, ErrOutOfOrderSequence
		}
	}
	return 0, false, nil
}

// accept records a batch written at offset.
func (p *prodState) accept(b BatchAppend, offset int64) {
	if b.ProducerEpoch != p.epoch {
		p.epoch, p.batches = b.ProducerEpoch, nil
	}
	p.batches = append(p.batches, seqEntry{int64(b.BaseSequence), int64(lastSequence(b.BaseSequence, b.Records)), offset})
	if len(p.batches) > producerHistory {
		p.batches = p.batches[len(p.batches)-producerHistory:]
	}
	p.dirty = true
}

func (s *sqlStore) CommitObject(ctx context.Context, c ObjectCommit) (CommitResult, error) {
	for _, r := range c.Runs {
		for _, b := range r.Batches {
			if b.Records < 1 || b.Records > math.MaxInt32 {
				return CommitResult{}, fmt.Errorf("commit object %s: batch of %s/%d spans %d offsets", c.Key, r.Topic, r.Partition, b.Records)
			}
		}
	}
	// The keys to lock, each list in the global lock order.
	var keys []tp
	seen := map[tp]bool{}
	for _, r := range c.Runs {
		if k := (tp{r.Topic, r.Partition}); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return tpLess(keys[i], keys[j]) })
	var pkeys []prodKey
	pseen := map[prodKey]bool{}
	for _, r := range c.Runs {
		for _, b := range r.Batches {
			if k := (prodKey{b.ProducerID, tp{r.Topic, r.Partition}}); b.ProducerID >= 0 && !pseen[k] {
				pseen[k] = true
				pkeys = append(pkeys, k)
			}
		}
	}
	sortProdKeys(pkeys)
	tc := newTxnCommit(c)

	var res CommitResult
	err := s.b.lockAndWrite(ctx, func() ([]read, func() ([]stmt, error)) {
		parts := map[tp]*partState{}
		prods := map[prodKey]*prodState{}
		tc.reset()
		reads := tc.txnReads(s)
		// Each list in chunks, in lock order: one statement of thousands
		// of rows runs out of SQLite's bound parameters.
		for lo := 0; lo < len(keys); lo += maxStmtRows {
			chunk := keys[lo:min(lo+maxStmtRows, len(keys))]
			src := make([][]any, len(chunk))
			for i, k := range chunk {
				src[i] = []any{k.topic, k.part}
			}
			from, args := s.rowSource(src, "uuid", "integer")
			reads = append(reads, read{stmt{"SELECT p.topic_id, p.part, p.log_start_offset, p.next_offset, p.max_timestamp FROM partitions p JOIN " + from +
				" ON p.topic_id = v.column1 AND p.part = v.column2 ORDER BY p.topic_id, p.part" + s.forUpdate(" OF p"), args},
				func(r rows) error {
					var (
						k  tp
						ps partState
					)
					if err := r.Scan(uuidInto{&k.topic}, &k.part, &ps.start, &ps.next, &ps.maxTS); err != nil {
						return err
					}
					ps.origNext = ps.next
					parts[k] = &ps
					return nil
				}})
		}
		reads = append(reads, s.producerRows("producers", "epoch, batches", pkeys, "", func(r rows) error {
			var (
				k       prodKey
				ps      prodState
				batches string
			)
			if err := r.Scan(&k.pid, uuidInto{&k.topic}, &k.part, &ps.epoch, &batches); err != nil {
				return err
			}
			var err error
			if ps.batches, err = decodeSeqEntries(batches); err != nil {
				return fmt.Errorf("producer %d state: %w", k.pid, err)
			}
			prods[k] = &ps
			return nil
		})...)
		reads = append(reads, tc.partReads(s)...)
		return reads, func() ([]stmt, error) {
			var ws []stmt
			res, ws = s.assign(c, keys, pkeys, parts, prods, tc)
			return ws, nil
		}
	})
	if err != nil {
		return CommitResult{}, s.wrap(ctx, "commit object "+c.Key, err)
	}
	if len(res.Appended) > 0 {
		s.announce(c.Key, res.Appended) // notify.go: tells other gateways
	}
	return res, nil
}

// assign gives the batches their offsets from the locked rows, applying the
// producer rules batch by batch, and returns the results and the writes.
func (s *sqlStore) assign(c ObjectCommit, keys []tp, pkeys []prodKey, parts map[tp]*partState, prods map[prodKey]*prodState, tc *txnCommit) (CommitResult, []stmt) {
	// One index row per contiguous stretch of accepted batches of a run.
	res := CommitResult{Runs: make([][]BatchResult, len(c.Runs))}
	var index []IndexEntry
	for i, r := range c.Runs {
		out := make([]BatchResult, len(r.Batches))
		res.Runs[i] = out
		ps := parts[tp{r.Topic, r.Partition}]
		var cur *IndexEntry // the open stretch
		for j, b := range r.Batches {
			if ps == nil {
				out[j] = BatchResult{BaseOffset: -1, LogStartOffset: -1, Err: ErrUnknownPartition}
				continue
			}
			k := prodKey{b.ProducerID, tp{r.Topic, r.Partition}}
			if err := tc.check(k, b); err != nil {
				out[j] = BatchResult{BaseOffset: -1, LogStartOffset: -1, Err: err}
				if cur != nil {
					index, cur = append(index, *cur), nil
				}
				continue
			}
			var pst *prodState
			if b.Control {
				pst = prods[k].fenceAt(b.ProducerEpoch)
				prods[k] = pst
			} else if b.ProducerID >= 0 {
				pst = prods[k]
				off, dup, err := pst.check(b)
				if err != nil || dup {
					if dup {
						out[j] = BatchResult{BaseOffset: off, LogStartOffset: ps.start, Duplicate: true}
					} else {
						out[j] = BatchResult{BaseOffset: -1, LogStartOffset: -1, Err: err}
					}
					if cur != nil {
						index, cur = append(index, *cur), nil
					}
					continue
				}
				if pst == nil {
					pst = &prodState{epoch: b.ProducerEpoch}
					prods[k] = pst
				}
			}
			base := ps.next
			ps.next += b.Records
			if !b.Control {
				pst.acceptIfAny(b, base)
			}
			tc.accepted(k, b, base)
			out[j] = BatchResult{BaseOffset: base, LogStartOffset: ps.start}
			if cur == nil {
				cur = &IndexEntry{Topic: r.Topic, Partition: r.Partition, BaseOffset: base, ObjectKey: c.Key,
					ByteOffset: b.ByteOffset, MaxTimestamp: math.MinInt64}
			}
			cur.LastOffset = ps.next - 1
			cur.ByteLength = b.ByteOffset + b.ByteLength - cur.ByteOffset
			cur.MaxTimestamp = max(cur.MaxTimestamp, b.MaxTimestamp)
		}
		if cur != nil {
			index = append(index, *cur)
		}
	}

	res.Appended = appended(c, index, parts)
	marks := markTimes(index, parts)

	// The writes: one statement per table.
	var stmts []stmt
	var upd [][]any
	for _, k := range keys {
		if ps := parts[k]; ps != nil && ps.next != ps.origNext {
			upd = append(upd, []any{k.topic, k.part, ps.next, ps.maxTS})
		}
	}
	for lo := 0; lo < len(upd); lo += maxStmtRows {
		from, args := s.rowSource(upd[lo:min(lo+maxStmtRows, len(upd))], "uuid", "integer", "bigint", "bigint")
		stmts = append(stmts, stmt{"UPDATE partitions SET next_offset = v.column3, max_timestamp = v.column4 FROM " + from +
			" WHERE partitions.topic_id = v.column1 AND partitions.part = v.column2", args})
	}
	for lo := 0; lo < len(index); lo += maxStmtRows {
		src := make([][]any, 0, maxStmtRows)
		for i, e := range index[lo:min(lo+maxStmtRows, len(index))] {
			src = append(src, []any{e.Topic, e.Partition, e.BaseOffset, e.LastOffset, e.ByteOffset, e.ByteLength, e.MaxTimestamp, marks[lo+i]})
		}
		// Every row names the same object: it goes once, as a parameter
		// of its own, not once per row.
		from, args := s.rowSource(src, "uuid", "integer", "bigint", "bigint", "bigint", "bigint", "bigint", "smallint")
		stmts = append(stmts, stmt{"INSERT INTO index_entries (" + indexCols + ", time_mark) SELECT v.column1, v.column2, v.column3, v.column4, ?, v.column5, v.column6, v.column7, v.column8 FROM " + from,
			append([]any{c.Key}, args...)})
	}
	var prodRows [][]any
	now := s.nowMillis() // the store's clock, not the batches' timestamps, which clients choose
	for _, k := range pkeys {
		if ps := prods[k]; ps != nil && ps.dirty {
			prodRows = append(prodRows, []any{k.pid, k.topic, k.part, ps.epoch, encodeSeqEntries(ps.batches), now})
		}
	}
	for lo := 0; lo < len(prodRows); lo += maxStmtRows {
		from, prodArgs := s.rowSource(prodRows[lo:min(lo+maxStmtRows, len(prodRows))], "bigint", "uuid", "integer", "integer", "text", "bigint")
		// WHERE true: SQLite's parser needs it between a SELECT and ON CONFLICT.
		stmts = append(stmts, stmt{"INSERT INTO producers (producer_id, topic_id, part, epoch, batches, last_write) SELECT * FROM " + from +
			" WHERE true ON CONFLICT (producer_id, topic_id, part) DO UPDATE SET epoch = excluded.epoch, batches = excluded.batches," +
			" last_write = excluded.last_write", prodArgs})
	}
	stmts = append(stmts, tc.writes(s)...)
	stmts = append(stmts, stmt{"INSERT INTO objects (" + objectCols + ") VALUES (?, ?, ?, ?, 0)",
		[]any{c.Key, c.Size, string(ObjectLive), now}})
	return res, stmts
}

// appended groups a commit's index rows by partition, in the order the
// runs name them.
func appended(c ObjectCommit, index []IndexEntry, parts map[tp]*partState) []Appended {
	// The rows of one run are consecutive: each partition's rows are a
	// piece of one copy of index, unless it has several runs.
	rows := slices.Clone(index)
	at := make(map[tp]int, len(c.Runs))
	out := make([]Appended, 0, len(c.Runs))
	for lo := 0; lo < len(rows); {
		k := tp{rows[lo].Topic, rows[lo].Partition}
		hi := lo + 1
		for hi < len(rows) && rows[hi].Topic == k.topic && rows[hi].Partition == k.part {
			hi++
		}
		for j := lo; j < hi; j++ {
			rows[j].ObjectSize = c.Size
		}
		if i, ok := at[k]; ok {
			out[i].Rows = append(out[i].Rows, rows[lo:hi]...) // capped below: copies
		} else {
			at[k] = len(out)
			out = append(out, Appended{Topic: k.topic, Partition: k.part, LogStartOffset: parts[k].start, Rows: rows[lo:hi:hi]})
		}
		lo = hi
	}
	for _, r := range c.Runs {
		i, ok := at[tp{r.Topic, r.Partition}]
		if !ok {
			continue
		}
		for _, b := range r.Batches {
			out[i].Txn = out[i].Txn || b.Transactional || b.Control
		}
	}
	return out
}

// rowSource returns a FROM item named v with columns column1, column2, …
// holding rows, and its arguments. SQLite gets a VALUES list; PostgreSQL
// gets unnest over one array parameter per column (of the given types), so
// the statement text does not depend on the row count and is prepared once.
func (s *sqlStore) rowSource(rows [][]any, types ...string) (string, []any) {
	if s.d != dialectPostgres {
		args := make([]any, 0, len(rows)*len(types))
		for _, r := range rows {
			args = append(args, r...)
		}
		return "(VALUES " + placeholders(len(rows), len(types)) + ") AS v", args
	}
	args := make([]any, len(types))
	casts := make([]string, len(types))
	names := make([]string, len(types))
	for c, t := range types {
		casts[c] = "?::" + t + "[]"
		names[c] = fmt.Sprintf("column%d", c+1)
		args[c] = column(rows, c, t)
	}
	return "unnest(" + strings.Join(casts, ", ") + ") AS v(" + strings.Join(names, ", ") + ")", args
}

// producerRows reads the rows of table keyed by (producer_id, topic_id,
// part) for keys, which are in lock order, with cols after the key
// columns, locking them with lock (forUpdate's clause or nothing): in
// chunks of maxStmtRows, since one statement of thousands of rows runs out
// of SQLite's bound parameters.
func (s *sqlStore) producerRows(table, cols string, keys []prodKey, lock string, scan func(rows) error) []read {
	var reads []read
	for lo := 0; lo < len(keys); lo += maxStmtRows {
		chunk := keys[lo:min(lo+maxStmtRows, len(keys))]
		src := make([][]any, len(chunk))
		for i, k := range chunk {
			src[i] = []any{k.pid, k.topic, k.part}
		}
		from, args := s.rowSource(src, "bigint", "uuid", "integer")
		reads = append(reads, read{stmt{"SELECT t.producer_id, t.topic_id, t.part, " + prefixed("t.", cols) + " FROM " + table + " t JOIN " + from +
			" ON t.producer_id = v.column1 AND t.topic_id = v.column2 AND t.part = v.column3 ORDER BY t.producer_id, t.topic_id, t.part" + lock, args},
			scan})
	}
	return reads
}

// prefixed qualifies each of a comma-separated column list.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = alias + c
	}
	return strings.Join(parts, ", ")
}

// fenceAt is the producer's state after a marker at epoch: a newer epoch
// fences the older one on the partition and restarts its sequences.
func (p *prodState) fenceAt(epoch int16) *prodState {
	if p == nil {
		return &prodState{epoch: epoch, dirty: true}
	}
	if epoch > p.epoch {
		p.epoch, p.batches, p.dirty = epoch, nil, true
	}
	return p
}

func (p *prodState) acceptIfAny(b BatchAppend, offset int64) {
	if p != nil {
		p.accept(b, offset)
	}
}
