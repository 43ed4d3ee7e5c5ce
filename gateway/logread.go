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
		stored, err := g.reader.readRows(ctx, rows)
		if err != nil {
			return nil, err
		}
		for i, row := range rows {
			// The cache shares its bytes; patching needs our own copy.
			buf := append([]byte(nil), stored[i]...)
			batches, err := patchRow(buf, row)
			if err != nil {
				return nil, fmt.Errorf("object %s partition %d: %w", row.ObjectKey, partition, err)
			}
			for _, b := range batches {
				if b.LastOffset < from {
					continue
				}
				if b.BaseOffset >= hw {
					return out, nil
				}
				if len(out)+int(b.Len) > maxBytes && !(atLeastOne && len(out) == 0) {
					return out, nil
				}
				out = append(out, buf[b.Off:b.Off+b.Len]...)
				from = b.LastOffset + 1
			}
			from = max(from, row.LastOffset+1)
		}
	}
	return out, nil
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
	buf := append([]byte(nil), stored...)
	batches, err := patchRow(buf, row)
	if err != nil {
		return -1, -1, false, fmt.Errorf("object %s: %w", row.ObjectKey, err)
	}
	bestOff, bestTS := int64(-1), int64(-1)
	for _, b := range batches {
		raw := buf[b.Off : b.Off+b.Len]
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

// patchRow writes real offsets into one index row's stored batches and
// lists them. Key-compacted rows already carry their offsets, with gaps.
func patchRow(buf []byte, row metadata.IndexEntry) ([]segments.BatchSpan, error) {
	if row.Absolute {
		return segments.IndexAbsolute(buf)
	}
	if _, err := segments.PatchOffsets(buf, row.BaseOffset, 0); err != nil {
		return nil, err
	}
	return segments.BatchIndex(buf, row.BaseOffset)
}
