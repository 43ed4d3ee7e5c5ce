package groups

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// TestKcatBalancedConsumerAndLag consumes part of a topic with kcat's
// balanced consumer (-G, librdkafka's classic group protocol with auto
// commit), then checks that kadm's committed offsets and lag listing agree
// with what kcat printed.
func TestKcatBalancedConsumerAndLag(t *testing.T) {
	t.Parallel()
	c := start(t)
	adm := admin(t, c.Addr)
	const topic, group, total, read = "kc", "kcat-group", 400, 250
	testenv.CreateTopics(t, c.Addr, 4, topic)
	produce(t, c.Addr, topic, 0, total)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", "-b", c.Addr, "-G", group, topic,
		"-X", "auto.offset.reset=earliest", "-X", "enable.auto.commit=true", "-X", "auto.commit.interval.ms=100",
		"-c", strconv.Itoa(read), "-f", "%p %o\n", "-q").Output()
	if err != nil {
		t.Fatalf("kcat -G: %v\n%s", err, out)
	}
	// What kcat printed: per partition, the offset after the last record.
	printed := map[int32]int64{}
	lines := strings.Fields(strings.ReplaceAll(string(out), "\n", " "))
	if len(lines) != 2*read {
		t.Fatalf("kcat printed %d fields, want %d records:\n%s", len(lines), read, out)
	}
	for i := 0; i < len(lines); i += 2 {
		p, _ := strconv.Atoi(lines[i])
		o, _ := strconv.ParseInt(lines[i+1], 10, 64)
		printed[int32(p)] = max(printed[int32(p)], o+1)
	}

	lags, err := adm.Lag(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	gl, ok := lags[group]
	if !ok || gl.Error() != nil {
		t.Fatalf("lag of %s: %v %v", group, ok, gl.Error())
	}
	var committed, lag int64
	for _, l := range gl.Lag.Sorted() {
		if l.Topic != topic {
			continue
		}
		at := max(l.Commit.At, 0) // -1: nothing committed, nothing printed
		if want := printed[l.Partition]; at != want {
			t.Errorf("partition %d: committed %d, kcat printed up to %d", l.Partition, l.Commit.At, want)
		}
		if l.Lag != l.End.Offset-at {
			t.Errorf("partition %d: lag %d is not end %d - committed %d", l.Partition, l.Lag, l.End.Offset, at)
		}
		committed += at
		lag += l.Lag
	}
	if committed != read || lag != total-read {
		t.Errorf("committed %d and lag %d, want %d and %d", committed, lag, read, total-read)
	}
}
