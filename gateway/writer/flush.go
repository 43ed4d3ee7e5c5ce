package writer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// pendingObject is one future segment object.
type pendingObject struct {
	parts       []*pendingPart
	index       map[partKey]int
	completions []metadata.TxnCompletion
	size        int
	// done is closed once the object is committed or has failed; then
	// err or results tell each batch's fate.
	done    chan struct{}
	err     error
	results metadata.CommitResult
}

type partKey struct {
	topic     uuid.UUID
	partition int32
}

type pendingPart struct {
	key     partKey
	name    string // the topic's, for metrics
	batches [][]byte
	metas   []metadata.BatchAppend
}

// slot locates an appended batch in its pending object.
type slot struct{ part, batch int }

// seal stops appends to obj and starts writing it, if nobody has yet.
func (w *Writer) seal(obj *pendingObject) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sealLocked(obj)
}

func (w *Writer) sealLocked(obj *pendingObject) {
	if w.cur != obj {
		return
	}
	w.cur = nil
	prev := w.lastCommit
	committed := make(chan struct{})
	w.lastCommit = committed
	w.flushing.Add(1)
	go func() {
		defer w.flushing.Done()
		w.write(obj, prev, committed)
	}()
}

// write PUTs obj, waits for the previous object's commit, commits, and
// releases obj's waiters. segments.CommitTimeout, not the client's
// timeout, bounds the whole: once a flush starts it finishes or fails
// whole.
func (w *Writer) write(obj *pendingObject, prev <-chan struct{}, committed chan<- struct{}) {
	// Read before the PUT, so the object's age counts from before the
	// bucket can hold it; ctx ends at the same bound, which cancels a
	// commit still running then.
	start := w.c.Now()
	ctx, cancel := context.WithTimeout(context.Background(), segments.CommitTimeout)
	defer cancel()
	m := w.metrics
	b, err := w.build(obj)
	if err != nil {
		m.flushErrors.WithLabelValues("build").Inc()
	} else if err = objstore.PutParts(ctx, w.c.Bucket, b.key, b.pieces, b.crc); err != nil {
		m.flushErrors.WithLabelValues("put").Inc()
		err = fmt.Errorf("put object %s: %w", b.key, err)
		// A request that failed may still be reading its body (an
		// HTTP transport's write loop), so the buffer is not reused.
		b.data = nil
	}
	<-prev
	if err == nil {
		obj.results, err = w.commit(ctx, b.commit, start)
	}
	close(committed)
	if err != nil {
		w.c.Log.Error("flush failed; producers will retry", "object", b.key, "err", err)
		if w.c.Buffers != nil && b.data != nil {
			w.c.Buffers.Put(b.data)
		}
	} else {
		m.flushBytes.Observe(float64(b.commit.Size))
		m.flushDuration.Observe(w.c.Now().Sub(start).Seconds())
		w.countProduced(obj)
		w.c.Committed(b.key, b.data, obj.results)
	}
	obj.err = err
	close(obj.done)
	w.mu.Lock()
	w.buffered -= obj.size
	w.metrics.bufferBytes.Set(float64(w.buffered))
	w.space.Broadcast()
	w.mu.Unlock()
}

// commit commits an object whose PUT started at start, unless that was
// segments.CommitTimeout ago or more: orphan GC may delete the object once
// the bound and its margin have passed, and a commit after that would
// point acknowledged records at nothing. Giving up fails the producers
// with context.DeadlineExceeded, which they retry, and leaves the object
// an orphan. The age is read on this gateway's clock (time.Now's monotonic
// reading), so the gateway's offset from the worker's or the bucket's
// clock does not matter; segments.MinDeleteGrace's margin covers the rest.
func (w *Writer) commit(ctx context.Context, commit metadata.ObjectCommit, start time.Time) (metadata.CommitResult, error) {
	m := w.metrics
	commitStart := w.c.Now()
	if age := commitStart.Sub(start); age >= segments.CommitTimeout {
		m.flushErrors.WithLabelValues("commit").Inc()
		return metadata.CommitResult{}, fmt.Errorf("commit object %s: its PUT started %v ago, past the %v commit timeout: %w",
			commit.Key, age, segments.CommitTimeout, context.DeadlineExceeded)
	}
	res, err := w.c.Store.CommitObject(ctx, commit)
	m.commitDuration.Observe(w.c.Now().Sub(commitStart).Seconds())
	if err != nil {
		m.flushErrors.WithLabelValues("commit").Inc()
		if age := w.c.Now().Sub(start); age >= segments.CommitTimeout && !errors.Is(err, context.DeadlineExceeded) {
			// Late (a stall after the check above): the store may have
			// refused the key that orphan GC fenced. Either way it is a
			// timeout to the producers, which they retry.
			return res, fmt.Errorf("commit object %s: %w (%v), its PUT started %v ago", commit.Key, context.DeadlineExceeded, err, age)
		}
		return res, fmt.Errorf("commit object %s: %w", commit.Key, err)
	}
	return res, nil
}

// countProduced adds the batches the commit accepted (not duplicates, not
// rejected) to the produce metrics.
func (w *Writer) countProduced(obj *pendingObject) {
	for i, p := range obj.parts {
		var bytes, records int64
		for j, res := range obj.results.Runs[i] {
			if res.Err == nil && !res.Duplicate && !p.metas[j].Control {
				bytes += int64(len(p.batches[j]))
				records += p.metas[j].Records
			}
		}
		if records == 0 {
			continue // markers only
		}
		w.metrics.producedBytes.WithLabelValues(p.name).Add(float64(bytes))
		w.metrics.producedRecords.WithLabelValues(p.name).Add(float64(records))
	}
}

// built is an object ready to PUT: its pieces, in order, and their
// CRC-32C. data holds it whole when it was copied into one buffer (from
// Buffers when set) for the cache; otherwise the pieces are the produce
// requests' batches, where they arrived, and the footer.
type built struct {
	key    string
	commit metadata.ObjectCommit
	data   []byte
	pieces [][]byte
	crc    uint32
}

// build lays out the object and the commit that describes it. It copies
// the batches into one buffer only when this gateway reads one of the
// object's partitions (Config.Reads), for the cache to keep: that copy was
// a third of the gateway's CPU per GB produced.
func (w *Writer) build(obj *pendingObject) (built, error) {
	key, err := segments.NewObjectKey()
	if err != nil {
		return built{}, err
	}
	parts := make([]segments.Part, len(obj.parts))
	cache := w.c.Reads == nil
	for i, p := range obj.parts {
		parts[i] = segments.Part{Topic: p.key.topic, Partition: p.key.partition, Batches: p.batches}
		cache = cache || w.c.Reads(p.key.topic, p.key.partition)
	}
	size := segments.ObjectSize(parts)
	b := built{key: key}
	var (
		spans   []segments.PartSpan
		batches [][]byte
		footer  []byte
	)
	if cache {
		var dst []byte
		if w.c.Buffers != nil {
			dst = w.c.Buffers.Get(size)
		}
		if b.data, spans, err = segments.AppendObject(dst, parts); err != nil && dst != nil {
			w.c.Buffers.Put(dst)
		}
		if err == nil {
			batches, footer = storedBatches(b.data, spans)
			b.pieces = [][]byte{b.data}
		}
	} else if footer, spans, err = segments.LayoutObject(parts); err == nil {
		for _, p := range parts {
			batches = append(batches, p.Batches...)
		}
		b.pieces = append(batches[:len(batches):len(batches)], footer)
	}
	if err != nil {
		return b, fmt.Errorf("build object %s: %w", key, err)
	}
	b.crc = objectCRC(batches, footer)
	b.commit = metadata.ObjectCommit{Key: key, Size: int64(size), Runs: make([]metadata.PartitionRun, len(obj.parts)), Completions: obj.completions}
	for i, p := range obj.parts {
		run := metadata.PartitionRun{Topic: p.key.topic, Partition: p.key.partition, Batches: p.metas}
		for j := range run.Batches {
			run.Batches[j].ByteOffset = spans[i].Batches[j].Off
			run.Batches[j].ByteLength = spans[i].Batches[j].Len
		}
		b.commit.Runs[i] = run
	}
	return b, nil
}

// storedBatches are the batches of an object laid out at spans, and the
// footer after them.
func storedBatches(data []byte, spans []segments.PartSpan) (batches [][]byte, footer []byte) {
	end := int64(0)
	for _, p := range spans {
		for _, s := range p.Batches {
			batches = append(batches, data[s.Off:s.Off+s.Len])
			end = s.Off + s.Len
		}
	}
	return batches, data[end:]
}
