package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// frame prefixes body with its length.
func frame(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// header is a request header v1 (no tags) for key and version.
func header(key, version int16, corr int32) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	return append(b, 0, 4, 'h', 'o', 's', 't') // client id "host"
}

// expectClosed waits until the gateway closes nc.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("gateway did not close the connection within 5s")
	}
}

// sendExpectClosed sends one request frame body on a new connection to
// addr and waits until the gateway closes it.
func sendExpectClosed(t *testing.T, addr string, body []byte) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(frame(body)); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, nc)
}

// hugeCompactArray is, in a flexible request, an empty tag section after
// the header and then a compact array claiming 2^31-1 elements in five
// bytes.
var hugeCompactArray = append([]byte{0}, binary.AppendUvarint(nil, 1<<31-1)...)

// TestHostileConnections sends what no Kafka client would and checks that
// the gateway closes or answers that connection, allocates nothing near a
// claimed size, and goes on serving a normal client.
func TestHostileConnections(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("fuzz"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produced := 0
	healthy := func(t *testing.T) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("still here")}).FirstErr(); err != nil {
			t.Fatalf("a normal client cannot produce afterwards: %v", err)
		}
		produced++
	}
	healthy(t)
	openConns := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.conns)
	}
	clientConns := openConns()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	cases := []struct {
		name string
		send []byte
		// answer, when set, checks the gateway's reply instead of
		// expecting the connection to close.
		answer func(t *testing.T, r *bufio.Reader)
	}{
		{name: "length 2^31-1", send: []byte{0x7f, 0xff, 0xff, 0xff, 0, 1, 0, 0}},
		{name: "length just over 100 MiB", send: binary.BigEndian.AppendUint32(nil, maxRequestBytes+1)},
		{name: "negative length", send: []byte{0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0}},
		{name: "length 0", send: []byte{0, 0, 0, 0}},
		{name: "length shorter than a header", send: frame([]byte{0, 18, 0})},
		{name: "truncated frame then close", send: append(binary.BigEndian.AppendUint32(nil, 100), header(18, 3, 1)...)},
		{name: "Produce v99", send: frame(append(header(0, 99, 7), make([]byte, 32)...))},
		{name: "unknown API key", send: frame(append(header(1000, 0, 7), 0, 0))},
		{name: "Fetch body cut short", send: frame(append(header(1, 11, 7), 0, 0, 0))},
		{name: "ApiVersions v99", send: frame(append(header(18, 99, 42), 1, 2, 3)), answer: func(t *testing.T, r *bufio.Reader) {
			var size [4]byte
			if _, err := io.ReadFull(r, size[:]); err != nil {
				t.Fatalf("no answer to ApiVersions v99: %v", err)
			}
			body := make([]byte, binary.BigEndian.Uint32(size[:]))
			if _, err := io.ReadFull(r, body); err != nil {
				t.Fatal(err)
			}
			if corr := int32(binary.BigEndian.Uint32(body)); corr != 42 {
				t.Errorf("correlation id %d, want 42", corr)
			}
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.SetVersion(0)
			if err := resp.ReadFrom(body[4:]); err != nil {
				t.Fatalf("answer is not an ApiVersions v0 response: %v", err)
			}
			if resp.ErrorCode != kerr.UnsupportedVersion.Code {
				t.Errorf("error %v, want UNSUPPORTED_VERSION", kerr.ErrorForCode(resp.ErrorCode))
			}
			if len(resp.ApiKeys) == 0 {
				t.Errorf("no API versions listed")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if tc.answer != nil {
				nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				tc.answer(t, bufio.NewReader(nc))
			} else {
				if tc.name == "truncated frame then close" {
					nc.(*net.TCPConn).CloseWrite()
				}
				expectClosed(t, nc)
			}
			healthy(t)
		})
	}
	t.Run("TLS ClientHello", func(t *testing.T) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		err = tc.Handshake()
		var ne net.Error
		if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("TLS handshake against the plaintext port: %v, want the connection closed", err)
		}
		healthy(t)
	})

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Errorf("hostile frames allocated %d MiB in all", grew>>20)
	}
	if after.HeapAlloc > 256<<20 {
		t.Errorf("heap holds %d MiB after hostile frames", after.HeapAlloc>>20)
	}

	// Every hostile connection is gone; only the client's remain.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := openConns()
		if n <= clientConns {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open, the client has %d", n, clientConns)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// What the client produced reads back.
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("fuzz"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for got := 0; got < produced; {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read back %d of %d records", got, produced)
		}
		got += fs.NumRecords()
	}
}
