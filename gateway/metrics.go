package gateway

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metrics are the gateway's Prometheus series. PUT/GET latencies come from
// objstore's metrics wrapper and consumer lag from the group coordinator.
type metrics struct {
	requests        *prometheus.HistogramVec // api
	requestErrors   *prometheus.CounterVec   // api, error
	producedBytes   *prometheus.CounterVec   // topic
	producedRecords *prometheus.CounterVec   // topic
	fetchedBytes    *prometheus.CounterVec   // topic
	fetchedRecords  *prometheus.CounterVec   // topic
	flushBytes      prometheus.Histogram
	flushDuration   prometheus.Histogram
	flushErrors     *prometheus.CounterVec // stage
	commitDuration  prometheus.Histogram
	cacheRequests   *prometheus.CounterVec // result
	bufferBytes     prometheus.Gauge
	bufferLimit     prometheus.Gauge
	logSize         *prometheus.GaugeVec // topic, partition
	objects         prometheus.Gauge
	objectBytes     prometheus.Gauge
	underReplicated prometheus.Gauge
	gateways        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	latency := prometheus.ExponentialBuckets(0.001, 2, 16) // 1 ms … 33 s
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "caudal_requests_duration_seconds", Help: "Kafka requests by API, from read to response written; _count is the request count.", Buckets: latency,
		}, []string{"api"}),
		requestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_request_errors_total", Help: "Error codes returned, by API and Kafka error name (one per partition or resource that failed).",
		}, []string{"api", "error"}),
		producedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_produced_bytes_total", Help: "Record batch bytes committed, by topic.",
		}, []string{"topic"}),
		producedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_produced_records_total", Help: "Records committed, by topic.",
		}, []string{"topic"}),
		fetchedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_fetched_bytes_total", Help: "Record batch bytes returned to consumers, by topic.",
		}, []string{"topic"}),
		fetchedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_fetched_records_total", Help: "Records returned to consumers, by topic.",
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
		cacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_cache_requests_total", Help: "Object byte reads by result (hit, miss); hit/(hit+miss) is the cache hit ratio.",
		}, []string{"result"}),
		bufferBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_produce_buffer_bytes", Help: "Produced bytes buffered and not yet committed.",
		}),
		bufferLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_produce_buffer_limit_bytes", Help: "The buffer size at which producers are made to wait.",
		}),
		logSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "caudal_log_size_bytes", Help: "Bytes indexed per partition, as kafka.log:type=Log,name=Size.",
		}, []string{"topic", "partition"}),
		objects: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_objects", Help: "Segment objects known to the metadata store.",
		}),
		objectBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_object_bytes", Help: "Bytes of the segment objects known to the metadata store.",
		}),
		// Storage is replicated by the bucket, so this is always 0; it is
		// exported under Kafka's JMX-exporter name so that alerts written
		// for Kafka keep working.
		underReplicated: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kafka_server_replicamanager_underreplicatedpartitions", Help: "Always 0: the bucket replicates storage.",
		}),
		gateways: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_gateways", Help: "Live gateways this gateway sees in the registry.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestErrors, m.producedBytes, m.producedRecords,
		m.fetchedBytes, m.fetchedRecords, m.flushBytes, m.flushDuration, m.flushErrors, m.commitDuration,
		m.cacheRequests, m.bufferBytes, m.bufferLimit, m.logSize, m.objects, m.objectBytes, m.underReplicated, m.gateways} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Series that exist from the start, so that rate() and alerts see 0
	// rather than nothing.
	for _, stage := range []string{"build", "put", "commit"} {
		m.flushErrors.WithLabelValues(stage)
	}
	for _, result := range []string{"hit", "miss"} {
		m.cacheRequests.WithLabelValues(result)
	}
	return m, nil
}

// replied records one answered request: its latency and every error code
// in its response.
func (m *metrics) replied(key int16, start time.Time, resp kmsg.Response) {
	api := kmsg.NameForKey(key)
	m.requests.WithLabelValues(api).Observe(time.Since(start).Seconds())
	if resp != nil {
		eachErrorCode(reflect.ValueOf(resp), func(code int16) {
			name := fmt.Sprintf("UNKNOWN_CODE_%d", code)
			if ke, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
				name = ke.Message
			}
			m.requestErrors.WithLabelValues(api, name).Inc()
		})
	}
}

// eachErrorCode calls fn for every non-zero ErrorCode field in a kmsg
// response, however deeply nested; responses put them at the top, per
// topic, per partition or per resource.
func eachErrorCode(v reflect.Value, fn func(int16)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			eachErrorCode(v.Elem(), fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := v.Field(i)
			if t.Field(i).Name == "ErrorCode" && f.Kind() == reflect.Int16 {
				if c := int16(f.Int()); c != 0 {
					fn(c)
				}
				continue
			}
			if f.Kind() == reflect.Slice || f.Kind() == reflect.Struct {
				eachErrorCode(f, fn)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // record bytes
		}
		for i := range v.Len() {
			eachErrorCode(v.Index(i), fn)
		}
	}
}

// statsInterval is how often storage gauges are recomputed from the
// metadata store.
const statsInterval = 30 * time.Second

// storageStatsLoop keeps the log size and object gauges current.
func (g *Gateway) storageStatsLoop(ctx context.Context) {
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		if err := g.refreshStorageStats(ctx); err != nil && ctx.Err() == nil {
			g.log.Warn("refresh storage metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *Gateway) refreshStorageStats(ctx context.Context) error {
	topics, err := g.store.Topics(ctx)
	if err != nil {
		return err
	}
	g.metrics.logSize.Reset()
	for _, t := range topics {
		for p := range t.Partitions {
			_, bytes, err := g.store.PartitionSize(ctx, t.ID, p)
			if err != nil {
				return err
			}
			g.metrics.logSize.WithLabelValues(t.Name, strconv.Itoa(int(p))).Set(float64(bytes))
		}
	}
	var n, bytes int64
	err = g.store.Objects(ctx, func(o metadata.Object) error {
		n++
		bytes += o.Size
		return nil
	})
	if err != nil {
		return err
	}
	g.metrics.objects.Set(float64(n))
	g.metrics.objectBytes.Set(float64(bytes))
	return nil
}
