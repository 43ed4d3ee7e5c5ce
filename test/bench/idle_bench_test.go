package bench

// What idle consumers cost a gateway: connections that hold long-polling
// fetches on a topic nobody writes to (issue 18, item 5).

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	idleConns = 2000
	// idleWindow is how long CPU is sampled, with and without the
	// connections.
	idleWindow = 20 * time.Second
	// idleMaxWait is each fetch's max_wait_ms: the longest a gateway
	// holds one (gateway/fetch.go's maxFetchWait).
	idleMaxWait = 30 * time.Second
	// neighbourRate is the busy topic's records per second (1 KiB each).
	neighbourRate = 200
)

// BenchmarkIdleConnections opens idleConns connections to one gateway
// process (on MinIO and PostgreSQL), each holding a raw Fetch v16 of one
// partition of an empty 16-partition topic with max_wait_ms 30000 and
// min_bytes 1, re-issued as soon as it is answered, and samples the
// gateway's CPU (/proc/<pid>/stat) over idleWindow and its RSS
// (/proc/<pid>/status VmRSS) at the end. The baseline is the same gateway
// over an idleWindow just before, with no client connected. It also counts
// the metadata store's transactions (pg_stat_database.xact_commit of the
// gateway's database) in each window: every one is a query that a read
// sent. Issue 18's targets: at most 5% of a core and 100 MiB.
//
// Idle consumers seldom have the gateway to themselves, so both windows
// are measured again while another topic takes neighbourRate records/s
// (a flush and a commit each 100 ms): each commit wakes long polls.
//
// Every answer must be an empty, error-free fetch and every connection
// must stay open: a gateway that refused or dropped long polls would look
// cheap. With CAUDAL_BENCH_PPROF=dir the gateway's CPU profile over the
// quiet window with the connections and its heap profile at the end are
// written there.
func BenchmarkIdleConnections(b *testing.B) {
	// This process holds the clients' ends and the gateway inherits the
	// limit, from which it sizes its default --max-connections.
	raiseFileLimit(b, 2*idleConns+1024)
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	httpAddr := testenv.FreeAddr(b)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--http-listen", httpAddr, "--pprof")
	w := idleWindows{pid: processPid(b, p), httpAddr: httpAddr, db: openDBStats(b, metadataURL), polls: newLongPolls()}
	defer w.polls.stop()
	testenv.CreateTopics(b, p.Addr, benchPartitions, "idle", "busy")
	topicID := topicID(b, p.Addr, "idle")
	prod := newProducer(b, p.Addr, "busy")
	warmUp(b, prod, "busy")
	quiet := func() []time.Duration {
		time.Sleep(idleWindow) // the measurement itself, not a wait for a condition
		return nil
	}
	busy := func() []time.Duration {
		lats, errs := pacedProduce(b, prod, "busy", neighbourRate, idleWindow, nil)
		if errs > 0 {
			b.Errorf("%d produces to the busy topic failed", errs)
		}
		return lats
	}

	b.ResetTimer()
	base, baseBusy := w.sample(b, quiet), w.sample(b, busy)
	w.polls.open(b, p.Addr, topicID, idleConns)
	w.polls.waitServed(b, httpAddr)
	profiled := profileGateway(b, httpAddr, idleWindow)
	held := w.sample(b, quiet)
	profiled()
	heldBusy := w.sample(b, busy)
	b.StopTimer()
	heapProfile(b, httpAddr)
	m := scrapeMetrics(b, httpAddr)
	if err := w.polls.failure(); err != nil { // a connection the gateway closed fails too
		b.Fatalf("long polls: %v", err)
	}

	b.ReportMetric(held.cpuPercent(), "gw-CPU-%")
	b.ReportMetric(held.rssMiB(), "gw-RSS-MiB")
	b.ReportMetric(heldBusy.cpuPercent(), "gw-CPU-%-busy-neighbour")
	report(b, "idle connections: %d connections holding long polls (max_wait 30 s, min_bytes 1, one partition each, empty topic): gateway %.1f%% of a core (target <= 5%%: %s), RSS %.1f MiB (target <= 100 MiB: %s); Go heap in use %.1f MiB, stacks %.1f MiB, %.0f goroutines; machine load %.1f",
		idleConns, held.cpuPercent(), verdict(held.cpuPercent() <= 5), held.rssMiB(), verdict(held.rssMiB() <= 100),
		m["go_memstats_heap_inuse_bytes"]/(1<<20), m["go_memstats_stack_inuse_bytes"]/(1<<20), m["go_goroutines"], held.load)
	report(b, "idle connections: baseline, the same gateway with no connection just before: %.1f%% of a core, RSS %.1f MiB, machine load %.1f; each connection costs %.1f KiB of RSS and %.4f%% of a core",
		base.cpuPercent(), base.rssMiB(), base.load, float64(held.rssKB-base.rssKB)/idleConns, (held.cpuPercent()-base.cpuPercent())/idleConns)
	report(b, "idle connections: metadata store transactions %.0f/s with the connections (%.2f per connection per second), %.1f/s without; PostgreSQL backends serving the gateway %.1f%% of a core (%.1f%% without); fetches answered in the window %d, in all %d",
		held.xactRate(), held.xactRate()/idleConns, base.xactRate(), held.postgresPercent(), base.postgresPercent(), held.answered, w.polls.answered.Load())
	report(b, "idle connections beside a busy topic (%d records/s of 1 KiB, flush 100 ms): with the connections gateway %.1f%% of a core, %.1f commits/s, metadata store transactions %.0f/s (%.0f per commit more than quiet), PostgreSQL backends %.1f%% of a core, produce p99 %.1f ms, machine load %.1f; without them %.1f%%, %.1f commits/s, %.0f/s, %.1f%%, p99 %.1f ms, load %.1f",
		neighbourRate, heldBusy.cpuPercent(), heldBusy.commitRate(), heldBusy.xactRate(), (heldBusy.xactRate()-held.xactRate())/max(heldBusy.commitRate(), 1e-9),
		heldBusy.postgresPercent(), ms(percentile(heldBusy.produced, 99)), heldBusy.load,
		baseBusy.cpuPercent(), baseBusy.commitRate(), baseBusy.xactRate(), baseBusy.postgresPercent(), ms(percentile(baseBusy.produced, 99)), baseBusy.load)
}

// raiseFileLimit lifts this process's soft limit on file descriptors to
// at least n. Setting it also keeps Go from restoring the limit it found
// at start in the processes it starts, so the gateway inherits it.
func raiseFileLimit(b *testing.B, n uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Max < n {
		b.Fatalf("the hard limit on file descriptors is %d; %d connections need %d", lim.Max, idleConns, n)
	}
	lim.Cur = max(lim.Cur, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
}

// topicID looks up a topic's id, which Fetch v13 and later name it by.
func topicID(b *testing.B, addr, topic string) [16]byte {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts, err := kadm.NewClient(newClient(b, addr)).ListTopics(ctx, topic)
	if err == nil {
		err = ts.Error()
	}
	if err != nil {
		b.Fatalf("list topic %s: %v", topic, err)
	}
	return ts[topic].ID
}

// dbStats reads the metadata store's database's counters. PostgreSQL
// publishes them at most once a second, so a window's count is good to
// about that.
type dbStats struct{ conn *pgx.Conn }

func openDBStats(b *testing.B, metadataURL string) *dbStats {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, metadataURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(ctx) })
	return &dbStats{conn}
}

// dbSample is the transactions committed in the database so far, and the
// CPU seconds of each backend (by pid) connected to it but this one.
type dbSample struct {
	commits float64
	cpu     map[int]float64
}

func (d *dbStats) read(b *testing.B) dbSample {
	b.Helper()
	ctx := context.Background()
	s := dbSample{cpu: map[int]float64{}}
	if err := d.conn.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&s.commits); err != nil {
		b.Fatal(err)
	}
	rows, err := d.conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	for _, pid := range pids {
		s.cpu[int(pid)] = procCPU(int(pid))
	}
	return s
}

// sub is the transactions since before, and the CPU seconds of the
// backends present at both.
func (s dbSample) sub(before dbSample) (commits, cpu float64) {
	for pid, c := range s.cpu {
		if c0, ok := before.cpu[pid]; ok {
			cpu += c - c0
		}
	}
	return s.commits - before.commits, cpu
}

// idleWindows samples one gateway's cost over windows of idleWindow.
type idleWindows struct {
	pid      int
	httpAddr string
	db       *dbStats
	polls    *longPolls
}

// idleSample is what one window cost: the gateway's CPU seconds and its
// RSS at the end, the CPU seconds of the PostgreSQL backends serving it,
// the metadata store's transactions, the gateway's commits, the fetches
// answered, the latencies of what work produced, and the machine's load
// at the end.
type idleSample struct {
	elapsed                             time.Duration
	cpu, postgres, xacts, commits, load float64
	rssKB, answered                     int64
	produced                            []time.Duration
}

// sample runs work, which takes about idleWindow, and returns what the
// window cost.
func (w idleWindows) sample(b *testing.B, work func() []time.Duration) idleSample {
	b.Helper()
	cpu0, db0, m0, a0, start := procCPU(w.pid), w.db.read(b), scrapeMetrics(b, w.httpAddr), w.polls.answered.Load(), time.Now()
	produced := work()
	s := idleSample{elapsed: time.Since(start), cpu: procCPU(w.pid) - cpu0, produced: produced}
	s.xacts, s.postgres = w.db.read(b).sub(db0)
	s.commits = float64(scrapeMetrics(b, w.httpAddr).sub(m0).hist("caudal_flush_duration_seconds", "").count)
	s.rssKB, s.answered, s.load = procStatusKB(w.pid, "VmRSS"), w.polls.answered.Load()-a0, loadAverage(b)
	return s
}

func (s idleSample) cpuPercent() float64      { return 100 * s.cpu / s.elapsed.Seconds() }
func (s idleSample) postgresPercent() float64 { return 100 * s.postgres / s.elapsed.Seconds() }
func (s idleSample) xactRate() float64        { return s.xacts / s.elapsed.Seconds() }
func (s idleSample) commitRate() float64      { return s.commits / s.elapsed.Seconds() }
func (s idleSample) rssMiB() float64          { return float64(s.rssKB) / 1024 }

// longPolls are raw Kafka connections, each re-issuing one long-polling
// Fetch as soon as it is answered.
type longPolls struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	polling atomic.Int64 // connections that sent their first fetch
	// answered counts the fetches answered, each empty and error-free.
	answered atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
	err   error // the first failure
}

func newLongPolls() *longPolls {
	l := &longPolls{}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// open dials n connections to addr, one at a time so that the listen
// backlog never overflows, and starts a long poll on each: connection i
// fetches partition i%benchPartitions of the topic from offset 0.
func (l *longPolls) open(b *testing.B, addr string, topicID [16]byte, n int) {
	b.Helper()
	for i := range n {
		conn, err := (&net.Dialer{}).DialContext(l.ctx, "tcp", addr)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		l.mu.Lock()
		l.conns = append(l.conns, conn)
		l.mu.Unlock()
		l.wg.Go(func() { l.poll(conn, longPollFetch(topicID, int32(i%benchPartitions))) })
	}
}

// longPollFetch is a Fetch v16, as current clients send it outside a
// fetch session, of one partition from offset 0.
func longPollFetch(topicID [16]byte, partition int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 16
	req.MaxWaitMillis = int32(idleMaxWait / time.Millisecond)
	req.MinBytes = 1
	req.MaxBytes = 50 << 20
	req.SessionEpoch = -1
	t := kmsg.NewFetchRequestTopic()
	t.TopicID = topicID
	p := kmsg.NewFetchRequestTopicPartition()
	p.Partition = partition
	p.PartitionMaxBytes = 1 << 20
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return req
}

func (l *longPolls) poll(conn net.Conn, req *kmsg.FetchRequest) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("idle"))
	var buf []byte
	for corr := int32(0); ; corr++ {
		buf = f.AppendRequest(buf[:0], req, corr)
		if _, err := conn.Write(buf); err != nil {
			l.fail(err)
			return
		}
		if corr == 0 {
			l.polling.Add(1)
		}
		resp, err := readFetchResponse(conn, req.Version, corr)
		if err == nil {
			err = emptyFetch(resp)
		}
		if err != nil {
			l.fail(err)
			return
		}
		l.answered.Add(1)
	}
}

// readFetchResponse reads one response frame and decodes it as the Fetch
// response of the given version and correlation id.
func readFetchResponse(r io.Reader, version int16, corr int32) (*kmsg.FetchResponse, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("a %d-byte response to an empty fetch", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	rd := kbin.Reader{Src: body}
	if got := rd.Int32(); got != corr {
		return nil, fmt.Errorf("correlation id %d, want %d", got, corr)
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	if resp.IsFlexible() {
		kmsg.SkipTags(&rd) // the response header's
	}
	if err := resp.ReadFrom(rd.Src); err != nil {
		return nil, fmt.Errorf("decode fetch response: %w", err)
	}
	return resp, nil
}

// emptyFetch checks that a fetch of the idle topic was answered without
// an error and without records.
func emptyFetch(resp *kmsg.FetchResponse) error {
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("partition %d: %w", p.Partition, err)
			}
			if len(p.RecordBatches) > 0 {
				return fmt.Errorf("partition %d: %d bytes of records from a topic nobody writes to", p.Partition, len(p.RecordBatches))
			}
		}
	}
	return nil
}

// fail records a poll's failure, unless the polls are being stopped.
func (l *longPolls) fail(err error) {
	if l.ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

func (l *longPolls) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// stop closes every connection and waits for its poll to end.
func (l *longPolls) stop() {
	l.cancel()
	l.mu.Lock()
	for _, c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// waitServed waits until every poll sent its first fetch and the gateway
// behind httpAddr counts at least as many connections (the producer's
// come and go).
func (l *longPolls) waitServed(b *testing.B, httpAddr string) {
	b.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	l.mu.Lock()
	n := len(l.conns)
	l.mu.Unlock()
	for {
		if err := l.failure(); err != nil {
			b.Fatalf("long polls: %v", err)
		}
		if l.polling.Load() == int64(n) && int(scrapeMetrics(b, httpAddr)["caudal_connections"]) >= n {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			b.Fatalf("after a minute %d of %d connections polling, gateway counts %.0f", l.polling.Load(), n, scrapeMetrics(b, httpAddr)["caudal_connections"])
		}
	}
}

// heapProfile, when CAUDAL_BENCH_PPROF names a directory, writes the heap
// profile of the gateway behind httpAddr to <dir>/<benchmark>.heap.pprof.
func heapProfile(b *testing.B, httpAddr string) {
	b.Helper()
	dir := os.Getenv("CAUDAL_BENCH_PPROF")
	if dir == "" {
		return
	}
	resp, err := http.Get("http://" + httpAddr + "/debug/pprof/heap")
	if err != nil {
		b.Logf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	name := filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".heap.pprof")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		b.Logf("write heap profile: %v", err)
	}
}
