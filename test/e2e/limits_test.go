package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// rssBytes is a process's resident set size.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// produceOne produces a record with a fresh client, failing t if it cannot.
func produceOne(t *testing.T, addr, topic string) {
	t.Helper()
	cl := newClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("still here")}).FirstErr(); err != nil {
		t.Fatalf("a normal producer fails: %v", err)
	}
}

// heapInUse is the gateway's go_memstats_heap_inuse_bytes: untouched
// pages of a buffer allocated at a claimed size do not show in RSS here,
// but they are in the heap, and on hosts that back the heap eagerly in RSS
// too (3 GiB after one round in the report).
func heapInUse(t *testing.T, httpAddr string) int64 {
	t.Helper()
	return int64(metricValue(t, httpAddr, "go_memstats_heap_inuse_bytes"))
}

// metricValue is one series of the gateway's /metrics behind httpAddr,
// named as exposed (name{labels}).
func metricValue(t *testing.T, httpAddr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", series)
	return 0
}

// Three rounds of fifty connections that each send only a frame header
// claiming 100 MiB: before, each header allocated its claimed size, 15 GiB
// of heap in all. The gateway's heap and RSS must now grow by under
// 150 MiB, while a producer on another connection goes on.
func TestClaimedSizesCostNoMemory(t *testing.T) {
	httpAddr := testenv.FreeAddr(t)
	p := testenv.StartDev(t, "--http-listen", httpAddr)
	produceOne(t, p.Addr, "claims")
	before, heapBefore := rssBytes(t, p.Pid()), heapInUse(t, httpAddr)
	for round := range 3 {
		for range 50 {
			nc, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, 100<<20)); err != nil {
				t.Fatal(err)
			}
		}
		produceOne(t, p.Addr, "claims")
		t.Logf("round %d: RSS %d MiB, heap in use %d MiB", round, rssBytes(t, p.Pid())>>20, heapInUse(t, httpAddr)>>20)
	}
	if grew := rssBytes(t, p.Pid()) - before; grew > 150<<20 {
		t.Errorf("RSS grew by %d MiB, want under 150", grew>>20)
	}
	if grew := heapInUse(t, httpAddr) - heapBefore; grew > 150<<20 {
		t.Errorf("heap in use grew by %d MiB, want under 150", grew>>20)
	}
}

// Under a limit of 256 file descriptors, 300 connections are more than the
// gateway may take: it refuses the excess and goes on. Before, Serve
// returned "accept4: too many open files" and caudal exited.
func TestDescriptorLimitDoesNotStopTheGateway(t *testing.T) {
	p, _ := testenv.StartDevUnder(t, []string{"prlimit", "--nofile=256:256"}, nil)
	produceOne(t, p.Addr, "fds")
	var conns []net.Conn
	for range 300 {
		nc, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, nc)
	}
	time.Sleep(500 * time.Millisecond)
	if err := syscall.Kill(p.Pid(), 0); err != nil {
		t.Fatalf("caudal is gone with 300 connections open: %v\n%s", err, testenv.Tail(p.Log(), 2000))
	}
	for _, nc := range conns {
		nc.Close()
	}
	produceOne(t, p.Addr, "fds")
	if strings.Contains(p.Log(), "too many open files") && !strings.Contains(p.Log(), "accepting kafka connections paused") {
		t.Errorf("descriptor exhaustion was not handled:\n%s", testenv.Tail(p.Log(), 2000))
	}
}
