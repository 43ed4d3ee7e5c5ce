package groups

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// readCommitPy reads want records as group argv[2] with confluent_kafka
// (or as many as come within 15 idle seconds), prints "offset value" per
// record, commits synchronously and leaves the group.
const readCommitPy = `
import sys
from confluent_kafka import Consumer
bootstrap, group, topic, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": 3000, "heartbeat.interval.ms": 500})
c.subscribe([topic])
got = idle = 0
while got < want and idle < 15:
    m = c.poll(1.0)
    if m is None:
        idle += 1
        continue
    if m.error():
        print("ERR", m.error(), flush=True)
        continue
    got += 1
    print(m.offset(), m.value().decode(), flush=True)
if got:
    c.commit(asynchronous=False)
c.close()
`

// TestDeletedTopicForgetsOffsets: group g commits after reading 100
// records of t; t is deleted and created again with 150 new records. g
// must read all 150 from offset 0, as with Kafka, which deletes a topic's
// committed offsets with it; a stale commit at 100 would skip the first
// 100 new records.
func TestDeletedTopicForgetsOffsets(t *testing.T) {
	c := start(t)
	adm := admin(t, c.Addr)
	script := filepath.Join(t.TempDir(), "read_commit.py")
	if err := os.WriteFile(script, []byte(readCommitPy), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(want int) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/usr/bin/python3", script, c.Addr, "g", "t", strconv.Itoa(want))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python consumer: %v\n%s", err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}

	testenv.CreateTopics(t, c.Addr, 1, "t")
	produce(t, c.Addr, "t", 0, 100)
	if got := read(100); len(got) != 100 {
		t.Fatalf("first read got %d records, want 100", len(got))
	}
	ctx := context.Background()
	if o, err := adm.FetchOffsets(ctx, "g"); err != nil {
		t.Fatal(err)
	} else if at, _ := o.Lookup("t", 0); at.At != 100 {
		t.Fatalf("g committed %d after reading 100 records", at.At)
	}

	resp, err := adm.DeleteTopic(ctx, "t")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	testenv.CreateTopics(t, c.Addr, 1, "t")
	produce(t, c.Addr, "t", 1000, 150) // values 1000..1149
	got := read(150)
	if len(got) != 150 || got[0] != "0 1000" || got[149] != "149 1149" {
		t.Fatalf("after delete and re-create g read %d records, first %q, last %q; want 150 from \"0 1000\" to \"149 1149\"",
			len(got), got[0], got[len(got)-1])
	}
}
