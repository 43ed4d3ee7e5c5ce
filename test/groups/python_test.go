package groups

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// consumerPy consumes with confluent_kafka, committing synchronously
// after each message, and prints "partition offset value" per message.
const consumerPy = `
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": 3000, "heartbeat.interval.ms": 500})
c.subscribe([sys.argv[3]])
while True:
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    print(m.partition(), m.offset(), m.value().decode(), flush=True)
    c.commit(message=m, asynchronous=False)
`

// TestPythonConsumerResumesAfterKill kills a confluent_kafka consumer
// mid-way; the next one in the group resumes right after the last commit.
func TestPythonConsumerResumesAfterKill(t *testing.T) {
	c := start(t)
	adm := admin(t, c.Addr)
	testenv.CreateTopics(t, c.Addr, 1, "py")
	produce(t, c.Addr, "py", 0, 200)
	script := filepath.Join(t.TempDir(), "consumer.py")
	if err := os.WriteFile(script, []byte(consumerPy), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(stopAfter int) []int64 {
		cmd := exec.Command("/usr/bin/python3", script, c.Addr, "py-group", "py")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Wait()
		var offsets []int64
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		timeout := time.After(60 * time.Second)
		for len(offsets) < stopAfter {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("consumer exited after %d messages", len(offsets))
				}
				f := strings.Fields(l)
				off, _ := strconv.ParseInt(f[1], 10, 64)
				offsets = append(offsets, off)
			case <-timeout:
				t.Fatalf("consumer read only %d messages", len(offsets))
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		go func() {
			for range lines {
			}
		}()
		return offsets
	}
	first := run(80)
	ctx := context.Background()
	offs, err := adm.FetchOffsets(ctx, "py-group")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := offs.Lookup("py", 0)
	committed := o.At
	if committed < 1 || committed > first[len(first)-1]+1 {
		t.Fatalf("committed %d after consuming up to %d", committed, first[len(first)-1])
	}
	second := run(int(200 - committed))
	if second[0] != committed {
		t.Fatalf("second consumer started at %d, last commit was %d", second[0], committed)
	}
	for i, off := range second {
		if off != committed+int64(i) {
			t.Fatalf("gap or duplicate: message %d has offset %d", i, off)
		}
	}
	t.Logf("first consumer read %d, committed %d; second resumed at %d", len(first), committed, second[0])
}
