package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/caudal/caudal/test/testenv"
)

// The relays are the floor under the gateway's CPU per GB on this
// machine: what a process that only moved the bytes between a Kafka
// client's socket and MinIO would spend, through the same raw S3 client
// as the baselines, counted as the raw client's CPU is (this process's,
// not the peer processes' that feed or drain the loopback sockets).
const (
	fetchRelay   = "a relay that only GETs the objects and writes them to a loopback socket"
	produceRelay = "a relay that only reads the bytes from a loopback socket and PUTs them"
)

// relayCPUPerGB is the cold fetch's relay: len(bufs) workers GET the
// objects with the raw client, each into its buffer, and write them to a
// loopback TCP connection that a `cat` process drains. On loopback a
// write also delivers the bytes into the reader's socket, which a network
// would leave to the reader's machine: the gateway pays that for its
// consumers too.
func relayCPUPerGB(b *testing.B, bucketURL string, keys []string, bufs [][]byte) float64 {
	b.Helper()
	conns := socketProcesses(b, len(bufs), func(sock *os.File) *exec.Cmd {
		cmd := exec.Command("cat")
		cmd.Stdin = sock
		return cmd
	})
	runtime.GC()
	cpu0 := sampleCPU(0)
	n, _ := getAll(b, bucketURL, keys, bufs, func(w int, data []byte) error {
		_, err := conns[w].Write(data)
		return err
	})
	cpu := sampleCPU(0).sub(cpu0).clients
	closeAll(conns)
	return cpu / (float64(n) / 1e9)
}

// relayPutCPUPerGB is produce's relay: each of len(data) workers reads
// objects of rawObjectSize bytes from a loopback TCP connection, which a
// shell process fills from a file of data[0], into its buffer data[w],
// and PUTs each with the raw client, total bytes in all. A gateway also
// checks what it reads and writes it into objects of many batches; the
// relay does neither.
func relayPutCPUPerGB(b *testing.B, srv *testenv.MinIOServer, data [][]byte, total int) float64 {
	b.Helper()
	raw := newRawS3(b, srv.URL(srv.NewBucket(b), "relay"))
	defer raw.close()
	file := filepath.Join(b.TempDir(), "object")
	if err := os.WriteFile(file, data[0][:rawObjectSize], 0o600); err != nil {
		b.Fatal(err)
	}
	perWorker := total / rawObjectSize / len(data)
	conns := socketProcesses(b, len(data), func(sock *os.File) *exec.Cmd {
		cmd := exec.Command("sh", "-c", `i=0; while [ $i -lt "$2" ]; do cat "$1"; i=$((i+1)); done`, "feed", file, strconv.Itoa(perWorker))
		cmd.Stdout = sock
		return cmd
	})
	defer closeAll(conns)
	runtime.GC()
	cpu0 := sampleCPU(0)
	var (
		wg     sync.WaitGroup
		failed error
		once   sync.Once
	)
	for w := range data {
		wg.Go(func() {
			buf := data[w][:rawObjectSize]
			for i := range perWorker {
				err := func() error {
					if _, err := io.ReadFull(conns[w], buf); err != nil {
						return fmt.Errorf("read object %d from the feed: %w", i, err)
					}
					return raw.put(context.Background(), fmt.Sprintf("relay/%d/%08d", w, i), buf)
				}()
				if err != nil {
					once.Do(func() { failed = err })
					return
				}
			}
		})
	}
	wg.Wait()
	cpu := sampleCPU(0).sub(cpu0).clients
	if failed != nil {
		b.Fatal(failed)
	}
	return cpu / (float64(perWorker*len(data)*rawObjectSize) / 1e9)
}

// socketProcesses opens n loopback TCP connections, read as lowatConns,
// and starts, for each, the process peer returns, given the other end of
// the connection.
func socketProcesses(b *testing.B, n int, peer func(sock *os.File) *exec.Cmd) []net.Conn {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	conns := make([]net.Conn, n)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		conns[i] = newLowatConn(conns[i])
		in, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		f, err := in.(*net.TCPConn).File()
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		cmd := peer(f)
		err = cmd.Start()
		f.Close() // the process has its own copy
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Wait() })
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// relayFloor compares the gateway's CPU per GB with a relay's.
func relayFloor(b *testing.B, prefix string, gw, relay float64, relayName string) string {
	b.ReportMetric(gw/relay, prefix+"gw/relay-CPU")
	return fmt.Sprintf("gateway %.2f CPU-s per GB, %s %.2f: %.2f× the relay", gw, relayName, relay, gw/relay)
}
