package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
)

// BenchmarkCommit16Partitions measures metadata commit transactions per
// second for a flushed object spanning 16 partitions (one 64 KiB batch of
// 100 records each), as the produce path issues them, with 1 and 4
// concurrent committers. The test PostgreSQL runs with fsync=off, so the
// figure excludes WAL flush latency; SQLite runs as caudal does, with
// synchronous=FULL (an fsync per commit; BenchmarkSQLiteSync prints what
// that costs).
func BenchmarkCommit16Partitions(b *testing.B) {
	stores := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"postgres", func(b *testing.B) string { return testenv.Postgres(b) }},
		{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "metadata.db") }},
	}
	for _, st := range stores {
		for _, conc := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/committers=%d", st.name, conc), func(b *testing.B) {
				s, err := metadata.Open(context.Background(), st.url(b), metadata.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if _, err := s.CreateTopic(context.Background(), metadata.TopicSpec{Name: "bench", Partitions: 16, ReplicationFactor: 1}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(commitRate(b, s, "bench", conc, b.N), "commits/s")
			})
		}
	}
}

// BenchmarkSQLiteSync prints what durable commits cost on SQLite: the
// commit rate of one committer with synchronous=NORMAL (no fsync per
// commit; a power loss can lose acked records) and with FULL, which caudal
// runs, on the same disk in the same run.
func BenchmarkSQLiteSync(b *testing.B) {
	// At least this many commits per mode, however small b.N: one fsync
	// more or less moves a 20-commit figure too much.
	n := max(b.N, 200)
	rates := map[string]float64{}
	for _, mode := range []struct {
		name string
		opts metadata.Options
	}{{"normal", metadata.Options{UnsafeSQLiteNoSync: true}}, {"full", metadata.Options{}}} {
		url := "sqlite://" + filepath.Join(b.TempDir(), mode.name+".db")
		s, err := metadata.Open(context.Background(), url, mode.opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateTopic(context.Background(), metadata.TopicSpec{Name: "bench", Partitions: 16, ReplicationFactor: 1}); err != nil {
			b.Fatal(err)
		}
		rates[mode.name] = commitRate(b, s, "bench", 1, n)
		s.Close()
	}
	// After both runs: commitRate's ResetTimer drops metrics reported before.
	extra := 1000/rates["full"] - 1000/rates["normal"]
	b.ReportMetric(rates["normal"], "normal-commits/s")
	b.ReportMetric(rates["full"], "full-commits/s")
	b.ReportMetric(extra, "fsync-ms/commit")
	report(b, "sqlite commits of 16 partitions, 1 committer, %d each: synchronous=NORMAL %.0f/s, FULL %.0f/s; the fsync costs %.2f ms per commit",
		n, rates["normal"], rates["full"], extra)
}

var benchObjects atomic.Int64

// commitRate runs n CommitObject calls on store from concurrency
// goroutines and returns the commits per second. Each object spans the
// topic's first 16 partitions (all of them if it has fewer), one batch of
// 100 records and 64 KiB per partition. It resets and stops b's timer
// around the commits and reports nothing itself.
func commitRate(b *testing.B, store metadata.Store, topic string, concurrency, n int) float64 {
	b.Helper()
	ctx := context.Background()
	t, err := store.Topic(ctx, topic)
	if err != nil {
		b.Fatal(err)
	}
	parts := min(t.Partitions, 16)
	object := func() metadata.ObjectCommit {
		c := metadata.ObjectCommit{Key: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), benchObjects.Add(1))}
		const size = 64 << 10
		for p := range parts {
			c.Runs = append(c.Runs, metadata.PartitionRun{Topic: t.ID, Partition: p, Batches: []metadata.BatchAppend{{
				ByteOffset: int64(p) * size, ByteLength: size, Records: 100, MaxTimestamp: time.Now().UnixMilli(), ProducerID: -1,
			}}})
		}
		c.Size = int64(parts) * size
		return c
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		failOnce sync.Once
		failed   error
	)
	b.ResetTimer()
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := store.CommitObject(ctx, object()); err != nil {
					failOnce.Do(func() { failed = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	return float64(n) / elapsed.Seconds()
}
