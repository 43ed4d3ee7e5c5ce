package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// pythonScript produces with an idempotent confluent_kafka Producer, prints
// each delivery report, then reads everything back with a Consumer that
// assigns the partitions explicitly from the beginning.
const pythonScript = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING

bootstrap, topic, partitions, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

p = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "retries": 5,
    "linger.ms": 10,
    "batch.size": 32768,
    "enable.idempotence": True,
})

def report(err, msg):
    if err is not None:
        print("E %s %s" % (msg.value().decode(), err), flush=True)
    else:
        print("D %d %d %s" % (msg.partition(), msg.offset(), msg.value().decode()), flush=True)

for i in range(n):
    p.produce(topic, key=("key-%d" % i).encode(), value=("value-%d" % i).encode(), callback=report)
    p.poll(0)
left = p.flush(60)
print("FLUSHED %d" % left, flush=True)

c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "e2e-python",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in range(partitions)])
got = 0
idle = 0
while got < n and idle < 30:
    msgs = c.consume(num_messages=1000, timeout=1.0)
    if not msgs:
        idle += 1
    for m in msgs:
        if m.error():
            print("CE %s" % m.error(), flush=True)
            continue
        got += 1
        print("C %d %d %s %s" % (m.partition(), m.offset(), m.key().decode(), m.value().decode()))
c.close()
print("CONSUMED %d" % got, flush=True)
`

// TestPythonConfluentKafka runs confluent_kafka (librdkafka 2.0.2) from
// Debian's /usr/bin/python3.
func TestPythonConfluentKafka(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing (make setup installs python3-confluent-kafka): %v", python, err)
	}
	script := filepath.Join(t.TempDir(), "roundtrip.py")
	if err := os.WriteFile(script, []byte(pythonScript), 0o644); err != nil {
		t.Fatal(err)
	}
	const topic, partitions, n = "python-topic", 3, 5000
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		testenv.CreateTopics(t, c.Addr, partitions, topic)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, python, script, c.Addr, topic, fmt.Sprint(partitions), fmt.Sprint(n))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v\nstderr: %s\nstdout tail: %s", err, testenv.Tail(stderr.String(), 3000), testenv.Tail(string(out), 2000))
		}
		delivered := map[string]string{} // "partition offset" -> value
		consumed := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 0:
			case f[0] == "E" || f[0] == "CE":
				t.Errorf("python: %s", line)
			case f[0] == "D" && len(f) == 4:
				pos := f[1] + " " + f[2]
				if v, dup := delivered[pos]; dup {
					t.Errorf("offset %s reported for %s and %s", pos, v, f[3])
				}
				if f[2] == "-1" {
					t.Errorf("delivery report without an offset: %s", line)
				}
				delivered[pos] = f[3]
			case f[0] == "C" && len(f) == 5:
				consumed[f[1]+" "+f[2]] = f[4]
				if strings.TrimPrefix(f[3], "key-") != strings.TrimPrefix(f[4], "value-") {
					t.Errorf("key and value disagree: %s", line)
				}
			case f[0] == "FLUSHED" && f[1] != "0":
				t.Errorf("producer flush left %s messages", f[1])
			}
		}
		if len(delivered) != n {
			t.Errorf("%d delivery reports with distinct offsets, want %d", len(delivered), n)
		}
		if len(consumed) != n {
			t.Errorf("consumed %d records, want %d", len(consumed), n)
		}
		for pos, v := range delivered {
			if consumed[pos] != v {
				t.Errorf("at %s: delivered %s, consumed %q", pos, v, consumed[pos])
				break
			}
		}
		if t.Failed() {
			t.Logf("stderr: %s", testenv.Tail(stderr.String(), 3000))
		}
	})
}
