package gateway

// Fetch, versions 4–16.
//
// Reads each partition from the offset index and segment objects (through
// the read cache), writes the real offsets into the batches, and honours
// max_bytes, partition_max_bytes and KIP-74's "at least one batch". When
// less than min_bytes is available the request waits up to max_wait_ms,
// woken by commits (this gateway's and, through the metadata store, other
// gateways') and re-reading at least every fetchRecheck. Topic ids are
// used from v13. There are no transactions, so the last stable offset is
// the high watermark for both isolation levels. Fetch sessions (KIP-227)
// are declined by answering session id 0, which makes clients send full
// fetches. Responses are written around their records (fetchwrite.go).

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Fetch, 4, 16, serveFetch) }

// maxFetchWait bounds max_wait_ms; clients default to 500 ms.
const maxFetchWait = 30 * time.Second

// fetchRecheck bounds how long a long-polling fetch waits between reads.
const fetchRecheck = 500 * time.Millisecond

func serveFetch(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.FetchRequest)
	if req.Rack != "" {
		c.rack = req.Rack // steers later Metadata responses (registry.go)
	}
	// The wait is capped: a long-poll holds the connection's read loop,
	// so a hostile max_wait_ms would pin it for days.
	wait := min(time.Duration(req.MaxWaitMillis)*time.Millisecond, maxFetchWait)
	deadline := time.Now().Add(wait)
	for {
		wake := c.g.waiters.wait()
		resp, n, failed, bufs := c.g.fetchOnce(c.ctx, req)
		wait := time.Until(deadline)
		if failed || n >= int(req.MinBytes) || wait <= 0 {
			c.recycle = bufs
			return resp
		}
		// Re-checked every fetchRecheck even without a wake-up: the
		// fallback when another gateway's commit notification is lost.
		t := time.NewTimer(min(wait, fetchRecheck))
		select {
		case <-wake:
			t.Stop()
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			c.recycle = bufs
			return resp
		}
		for _, b := range bufs { // the next read supersedes resp
			putBuf(b)
		}
	}
}

// fetchOnce reads every requested partition once. It reports the record
// bytes returned, whether any partition failed, and the buffers the
// response's records are in, to recycle once it is written or dropped.
// Partitions are looked up in the index concurrently, max_bytes is then
// shared among them in request order from their index rows' sizes, and
// only then are their bytes read, concurrently: a cold fetch keeps
// several GETs in flight without reading partition_max_bytes of every
// partition only to drop what does not fit.
func (g *Gateway) fetchOnce(ctx context.Context, req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, bool, [][]byte) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	maxBytes := int(req.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = 52428800 // fetch.max.bytes default, for versions without it
	}
	var reads []*partitionRead
	for _, rt := range req.Topics {
		tr := kmsg.NewFetchResponseTopic()
		tr.Topic, tr.TopicID = rt.Topic, rt.TopicID
		t, terr := g.fetchTopic(ctx, req.Version, rt)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewFetchResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = -1, -1, -1
			pr.PreferredReadReplica = -1
			tr.Partitions = append(tr.Partitions, pr)
			// A negative partition_max_bytes counts as 0: the partition
			// may still return one batch if it is the first with data.
			limit := max(0, min(int(rp.PartitionMaxBytes), maxBytes))
			reads = append(reads, &partitionRead{topic: t, req: rp, err: terr, limit: limit})
		}
		resp.Topics = append(resp.Topics, tr)
	}
	eachRead(reads, func(rd *partitionRead) { rd.rows, rd.err = g.planPartition(ctx, rd) })
	budgetReads(reads, maxBytes)
	whole := wholeObjects(reads, g.reader.wholeMax)
	eachRead(reads, func(rd *partitionRead) { rd.data, rd.err = g.readPartition(ctx, rd, whole) })

	total, failed, i := 0, false, 0
	var bufs [][]byte
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			pr, rd := &resp.Topics[ti].Partitions[pi], reads[i]
			i++
			pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = rd.state.NextOffset, rd.state.NextOffset, rd.state.LogStartOffset
			if rd.err != nil {
				if rd.state == (metadata.PartitionState{}) {
					pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = -1, -1, -1
				}
				pr.ErrorCode = errCode(rd.err)
				failed = true
			}
			if rd.data != nil {
				bufs = append(bufs, rd.data)
			}
			var records int
			pr.RecordBatches, records = trimBatches(rd.data, maxBytes-total, total == 0)
			total += len(pr.RecordBatches)
			if records > 0 {
				g.metrics.fetchedBytes.WithLabelValues(rd.topic.Name).Add(float64(len(pr.RecordBatches)))
				g.metrics.fetchedRecords.WithLabelValues(rd.topic.Name).Add(float64(records))
			}
		}
	}
	return resp, total, failed, bufs
}

// partitionRead is one partition of a fetch while it is read.
type partitionRead struct {
	topic metadata.Topic
	req   kmsg.FetchRequestTopicPartition
	limit int
	// atLeastOne: the partition may return one batch over its limit
	// (KIP-74); budgetReads gives it to the first one with data.
	atLeastOne bool
	state      metadata.PartitionState
	rows       []metadata.IndexEntry
	data       []byte
	err        error
}

// fetchConcurrency bounds the partitions one fetch reads at once.
const fetchConcurrency = 8

// eachRead runs fn on the reads that have not failed, concurrently.
func eachRead(reads []*partitionRead, fn func(*partitionRead)) {
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

// trimBatches keeps the whole batches of data that fit in budget, and
// counts their records; with atLeastOne the first batch is kept even when
// it alone is larger (KIP-74). The result is never nil: librdkafka rejects
// null records, so an empty fetch is empty bytes.
func trimBatches(data []byte, budget int, atLeastOne bool) ([]byte, int) {
	n, records := 0, 0
	for n < len(data) {
		h, err := segments.ParseBatchHeader(data[n:])
		if err != nil {
			break
		}
		if n+h.Size() > budget && !(atLeastOne && n == 0) {
			break
		}
		n += h.Size()
		records += int(h.RecordCount)
	}
	if n == 0 {
		return []byte{}, 0
	}
	return data[:n:n], records
}

func (g *Gateway) fetchTopic(ctx context.Context, version int16, rt kmsg.FetchRequestTopic) (metadata.Topic, error) {
	if version >= 13 {
		t, err := g.topics.byIDOrLoad(ctx, uuid.UUID(rt.TopicID))
		if errors.Is(err, metadata.ErrUnknownTopic) || errors.Is(err, metadata.ErrNotFound) {
			return t, kerr.UnknownTopicID
		}
		return t, err
	}
	return g.topics.byNameOrLoad(ctx, rt.Topic)
}

// wholeObjects picks the objects a fetch reads whole on a miss: those of
// at most wholeMax bytes of which its rows want an eighth or more. Reading
// such an object whole costs at most eight times the bytes wanted, in one
// GET where there would be one per partition (a partition's leader wrote
// it with its other partitions, whose consumers read through the same
// gateway, so they find it cached). An object of which a fetch wants only
// a sliver, like a quiet topic's row among a busy topic's, is read by
// range.
func wholeObjects(reads []*partitionRead, wholeMax int64) map[string]bool {
	wanted, sizes := map[string]int64{}, map[string]int64{}
	for _, rd := range reads {
		for _, row := range rd.rows {
			wanted[row.ObjectKey] += row.ByteLength
			sizes[row.ObjectKey] = row.ObjectSize
		}
	}
	whole := map[string]bool{}
	for key, n := range wanted {
		if size := sizes[key]; size > 0 && size <= wholeMax && 8*n >= size {
			whole[key] = true
		}
	}
	return whole
}

// planPartition checks one partition's fetch offset and returns the index
// rows that hold its records from there, up to its limit.
func (g *Gateway) planPartition(ctx context.Context, rd *partitionRead) ([]metadata.IndexEntry, error) {
	t, rp := rd.topic, rd.req
	if rp.Partition < 0 || rp.Partition >= t.Partitions {
		return nil, kerr.UnknownTopicOrPartition
	}
	st, err := g.store.Partition(ctx, t.ID, rp.Partition)
	if err != nil {
		return nil, err
	}
	rd.state = st
	if rp.FetchOffset < st.LogStartOffset || rp.FetchOffset > st.NextOffset {
		return nil, kerr.OffsetOutOfRange
	}
	return g.indexRows(ctx, t.ID, rp.Partition, rp.FetchOffset, st.NextOffset, rd.limit)
}

// readPartition reads a planned partition's rows.
func (g *Gateway) readPartition(ctx context.Context, rd *partitionRead, whole map[string]bool) ([]byte, error) {
	if len(rd.rows) == 0 {
		return nil, nil
	}
	return g.readBatches(ctx, rd.rows, whole, rd.req.FetchOffset, rd.state.NextOffset, rd.limit, rd.atLeastOne)
}
