// Package writer is a gateway's write path: validated batches of every
// partition are buffered into one pending object, which is sealed when
// FlushInterval passes or FlushBytes fill, PUT to the bucket, and committed
// to the metadata store in one transaction; then the producers learn each
// batch's fate. Nothing is acknowledged before both are done. It does not
// validate batches (the gateway does) and speaks no Kafka protocol.
package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by Append once the writer is closing.
var ErrClosed = errors.New("gateway is shutting down")

// Config is what a Writer needs.
type Config struct {
	Store  metadata.Store
	Bucket objstore.Bucket
	// FlushInterval and FlushBytes bound how long a batch waits and how
	// large an object grows before it is written.
	FlushInterval time.Duration
	FlushBytes    int
	// MaxBufferedBytes bounds bytes appended and not yet committed;
	// Append waits while it is reached.
	MaxBufferedBytes int
	// Committed runs once an object is committed, with its bytes (nil
	// unless Reads asked for them) and what the commit appended, before
	// the producers are answered; it takes the bytes over.
	Committed func(key string, data []byte, res metadata.CommitResult)
	// Reads says whether this gateway reads a partition, so that the
	// objects holding it are worth keeping in memory for Committed; the
	// others go to the bucket from the produce requests' buffers. Nil:
	// every object is.
	Reads func(topic uuid.UUID, partition int32) bool
	// Buffers, when set, supplies the buffers objects are built in (they
	// are many MiB, and fresh pages cost more to touch than the copy into
	// them) and takes back those of objects that failed; Committed owns
	// the others.
	Buffers Buffers
	// Now is the clock a flush's age is read on (time.Now); tests age
	// flushes with it.
	Now        func() time.Time
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Buffers is a pool of large byte slices.
type Buffers interface {
	// Get returns an empty slice with room for at least n bytes.
	Get(n int) []byte
	// Put takes back a slice Get returned.
	Put(b []byte)
}

// Writer gathers produced batches into objects. Several PUTs may be in
// flight, but commits happen in flush order, so batches get offsets in
// the order producers sent them.
type Writer struct {
	c       Config
	metrics *metrics

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

// Item is one validated batch to append.
type Item struct {
	Topic     uuid.UUID
	Partition int32
	TopicName string // for metrics
	Batch     []byte
	Meta      metadata.BatchAppend
}

// New returns a Writer with nothing buffered.
func New(c Config) (*Writer, error) {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Committed == nil {
		c.Committed = func(string, []byte, metadata.CommitResult) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register writer metrics: %w", err)
	}
	m.bufferLimit.Set(float64(c.MaxBufferedBytes))
	w := &Writer{c: c, metrics: m, lastCommit: make(chan struct{})}
	close(w.lastCommit)
	w.space = sync.NewCond(&w.mu)
	return w, nil
}

// Append adds one produce request's batches to the same pending object,
// waiting while the buffer is full, and returns their Ack.
func (w *Writer) Append(items []Item) (*Ack, error) { return w.append(items, nil) }

// AppendMarkers adds a transaction's markers, which the object's commit
// writes together with the completion that ends the transaction
// (metadata.TxnCompletion): one metadata commit for all its partitions.
func (w *Writer) AppendMarkers(markers []Item, c metadata.TxnCompletion) (*Ack, error) {
	return w.append(markers, &c)
}

func (w *Writer) append(items []Item, completion *metadata.TxnCompletion) (*Ack, error) {
	size := 0
	for _, it := range items {
		size += len(it.Batch)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// A request larger than the whole buffer is let through alone so that
	// it can make progress; max.message.bytes bounds it anyway.
	for !w.closed && w.buffered > 0 && w.buffered+size > w.c.MaxBufferedBytes {
		w.space.Wait()
	}
	if w.closed {
		return nil, ErrClosed
	}
	if w.cur == nil {
		w.cur = &pendingObject{index: map[partKey]int{}, done: make(chan struct{})}
		obj := w.cur
		time.AfterFunc(w.c.FlushInterval, func() { w.seal(obj) })
	}
	obj := w.cur
	ack := &Ack{obj: obj, slots: make([]slot, len(items))}
	for i, it := range items {
		key := partKey{topic: it.Topic, partition: it.Partition}
		pi, ok := obj.index[key]
		if !ok {
			pi = len(obj.parts)
			obj.index[key] = pi
			obj.parts = append(obj.parts, &pendingPart{key: key, name: it.TopicName})
		}
		p := obj.parts[pi]
		ack.slots[i] = slot{part: pi, batch: len(p.batches)}
		p.batches = append(p.batches, it.Batch)
		p.metas = append(p.metas, it.Meta)
	}
	if completion != nil {
		obj.completions = append(obj.completions, *completion)
	}
	obj.size += size
	w.buffered += size
	w.metrics.bufferBytes.Set(float64(w.buffered))
	if obj.size >= w.c.FlushBytes {
		w.sealLocked(obj)
	}
	return ack, nil
}

// Ack is the fate of one Append's items.
type Ack struct {
	obj   *pendingObject
	slots []slot
}

// Done is closed once the items' object is committed or has failed.
func (a *Ack) Done() <-chan struct{} { return a.obj.done }

// Results returns, after Done, each item's result in Append's order, or
// the error that failed the whole object (no item was committed).
func (a *Ack) Results() ([]metadata.BatchResult, error) {
	if a.obj.err != nil {
		return nil, a.obj.err
	}
	out := make([]metadata.BatchResult, len(a.slots))
	for i, s := range a.slots {
		out[i] = a.obj.results.Runs[s.part][s.batch]
	}
	return out, nil
}

// Close writes what is buffered, waits for every flush to finish, and
// refuses further appends.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	if w.cur != nil {
		w.sealLocked(w.cur)
	}
	w.space.Broadcast()
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		w.flushing.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush buffered batches on shutdown: %w", ctx.Err())
	}
}
