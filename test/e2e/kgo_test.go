package e2e

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// baseTime is the explicit timestamp of record 0; record i has baseTime+i ms.
var baseTime = time.UnixMilli(1_700_000_000_000)

// testRecord builds record i deterministically, so that a consumer can
// check every byte without keeping what was produced. Every 97th record
// has a null key; values vary in length.
func testRecord(topics []string, partitions, i int) *kgo.Record {
	r := &kgo.Record{
		Topic:     topics[i%len(topics)],
		Partition: int32((i / len(topics)) % partitions),
		Timestamp: baseTime.Add(time.Duration(i) * time.Millisecond),
		Value:     recordValue(i),
		Headers: []kgo.RecordHeader{
			{Key: "id", Value: fmt.Appendf(nil, "%d", i)},
			{Key: "empty", Value: []byte{}},
			{Key: "bin", Value: []byte{0, byte(i), byte(i >> 8), 0xff}},
		},
	}
	if i%97 != 0 {
		r.Key = fmt.Appendf(nil, "key-%d", i)
	}
	return r
}

func recordValue(i int) []byte {
	v := fmt.Appendf(nil, "value-%08d|", i)
	for j := 0; j < (i*31)%200; j++ {
		v = append(v, byte('a'+(i+j)%26))
	}
	return v
}

// produceAll produces records [0, n) with cl and fails on any error.
func produceAll(t testing.TB, ctx context.Context, cl *kgo.Client, topics []string, partitions, from, n int) {
	t.Helper()
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
		first  atomic.Value
	)
	for i := from; i < from+n; i++ {
		wg.Add(1)
		cl.Produce(ctx, testRecord(topics, partitions, i), func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				if failed.Add(1) == 1 {
					first.Store(fmt.Errorf("record %s/%d: %w", r.Topic, r.Partition, err))
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d records failed to produce; first: %v", n, first.Load())
	}
}

// consumeAll reads every partition of topics from the start until n
// records arrived, and returns them grouped by topic and partition.
func consumeAll(t testing.TB, addr string, topics []string, n int, opts ...kgo.Opt) map[string]map[int32][]*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	ctx := testCtx(t, 2*time.Minute)
	got := map[string]map[int32][]*kgo.Record{}
	count := 0
	for count < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", count, n, err)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Errorf("fetch %s/%d: %v", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			if got[r.Topic] == nil {
				got[r.Topic] = map[int32][]*kgo.Record{}
			}
			got[r.Topic][r.Partition] = append(got[r.Topic][r.Partition], r)
			count++
		})
	}
	if count != n {
		t.Fatalf("consumed %d records, want %d", count, n)
	}
	return got
}

// checkRecords asserts that got holds exactly records [0, n), each
// partition in produce order at dense offsets from 0.
func checkRecords(t testing.TB, got map[string]map[int32][]*kgo.Record, topics []string, partitions, n int) {
	t.Helper()
	want := map[string]map[int32][]int{}
	for i := 0; i < n; i++ {
		r := testRecord(topics, partitions, i)
		if want[r.Topic] == nil {
			want[r.Topic] = map[int32][]int{}
		}
		want[r.Topic][r.Partition] = append(want[r.Topic][r.Partition], i)
	}
	errs := 0
	fail := func(format string, args ...any) {
		if errs++; errs <= 10 {
			t.Errorf(format, args...)
		}
	}
	for topic, parts := range want {
		for p, ids := range parts {
			recs := got[topic][p]
			if len(recs) != len(ids) {
				fail("%s/%d: %d records, want %d", topic, p, len(recs), len(ids))
				continue
			}
			for j, id := range ids {
				g, w := recs[j], testRecord(topics, partitions, id)
				if g.Offset != int64(j) {
					fail("%s/%d: record %d has offset %d", topic, p, j, g.Offset)
				}
				if !bytes.Equal(g.Key, w.Key) || (g.Key == nil) != (w.Key == nil) {
					fail("%s/%d@%d: key %q, want %q", topic, p, j, g.Key, w.Key)
				}
				if !bytes.Equal(g.Value, w.Value) {
					fail("%s/%d@%d: value %q, want %q", topic, p, j, g.Value, w.Value)
				}
				if !g.Timestamp.Equal(w.Timestamp) {
					fail("%s/%d@%d: timestamp %v, want %v", topic, p, j, g.Timestamp, w.Timestamp)
				}
				if len(g.Headers) != len(w.Headers) {
					fail("%s/%d@%d: headers %v, want %v", topic, p, j, g.Headers, w.Headers)
				} else {
					for h := range w.Headers {
						if g.Headers[h].Key != w.Headers[h].Key || !bytes.Equal(g.Headers[h].Value, w.Headers[h].Value) {
							fail("%s/%d@%d: header %d = %q:%q, want %q:%q", topic, p, j, h,
								g.Headers[h].Key, g.Headers[h].Value, w.Headers[h].Key, w.Headers[h].Value)
						}
					}
				}
			}
		}
	}
	if len(got) != len(want) {
		fail("consumed topics %d, want %d", len(got), len(want))
	}
}

func TestKgoRoundTrip(t *testing.T) {
	const partitions = 8
	codecs := []struct {
		name    string
		codec   kgo.CompressionCodec
		records int
	}{
		{"none", kgo.NoCompression(), 200_000},
		{"gzip", kgo.GzipCompression(), 20_000},
		{"snappy", kgo.SnappyCompression(), 20_000},
		{"lz4", kgo.Lz4Compression(), 20_000},
		{"zstd", kgo.ZstdCompression(), 20_000},
	}
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		for _, tc := range codecs {
			t.Run(tc.name, func(t *testing.T) {
				topics := []string{"rt-" + tc.name + "-a", "rt-" + tc.name + "-b", "rt-" + tc.name + "-c"}
				testenv.CreateTopics(t, c.Addr, partitions, topics...)
				start := time.Now()
				pr := newClient(t, c.Addr,
					kgo.RequiredAcks(kgo.AllISRAcks()),
					kgo.RecordPartitioner(kgo.ManualPartitioner()),
					kgo.ProducerBatchCompression(tc.codec),
					kgo.ProducerLinger(5*time.Millisecond),
					kgo.MaxBufferedRecords(50_000))
				produceAll(t, testCtx(t, 3*time.Minute), pr, topics, partitions, 0, tc.records)
				produced := time.Since(start)
				got := consumeAll(t, c.Addr, topics, tc.records)
				checkRecords(t, got, topics, partitions, tc.records)
				if tc.records <= 20_000 {
					// Byte limits below one batch: every fetch still
					// returns a whole first batch (KIP-74).
					got = consumeAll(t, c.Addr, topics, tc.records, kgo.FetchMaxBytes(1), kgo.FetchMaxPartitionBytes(1))
					checkRecords(t, got, topics, partitions, tc.records)
				}
				t.Logf("%d records: produced in %v, consumed in %v", tc.records, produced, time.Since(start)-produced)
			})
		}
	})
}
