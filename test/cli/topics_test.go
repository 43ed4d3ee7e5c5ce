package cli

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestTopics(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.ok(t, "", "topics", "--create", "--topic", "orders", "--partitions", "3", "--replication-factor", "1",
		"--config", "retention.ms=60000", "--config", "cleanup.policy=delete")
	if r.stdout != "Created topic orders.\n" {
		t.Fatalf("create printed %q", r.stdout)
	}
	s.ok(t, "", "topics", "--create", "--topic", "audit", "--partitions", "1", "--replication-factor", "1")
	if r := s.ok(t, "", "topics", "--list"); r.stdout != "audit\norders\n" {
		t.Fatalf("list printed %q", r.stdout)
	}
	wantDescribe(t, s.ok(t, "", "topics", "--describe", "--topic", "orders").stdout, "orders", 3,
		"cleanup.policy=delete,retention.ms=60000")

	s.ok(t, "", "topics", "--alter", "--topic", "orders", "--partitions", "5")
	wantDescribe(t, s.ok(t, "", "topics", "--describe", "--topic", "orders").stdout, "orders", 5,
		"cleanup.policy=delete,retention.ms=60000")
	wantFail(t, s.tool(t, "", "topics", "--alter", "--topic", "orders", "--partitions", "2"), 1,
		"Error while executing topic command : Topic currently has 5 partitions, which is higher than the requested 2.")

	wantFail(t, s.tool(t, "", "topics", "--create", "--topic", "orders", "--partitions", "1", "--replication-factor", "1"), 1,
		"Topic 'orders' already exists.")
	s.ok(t, "", "topics", "--create", "--if-not-exists", "--topic", "orders", "--partitions", "1", "--replication-factor", "1")

	if r := s.ok(t, "", "topics", "--delete", "--topic", "audit"); r.stdout != "Deleted topic audit.\n" {
		t.Fatalf("delete printed %q", r.stdout)
	}
	if r := s.ok(t, "", "topics", "--list"); r.stdout != "orders\n" {
		t.Fatalf("list after delete printed %q", r.stdout)
	}
	all := s.ok(t, "", "topics", "--describe").stdout
	if !strings.HasPrefix(all, "Topic: orders\t") {
		t.Fatalf("describe of all topics printed %q", all)
	}
}

func TestTopicsUnknown(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, action := range [][]string{
		{"--describe", "--topic", "ghost"},
		{"--delete", "--topic", "ghost"},
		{"--alter", "--topic", "ghost", "--partitions", "4"},
	} {
		wantFail(t, s.tool(t, "", "topics", action...), 1,
			"Error while executing topic command : Topic 'ghost' does not exist as expected")
		if r := s.ok(t, "", "topics", append(action, "--if-exists")...); r.stdout != "" {
			t.Fatalf("%v --if-exists printed %q", action, r.stdout)
		}
	}
}

var topicLine = regexp.MustCompile(`^Topic: (\S+)\tTopicId: ([A-Za-z0-9_-]{22})\tPartitionCount: (\d+)\tReplicationFactor: 1\tConfigs: (.*)$`)

// wantDescribe checks kafka-topics --describe output for one topic.
func wantDescribe(t *testing.T, out, topic string, partitions int, configs string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	m := topicLine.FindStringSubmatch(lines[0])
	if m == nil || m[1] != topic || m[3] != strconv.Itoa(partitions) || m[4] != configs {
		t.Fatalf("describe header: want topic %s, %d partitions, configs %q; got\n%s", topic, partitions, configs, out)
	}
	if len(lines) != partitions+1 {
		t.Fatalf("describe: want %d partition lines, got\n%s", partitions, out)
	}
	for p, line := range lines[1:] {
		want := regexp.MustCompile(`^\tTopic: ` + topic + `\tPartition: ` + strconv.Itoa(p) + `\tLeader: (\d+)\tReplicas: (\d+)\tIsr: (\d+)$`)
		if sub := want.FindStringSubmatch(line); sub == nil || sub[1] != sub[2] || sub[2] != sub[3] {
			t.Fatalf("describe partition line %d: %q", p, line)
		}
	}
}
