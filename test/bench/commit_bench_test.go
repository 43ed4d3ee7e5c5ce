package bench

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
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

// BenchmarkCommitNotify prints what telling other gateways about commits
// costs on PostgreSQL: the commit rate (commitRate's objects of 16
// partitions) of 1, 4 and 16 committers through a store that notifies and
// through one muted by metadata.MuteNotifications, alternating, in
// notifyRounds rounds of notifyCommits commits each, with a second store
// listening as another gateway would; then how long after CommitObject
// returns that listener is woken, over notifyWakes commits one at a time.
// The ratio on/off is the target (>= 0.90, issue 18). Like the produce
// benchmarks it measures one fixed workload whatever b.N is.
func BenchmarkCommitNotify(b *testing.B) {
	ctx := context.Background()
	url := testenv.Postgres(b)
	open := func() metadata.Store {
		s, err := metadata.Open(ctx, url, metadata.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	on, off, listener := open(), open(), open()
	metadata.MuteNotifications(off)
	if _, err := on.CreateTopic(ctx, metadata.TopicSpec{Name: "bench", Partitions: 16, ReplicationFactor: 1}); err != nil {
		b.Fatal(err)
	}
	wakes := listen(b, listener)

	for _, conc := range []int{1, 4, 16} {
		var rates [2][]float64 // off, on
		var woken int
		for round := range notifyRounds {
			for i := range 2 {
				mode := (round + i) % 2 // alternate which goes first: the tables grow
				store := []metadata.Store{off, on}[mode]
				drain(wakes)
				rates[mode] = append(rates[mode], commitRate(b, store, "bench", conc, notifyCommits))
				if mode == 1 {
					woken += drain(wakes)
				}
			}
		}
		ratios := make([]float64, notifyRounds)
		for r := range ratios {
			ratios[r] = rates[1][r] / rates[0][r]
		}
		report(b, "%d committers, %d commits per run, %d runs: notifications off %s commits/s, on %s; on/off %s (target >= 0.90: %s); the listener woke %.2f times per notifying commit",
			conc, notifyCommits, notifyRounds, spread(rates[0], "%.0f"), spread(rates[1], "%.0f"), spread(ratios, "%.2f"),
			verdict(slices.Min(ratios) >= 0.90), float64(woken)/float64(notifyRounds*notifyCommits))
	}

	lat := wakeLatency(b, on, wakes)
	report(b, "wake-up of another store's Watch after CommitObject returns, %d commits one at a time: p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		len(lat), ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(lat, 100)))
}

const (
	notifyRounds  = 3
	notifyCommits = 1500
	notifyWakes   = 300
)

// listen runs s.Watch until the benchmark ends and returns the times it
// calls back, once it listens.
func listen(b *testing.B, s metadata.Store) <-chan time.Time {
	wakes := make(chan time.Time, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, slog.New(slog.DiscardHandler), func() {
			select {
			case wakes <- time.Now():
			default:
			}
		})
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	select { // the first call comes once the listener is in place
	case <-wakes:
	case <-time.After(10 * time.Second):
		b.Fatal("Watch never listened")
	}
	return wakes
}

// drain empties wakes and returns how many it held.
func drain(wakes <-chan time.Time) int {
	for n := 0; ; n++ {
		select {
		case <-wakes:
		default:
			return n
		}
	}
}

// wakeLatency commits notifyWakes objects through store one at a time and
// returns, for each, how long after CommitObject returned wakes delivered
// a call (zero when it came before the return).
func wakeLatency(b *testing.B, store metadata.Store, wakes <-chan time.Time) []time.Duration {
	ctx := context.Background()
	t, err := store.Topic(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, notifyWakes)
	for i := range notifyWakes {
		drain(wakes)
		c := metadata.ObjectCommit{Key: fmt.Sprintf("wake-%d-%d", time.Now().UnixNano(), i), Size: 100, Runs: []metadata.PartitionRun{{
			Topic: t.ID, Partition: int32(i) % t.Partitions, Batches: []metadata.BatchAppend{{ByteLength: 100, Records: 1, ProducerID: -1}},
		}}}
		if _, err := store.CommitObject(ctx, c); err != nil {
			b.Fatal(err)
		}
		returned := time.Now()
		select {
		case w := <-wakes:
			lat = append(lat, max(w.Sub(returned), 0))
		case <-time.After(10 * time.Second):
			b.Fatalf("commit %d woke no listener", i)
		}
	}
	return lat
}

// spread formats the range of vs: "lo–hi", or the one value if all agree.
func spread(vs []float64, format string) string {
	lo, hi := fmt.Sprintf(format, slices.Min(vs)), fmt.Sprintf(format, slices.Max(vs))
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}
