package cli

import (
	"fmt"
	"strings"
	"testing"
)

func TestProduceConsume(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok(t, "", "topics", "--create", "--topic", "events", "--partitions", "1", "--replication-factor", "1")

	r := s.ok(t, "user1:hello\nuser2:world\n", "console-producer", "--topic", "events",
		"--property", "parse.key=true", "--property", "key.separator=:", "--producer-property", "acks=all")
	if r.stdout != "" || r.stderr != "" {
		t.Fatalf("producer printed %v", r)
	}
	s.ok(t, "plain1\nplain2\n", "console-producer", "--topic", "events",
		"--producer-property", "acks=1", "--producer-property", "linger.ms=5")
	s.ok(t, "fire\n", "console-producer", "--topic", "events", "--producer-property", "acks=0")

	r = s.ok(t, "", "console-consumer", "--topic", "events", "--from-beginning",
		"--property", "print.key=true", "--timeout-ms", "3000")
	want := "user1\thello\nuser2\tworld\nnull\tplain1\nnull\tplain2\nnull\tfire\n"
	if r.stdout != want {
		t.Fatalf("consumer printed %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "Processed a total of 5 messages") {
		t.Fatalf("consumer stderr %q", r.stderr)
	}

	r = s.ok(t, "", "console-consumer", "--topic", "events", "--from-beginning", "--max-messages", "2",
		"--property", "print.key=true", "--property", "key.separator=|")
	if r.stdout != "user1|hello\nuser2|world\n" || !strings.Contains(r.stderr, "Processed a total of 2 messages") {
		t.Fatalf("consumer --max-messages 2: %v", r)
	}

	r = s.ok(t, "", "console-consumer", "--topic", "events", "--partition", "0", "--offset", "3",
		"--property", "print.offset=true", "--timeout-ms", "1500")
	if r.stdout != "Offset:3\tplain2\nOffset:4\tfire\n" {
		t.Fatalf("consumer --partition 0 --offset 3 printed %q", r.stdout)
	}
}

func TestProducerErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	wantFail(t, s.tool(t, "ok:1\nno separator\n", "console-producer", "--topic", "keyed",
		"--property", "parse.key=true", "--property", "key.separator=:"), 1,
		"No key separator found on line number 2: 'no separator'")
	wantFail(t, s.tool(t, "", "console-producer", "--topic", "keyed", "--producer-property", "acks=2"), 2,
		"acks must be all, -1, 1 or 0")
	wantFail(t, s.tool(t, "x\n", "console-producer"), 2, "missing required argument --topic")
	// The line before the bad one was produced (the topic was auto-created).
	r := s.ok(t, "", "console-consumer", "--topic", "keyed", "--from-beginning", "--timeout-ms", "2000")
	if r.stdout != "1\n" {
		t.Fatalf("consumer printed %q", r.stdout)
	}
}

// TestConsumerTimeout: an empty topic ends after --timeout-ms with a total of 0.
func TestConsumerTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok(t, "", "topics", "--create", "--topic", "quiet", "--partitions", "2", "--replication-factor", "1")
	r := s.ok(t, "", "console-consumer", "--topic", "quiet", "--timeout-ms", "500")
	if r.stdout != "" || !strings.Contains(r.stderr, "Processed a total of 0 messages") {
		t.Fatalf("consumer on an empty topic: %v", r)
	}
}

// produceN produces n records "v0".."v(n-1)" with keys "k0"…, spread
// over the topic's partitions by key.
func produceN(t *testing.T, s server, topic string, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d:v%d\n", i, i)
	}
	s.ok(t, b.String(), "console-producer", "--topic", topic, "--property", "parse.key=true", "--property", "key.separator=:")
}
