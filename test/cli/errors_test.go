package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caudal/caudal/test/testenv"
)

// TestCannotConnect: every tool names the address it could not reach.
func TestCannotConnect(t *testing.T) {
	t.Parallel()
	s := server{bin: testenv.CaudalBinary(t), bootstrap: testenv.FreeAddr(t)}
	for _, args := range [][]string{
		{"topics", "--list"},
		{"console-producer", "--topic", "x"},
		{"console-consumer", "--topic", "x"},
		{"consumer-groups", "--list"},
		{"configs", "--entity-type", "topics", "--entity-name", "x", "--describe"},
		{"acls", "--list"},
	} {
		r := s.tool(t, "line\n", args[0], args[1:]...)
		wantFail(t, r, 1, "could not connect to bootstrap server "+s.bootstrap+": ")
		if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 {
			t.Fatalf("%v: error is not one line: %q", args, r.stderr)
		}
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	bin := testenv.CaudalBinary(t)
	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"topics", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"topics", "--create", "--list"}, "exactly one of"},
		{[]string{"topics", "--create"}, "missing required argument --topic"},
		{[]string{"topics", "--partitions", "many", "--list"}, "invalid value \"many\""},
		{[]string{"console-consumer"}, "missing required argument --topic"},
		{[]string{"consumer-groups", "--describe"}, "missing required argument --group"},
		{[]string{"configs", "--describe"}, "missing required argument --entity-type"},
		{[]string{"acls", "--topic", "t"}, "Command must include exactly one action: --list, --add, --remove."},
		{[]string{"acls", "--list", "--producer"}, `Option "--list" can't be used with option "--producer"`},
	} {
		r := runBin(t, bin, "", c.args...)
		wantFail(t, r, 2, c.stderr)
		if !strings.Contains(r.stderr, "usage: caudal "+c.args[0]) {
			t.Fatalf("%v: no usage in %q", c.args, r.stderr)
		}
	}
	if r := runBin(t, bin, "", "topics", "--help"); r.code != 0 || !strings.Contains(r.stderr, "--bootstrap-server") &&
		!strings.Contains(r.stderr, "-bootstrap-server") {
		t.Fatalf("topics --help: %v", r)
	}
}

// TestKafkaNames: a symlink with a Kafka tool's name makes the binary that tool.
func TestKafkaNames(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	link := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(s.bin, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	topics, producer, consumer := link("kafka-topics.sh"), link("kafka-console-producer"), link("kafka-console-consumer.sh")
	groups, configs := link("kafka-consumer-groups"), link("kafka-configs.sh")
	b := []string{"--bootstrap-server", s.bootstrap}

	if r := runBin(t, topics, "", append(b, "--create", "--topic", "legacy", "--partitions", "1", "--replication-factor", "1")...); r.code != 0 || r.stdout != "Created topic legacy.\n" {
		t.Fatalf("kafka-topics.sh --create: %v", r)
	}
	if r := runBin(t, producer, "hi\n", append(b, "--topic", "legacy")...); r.code != 0 {
		t.Fatalf("kafka-console-producer: %v", r)
	}
	r := runBin(t, consumer, "", append(b, "--topic", "legacy", "--from-beginning", "--group", "old", "--max-messages", "1")...)
	if r.code != 0 || r.stdout != "hi\n" {
		t.Fatalf("kafka-console-consumer.sh: %v", r)
	}
	if r := runBin(t, groups, "", append(b, "--list")...); r.code != 0 || r.stdout != "old\n" {
		t.Fatalf("kafka-consumer-groups --list: %v", r)
	}
	if r := runBin(t, configs, "", append(b, "--entity-type", "topics", "--entity-name", "legacy", "--describe")...); r.code != 0 ||
		r.stdout != "Dynamic configs for topic legacy are:\n" {
		t.Fatalf("kafka-configs.sh --describe: %v", r)
	}
	r = runBin(t, topics, "", "--bogus")
	wantFail(t, r, 2, "usage: kafka-topics.sh")
}
