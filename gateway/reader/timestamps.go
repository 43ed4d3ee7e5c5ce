package reader

// ListOffsets by timestamp: the index narrows the search to one row, whose
// records are then scanned.

import (
	"context"
	"fmt"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// maxRecordScan bounds the decompressed bytes read to find one record by
// timestamp.
const maxRecordScan = 64 << 20

// OffsetForTime finds the first record whose timestamp is >= ts, as
// ListOffsets by timestamp does; ok=false when there is none.
func (r *Reader) OffsetForTime(ctx context.Context, topic uuid.UUID, partition int32, ts int64) (offset, at int64, ok bool, err error) {
	row, found, err := r.store.IndexByTimestamp(ctx, topic, partition, ts)
	if err != nil || !found {
		return -1, -1, false, err
	}
	return r.scanRow(ctx, row, func(recTS, best int64) bool { return recTS >= ts && best < 0 })
}

// OffsetOfMaxTime finds the record with the largest timestamp (the first
// such record), for ListOffsets' MAX_TIMESTAMP.
func (r *Reader) OffsetOfMaxTime(ctx context.Context, topic uuid.UUID, partition int32) (offset, at int64, ok bool, err error) {
	row, found, err := r.store.IndexMaxTimestamp(ctx, topic, partition)
	if err != nil || !found {
		return -1, -1, false, err
	}
	return r.scanRow(ctx, row, func(recTS, best int64) bool { return recTS > best })
}

// scanRow walks the records of one index row and keeps the one for which
// better(recordTimestamp, bestTimestampSoFar) holds last; best starts at -1.
func (r *Reader) scanRow(ctx context.Context, row metadata.IndexEntry, better func(ts, best int64) bool) (int64, int64, bool, error) {
	stored, e, err := r.objects.read(ctx, row, false)
	if err != nil {
		return -1, -1, false, err
	}
	defer e.release()
	batches, err := segments.RowBatches(stored, row.BaseOffset, row.Absolute)
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
