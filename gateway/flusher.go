package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// commitTimeout bounds one object's PUT plus metadata commit. It is not
// the client's timeout: once a flush starts it finishes or fails whole.
const commitTimeout = 30 * time.Second

// flusher gathers produced batches of all partitions into one pending
// object, and writes it when FlushInterval passes or FlushBytes fill: one
// PUT, then one metadata commit, then the producers' answers. Several PUTs
// may be in flight, but commits happen in flush order, so batches get
// offsets in the order producers sent them.
type flusher struct {
	g *Gateway

	mu       sync.Mutex
	space    *sync.Cond // signalled when buffered bytes drop
	cur      *pendingObject
	buffered int // bytes appended and not yet committed or failed
	closed   bool
	// lastCommit is closed when the most recently sealed object has
	// committed or failed; the next object commits after it.
	lastCommit chan struct{}
	flushing   sync.WaitGroup
}

// pendingObject is one future segment object.
type pendingObject struct {
	parts []*pendingPart
	index map[partKey]int
	size  int
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

// appendItem is one validated batch to append.
type appendItem struct {
	key   partKey
	name  string // the topic's
	batch []byte
	meta  metadata.BatchAppend
}

// slot locates an appended batch in its pending object.
type slot struct{ part, batch int }

func newFlusher(g *Gateway) *flusher {
	g.metrics.bufferLimit.Set(float64(g.cfg.MaxBufferedBytes))
	f := &flusher{g: g, lastCommit: make(chan struct{})}
	close(f.lastCommit)
	f.space = sync.NewCond(&f.mu)
	return f
}

// append adds one produce request's batches to the same pending object,
// waiting while the buffer is full, and returns where they went.
func (f *flusher) append(items []appendItem) (*pendingObject, []slot, error) {
	size := 0
	for _, it := range items {
		size += len(it.batch)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// A request larger than the whole buffer is let through alone so that
	// it can make progress; max.message.bytes bounds it anyway.
	for !f.closed && f.buffered > 0 && f.buffered+size > f.g.cfg.MaxBufferedBytes {
		f.space.Wait()
	}
	if f.closed {
		return nil, nil, errShuttingDown
	}
	if f.cur == nil {
		f.cur = &pendingObject{index: map[partKey]int{}, done: make(chan struct{})}
		obj := f.cur
		time.AfterFunc(f.g.cfg.FlushInterval, func() { f.seal(obj) })
	}
	obj := f.cur
	slots := make([]slot, len(items))
	for i, it := range items {
		pi, ok := obj.index[it.key]
		if !ok {
			pi = len(obj.parts)
			obj.index[it.key] = pi
			obj.parts = append(obj.parts, &pendingPart{key: it.key, name: it.name})
		}
		p := obj.parts[pi]
		slots[i] = slot{part: pi, batch: len(p.batches)}
		p.batches = append(p.batches, it.batch)
		p.metas = append(p.metas, it.meta)
	}
	obj.size += size
	f.buffered += size
	f.g.metrics.bufferBytes.Set(float64(f.buffered))
	if obj.size >= f.g.cfg.FlushBytes {
		f.sealLocked(obj)
	}
	return obj, slots, nil
}

// seal stops appends to obj and starts writing it, if nobody has yet.
func (f *flusher) seal(obj *pendingObject) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sealLocked(obj)
}

func (f *flusher) sealLocked(obj *pendingObject) {
	if f.cur != obj {
		return
	}
	f.cur = nil
	prev := f.lastCommit
	committed := make(chan struct{})
	f.lastCommit = committed
	f.flushing.Add(1)
	go func() {
		defer f.flushing.Done()
		f.write(obj, prev, committed)
	}()
}

// write PUTs obj, waits for the previous object's commit, commits, and
// releases obj's waiters.
func (f *flusher) write(obj *pendingObject, prev <-chan struct{}, committed chan<- struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	start := time.Now()
	m := f.g.metrics
	key, commit, data, err := f.build(obj)
	if err != nil {
		m.flushErrors.WithLabelValues("build").Inc()
	} else if err = f.g.bucket.Put(ctx, key, data); err != nil {
		m.flushErrors.WithLabelValues("put").Inc()
		err = fmt.Errorf("put object %s: %w", key, err)
	}
	<-prev
	if err == nil {
		commitStart := time.Now()
		obj.results, err = f.g.store.CommitObject(ctx, commit)
		m.commitDuration.Observe(time.Since(commitStart).Seconds())
		if err != nil {
			m.flushErrors.WithLabelValues("commit").Inc()
			err = fmt.Errorf("commit object %s: %w", key, err)
		}
	}
	close(committed)
	if err != nil {
		f.g.log.Error("flush failed; producers will retry", "object", key, "err", err)
	} else {
		m.flushBytes.Observe(float64(len(data)))
		m.flushDuration.Observe(time.Since(start).Seconds())
		f.countProduced(obj)
		f.g.reader.remember(key, data)
		f.g.waiters.notify()
	}
	obj.err = err
	close(obj.done)
	f.mu.Lock()
	f.buffered -= obj.size
	f.g.metrics.bufferBytes.Set(float64(f.buffered))
	f.space.Broadcast()
	f.mu.Unlock()
}

// countProduced adds the batches the commit accepted (not duplicates, not
// rejected) to the produce metrics.
func (f *flusher) countProduced(obj *pendingObject) {
	for i, p := range obj.parts {
		var bytes, records int64
		for j, res := range obj.results.Runs[i] {
			if res.Err == nil && !res.Duplicate {
				bytes += int64(len(p.batches[j]))
				records += p.metas[j].Records
			}
		}
		f.g.metrics.producedBytes.WithLabelValues(p.name).Add(float64(bytes))
		f.g.metrics.producedRecords.WithLabelValues(p.name).Add(float64(records))
	}
}

// build lays out the object and the commit that describes it.
func (f *flusher) build(obj *pendingObject) (string, metadata.ObjectCommit, []byte, error) {
	key, err := newObjectKey()
	if err != nil {
		return "", metadata.ObjectCommit{}, nil, err
	}
	parts := make([]segments.Part, len(obj.parts))
	for i, p := range obj.parts {
		parts[i] = segments.Part{Topic: p.key.topic, Partition: p.key.partition, Batches: p.batches}
	}
	data, spans, err := segments.WriteObject(parts)
	if err != nil {
		return key, metadata.ObjectCommit{}, nil, fmt.Errorf("build object %s: %w", key, err)
	}
	commit := metadata.ObjectCommit{Key: key, Size: int64(len(data)), Runs: make([]metadata.PartitionRun, len(obj.parts))}
	for i, p := range obj.parts {
		run := metadata.PartitionRun{Topic: p.key.topic, Partition: p.key.partition, Batches: p.metas}
		for j := range run.Batches {
			run.Batches[j].ByteOffset = spans[i].Batches[j].Off
			run.Batches[j].ByteLength = spans[i].Batches[j].Len
		}
		commit.Runs[i] = run
	}
	return key, commit, data, nil
}

// newObjectKey names a segment object with a time-ordered UUIDv7, so that
// listing the bucket lists objects in the order they were written.
func newObjectKey() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new object key: %w", err)
	}
	return "segments/" + id.String(), nil
}

// close writes what is buffered, waits for every flush to finish, and
// refuses further appends.
func (f *flusher) close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	if f.cur != nil {
		f.sealLocked(f.cur)
	}
	f.space.Broadcast()
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		f.flushing.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush buffered batches on shutdown: %w", ctx.Err())
	}
}
