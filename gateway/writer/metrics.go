package writer

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	producedBytes   *prometheus.CounterVec // topic
	producedRecords *prometheus.CounterVec // topic
	flushBytes      prometheus.Histogram
	flushDuration   prometheus.Histogram
	flushErrors     *prometheus.CounterVec // stage
	commitDuration  prometheus.Histogram
	bufferBytes     prometheus.Gauge
	bufferLimit     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	latency := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms … 33 s
	m := &metrics{
		producedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_produced_bytes_total", Help: "Record batch bytes committed, by topic.",
		}, []string{"topic"}),
		producedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_produced_records_total", Help: "Records committed, by topic.",
		}, []string{"topic"}),
		flushBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "caudal_flush_bytes", Help: "Size of each flushed segment object.", Buckets: prometheus.ExponentialBuckets(1024, 4, 10),
		}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "caudal_flush_duration_seconds", Help: "From seal to commit of each flushed object: PUT, wait for the previous commit, commit.", Buckets: latency,
		}),
		flushErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_flush_errors_total", Help: "Flushes that failed, by stage (build, put, commit); their producers retry.",
		}, []string{"stage"}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "caudal_metadata_commit_duration_seconds", Help: "The metadata transaction of each flushed object.", Buckets: latency,
		}),
		bufferBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_produce_buffer_bytes", Help: "Produced bytes buffered and not yet committed.",
		}),
		bufferLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_produce_buffer_limit_bytes", Help: "The buffer size at which producers are made to wait.",
		}),
	}
	for _, c := range []prometheus.Collector{m.producedBytes, m.producedRecords, m.flushBytes, m.flushDuration,
		m.flushErrors, m.commitDuration, m.bufferBytes, m.bufferLimit} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Series that exist from the start, so that rate() and alerts see 0
	// rather than nothing.
	for _, stage := range []string{"build", "put", "commit"} {
		m.flushErrors.WithLabelValues(stage)
	}
	return m, nil
}
