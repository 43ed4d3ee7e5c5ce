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
}

// PlanKeyRange picks the rows key compaction rewrites (rng) and the later
// rows it only reads for their keys (head). The newest row is never
// rewritten, like Kafka's active segment, so the log never ends in a gap;
// nor is any row holding records younger than min.compaction.lag.ms. It
// returns no range unless at least half of the range's bytes are dirty
// (not yet compacted), Kafka's default min.cleanable.dirty.ratio.
func PlanKeyRange(in KeyRangeInput) (rng, head []metadata.IndexEntry) {
	if len(in.Rows) < 2 {
		return nil, nil
	}
	n := 0
	for n < len(in.Rows)-1 && (in.MinLagMs <= 0 || in.Rows[n].MaxTimestamp <= in.NowMs-in.MinLagMs) {
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

// KeyRecord is what the key planner knows of one record.
type KeyRecord struct {
	Offset    int64
	Key       string
	NullKey   bool
	Tombstone bool // null value
	Timestamp int64
}

// KeyInput is one partition's records in offset order: those of the range
// being rewritten (Offset <= RangeEnd) and after them those of the head,
// which only tell which keys were written again.
type KeyInput struct {
	Records           []KeyRecord
	RangeEnd          int64
	NowMs             int64
	DeleteRetentionMs int64 // delete.retention.ms
}

// PlanKeys decides, without I/O, which records of the range stay: the
// latest record of each key, unless it is a tombstone older than
// delete.retention.ms. Records without a key (written before the topic
// became compacted) stay. The answer is parallel to the range's records.
func PlanKeys(in KeyInput) []bool {
	latest := make(map[string]int64)
	n := 0
	for _, r := range in.Records {
		if r.Offset <= in.RangeEnd {
			n++
		}
		if !r.NullKey {
			latest[r.Key] = r.Offset
		}
	}
	keep := make([]bool, n)
	for i, r := range in.Records[:n] {
		switch {
		case r.NullKey:
			keep[i] = true
		case latest[r.Key] != r.Offset:
		case r.Tombstone && r.Timestamp < in.NowMs-in.DeleteRetentionMs:
		default:
			keep[i] = true
		}
	}
	return keep
}

// KeyResult counts what one partition's key compaction did.
type KeyResult struct {
	RowsIn, RowsOut       int
	RecordsIn, RecordsOut int
	BytesIn, BytesOut     int64
}

// compactBatchBytes bounds a compacted batch: well under the default
// max.message.bytes and a consumer's default max.partition.fetch.bytes.
const compactBatchBytes = 256 << 10

// CompactKeys key-compacts one partition of a topic with cleanup.policy
// compact: the planned range is rewritten, with absolute offsets, into new
// objects holding only the records PlanKeys keeps, and its rows are
// swapped for rows marked absolute in one transaction.
func (c *Compactor) CompactKeys(ctx context.Context, t metadata.Topic, partition int32, pol topicconfig.Policy) (KeyResult, error) {
	var res KeyResult
	fail := func(err error) (KeyResult, error) {
		return res, fmt.Errorf("key compaction of %s/%d: %w", t.Name, partition, err)
	}
	rows, err := c.partitionRows(ctx, t, partition)
	if err != nil {
		return fail(err)
	}
	now := c.c.Now().UnixMilli()
	rng, head := PlanKeyRange(KeyRangeInput{Rows: rows, NowMs: now, MinLagMs: pol.MinCompactionLagMs})
	if len(rng) == 0 {
		return res, nil
	}
	var (
		recs []KeyRecord
		full []segments.AbsRecord // the range's records, parallel to recs[:len(full)]
	)
	for i, r := range append(rng[:len(rng):len(rng)], head...) {
		inRange := i < len(rng)
		b, err := c.readRow(ctx, r)
		if err != nil {
			return fail(err)
		}
		spans, err := rowBatches(r, b)
		if err != nil {
			return fail(fmt.Errorf("object %s: %w", r.ObjectKey, err))
		}
		if inRange {
			res.RowsIn++
			res.BytesIn += r.ByteLength
		}
		for _, s := range spans {
			raw := b[s.Off : s.Off+s.Len]
			h, err := segments.ParseBatchHeader(raw)
			if err != nil {
				return fail(fmt.Errorf("object %s: %w", r.ObjectKey, err))
			}
			logAppend := h.Attributes&0x08 != 0
			err = segments.ForEachRecord(raw, c.c.MaxDecompressed, func(rec segments.Record) error {
				ts := h.BaseTimestamp + rec.TimestampDelta
				if logAppend {
					ts = h.MaxTimestamp
				}
				off := s.BaseOffset + int64(rec.OffsetDelta)
				recs = append(recs, KeyRecord{Offset: off, Key: string(rec.Key), NullKey: rec.Key == nil, Tombstone: rec.Value == nil, Timestamp: ts})
				if inRange {
					full = append(full, segments.AbsRecord{Offset: off, Timestamp: ts, Key: rec.Key, Value: rec.Value, Headers: rec.Headers})
				}
				return nil
			})
			if err != nil {
				return fail(fmt.Errorf("object %s: %w", r.ObjectKey, err))
			}
		}
	}
	res.RecordsIn = len(full)
	keep := PlanKeys(KeyInput{Records: recs, RangeEnd: rng[len(rng)-1].LastOffset, NowMs: now, DeleteRetentionMs: pol.DeleteRetentionMs})

	// Kept records → batches → objects of at most TargetBytes, one row each.
	var (
		batches [][]byte
		cur     []segments.AbsRecord
		curSize int
	)
	cut := func() error {
		if len(cur) == 0 {
			return nil
		}
		b, err := segments.AppendBatch(nil, cur)
		batches = append(batches, b)
		cur, curSize = cur[:0], 0
		return err
	}
	for i, r := range full {
		if !keep[i] {
			continue
		}
		res.RecordsOut++
		size := len(r.Key) + len(r.Value) + 24
		for _, h := range r.Headers {
			size += len(h.Key) + len(h.Value) + 4
		}
		if curSize+size > compactBatchBytes {
			if err := cut(); err != nil {
				return fail(err)
			}
		}
		cur = append(cur, r)
		curSize += size
	}
	if err := cut(); err != nil {
		return fail(err)
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
		"records_in", res.RecordsIn, "records_out", res.RecordsOut, "bytes_in", res.BytesIn, "bytes_out", res.BytesOut)
	return res, nil
}
