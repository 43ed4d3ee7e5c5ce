package gateway

import (
	"context"
	"fmt"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// indexRowsPerRead is how many index rows one partition read fetches at
// once; a row holds one flush's batches, typically tens of KiB.
const indexRowsPerRead = 32

// readLog returns the partition's batches from the one holding offset
// `from`, with their real offsets written in, up to maxBytes. With
// atLeastOne, the first batch is returned even when it alone exceeds
// maxBytes, as Kafka does (KIP-74) so that consumers always progress.
// Batches at or past hw are left out.
func (g *Gateway) readLog(ctx context.Context, topic uuid.UUID, partition int32, from, hw int64, maxBytes int, atLeastOne bool) ([]byte, error) {
	var out []byte
	for from < hw {
		rows, err := g.store.Index(ctx, topic, partition, from, indexRowsPerRead)
		if err != nil {
			return nil, fmt.Errorf("look up index of partition %d from offset %d: %w", partition, from, err)
		}
		rows = rowsToRead(rows, hw, maxBytes-len(out))
		if len(rows) == 0 {
			return out, nil
		}
		if out == nil {
			// Sized once: growing a many-MiB response copies it again.
			out = make([]byte, 0, min(maxBytes, rowsBytes(rows)))
		}
		stored, err := g.reader.readRows(ctx, rows)
		if err != nil {
			return nil, err
		}
		for i, row := range rows {
			var done bool
			out, from, done, err = appendRow(out, stored[i], row, from, hw, maxBytes, atLeastOne)
			if err != nil {
				return nil, fmt.Errorf("object %s partition %d: %w", row.ObjectKey, partition, err)
			}
			if done {
				return out, nil
			}
		}
	}
	return out, nil
}

// appendRow appends the batches of one index row's stored bytes that hold
// offsets from `from` on, below hw and within maxBytes, and writes their
// real offsets into the appended copy (the stored bytes are the cache's
// and stay untouched). It returns the next offset to read and whether the
// read is done.
func appendRow(out, stored []byte, row metadata.IndexEntry, from, hw int64, maxBytes int, atLeastOne bool) ([]byte, int64, bool, error) {
	batches, err := rowBatches(stored, row)
	if err != nil {
		return out, from, true, err
	}
	start, first, done := len(out), int64(-1), false
	for _, b := range batches {
		if b.LastOffset < from {
			continue
		}
		if b.BaseOffset >= hw || (len(out)+int(b.Len) > maxBytes && !(atLeastOne && len(out) == 0)) {
			done = true
			break
		}
		if first < 0 {
			first = b.BaseOffset
		}
		out = append(out, stored[b.Off:b.Off+b.Len]...)
		from = b.LastOffset + 1
	}
	if first >= 0 && !row.Absolute {
		if _, err := segments.PatchOffsets(out[start:], first, 0); err != nil {
			return out[:start], from, true, err
		}
	}
	if !done {
		from = max(from, row.LastOffset+1)
	}
	return out, from, done, nil
}

func rowsBytes(rows []metadata.IndexEntry) int {
	n := int64(0)
	for _, r := range rows {
		n += r.ByteLength
	}
	return int(n)
}

// rowsToRead keeps the rows below hw that the byte budget can use: the
// first always, then while the bytes before each row fit.
func rowsToRead(rows []metadata.IndexEntry, hw int64, budget int) []metadata.IndexEntry {
	n, bytes := 0, int64(0)
	for n < len(rows) && rows[n].BaseOffset < hw && (n == 0 || bytes < int64(budget)) {
		bytes += rows[n].ByteLength
		n++
	}
	return rows[:n]
}

// maxRecordScan bounds the decompressed bytes read to find one record by
// timestamp.
const maxRecordScan = 64 << 20

// offsetForTime finds the first record whose timestamp is >= ts, as
// ListOffsets by timestamp does; ok=false when there is none.
func (g *Gateway) offsetForTime(ctx context.Context, topic uuid.UUID, partition int32, ts int64) (offset, at int64, ok bool, err error) {
	row, found, err := g.store.IndexByTimestamp(ctx, topic, partition, ts)
	if err != nil || !found {
		return -1, -1, false, err
	}
	return g.scanRow(ctx, row, func(recTS, best int64) bool { return recTS >= ts && best < 0 })
}

// offsetOfMaxTime finds the record with the largest timestamp (the first
// such record), for ListOffsets' MAX_TIMESTAMP.
func (g *Gateway) offsetOfMaxTime(ctx context.Context, topic uuid.UUID, partition int32) (offset, at int64, ok bool, err error) {
	row, found, err := g.store.IndexMaxTimestamp(ctx, topic, partition)
	if err != nil || !found {
		return -1, -1, false, err
	}
	return g.scanRow(ctx, row, func(recTS, best int64) bool { return recTS > best })
}

// scanRow walks the records of one index row and keeps the one for which
// better(recordTimestamp, bestTimestampSoFar) holds last; best starts at -1.
func (g *Gateway) scanRow(ctx context.Context, row metadata.IndexEntry, better func(ts, best int64) bool) (int64, int64, bool, error) {
	stored, err := g.reader.read(ctx, row.ObjectKey, row.ByteOffset, row.ByteLength)
	if err != nil {
		return -1, -1, false, err
	}
	batches, err := rowBatches(stored, row)
	if err != nil {
		return -1, -1, false, fmt.Errorf("object %s: %w", row.ObjectKey, err)
	}
	bestOff, bestTS := int64(-1), int64(-1)
	for _, b := range batches {
		raw := stored[b.Off : b.Off+b.Len]
		h, err := segments.ParseBatchHeader(raw)
		if err != nil {
			return -1, -1, false, fmt.Errorf("object %s: %w", row.ObjectKey, err)
		}
		err = segments.ForEachRecord(raw, maxRecordScan, func(r segments.Record) error {
			if ts := h.BaseTimestamp + r.TimestampDelta; better(ts, bestTS) {
				bestOff, bestTS = b.BaseOffset+int64(r.OffsetDelta), ts
			}
			return nil
		})
		if err != nil {
			return -1, -1, false, fmt.Errorf("object %s: %w", row.ObjectKey, err)
		}
	}
	return bestOff, bestTS, bestOff >= 0, nil
}

// rowBatches lists one index row's stored batches with their real
// offsets, without changing the bytes. Key-compacted rows carry their
// offsets, with gaps; the others are stored from 0 and numbered from the
// row's base offset.
func rowBatches(stored []byte, row metadata.IndexEntry) ([]segments.BatchSpan, error) {
	if row.Absolute {
		return segments.IndexAbsolute(stored)
	}
	return segments.BatchIndex(stored, row.BaseOffset)
}
