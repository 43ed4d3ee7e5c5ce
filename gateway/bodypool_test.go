package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Every class holds what it is asked for and at most a quarter more, and
// a buffer of a class's capacity goes back to that class.
func TestBodyClasses(t *testing.T) {
	for n := minChunk; n <= maxRequestBytes; n += 1 + n/97 {
		i, capacity, ok := bodyClass(n)
		if !ok {
			t.Fatalf("%d bytes have no class", n)
		}
		if capacity < n || 4*capacity > 5*n {
			t.Fatalf("class %d of %d bytes holds %d", i, n, capacity)
		}
		if _, again, _ := bodyClass(capacity); again != capacity {
			t.Fatalf("class %d holds %d bytes, but a buffer of that size is put in a class of %d", i, capacity, again)
		}
	}
	if _, _, ok := bodyClass(minChunk - 1); ok {
		t.Errorf("a body under minChunk has a class: it would be pooled though smaller than any buffer")
	}
}

// A produce request's body is recycled once its batches are in their
// object, and not before: while many producers' requests are in flight,
// each reused body would otherwise have been overwritten by the next
// request's bytes before its object was built, and what reads back would
// differ from what was produced.
func TestRecycledProduceBodiesKeepTheirBatches(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	const producers, records = 8, 400
	want := map[string]bool{}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	for p := range producers {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("fuzz"), kgo.ProducerLinger(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		values := make([]string, records)
		for i := range values {
			values[i] = fmt.Sprintf("producer %d record %d ", p, i) + strings.Repeat(string(rune('a'+(p+i)%26)), 1000)
			want[values[i]] = true
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var sent sync.WaitGroup
			for _, v := range values {
				sent.Add(1)
				cl.Produce(ctx, &kgo.Record{Value: []byte(v)}, func(_ *kgo.Record, err error) {
					defer sent.Done()
					if err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
					}
				})
			}
			sent.Wait()
		})
	}
	wg.Wait()
	if failed != nil {
		t.Fatalf("produce: %v", failed)
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("fuzz"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(want) > 0 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("consume with %d of %d records still to read: %v", len(want), producers*records, err)
		}
		for _, r := range fs.Records() {
			if !want[string(r.Value)] {
				t.Fatalf("read back a record nobody produced, or twice, at partition %d offset %d: %.40q", r.Partition, r.Offset, r.Value)
			}
			delete(want, string(r.Value))
		}
	}
}

// Bytes that wait in the kernel have arrived: a body whose bytes came in
// one write grows to hold them at once, not in rounds that copy it each
// time; a connection that is not a socket grows with what it read.
func TestBodyRoomCountsUnreadBytes(t *testing.T) {
	client, server := tcpPair(t)
	const sent = 64 << 10
	if _, err := client.Write(make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); unread(server) < sent; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the kernel holds %d of the %d bytes sent after 5s", unread(server), sent)
		}
	}
	c := &conn{nc: server}
	br := bufio.NewReader(server)
	if got := c.bodyRoom(br, 0, maxRequestBytes); got != bodyGrowth*sent {
		t.Errorf("room for a body with %d bytes in the kernel: %d, want %d", sent, got, bodyGrowth*sent)
	}
	if got := c.bodyRoom(br, 0, sent); got != sent {
		t.Errorf("room for a body of %d bytes, all in the kernel: %d, want all of it", sent, got)
	}

	piped, _ := net.Pipe()
	defer piped.Close()
	c = &conn{nc: piped}
	if got := c.bodyRoom(bufio.NewReader(piped), 4*minChunk, maxRequestBytes); got != 4*minChunk*bodyGrowth {
		t.Errorf("room on a pipe after %d bytes read: %d, want %d", 4*minChunk, got, 4*minChunk*bodyGrowth)
	}
}

// tcpPair is both ends of a loopback TCP connection, closed when t ends.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}
