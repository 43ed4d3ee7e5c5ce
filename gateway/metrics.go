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

// metrics are the protocol edge's Prometheus series. The write path's
// (produced bytes, flushes, the produce buffer) are gateway/writer's, the
// cache's gateway/reader's, consumer lag gateway/groups', and PUT/GET
// latencies come from objstore's metrics wrapper.
type metrics struct {
	requests        *prometheus.HistogramVec // api
	requestErrors   *prometheus.CounterVec   // api, error
	fetchedBytes    *prometheus.CounterVec   // topic
	fetchedRecords  *prometheus.CounterVec   // topic
	logSize         *prometheus.GaugeVec     // topic, partition
	objects         prometheus.Gauge
	objectBytes     prometheus.Gauge
	underReplicated prometheus.Gauge
	gateways        prometheus.Gauge
	connections     prometheus.Gauge
	refused         *prometheus.CounterVec // reason
	queuedBytes     prometheus.Gauge
	queuedLimit     prometheus.Gauge
	authFailures    *prometheus.CounterVec // mechanism
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
		fetchedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_fetched_bytes_total", Help: "Record batch bytes returned to consumers, by topic.",
		}, []string{"topic"}),
		fetchedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_fetched_records_total", Help: "Records returned to consumers, by topic.",
		}, []string{"topic"}),
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
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_connections", Help: "Open Kafka client connections.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_connections_refused_total", Help: "Kafka connections closed on accept, by reason (max_connections, max_connections_per_ip), and accept errors (accept_error).",
		}, []string{"reason"}),
		queuedBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_request_queued_bytes", Help: "Bytes of request bodies held, read or being read.",
		}),
		queuedLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caudal_request_queued_limit_bytes", Help: "queued.max.request.bytes: past it, connections stop being read.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caudal_sasl_authentication_failures_total", Help: "SASL authentications refused, by mechanism.",
		}, []string{"mechanism"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestErrors, m.fetchedBytes, m.fetchedRecords,
		m.logSize, m.objects, m.objectBytes, m.underReplicated, m.gateways, m.connections, m.refused,
		m.queuedBytes, m.queuedLimit, m.authFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, reason := range []string{"max_connections", "max_connections_per_ip", "accept_error"} {
		m.refused.WithLabelValues(reason)
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
		if o.State != metadata.ObjectOrphan { // a fence, not an object
			n++
			bytes += o.Size
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.metrics.objects.Set(float64(n))
	g.metrics.objectBytes.Set(float64(bytes))
	return nil
}
