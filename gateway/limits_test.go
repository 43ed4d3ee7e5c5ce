package gateway

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testProducer is a kgo client producing to "fuzz" partition 0.
func testProducer(t *testing.T, addr string) func() error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("fuzz"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte("still here")}).FirstErr()
	}
}

func dialN(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		conns[i] = nc
	}
	return conns
}

func gaugeValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	sum := 0.0
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		sum += d.GetGauge().GetValue() + d.GetCounter().GetValue()
	}
	return sum
}

// Frames that claim 100 MiB and send nothing more cost the gateway almost
// nothing, round after round, and a producer goes on meanwhile. Before,
// each header allocated its claimed size at once: 15 GiB for three rounds
// of fifty.
func TestClaimedSizesAreNotAllocated(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	produce := testProducer(t, addr)
	if err := produce(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for round := range 3 {
		for _, nc := range dialN(t, addr, 50) {
			if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, maxRequestBytes)); err != nil {
				t.Fatal(err)
			}
		}
		if err := produce(); err != nil {
			t.Fatalf("round %d: a normal producer fails: %v", round, err)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("150 claims of 100 MiB allocated %d MiB", grew>>20)
	}
}

// Senders that trickle large bodies hold no more than
// QueuedMaxRequestBytes between them, while small requests go on; each
// is dropped when its body is not in within the body timeout.
func TestTricklingBodiesAreBounded(t *testing.T) {
	const budget = 4 << 20
	g := newTestGatewayWith(t, Config{QueuedMaxRequestBytes: budget}, nil)
	g.bodyTimeout = 2 * time.Second
	addr := serveTestGateway(t, g)
	produce := testProducer(t, addr)
	if err := produce(); err != nil {
		t.Fatal(err)
	}
	conns := dialN(t, addr, 16)
	var peak atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, nc := range conns {
		wg.Go(func() {
			// 10 MiB claimed, 64 KiB every 10 ms: 6 MiB a second each,
			// 100 MiB a second in all without a bound.
			if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, 10<<20)); err != nil {
				return
			}
			chunk := make([]byte, 64<<10)
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				if _, err := nc.Write(chunk); err != nil {
					return
				}
			}
		})
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			peak.Store(max(peak.Load(), int64(gaugeValue(t, g.metrics.queuedBytes))))
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if err := produce(); err != nil {
		t.Errorf("a small producer fails while large bodies trickle: %v", err)
	}
	// Past the body timeout every trickling connection is dropped.
	for _, nc := range conns {
		expectClosed(t, nc)
	}
	close(stop)
	wg.Wait()
	if p := peak.Load(); p > budget {
		t.Errorf("request bytes held peaked at %d, over the %d budget", p, budget)
	}
	if p := peak.Load(); p < budget/2 {
		t.Errorf("request bytes held peaked at %d: the trickle never reached the budget, the test proves nothing", p)
	}
	if n := gaugeValue(t, g.metrics.queuedBytes); n != 0 {
		t.Errorf("%v request bytes still held after every connection closed", n)
	}
}

// emfileListener fails its first accepts as a process out of descriptors.
type emfileListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// Running out of file descriptors pauses accepting; it does not end
// Serve, and the next connection is served.
func TestAcceptSurvivesDescriptorExhaustion(t *testing.T) {
	g := newTestGateway(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &emfileListener{Listener: ln}
	el.fails.Store(5)
	served := make(chan error, 1)
	go func() { served <- g.Serve(el) }()
	g.cfg.Advertise = ln.Addr().String()
	if err := testProducer(t, ln.Addr().String())(); err != nil {
		t.Fatalf("produce after EMFILE: %v", err)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned after EMFILE: %v", err)
	default:
	}
	if n := gaugeValue(t, g.metrics.refused.WithLabelValues("accept_error")); n != 5 {
		t.Errorf("accept errors counted: %v, want 5", n)
	}
}

// Connections past max.connections or max.connections.per.ip are closed
// at once and counted; those already open go on.
func TestConnectionLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		reason string
	}{
		{"max connections", Config{MaxConnections: 3}, "max_connections"},
		{"max connections per IP", Config{MaxConnectionsPerIP: 3}, "max_connections_per_ip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTestGatewayWith(t, tc.cfg, nil)
			addr := serveTestGateway(t, g)
			open := dialN(t, addr, 3)
			extra := dialN(t, addr, 1)[0]
			expectClosed(t, extra)
			for i, nc := range open {
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := nc.Write(frame(header(18, 0, int32(i)))); err != nil {
					t.Fatal(err)
				}
				var size [4]byte
				if _, err := nc.Read(size[:]); err != nil {
					t.Fatalf("connection %d within the limit: %v", i, err)
				}
			}
			if n := gaugeValue(t, g.metrics.refused.WithLabelValues(tc.reason)); n != 1 {
				t.Errorf("refused %s: %v, want 1", tc.reason, n)
			}
		})
	}
}

// A client that goes away while its request waits (a long poll here) is
// noticed: its connection is gone at once, not when the wait ends.
func TestDisconnectEndsWaitingRequest(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	nc := dialN(t, addr, 1)[0]
	req := fetchRequest(1<<20, 1<<20, 0)
	req.MinBytes, req.MaxWaitMillis = 1, 30_000
	if _, err := nc.Write(frame(requestBody(req, 1))); err != nil {
		t.Fatal(err)
	}
	waitConns(t, g, 1)
	time.Sleep(100 * time.Millisecond) // the long poll is waiting
	nc.Close()
	waitConns(t, g, 0)
}

// A client that stops reading its responses is dropped after the write
// timeout instead of pinning them.
func TestUnreadResponsesTimeOut(t *testing.T) {
	g := newTestGateway(t)
	g.writeTimeout = 200 * time.Millisecond
	addr := serveTestGateway(t, g)
	produceTestBatches(t, testConn(t, g), map[int32][]string{0: kibRecords[:200]})
	nc := dialN(t, addr, 1)[0]
	nc.(*net.TCPConn).SetReadBuffer(4 << 10)
	req := fetchRequest(1<<20, 1<<20, 0)
	for i := range 64 { // 12 MiB of responses, never read
		if _, err := nc.Write(frame(requestBody(req, int32(i)))); err != nil {
			break
		}
	}
	waitConns(t, g, 0)
}

func waitConns(t *testing.T, g *Gateway, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		open := len(g.conns)
		g.mu.Unlock()
		if open == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", open, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// partitionCounter counts the store's Partition reads.
type partitionCounter struct {
	metadata.Store
	reads atomic.Int64
}

func (s *partitionCounter) Partition(ctx context.Context, topic uuid.UUID, partition int32) (metadata.PartitionState, error) {
	s.reads.Add(1)
	return s.Store.Partition(ctx, topic, partition)
}

// Closing the gateway answers long polls at once; they do not re-read in
// a loop until their deadline.
func TestCloseDoesNotSpinLongPolls(t *testing.T) {
	var counter *partitionCounter
	g := newTestGatewayWith(t, Config{}, func(s metadata.Store) metadata.Store {
		counter = &partitionCounter{Store: s}
		return counter
	})
	c := testConn(t, g)
	req := fetchRequest(1<<20, 1<<20, 0)
	req.MinBytes, req.MaxWaitMillis = 1, 10_000
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		if _, err := c.handle(requestBody(req, 1)); err != nil {
			t.Error(err)
		}
	}()
	for counter.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	before := counter.reads.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll is still waiting after Close")
	}
	if n := counter.reads.Load() - before; n > 2 {
		t.Errorf("the long poll read its partition %d times during Close, want at most 2", n)
	}
}

// fetchRequest is a Fetch (v12) of topic "fuzz" from offset 0 of the
// given partitions.
func fetchRequest(maxBytes, partitionMaxBytes int32, partitions ...int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.MaxBytes = maxBytes
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fuzz"
	for _, p := range partitions {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes = p, partitionMaxBytes
		ft.Partitions = append(ft.Partitions, fp)
	}
	req.Topics = append(req.Topics, ft)
	return req
}

// kibRecords are values of 1 KiB.
var kibRecords = slices.Repeat([]string{strings.Repeat("x", 1024)}, 200)
