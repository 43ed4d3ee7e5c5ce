package reader

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

// indexRows returns the partition's index rows from the one holding
// offset `from`, below hw, until they hold maxBytes (at least one row).
func (r *Reader) indexRows(ctx context.Context, topic uuid.UUID, partition int32, from, hw int64, maxBytes int) ([]metadata.IndexEntry, error) {
	var rows []metadata.IndexEntry
	for bytes := 0; from < hw && (len(rows) == 0 || bytes < maxBytes); {
		r.queries.WithLabelValues("index").Inc()
		page, err := r.store.Index(ctx, topic, partition, from, indexRowsPerRead)
		if err != nil {
			return nil, fmt.Errorf("look up index of partition %d from offset %d: %w", partition, from, err)
		}
		full := len(page) == indexRowsPerRead
		page = rowsToRead(belowHW(page, hw), maxBytes-bytes)
		if len(page) == 0 {
			break
		}
		rows = append(rows, page...)
		bytes += rowsBytes(page)
		from = page[len(page)-1].LastOffset + 1
		if !full {
			break
		}
	}
	return rows, nil
}

// readBatches returns the batches of rows that hold offsets from `from`
// on, below hw, up to maxBytes, with their real offsets written in; the
// objects in whole are read whole on a miss. With atLeastOne, the first
// batch is returned even when it alone exceeds maxBytes, as Kafka does
// (KIP-74) so that consumers always progress.
func (r *Reader) readBatches(ctx context.Context, rows []metadata.IndexEntry, whole map[string]bool, from, hw int64, maxBytes int, atLeastOne bool) ([]byte, error) {
	stored, release, err := r.objects.readRows(ctx, rows, whole)
	if err != nil {
		return nil, err
	}
	defer release()
	// Sized once: growing a many-MiB response copies it again. The
	// connection recycles it once the response is written.
	out := getBuf(min(maxBytes, rowsBytes(rows)))
	for i, row := range rows {
		var done bool
		out, from, done, err = appendRow(out, stored[i], row, from, hw, maxBytes, atLeastOne)
		if err != nil {
			return nil, fmt.Errorf("object %s partition %d: %w", row.ObjectKey, row.Partition, err)
		}
		if done {
			break
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
	batches, err := segments.RowBatches(stored, row.BaseOffset, row.Absolute)
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

// belowHW drops the rows at or past hw.
func belowHW(rows []metadata.IndexEntry, hw int64) []metadata.IndexEntry {
	n := 0
	for n < len(rows) && rows[n].BaseOffset < hw {
		n++
	}
	return rows[:n]
}

// rowsToRead keeps the rows that the byte budget can use: the first
// always, then while the bytes before each row fit.
func rowsToRead(rows []metadata.IndexEntry, budget int) []metadata.IndexEntry {
	n, bytes := 0, int64(0)
	for n < len(rows) && (n == 0 || bytes < int64(budget)) {
		bytes += rows[n].ByteLength
		n++
	}
	return rows[:n]
}
