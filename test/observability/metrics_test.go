// Package observability checks what an operator sees: the gateway's
// /metrics after real client traffic, its health endpoints, and the alert
// rules and dashboard shipped in deploy/.
package observability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestMetricsMatchTraffic(t *testing.T) {
	httpAddr := testenv.FreeAddr(t)
	p := testenv.StartDev(t, "--http-listen", httpAddr, "--flush-interval", "20ms")
	ctx := context.Background()
	// Uncompressed, so that produced bytes can be compared with the values.
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addr), kgo.DefaultProduceTopic("metered"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testenv.CreateTopics(t, p.Addr, 4, "metered")
	// A consumer tailing before anything is written: the gateway keeps
	// the objects of partitions read on it.
	tail := newConsumer(t, p.Addr)
	pollCtx, cancel := context.WithTimeout(ctx, time.Second)
	tail.PollFetches(pollCtx)
	cancel()
	const n, size = 2000, 100
	var wantBytes int
	for i := range n {
		r := &kgo.Record{Value: []byte(fmt.Sprintf("%0*d", size, i))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
		wantBytes += size
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	consumeAll(t, tail, n)

	// One request with an error, to see it counted by API and code.
	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "no-such-topic"
	lt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{kmsg.NewListOffsetsRequestTopicPartition()}
	lo.Topics = append(lo.Topics, lt)
	// Sent to the broker itself: the client would otherwise retry the
	// unknown topic's metadata instead of asking.
	if _, err := cl.DiscoveredBrokers()[0].Request(ctx, lo); err != nil {
		t.Fatal(err)
	}

	fams := scrape(t, httpAddr)
	if got := value(t, fams, "caudal_produced_records_total", "topic", "metered"); got != n {
		t.Errorf("caudal_produced_records_total{topic=metered} = %v, want %d", got, n)
	}
	// Batch bytes include headers, so they exceed the values' bytes.
	if got := value(t, fams, "caudal_produced_bytes_total", "topic", "metered"); got < float64(wantBytes) {
		t.Errorf("caudal_produced_bytes_total = %v, want at least the %d value bytes", got, wantBytes)
	}
	if got := value(t, fams, "caudal_fetched_records_total", "topic", "metered"); got < n {
		t.Errorf("caudal_fetched_records_total = %v, want at least %d", got, n)
	}
	if got := count(t, fams, "caudal_requests_duration_seconds", "api", "Produce"); got < 1 {
		t.Errorf("no Produce request counted")
	}
	if got := value(t, fams, "caudal_request_errors_total", "error", "UNKNOWN_TOPIC_OR_PARTITION"); got != 1 {
		t.Errorf("UNKNOWN_TOPIC_OR_PARTITION counted %v times, want 1", got)
	}
	if got := count(t, fams, "caudal_flush_duration_seconds", "", ""); got < 1 {
		t.Errorf("no flush was timed")
	}
	if got := value(t, fams, "kafka_server_replicamanager_underreplicatedpartitions", "", ""); got != 0 {
		t.Errorf("under-replicated partitions = %v", got)
	}
	hits := value(t, fams, "caudal_cache_requests_total", "result", "hit")
	if hits < 1 {
		t.Errorf("a tailing read of just-written objects should hit the cache; hits = %v", hits)
	}
	for _, name := range []string{"caudal_objstore_operation_duration_seconds", "caudal_produce_buffer_limit_bytes", "caudal_metadata_commit_duration_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestHealthEndpoints(t *testing.T) {
	httpAddr := testenv.FreeAddr(t)
	testenv.StartDev(t, "--http-listen", httpAddr)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := getSoon("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
}

// getSoon retries while the admin listener, which starts just after the
// Kafka one, is not up yet.
func getSoon(url string) (*http.Response, error) {
	for i := 0; ; i++ {
		resp, err := http.Get(url)
		if err == nil || i == 50 {
			return resp, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newConsumer(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("metered"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func consumeAll(t *testing.T, cl *kgo.Client, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", got, n, err)
		}
		got += fs.NumRecords()
	}
}

func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := getSoon("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// series finds the metric of a family whose label has the value (any
// metric when label is empty), summing over the others.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name, label, val string) []*dto.Metric {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("/metrics lacks %s", name)
	}
	var out []*dto.Metric
	for _, m := range fam.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == val {
				out = append(out, m)
			}
		}
		if label == "" {
			out = append(out, m)
		}
	}
	return out
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name, label, val string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range series(t, fams, name, label, val) {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

func count(t *testing.T, fams map[string]*dto.MetricFamily, name, label, val string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range series(t, fams, name, label, val) {
		sum += float64(m.GetHistogram().GetSampleCount())
	}
	return sum
}
