package objstore

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metricsBucket times every operation of the Bucket it wraps.
type metricsBucket struct {
	inner    Bucket
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
}

// WithMetrics returns b with every operation recorded on reg:
//
//   - caudal_objstore_operation_duration_seconds{op,outcome}: a latency
//     histogram per Op and outcome; its _count series are the operation and
//     error counts. Outcomes: ok, not_found, range, invalid_key, denied,
//     unavailable, canceled, error (anything unclassified). A List stopped by
//     its callback's error counts as ok.
//   - caudal_objstore_bytes_total{op}: object bytes written (put) and read
//     (get, get_range) by successful operations.
//
// Several buckets may be wrapped with the same Registerer; they share the
// series.
func WithMetrics(b Bucket, reg prometheus.Registerer) (Bucket, error) {
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "caudal_objstore_operation_duration_seconds",
		Help:    "Duration of object store operations by operation and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1 ms … 33 s
	}, []string{"op", "outcome"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "caudal_objstore_bytes_total",
		Help: "Object bytes transferred by successful object store operations.",
	}, []string{"op"})
	var err error
	if duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	if bytes, err = register(reg, bytes); err != nil {
		return nil, err
	}
	return &metricsBucket{inner: b, duration: duration, bytes: bytes}, nil
}

// register registers c on reg, or returns the equal collector registered
// before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// Outcome names the class of an operation's error, as the metrics label it.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrRange):
		return "range"
	case errors.Is(err, ErrInvalidKey):
		return "invalid_key"
	case errors.Is(err, ErrDenied):
		return "denied"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

func (m *metricsBucket) observe(op Op, start time.Time, err error, n int) {
	m.duration.WithLabelValues(string(op), Outcome(err)).Observe(time.Since(start).Seconds())
	if err == nil && n > 0 {
		m.bytes.WithLabelValues(string(op)).Add(float64(n))
	}
}

func (m *metricsBucket) Put(ctx context.Context, key string, data []byte) error {
	start := time.Now()
	err := m.inner.Put(ctx, key, data)
	m.observe(OpPut, start, err, len(data))
	return err
}

func (m *metricsBucket) putParts(ctx context.Context, key string, parts [][]byte, crc uint32) error {
	start := time.Now()
	err := PutParts(ctx, m.inner, key, parts, crc)
	m.observe(OpPut, start, err, partsLen(parts))
	return err
}

func (m *metricsBucket) Get(ctx context.Context, key string, buf []byte) ([]byte, error) {
	start := time.Now()
	data, err := m.inner.Get(ctx, key, buf)
	m.observe(OpGet, start, err, len(data))
	return data, err
}

func (m *metricsBucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	start := time.Now()
	data, err := m.inner.GetRange(ctx, key, off, length)
	m.observe(OpGetRange, start, err, len(data))
	return data, err
}

func (m *metricsBucket) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := m.inner.Delete(ctx, key)
	m.observe(OpDelete, start, err, 0)
	return err
}

func (m *metricsBucket) List(ctx context.Context, prefix string, fn func(Attrs) error) error {
	start := time.Now()
	stopped := false // by fn: the caller's choice, not a failure
	err := m.inner.List(ctx, prefix, func(a Attrs) error {
		err := fn(a)
		stopped = err != nil
		return err
	})
	if stopped {
		m.observe(OpList, start, nil, 0)
	} else {
		m.observe(OpList, start, err, 0)
	}
	return err
}

func (m *metricsBucket) Stat(ctx context.Context, key string) (Attrs, error) {
	start := time.Now()
	a, err := m.inner.Stat(ctx, key)
	m.observe(OpStat, start, err, 0)
	return a, err
}

func (m *metricsBucket) Close() error { return m.inner.Close() }
