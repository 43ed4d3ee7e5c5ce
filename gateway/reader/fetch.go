package reader

import (
	"context"
	"sync"

	"github.com/caudal/caudal/metadata"
)

// Want is one partition a fetch asks for.
type Want struct {
	Topic     metadata.Topic
	Partition int32
	Offset    int64
	// MaxBytes is the partition's share of the fetch (partition_max_bytes,
	// at most the fetch's max_bytes); it may still return one batch if it
	// is the first partition with data (KIP-74).
	MaxBytes int
	// ReadCommitted reads below the last stable offset only and reports
	// the aborted transactions in what it read.
	ReadCommitted bool
	// Err, when set, fails the partition without reading it (its topic
	// could not be resolved).
	Err error
}

// Got is what a fetch read of one partition.
type Got struct {
	// State is the partition's offsets; zero when it failed before they
	// were known.
	State metadata.PartitionState
	// Records are whole batches with their real offsets written in.
	// Count is how many records they hold.
	Records Records
	Count   int
	// Aborted are the aborted transactions overlapping Records, for a
	// read_committed fetch.
	Aborted []metadata.AbortedTxn
	Err     error
}

// Records are a partition's fetched batches as pieces to write in order:
// patched copies of batch headers and of small batches, and the rest of
// large batches straight from the cached objects, so that nothing copies
// the bulk of the bytes between the object and the socket. Len is their
// total length.
type Records struct {
	Pieces [][]byte
	Len    int
}

// AppendTo appends the records' bytes to dst.
func (r Records) AppendTo(dst []byte) []byte {
	for _, p := range r.Pieces {
		dst = append(dst, p...)
	}
	return dst
}

// Fetch reads every partition once. Partitions are looked up in the index
// concurrently, maxBytes is then shared among them in request order from
// their index rows' sizes, and only then are their bytes read,
// concurrently: a cold fetch keeps several GETs in flight without reading
// partition_max_bytes of every partition only to drop what does not fit.
// It returns the record bytes returned in all, and release, which lets
// go of the records' bytes (the cache may then recycle them): call it
// once they are written or dropped.
func (r *Reader) Fetch(ctx context.Context, wants []Want, maxBytes int) (got []Got, total int, release func()) {
	reads := make([]*partitionRead, len(wants))
	for i, w := range wants {
		reads[i] = &partitionRead{topic: w.Topic, partition: w.Partition, offset: w.Offset, err: w.Err, limit: max(0, w.MaxBytes), committed: w.ReadCommitted}
	}
	eachRead(reads, func(rd *partitionRead) { rd.rows, rd.err = r.planPartition(ctx, rd) })
	budgetReads(reads, maxBytes)
	whole := wholeObjects(reads, r.objects.wholeMax, r.ahead.readers)
	for _, rd := range reads {
		rd.rows = r.objects.deferSlivers(rd.rows, whole)
	}
	eachRead(reads, func(rd *partitionRead) { rd.batches, rd.release, rd.err = r.readPartition(ctx, rd, whole) })

	got = make([]Got, len(reads))
	for i, rd := range reads {
		g := &got[i]
		g.State, g.Err = rd.state, rd.err
		g.Records, g.Count = trimBatches(rd.batches, maxBytes-total, total == 0)
		total += g.Records.Len
		if rd.committed && g.Count > 0 && g.Err == nil {
			r.queries.WithLabelValues("aborted").Inc()
			g.Aborted, g.Err = r.store.AbortedTxns(ctx, rd.topic.ID, rd.partition, rd.offset, rd.end())
		}
	}
	return got, total, func() {
		for _, rd := range reads {
			if rd.release != nil {
				rd.release()
			}
		}
	}
}

// partitionRead is one partition of a fetch while it is read.
type partitionRead struct {
	topic     metadata.Topic
	partition int32
	offset    int64
	limit     int
	committed bool // read_committed
	// atLeastOne: the partition may return one batch over its limit
	// (KIP-74); budgetReads gives it to the first one with data.
	atLeastOne bool
	state      metadata.PartitionState
	rows       []metadata.IndexEntry
	batches    []fetchedBatch
	release    func() // lets go of batches; nil without them
	err        error
}

// fetchConcurrency bounds the partitions one fetch reads at once.
const fetchConcurrency = 8

// eachRead runs fn on the reads that have not failed, concurrently; a
// lone read (a long poll of one partition, often) runs inline.
func eachRead(reads []*partitionRead, fn func(*partitionRead)) {
	if len(reads) == 1 {
		if reads[0].err == nil {
			fn(reads[0])
		}
		return
	}
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for _, rd := range reads {
		if rd.err != nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(rd)
		})
	}
	wg.Wait()
}

// budgetReads shares maxBytes among the reads in request order, by the
// sizes of their index rows, and drops the rows that fall outside. The
// first read with rows may return one batch beyond its share (KIP-74).
func budgetReads(reads []*partitionRead, maxBytes int) {
	used := 0
	for _, rd := range reads {
		if rd.err != nil || len(rd.rows) == 0 {
			continue
		}
		if used >= maxBytes {
			rd.rows = nil
			continue
		}
		rd.atLeastOne = used == 0
		rd.limit = min(rd.limit, maxBytes-used)
		rd.rows = rowsToRead(rd.rows, rd.limit)
		used += min(rowsBytes(rd.rows), rd.limit)
	}
}

// trimBatches keeps the whole batches that fit in budget, as pieces, and
// counts their records; with atLeastOne the first batch is kept even when
// it alone is larger (KIP-74).
func trimBatches(batches []fetchedBatch, budget int, atLeastOne bool) (Records, int) {
	var recs Records
	count := 0
	for i, b := range batches {
		if recs.Len+b.size() > budget && !(atLeastOne && i == 0) {
			break
		}
		recs.Pieces = appendPiece(appendPiece(recs.Pieces, b.head), b.rest)
		recs.Len += b.size()
		count += b.records
	}
	return recs, count
}

// appendPiece appends b to pieces, or extends the last piece when b
// follows it in memory (small batches copied one after the other,
// absolute batches stored one after the other), so that a run of them is
// one write.
func appendPiece(pieces [][]byte, b []byte) [][]byte {
	if len(b) == 0 {
		return pieces
	}
	if n := len(pieces); n > 0 {
		last := pieces[n-1]
		if cap(last)-len(last) >= len(b) && &last[:len(last)+1][len(last)] == &b[0] {
			pieces[n-1] = last[:len(last)+len(b)]
			return pieces
		}
	}
	return append(pieces, b)
}

// wholeObjects picks the objects a fetch reads whole on a miss, of those
// of at most wholeMax bytes: those of which its rows want an eighth or
// more, and those the rows read ahead for other partitions read here
// name (readers counts them, this fetch's own included). Reading such an
// object whole costs at most eight times the bytes wanted, in one GET
// where there would be one per partition (a partition's leader wrote it
// with its other partitions, whose consumers read through the same
// gateway, so they find it cached). An object of which a fetch wants only
// a sliver, like a quiet topic's row among a busy topic's, is read by
// range, unless this gateway's other readers are about to read it.
func wholeObjects(reads []*partitionRead, wholeMax int64, readers func(key string) int) map[string]bool {
	wanted, sizes := map[string]int64{}, map[string]int64{}
	for _, rd := range reads {
		for _, row := range rd.rows {
			wanted[row.ObjectKey] += row.ByteLength
			sizes[row.ObjectKey] = row.ObjectSize
		}
	}
	whole := map[string]bool{}
	for key, n := range wanted {
		if size := sizes[key]; size > 0 && size <= wholeMax && (8*n >= size || readers(key) >= 2) {
			whole[key] = true
		}
	}
	return whole
}

// deferSlivers leaves out the last of a partition's rows that would be
// read by range from objects not cached, when an earlier row is read from
// an object read whole. A consumer reading through the log reads those
// objects whole on its next fetch, and a range read now only reads their
// bytes twice: in the cold fetch benchmark, 89 ranged GETs re-read 5% of
// the bytes and cost 12% of the gateway's CPU. A partition with no row in
// an object read whole (a quiet one among busy ones) is read by range.
func (r *objectReader) deferSlivers(rows []metadata.IndexEntry, whole map[string]bool) []metadata.IndexEntry {
	last := -1
	for i, row := range rows {
		if whole[row.ObjectKey] {
			last = i
		}
	}
	if last < 0 {
		return rows
	}
	end := len(rows)
	for end > last+1 && !r.cached(rows[end-1]) {
		end--
	}
	return rows[:end]
}

// planPartition checks one partition's fetch offset and returns the index
// rows that hold its records from there, up to its limit.
func (r *Reader) planPartition(ctx context.Context, rd *partitionRead) ([]metadata.IndexEntry, error) {
	t := rd.topic
	if rd.partition < 0 || rd.partition >= t.Partitions {
		return nil, metadata.ErrUnknownPartition
	}
	v, err := r.states.get(ctx, t.ID, rd.partition)
	if err != nil {
		return nil, err
	}
	rd.state = v.st
	if rd.offset < v.st.LogStartOffset || rd.offset > v.st.NextOffset {
		return nil, metadata.ErrOffsetOutOfRange
	}
	if rd.offset >= v.from() {
		return cachedRows(v.rows, rd.offset, rd.end(), rd.limit), nil
	}
	return r.indexRows(ctx, t.ID, rd.partition, rd.offset, rd.end(), rd.limit)
}

// cachedRows is indexRows answered from a partition's cached last rows,
// which hold every row from `from` on.
func cachedRows(rows []metadata.IndexEntry, from, hw int64, maxBytes int) []metadata.IndexEntry {
	if from >= hw {
		return nil
	}
	i := 0
	for i < len(rows) && rows[i].LastOffset < from {
		i++
	}
	return rowsToRead(belowHW(rows[i:], hw), maxBytes)
}

// end is where the read stops: the high watermark, or the last stable
// offset for read_committed.
func (rd *partitionRead) end() int64 {
	if rd.committed {
		return rd.state.LastStableOffset
	}
	return rd.state.NextOffset
}

// readPartition reads a planned partition's rows.
func (r *Reader) readPartition(ctx context.Context, rd *partitionRead, whole map[string]bool) ([]fetchedBatch, func(), error) {
	if len(rd.rows) == 0 {
		return nil, nil, nil
	}
	return r.readBatches(ctx, rd.rows, whole, rd.offset, rd.end(), rd.limit, rd.atLeastOne)
}
