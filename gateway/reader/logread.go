package reader

import (
	"context"
	"fmt"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// A partition read fetches index rows in pages: first indexFirstPage,
// which covers a default 1 MiB partition fetch when flushes hold a few
// hundred KiB of the partition, then pages sized by the rows seen so far
// to what the read still wants, up to indexMaxPage. Every row a page
// returns costs the gateway its decoding, so pages the read only uses
// the start of (32 rows where 3 were wanted, before) cost more than the
// extra query a short first page sometimes takes.
const (
	indexFirstPage = 8
	indexMaxPage   = 256
)

// indexPage is how many rows to ask for when n rows of `bytes` bytes are
// read and the read wants maxBytes.
func indexPage(n, bytes, maxBytes int) int {
	if n == 0 {
		return indexFirstPage
	}
	perRow := max(bytes/n, 1)
	return min(max((maxBytes-bytes)/perRow+2, indexFirstPage), indexMaxPage)
}

// indexRows returns the partition's index rows from the one holding
// offset `from`, below hw, until they hold maxBytes (at least one row).
func (r *Reader) indexRows(ctx context.Context, topic uuid.UUID, partition int32, from, hw int64, maxBytes int) ([]metadata.IndexEntry, error) {
	var rows []metadata.IndexEntry
	for bytes := 0; from < hw && (len(rows) == 0 || bytes < maxBytes); {
		page, full, err := r.pageFrom(ctx, topic, partition, from, indexPage(len(rows), bytes, maxBytes))
		if err != nil {
			return nil, fmt.Errorf("look up index of partition %d from offset %d: %w", partition, from, err)
		}
		// The whole page: the next read may start inside a row this one
		// reads only part of, or at rows the fetch leaves out.
		r.ahead.keep(topic, partition, page)
		used := rowsToRead(belowHW(page.rows, hw), maxBytes-bytes)
		if len(used) == 0 {
			break
		}
		rows = append(rows, used...)
		bytes += rowsBytes(used)
		from = used[len(used)-1].LastOffset + 1
		if !full {
			break
		}
	}
	return rows, nil
}

// pageFrom returns the partition's index rows from the one holding offset
// `from`: those read ahead if it has them, else up to limit from the
// store. full reports that more may follow.
func (r *Reader) pageFrom(ctx context.Context, topic uuid.UUID, partition int32, from int64, limit int) (page aheadRows, full bool, err error) {
	if page := r.ahead.take(topic, partition, from); page.rows != nil {
		return page, true, nil
	}
	r.queries.WithLabelValues("index").Inc()
	page.from, page.at = from, r.ahead.now()
	page.rows, err = r.store.Index(ctx, topic, partition, from, limit)
	return page, len(page.rows) == limit, err
}

// readBatches returns the batches of rows that hold offsets from `from`
// on, below hw, up to maxBytes, with their real offsets written in; the
// objects in whole are read whole on a miss. With atLeastOne, the first
// batch is returned even when it alone exceeds maxBytes, as Kafka does
// (KIP-74) so that consumers always progress. Large batches are mostly
// the cache's bytes: call release once they are written or dropped.
func (r *Reader) readBatches(ctx context.Context, rows []metadata.IndexEntry, whole map[string]bool, from, hw int64, maxBytes int, atLeastOne bool) ([]fetchedBatch, func(), error) {
	stored, release, err := r.objects.readRows(ctx, rows, whole)
	if err != nil {
		return nil, nil, err
	}
	p := picker{from: from, hw: hw, maxBytes: maxBytes, atLeastOne: atLeastOne}
	for i, row := range rows {
		done, err := p.row(stored[i], row)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("object %s partition %d: %w", row.ObjectKey, row.Partition, err)
		}
		if done {
			break
		}
	}
	batches, buf := patchBatches(p.picked)
	return batches, func() {
		putBuf(buf)
		release()
	}, nil
}

// picker picks the batches of a partition read: those holding offsets
// from `from` on, below hw, within maxBytes, or the first one alone with
// atLeastOne.
type picker struct {
	from, hw   int64
	maxBytes   int
	atLeastOne bool
	size       int // of the batches picked
	picked     []storedBatch
}

// storedBatch is a picked batch as the cache holds it (baseOffset 0 and
// no leader epoch unless absolute), and the real offset it starts at.
type storedBatch struct {
	bytes    []byte
	base     int64
	absolute bool
	records  int
}

// row picks from one index row's stored bytes, which stay untouched, and
// reports whether the read is done.
func (p *picker) row(stored []byte, row metadata.IndexEntry) (bool, error) {
	batches, err := segments.RowBatches(stored, row.BaseOffset, row.Absolute)
	if err != nil {
		return true, err
	}
	for _, b := range batches {
		if b.LastOffset < p.from {
			continue
		}
		if b.BaseOffset >= p.hw || (p.size+int(b.Len) > p.maxBytes && !(p.atLeastOne && p.size == 0)) {
			return true, nil
		}
		batch := stored[b.Off : b.Off+b.Len]
		h, err := segments.ParseBatchHeader(batch)
		if err != nil {
			return true, err
		}
		p.picked = append(p.picked, storedBatch{bytes: batch, base: b.BaseOffset, absolute: row.Absolute, records: int(h.RecordCount)})
		p.size += int(b.Len)
		p.from = b.LastOffset + 1
	}
	p.from = max(p.from, row.LastOffset+1)
	return false, nil
}

// sliceMin is the smallest batch written from the cache's bytes rather
// than from a copy: each such batch costs the connection about two more
// writes, worth it only when they save copying this many bytes. Smaller
// batches are copied, and a run of them goes out as one piece.
const sliceMin = 32 << 10

// fetchedBatch is one batch of a fetch: head, a patched copy of its
// first bytes (all of them for a small batch, none for an absolute batch,
// which keeps its stored offsets), then rest, the cache's bytes.
type fetchedBatch struct {
	head, rest []byte
	records    int
}

func (b fetchedBatch) size() int { return len(b.head) + len(b.rest) }

// headLen is how much of a stored batch is copied to write its offsets.
func (b storedBatch) headLen() int {
	switch {
	case b.absolute:
		return 0
	case len(b.bytes) < sliceMin:
		return len(b.bytes)
	}
	return segments.PatchedLen
}

// patchBatches writes the real offsets of picked batches into copies of
// their heads, all in one pooled buffer, returned for recycling once the
// batches are written.
func patchBatches(picked []storedBatch) ([]fetchedBatch, []byte) {
	n := 0
	for _, b := range picked {
		n += b.headLen()
	}
	buf := getBuf(n) // never regrown: the heads point into it
	batches := make([]fetchedBatch, len(picked))
	for i, b := range picked {
		h, start := b.headLen(), len(buf)
		if h > 0 {
			buf = segments.AppendPatched(buf, b.bytes, h, b.base, 0)
		}
		batches[i] = fetchedBatch{head: buf[start:], rest: b.bytes[h:], records: b.records}
	}
	return batches, buf
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
