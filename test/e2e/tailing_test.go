package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTailingWithoutQueries: a consumer tailing through one gateway
// records that another wrote (racks keep the writer and the reader
// apart) gets each of them, in order, and its gateway learns of them from
// the commit notifications alone: across twenty commits, its read path
// runs almost no metadata query. Without the notifications' payloads each
// commit would cost a Partition and an Index query per partition.
func TestTailingWithoutQueries(t *testing.T) {
	t.Parallel()
	const parts, rounds = 4, 20
	bucketURL, metadataURL := testenv.StoreURLs(t, testenv.Cloud)
	writer := testenv.StartProcess(t, bucketURL, metadataURL, append(slices.Clone(clusterFlags), "--rack", "a")...)
	readerHTTP := testenv.FreeAddr(t)
	reader := testenv.StartProcess(t, bucketURL, metadataURL, append(slices.Clone(clusterFlags), "--rack", "b", "--http-listen", readerHTTP)...)
	for _, gw := range []*testenv.Process{writer, reader} {
		waitBrokers(t, gw.Addr, func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 2 })
	}
	testenv.CreateTopics(t, writer.Addr, parts, "tailed")
	ctx := testCtx(t, 2*time.Minute)

	prod, err := kgo.NewClient(kgo.SeedBrokers(writer.Addr), kgo.ClientID("producer;rack=a"),
		kgo.DefaultProduceTopic("tailed"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	cons, err := kgo.NewClient(kgo.SeedBrokers(reader.Addr), kgo.ClientID("consumer;rack=b"), kgo.Rack("b"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"tailed": allFrom(parts, kgo.NewOffset().AtStart())}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()

	round := func(r int) {
		t.Helper()
		var rs []*kgo.Record
		for p := range int32(parts) {
			rs = append(rs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%d", r)})
		}
		if err := prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("round %d: produce: %v", r, err)
		}
		got := map[int32]string{}
		for len(got) < parts {
			fs := cons.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("round %d: fetch: %v", r, err)
			}
			fs.EachRecord(func(rec *kgo.Record) {
				if rec.Offset != int64(r) || string(rec.Value) != fmt.Sprint(r) || got[rec.Partition] != "" {
					t.Fatalf("round %d: partition %d offset %d value %q", r, rec.Partition, rec.Offset, rec.Value)
				}
				got[rec.Partition] = string(rec.Value)
			})
		}
	}
	round(0) // the consumer's gateway reads each partition's state once
	queries := func() float64 {
		return metricValue(t, readerHTTP, `caudal_read_queries_total{query="partition"}`) +
			metricValue(t, readerHTTP, `caudal_read_queries_total{query="index"}`)
	}
	before, fetches := queries(), metricValue(t, readerHTTP, `caudal_requests_duration_seconds_count{api="Fetch"}`)
	for r := 1; r <= rounds; r++ {
		round(r)
	}
	ran := queries() - before
	fetched := metricValue(t, readerHTTP, `caudal_requests_duration_seconds_count{api="Fetch"}`) - fetches
	t.Logf("%d commits read through the other gateway in %.0f fetches with %.0f metadata queries", rounds, fetched, ran)
	// A state read again on age (reader.MaxStaleness, should a round be
	// slow) costs one query; a commit told without its rows would cost
	// 2 × parts.
	if fetched < rounds || ran >= rounds {
		t.Fatalf("%.0f fetches ran %.0f metadata queries over %d commits, want fewer than one per commit", fetched, ran, rounds)
	}
}

func allFrom(parts int, o kgo.Offset) map[int32]kgo.Offset {
	m := map[int32]kgo.Offset{}
	for p := range int32(parts) {
		m[p] = o
	}
	return m
}
