package compaction

import (
	"context"
	"fmt"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/segments"
)

// KeyRangeInput is what PlanKeyRange decides on.
type KeyRangeInput struct {
	Rows     []metadata.IndexEntry // the partition's rows in offset order
	NowMs    int64
	MinLagMs int64 // min.compaction.lag.ms
	// LastStable is the partition's last stable offset: the first offset
	// of its oldest open transaction, or its next offset.
	LastStable int64
}

// PlanKeyRange picks the rows key compaction rewrites (rng) and the later
// rows it only reads for their keys (head). The newest row is never
// rewritten, like Kafka's active segment, so the log never ends in a gap;
// nor is any row holding records younger than min.compaction.lag.ms, nor
// any reaching the last stable offset: like Kafka's cleaner, compaction
// stops below the first unstable offset, since an open transaction's
// records may yet be aborted. It returns no range unless at least half
// of the range's bytes are dirty (not yet compacted), Kafka's default
// min.cleanable.dirty.ratio.
func PlanKeyRange(in KeyRangeInput) (rng, head []metadata.IndexEntry) {
	if len(in.Rows) < 2 {
		return nil, nil
	}
	n := 0
	for n < len(in.Rows)-1 && in.Rows[n].LastOffset < in.LastStable &&
		(in.MinLagMs <= 0 || in.Rows[n].MaxTimestamp <= in.NowMs-in.MinLagMs) {
		n++
	}
	var dirty, total int64
	for _, r := range in.Rows[:n] {
		total += r.ByteLength
		if !r.Absolute {
			dirty += r.ByteLength
		}
	}
	if n == 0 || dirty == 0 || dirty*2 < total {
		return nil, nil
	}
	return in.Rows[:n], in.Rows[n:]
}

// KeyRecord is what the key planner knows of one record or marker.
type KeyRecord struct {
	Offset    int64
	Key       string
	NullKey   bool
	Tombstone bool // null value
	Timestamp int64
	// Transactional: its batch is; ProducerID tells whose transaction.
	Transactional bool
	ProducerID    int64
	// Control: a transaction marker, COMMIT when Commit (else ABORT).
	Control bool
	Commit  bool
	// DeleteHorizon of a marker: when a pass may drop it, stamped once
	// its transaction's records were gone (Kafka's delete horizon,
	// KIP-534); 0 until then.
	DeleteHorizon int64
}

// KeyInput is one partition's records in offset order, from its log
// start: those of the range being rewritten (Offset <= RangeEnd) and after
// them those of the head, which only tell which keys were written again
// and how transactions ended.
type KeyInput struct {
	Records           []KeyRecord
	RangeEnd          int64
	NowMs             int64
	DeleteRetentionMs int64 // delete.retention.ms
}

// Verdict is what key compaction does with one record of the range.
type Verdict uint8

const (
	Drop Verdict = iota
	Keep
	// KeepStamped keeps a marker stamped with a delete horizon of
	// NowMs + DeleteRetentionMs.
	KeepStamped
)

// PlanKeys decides, without I/O, what becomes of each record of the
// range: records of aborted transactions go; of the others, the latest
// record of each key stays, unless it is a tombstone older than
// delete.retention.ms; markers as planMarker says. Records without a key
// (written before the topic became compacted) stay. Only settled records
// count as a key's latest: neither an aborted transaction's nor an open
// one's replace what is committed. The answer is parallel to the range's
// records.
func PlanKeys(in KeyInput) []Verdict {
	fates := txnFates(in.Records)
	latest := make(map[string]int64)
	n := 0
	for i, r := range in.Records {
		if r.Offset <= in.RangeEnd {
			n++
		}
		if !r.NullKey && !r.Control && fates[i] == settled {
			latest[r.Key] = r.Offset
		}
	}
	verdicts := make([]Verdict, n)
	for i, r := range in.Records[:n] {
		switch {
		case r.Control:
			verdicts[i] = planMarker(r, fates[i], in)
		case fates[i] == aborted:
		case fates[i] == undecided, r.NullKey:
			// An open transaction's records lie past the last stable
			// offset, outside any range; should one be read, it stays.
			verdicts[i] = Keep
		case latest[r.Key] != r.Offset:
		case r.Tombstone && r.Timestamp < in.NowMs-in.DeleteRetentionMs:
		default:
			verdicts[i] = Keep
		}
	}
	return verdicts
}

// KeyResult counts what one partition's key compaction did.
type KeyResult struct {
	RowsIn, RowsOut       int
	RecordsIn, RecordsOut int
	BytesIn, BytesOut     int64
	// MarkersDropped: markers removed, their delete horizon passed.
	MarkersDropped int
}

// compactBatchBytes bounds a compacted batch: well under the default
// max.message.bytes and a consumer's default max.partition.fetch.bytes.
const compactBatchBytes = 256 << 10

// rangeRecord is a record of the range as compaction rewrites it.
type rangeRecord struct {
	rec segments.AbsRecord
	src batchSource
	// marker is the whole control batch of a marker, which is kept as
	// it is (or stamped), never rebuilt from its record.
	marker []byte
}

// CompactKeys key-compacts one partition of a topic with cleanup.policy
// compact: the planned range is rewritten, with absolute offsets, into new
// objects holding only the records PlanKeys keeps, and its rows are
// swapped for rows marked absolute in one transaction.
func (c *Compactor) CompactKeys(ctx context.Context, t metadata.Topic, partition int32, pol topicconfig.Policy) (KeyResult, error) {
	var res KeyResult
	fail := func(err error) (KeyResult, error) {
		return res, fmt.Errorf("key compaction of %s/%d: %w", t.Name, partition, err)
	}
	// The state before the rows: a transaction opening after this read
	// writes past the rows read, at or above this last stable offset.
	st, err := c.c.Store.Partition(ctx, t.ID, partition)
	if err != nil {
		return fail(err)
	}
	rows, err := c.partitionRows(ctx, t, partition)
	if err != nil {
		return fail(err)
	}
	now := c.c.Now().UnixMilli()
	rng, head := PlanKeyRange(KeyRangeInput{Rows: rows, NowMs: now, MinLagMs: pol.MinCompactionLagMs, LastStable: st.LastStableOffset})
	if len(rng) == 0 {
		return res, nil
	}
	recs, full, err := c.readKeyRecords(ctx, rng, head, &res)
	if err != nil {
		return fail(err)
	}
	verdicts := PlanKeys(KeyInput{Records: recs, RangeEnd: rng[len(rng)-1].LastOffset, NowMs: now, DeleteRetentionMs: pol.DeleteRetentionMs})
	batches, aborts, err := rewriteBatches(full, verdicts, now+pol.DeleteRetentionMs, &res)
	if err != nil {
		return fail(err)
	}
	// The aborted index entries of dropped ABORT markers go first: their
	// records went in an earlier pass, so an entry without its marker
	// (the swap failing) covers nothing, while a marker's absence with
	// its entry left would have read_committed consumers drop the
	// producer's later records until an ABORT that never comes.
	if len(aborts) > 0 {
		if _, err := c.c.Store.DropAbortedTxns(ctx, t.ID, partition, aborts); err != nil {
			return fail(err)
		}
	}
	rep := metadata.IndexReplacement{Topic: t.ID, Partition: partition, Old: rng}
	for len(batches) > 0 {
		n, size := 0, int64(0)
		for n < len(batches) && (n == 0 || size+int64(len(batches[n])) <= c.c.Merge.TargetBytes) {
			size += int64(len(batches[n]))
			n++
		}
		part := batches[:n]
		batches = batches[n:]
		data, spans, err := segments.WriteAbsoluteObject([]segments.Part{{Topic: t.ID, Partition: partition, Batches: part}})
		if err != nil {
			return fail(err)
		}
		obj, err := c.put(ctx, data)
		if err != nil {
			return fail(err)
		}
		firstH, _ := segments.ParseBatchHeader(part[0])
		lastH, _ := segments.ParseBatchHeader(part[len(part)-1])
		rep.Objects = append(rep.Objects, obj)
		rep.New = append(rep.New, metadata.IndexEntry{Topic: t.ID, Partition: partition,
			BaseOffset: firstH.BaseOffset, LastOffset: lastH.BaseOffset + int64(lastH.LastOffsetDelta),
			ObjectKey: obj.Key, ByteOffset: spans[0].Off, ByteLength: spans[0].Len, MaxTimestamp: spans[0].MaxTimestamp, Absolute: true})
		res.BytesOut += spans[0].Len
	}
	res.RowsOut = len(rep.New)
	if err := c.c.Store.ReplaceIndex(ctx, rep, c.c.Now().Add(c.c.Grace)); err != nil {
		return fail(err)
	}
	c.c.Log.Info("compacted keys", "topic", t.Name, "partition", partition, "offset", rng[0].BaseOffset,
		"records_in", res.RecordsIn, "records_out", res.RecordsOut, "bytes_in", res.BytesIn, "bytes_out", res.BytesOut,
		"markers_dropped", res.MarkersDropped)
	return res, nil
}

// readKeyRecords reads the records of rng and then head, in offset order,
// as the planner sees them, and those of rng as they would be rewritten.
// A marker is one record, read from its batch's header and key.
func (c *Compactor) readKeyRecords(ctx context.Context, rng, head []metadata.IndexEntry, res *KeyResult) ([]KeyRecord, []rangeRecord, error) {
	var (
		recs []KeyRecord
		full []rangeRecord // parallel to recs[:len(full)]
	)
	for i, r := range append(rng[:len(rng):len(rng)], head...) {
		inRange := i < len(rng)
		b, err := c.readRow(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		spans, err := rowBatches(r, b)
		if err != nil {
			return nil, nil, fmt.Errorf("object %s: %w", r.ObjectKey, err)
		}
		if inRange {
			res.RowsIn++
			res.BytesIn += r.ByteLength
		}
		for _, s := range spans {
			raw := b[s.Off : s.Off+s.Len]
			h, err := segments.ParseBatchHeader(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("object %s: %w", r.ObjectKey, err)
			}
			if h.Control() {
				commit, err := segments.ControlCommit(raw)
				if err != nil {
					return nil, nil, fmt.Errorf("object %s: marker at %d: %w", r.ObjectKey, s.BaseOffset, err)
				}
				recs = append(recs, KeyRecord{Offset: s.BaseOffset, Timestamp: h.MaxTimestamp, ProducerID: h.ProducerID,
					Control: true, Commit: commit, DeleteHorizon: deleteHorizon(h)})
				if inRange {
					full = append(full, rangeRecord{src: sourceOf(h), marker: raw})
				}
				continue
			}
			err = segments.ForEachRecord(raw, c.c.MaxDecompressed, func(rec segments.Record) error {
				ts := h.BaseTimestamp + rec.TimestampDelta
				if h.Attributes&attrLogAppendTime != 0 {
					ts = h.MaxTimestamp
				}
				off := s.BaseOffset + int64(rec.OffsetDelta)
				recs = append(recs, KeyRecord{Offset: off, Key: string(rec.Key), NullKey: rec.Key == nil, Tombstone: rec.Value == nil,
					Timestamp: ts, Transactional: h.Transactional(), ProducerID: h.ProducerID})
				if inRange {
					full = append(full, rangeRecord{src: sourceOf(h),
						rec: segments.AbsRecord{Offset: off, Timestamp: ts, Key: rec.Key, Value: rec.Value, Headers: rec.Headers}})
				}
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("object %s: %w", r.ObjectKey, err)
			}
		}
	}
	res.RecordsIn = len(full)
	return recs, full, nil
}

// rewriteBatches turns the range's records into batches in offset order
// as verdicts say: markers as they are (or stamped with horizon), and
// runs of kept records from the same producer, transactional or not, into
// batches of at most compactBatchBytes that carry that producer, as Kafka's
// cleaner keeps each batch's producer fields. It returns the offsets of
// the ABORT markers it dropped.
func rewriteBatches(full []rangeRecord, verdicts []Verdict, horizon int64, res *KeyResult) (batches [][]byte, aborts []int64, err error) {
	var (
		cur     []segments.AbsRecord
		curSrc  batchSource
		curSize int
	)
	cut := func() error {
		if len(cur) == 0 {
			return nil
		}
		b, err := segments.AppendBatch(nil, cur)
		if err != nil {
			return err
		}
		withSource(b, curSrc)
		batches = append(batches, b)
		cur, curSize = cur[:0], 0
		return nil
	}
	for i, r := range full {
		v := verdicts[i]
		switch {
		case r.marker != nil && v == Drop:
			res.MarkersDropped++
			if commit, _ := segments.ControlCommit(r.marker); !commit {
				h, _ := segments.ParseBatchHeader(r.marker)
				aborts = append(aborts, h.BaseOffset)
			}
			continue
		case v == Drop:
			continue
		}
		res.RecordsOut++
		if r.marker != nil {
			if err := cut(); err != nil {
				return nil, nil, err
			}
			b := r.marker
			if v == KeepStamped {
				if b, err = stampHorizon(b, horizon); err != nil {
					return nil, nil, err
				}
			}
			batches = append(batches, b)
			continue
		}
		size := len(r.rec.Key) + len(r.rec.Value) + 24
		for _, h := range r.rec.Headers {
			size += len(h.Key) + len(h.Value) + 4
		}
		if r.src.producerID != curSrc.producerID || r.src.epoch != curSrc.epoch || r.src.transactional != curSrc.transactional ||
			curSize+size > compactBatchBytes {
			if err := cut(); err != nil {
				return nil, nil, err
			}
		}
		if len(cur) == 0 {
			curSrc = r.src
		}
		cur = append(cur, r.rec)
		curSize += size
	}
	return batches, aborts, cut()
}
