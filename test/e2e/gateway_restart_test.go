package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// watermarksPy prints "W partition low high" for each partition of a topic
// as confluent_kafka's get_watermark_offsets answers, or "E partition
// error".
const watermarksPy = `
import sys
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
for p in range(partitions):
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
        print("W %d %d %d" % (p, lo, hi), flush=True)
    except Exception as e:
        print("E %d %s" % (p, e), flush=True)
c.close()
`

// TestKilledGatewayRestartsAlone SIGKILLs a gateway and restarts it on the
// same address while its old registration is still live (the heartbeat
// timeout is 9 s). The new registration takes the address over, so
// Metadata lists one broker there, leading every partition, and
// librdkafka's get_watermark_offsets answers at once. With --node-id-file
// the restarted gateway keeps its node id.
func TestKilledGatewayRestartsAlone(t *testing.T) {
	const topic, partitions, perPartition = "restart", 4, 10
	script := filepath.Join(t.TempDir(), "watermarks.py")
	if err := os.WriteFile(script, []byte(watermarksPy), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, backend := range testenv.Backends {
		for _, keepID := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/node-id-file=%v", backend, keepID), func(t *testing.T) {
				t.Parallel()
				bucketURL, metadataURL := testenv.StoreURLs(t, backend)
				flags := []string{"--flush-interval", "20ms"}
				if keepID {
					flags = append(flags, "--node-id-file", filepath.Join(t.TempDir(), "node.id"))
				}
				p := testenv.StartProcess(t, bucketURL, metadataURL, flags...)
				testenv.CreateTopics(t, p.Addr, partitions, topic)
				ctx := testCtx(t, 2*time.Minute)
				pr := newClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
				var rs []*kgo.Record
				for i := range partitions * perPartition {
					rs = append(rs, kgo.StringRecord(fmt.Sprint(i)))
				}
				if err := pr.ProduceSync(ctx, rs...).FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
				before, err := metadataFrom(ctx, p.Addr)
				if err != nil {
					t.Fatal(err)
				}

				p.Kill()
				p.Start(t)

				m, err := metadataFrom(ctx, p.Addr, topic)
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Brokers) != 1 || addrOf(m.Brokers[0]) != p.Addr {
					t.Errorf("after the restart Metadata lists brokers %+v, want one at %s", m.Brokers, p.Addr)
				} else {
					id := m.Brokers[0].NodeID
					if keepID && id != before.Brokers[0].NodeID {
						t.Errorf("restarted as node %d, was %d before", id, before.Brokers[0].NodeID)
					}
					for _, tp := range m.Topics {
						for _, part := range tp.Partitions {
							if part.Leader != id {
								t.Errorf("partition %d is led by node %d, not the live gateway %d", part.Partition, part.Leader, id)
							}
						}
					}
				}

				cmd := exec.CommandContext(ctx, "/usr/bin/python3", script, p.Addr, topic, fmt.Sprint(partitions))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("python: %v\n%s", err, out)
				}
				var want []string
				for part := range partitions {
					want = append(want, fmt.Sprintf("W %d 0 %d", part, perPartition))
				}
				if got := strings.TrimSpace(string(out)); got != strings.Join(want, "\n") {
					t.Errorf("get_watermark_offsets after the restart:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
				}
			})
		}
	}
}
