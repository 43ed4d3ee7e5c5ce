package bench

// Objects per GiB after a long run (issue 18, item 8): a gateway on MinIO
// and PostgreSQL takes a steady produce load with 100 ms flushes, then
// the worker's merge compaction folds what it wrote, and the benchmark
// prints how many objects and index rows each GiB of log costs before
// and after, and reads the whole log back to prove the merge lost nothing.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/compaction"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
	"github.com/caudal/caudal/worker/job"
)

const (
	// longRunDefault is the 10 minutes; CAUDAL_BENCH_LONG_RUN
	// (a Go duration, e.g. 2m) shortens it for a trial.
	longRunDefault = 10 * time.Minute
	// longRunRate is 1 KiB records per second over benchPartitions
	// partitions: 1.5 MiB/s, what this shared 2-core machine sustains
	// beside MinIO and PostgreSQL without falling behind its schedule.
	longRunRate = 1500
	// mergeTimeout bounds the wait for the worker to finish merging and
	// deleting what it replaced; reaching it fails the benchmark.
	mergeTimeout = 30 * time.Minute
	// pollEvery is how often the wait looks at the stores again.
	pollEvery = 5 * time.Second
)

// BenchmarkLongRunObjects produces for CAUDAL_BENCH_LONG_RUN (10 minutes
// by default) at longRunRate through one gateway flushing every 100 ms,
// then starts `caudal worker` with compaction every 5 s and the shortest
// delete grace, and waits until merge compaction has nothing left to
// merge (its own planner says so, for objects of any age) and the bucket
// holds only the live objects. It prints objects and index rows per GiB
// at the end of the produce run and after merging, then consumes every
// partition from the start and fails unless every offset comes back
// once, in order, and the count is what was acknowledged.
func BenchmarkLongRunObjects(b *testing.B) {
	run := longRunDuration(b)
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	gw := testenv.StartProcess(b, bucketURL, metadataURL, "--flush-interval", flushInterval.String())
	const topic = "long-run"
	testenv.CreateTopics(b, gw.Addr, benchPartitions, topic)
	cl := newProducer(b, gw.Addr, topic)
	warmUp(b, cl, topic)
	start := time.Now()
	lats, failed := pacedProduce(b, cl, topic, longRunRate, run, nil)
	if failed > 0 {
		b.Fatalf("%d records failed to produce", failed)
	}
	produced := int64(len(lats) + benchPartitions) // the warm-up wrote one per partition
	report(b, "produced %d records of %d B in %v to %d partitions with %v flushes (%d records/s): produce p50 %.0f ms, p99 %.0f ms; load %s",
		produced, recordSize, time.Since(start).Round(time.Second), benchPartitions, flushInterval, longRunRate,
		ms(percentile(lats, 50)), ms(percentile(lats, 99)), machineLoad(b))

	store, err := metadata.Open(context.Background(), metadataURL, metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	db := openDBStats(b, metadataURL)
	before := measureLog(b, db, bucketURL)
	report(b, "before merging: %s; load %s", before, machineLoad(b))

	start = time.Now()
	workerLog := startWorker(b, bucketURL, metadataURL)
	waitFor(b, workerLog, "merge compaction to have nothing left to merge", func() bool { return pendingMerges(b, store) == 0 })
	merged := time.Since(start)
	waitFor(b, workerLog, "the bucket to hold only live objects", func() bool { return bucketIsLive(b, store, bucketURL) })
	after := measureLog(b, db, bucketURL)
	report(b, "after merging (%v to merge, %v more to delete what it replaced): %s; load %s",
		merged.Round(time.Second), (time.Since(start) - merged).Round(time.Second), after, machineLoad(b))
	report(b, "merging divided objects per GiB by %.0f (%.0f → %.0f) and index rows per GiB by %.0f (%.0f → %.0f)",
		before.objectsPerGiB()/after.objectsPerGiB(), before.objectsPerGiB(), after.objectsPerGiB(),
		before.rowsPerGiB()/after.rowsPerGiB(), before.rowsPerGiB(), after.rowsPerGiB())
	if after.rows >= before.rows {
		b.Fatalf("merge compaction left %d index rows of %d", after.rows, before.rows)
	}

	ends := partitionEnds(b, gw.Addr, topic)
	var total int64
	for _, end := range ends {
		total += end
	}
	if total != produced {
		b.Fatalf("end offsets add up to %d records, %d were acknowledged", total, produced)
	}
	start = time.Now()
	consumeEveryOffset(b, gw.Addr, topic, ends)
	report(b, "consumed all %d records back in offset order, none missing, in %v; load %s", total, time.Since(start).Round(time.Second), machineLoad(b))
}

// longRunDuration is CAUDAL_BENCH_LONG_RUN, or longRunDefault.
func longRunDuration(b *testing.B) time.Duration {
	b.Helper()
	v := os.Getenv("CAUDAL_BENCH_LONG_RUN")
	if v == "" {
		return longRunDefault
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("CAUDAL_BENCH_LONG_RUN=%q: want a positive Go duration such as 2m", v)
	}
	return d
}

// logFootprint is what a log costs at one moment: the objects in the
// bucket and their bytes, and the rows of index_entries.
type logFootprint struct {
	objects int
	bytes   int64
	rows    int64
}

func (f logFootprint) gib() float64           { return float64(f.bytes) / (1 << 30) }
func (f logFootprint) objectsPerGiB() float64 { return float64(f.objects) / f.gib() }
func (f logFootprint) rowsPerGiB() float64    { return float64(f.rows) / f.gib() }

func (f logFootprint) String() string {
	return fmt.Sprintf("%d objects, %.3f GiB (%.0f KiB per object), %d index rows: %.0f objects per GiB, %.0f index rows per GiB",
		f.objects, f.gib(), float64(f.bytes)/float64(max(f.objects, 1))/1024, f.rows, f.objectsPerGiB(), f.rowsPerGiB())
}

// measureLog lists the bucket and counts index_entries in PostgreSQL.
func measureLog(b *testing.B, db *dbStats, bucketURL string) logFootprint {
	b.Helper()
	var f logFootprint
	f.objects, f.bytes = bucketObjects(b, bucketURL)
	if err := db.conn.QueryRow(context.Background(), "SELECT count(*) FROM index_entries").Scan(&f.rows); err != nil {
		b.Fatal(err)
	}
	return f
}

// startWorker runs `caudal worker` on the stores until the benchmark ends:
// compaction and object deletion every 5 s, and the shortest delete grace
// the worker accepts, so that the merge and the deletion of the objects it
// replaces happen within the benchmark. Merge's minimum age stays its
// default minute: the worker has no flag for it. It returns the path of
// the worker's log.
func startWorker(b *testing.B, bucketURL, metadataURL string) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "worker.log")
	log, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(testenv.CaudalBinary(b), "worker", "--bucket-url", bucketURL, "--metadata-url", metadataURL,
		"--compaction-interval", pollEvery.String(), "--retention-check-interval", pollEvery.String(),
		"--delete-grace", segments.MinDeleteGrace.String())
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatalf("start caudal worker: %v", err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	return path
}

// waitFor polls done every pollEvery until it holds, and fails the
// benchmark, with the worker's log, after mergeTimeout.
func waitFor(b *testing.B, workerLog, what string, done func() bool) {
	b.Helper()
	deadline := time.Now().Add(mergeTimeout)
	for !done() {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(workerLog)
			b.Fatalf("waited %v for %s\nworker log:\n%s", mergeTimeout, what, testenv.Tail(string(log), 4000))
		}
		time.Sleep(pollEvery)
	}
}

// pendingMerges is how many groups merge compaction's planner, with the
// worker's default options, would still rewrite in all partitions of all
// topics if every object were old enough: 0 once the worker is done.
func pendingMerges(b *testing.B, store metadata.Store) int {
	b.Helper()
	ctx := context.Background()
	topics, err := store.Topics(ctx)
	if err != nil {
		b.Fatal(err)
	}
	jc := job.Config{Store: store}
	groups := 0
	for _, t := range topics {
		for p := range t.Partitions {
			var rows []metadata.IndexEntry
			err := jc.IndexPages(ctx, t.ID, p, func(page []metadata.IndexEntry, _ bool) bool {
				rows = append(rows, page...)
				return true
			})
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, len(rows))
			for i, r := range rows {
				keys[i] = r.ObjectKey
			}
			objs, err := store.ObjectsByKey(ctx, keys)
			if err != nil {
				b.Fatal(err)
			}
			plan := compaction.PlanMerge(compaction.MergeInput{Now: time.Now().Add(time.Hour), Rows: rows, Objects: objs})
			groups += len(plan.Groups)
		}
	}
	return groups
}

// bucketIsLive reports whether the bucket holds exactly as many objects
// as the metadata store has live: the ones merging replaced are deleted.
func bucketIsLive(b *testing.B, store metadata.Store, bucketURL string) bool {
	b.Helper()
	n, _ := bucketObjects(b, bucketURL)
	return n == liveObjects(b, store)
}

// liveObjects counts the objects the metadata store has live.
func liveObjects(b *testing.B, store metadata.Store) int {
	b.Helper()
	live := 0
	err := store.Objects(context.Background(), func(o metadata.Object) error {
		if o.State == metadata.ObjectLive {
			live++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return live
}

// consumeEveryOffset reads every partition of topic from the start up to
// its end offset in ends, and fails unless each record's offset is the
// one after the last: nothing missing, repeated or out of order.
func consumeEveryOffset(b *testing.B, addr, topic string, ends map[int32]int64) {
	b.Helper()
	parts := map[int32]kgo.Offset{}
	next := map[int32]int64{}
	remaining := 0 // partitions not read to their end yet
	for p, end := range ends {
		parts[p] = kgo.NewOffset().At(0)
		next[p] = 0
		if end > 0 {
			remaining++
		}
	}
	cl := newClient(b, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxBytes(50<<20), kgo.FetchMaxPartitionBytes(4<<20), kgo.BrokerMaxReadBytes(128<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.Fatalf("consume %s: %v; next offsets %v of ends %v", topic, err, next, ends)
		}
		fs.EachError(func(t string, p int32, err error) { b.Fatalf("fetch %s/%d: %v", t, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				b.Fatalf("partition %d: got offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			if next[r.Partition] == ends[r.Partition] {
				remaining--
			}
		})
	}
}
