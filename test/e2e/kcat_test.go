package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// kcat runs kcat with args and stdin, failing the test on error.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestKcat lists, produces with keys and consumes with kcat (librdkafka).
func TestKcat(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatalf("kcat is not installed (make setup installs it): %v", err)
	}
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		const topic = "kcat-topic"
		testenv.CreateTopics(t, c.Addr, 3, topic)

		list := kcat(t, "", "-b", c.Addr, "-L", "-t", topic)
		for _, want := range []string{"1 brokers:", "broker 0 at " + c.Addr, `topic "` + topic + `" with 3 partitions:`, "partition 2, leader 0"} {
			if !strings.Contains(list, want) {
				t.Errorf("kcat -L output lacks %q:\n%s", want, list)
			}
		}

		in := "alpha:one\nbeta:two\ngamma:three with spaces\n:no key\n"
		kcat(t, in, "-b", c.Addr, "-t", topic, "-p", "1", "-P", "-K:", "-X", "acks=all")
		out := kcat(t, "", "-b", c.Addr, "-t", topic, "-p", "1", "-C", "-o", "beginning", "-e",
			"-f", "%k=%s@%o\n")
		want := "alpha=one@0\nbeta=two@1\ngamma=three with spaces@2\n=no key@3\n"
		if out != want {
			t.Errorf("kcat -C printed\n%q\nwant\n%q", out, want)
		}
		// librdkafka's own codecs (snappy without xerial framing,
		// lz4 frames) pass validation and read back.
		for i, codec := range []string{"gzip", "snappy", "lz4", "zstd"} {
			in := ""
			for j := 0; j < 100; j++ {
				in += fmt.Sprintf("%s-%d:value %d compressed with %s\n", codec, j, j, codec)
			}
			part := fmt.Sprint(i%2 + 1)
			kcat(t, in, "-b", c.Addr, "-t", topic, "-p", part, "-P", "-K:", "-z", codec, "-X", "linger.ms=50")
			out := kcat(t, "", "-b", c.Addr, "-t", topic, "-p", part, "-C", "-o", "beginning", "-e", "-f", "%k:%s\n")
			if !strings.Contains(out, in) {
				t.Errorf("kcat -z %s: consumed\n%s", codec, testenv.Tail(out, 500))
			}
		}
		// Consuming every partition (balanced over all) ends, too.
		all := kcat(t, "", "-b", c.Addr, "-t", topic, "-C", "-o", "beginning", "-e", "-f", "%p:%k\n")
		perPart := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(all), "\n") {
			p, _, _ := strings.Cut(line, ":")
			perPart[p]++
		}
		if perPart["1"] != 4+200 || perPart["2"] != 200 || len(perPart) != 2 {
			t.Errorf("kcat -C over all partitions: records per partition %v, want 1:204 2:200", perPart)
		}
	})
}
