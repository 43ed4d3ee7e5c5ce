package cli

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// groupRow is one row of consumer-groups --describe.
type groupRow struct {
	topic, partition, current, end, lag, consumer, host, client string
}

func atoi(s string) int { v, _ := strconv.Atoi(s); return v }

// describeGroup runs consumer-groups --describe and parses its table.
func describeGroup(t *testing.T, s server, group string) []groupRow {
	t.Helper()
	out := s.ok(t, "", "consumer-groups", "--describe", "--group", group).stdout
	rows, ok := parseGroupTable(out, group)
	if !ok {
		t.Fatalf("describe printed no GROUP … CLIENT-ID header:\n%s", out)
	}
	return rows
}

func parseGroupTable(out, group string) ([]groupRow, bool) {
	var rows []groupRow
	header := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 9 && f[0] == "GROUP":
			header = f[3] == "CURRENT-OFFSET" && f[4] == "LOG-END-OFFSET" && f[5] == "LAG" && f[8] == "CLIENT-ID"
		case len(f) == 9 && f[0] == group:
			rows = append(rows, groupRow{f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]})
		}
	}
	return rows, header
}

// sums adds up the numeric CURRENT-OFFSET, LOG-END-OFFSET and LAG cells.
func sums(rows []groupRow) (current, end, lag int) {
	for _, r := range rows {
		current, end, lag = current+atoi(r.current), end+atoi(r.end), lag+atoi(r.lag)
	}
	return
}

func TestConsumerGroups(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok(t, "", "topics", "--create", "--topic", "jobs", "--partitions", "2", "--replication-factor", "1")
	produceN(t, s, "jobs", 10)

	r := s.ok(t, "", "console-consumer", "--topic", "jobs", "--group", "workers", "--from-beginning", "--max-messages", "4")
	if got := strings.Count(r.stdout, "\n"); got != 4 {
		t.Fatalf("consumer printed %d lines: %v", got, r)
	}
	if r := s.ok(t, "", "consumer-groups", "--list"); r.stdout != "workers\n" {
		t.Fatalf("list printed %q", r.stdout)
	}
	rows := describeGroup(t, s, "workers")
	if c, e, _ := sums(rows); c != 4 || e != 10 || len(rows) != 2 {
		t.Fatalf("describe: current %d, log end %d in %d rows; want 4, 10 in 2", c, e, len(rows))
	}
	for _, r := range rows {
		// As Kafka: no commit on a partition shows "-" for its offset and lag.
		if r.current == "-" && r.lag != "-" || r.current != "-" && atoi(r.lag) != atoi(r.end)-atoi(r.current) {
			t.Fatalf("describe row %+v", r)
		}
	}

	// The group continues where it left off; --from-beginning only applies
	// to the partition without a commit.
	r = s.ok(t, "", "console-consumer", "--topic", "jobs", "--group", "workers", "--from-beginning", "--timeout-ms", "2000")
	if got := strings.Count(r.stdout, "\n"); got != 6 || !strings.Contains(r.stderr, "Processed a total of 6 messages") {
		t.Fatalf("second consumer: %v", r)
	}
	if c, _, l := sums(describeGroup(t, s, "workers")); c != 10 || l != 0 {
		t.Fatalf("after catching up: current %d, lag %d", c, l)
	}
	wantFail(t, s.tool(t, "", "consumer-groups", "--describe", "--group", "nobody"), 1,
		"Consumer group 'nobody' does not exist.")
}

func TestConsumerGroupsActiveMember(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok(t, "", "topics", "--create", "--topic", "live", "--partitions", "2", "--replication-factor", "1")
	produceN(t, s, "live", 6)

	cmd := exec.Command(s.bin, "console-consumer", "--bootstrap-server", s.bootstrap,
		"--topic", "live", "--group", "tail", "--from-beginning")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var rows []groupRow
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rows, _ = parseGroupTable(s.tool(t, "", "consumer-groups", "--describe", "--group", "tail").stdout, "tail")
		if c, _, _ := sums(rows); c == 6 && len(rows) == 2 && rows[0].consumer != "-" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group never showed the member with all 6 committed: %+v\nconsumer stderr: %s", rows, stderr.String())
		}
	}
	if rows[0].client != "console-consumer" || rows[0].host == "-" {
		t.Fatalf("member columns: %+v", rows[0])
	}
	wantFail(t, s.tool(t, "", "consumer-groups", "--reset-offsets", "--group", "tail", "--topic", "live", "--to-earliest", "--execute"), 1,
		"Assignments can only be reset if the group 'tail' is inactive")

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("consumer on SIGTERM: %v\n%s", err, stderr.String())
	}
	if stdout.Len() == 0 || !strings.Contains(stderr.String(), "Processed a total of 6 messages") {
		t.Fatalf("consumer printed %q / %q", stdout.String(), stderr.String())
	}
}

func TestResetOffsetsAndDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok(t, "", "topics", "--create", "--topic", "ledger", "--partitions", "2", "--replication-factor", "1")
	produceN(t, s, "ledger", 8)
	s.ok(t, "", "console-consumer", "--topic", "ledger", "--group", "audit", "--from-beginning", "--timeout-ms", "2000")

	// Without --execute it is a dry run: offsets are printed, not committed.
	r := s.ok(t, "", "consumer-groups", "--reset-offsets", "--group", "audit", "--topic", "ledger", "--to-earliest")
	wantResetTable(t, r.stdout, "audit", "ledger", map[string]string{"0": "0", "1": "0"})
	if !strings.Contains(r.stderr, "--execute") {
		t.Fatalf("dry run without --dry-run should warn: %q", r.stderr)
	}
	if c, _, l := sums(describeGroup(t, s, "audit")); c != 8 || l != 0 {
		t.Fatalf("after dry run: current %d, lag %d", c, l)
	}

	r = s.ok(t, "", "consumer-groups", "--reset-offsets", "--group", "audit", "--topic", "ledger", "--to-earliest", "--execute")
	wantResetTable(t, r.stdout, "audit", "ledger", map[string]string{"0": "0", "1": "0"})
	if c, _, l := sums(describeGroup(t, s, "audit")); c != 0 || l != 8 {
		t.Fatalf("after --to-earliest: current %d, lag %d", c, l)
	}

	r = s.ok(t, "", "consumer-groups", "--reset-offsets", "--group", "audit", "--all-topics", "--to-offset", "1", "--execute")
	wantResetTable(t, r.stdout, "audit", "ledger", map[string]string{"0": "1", "1": "1"})
	r = s.ok(t, "", "consumer-groups", "--reset-offsets", "--group", "audit", "--topic", "ledger:0", "--to-latest", "--dry-run")
	if rows := strings.Count(r.stdout, "audit"); rows != 1 || r.stderr != "" {
		t.Fatalf("reset of one partition: %v", r)
	}
	r = s.ok(t, "", "console-consumer", "--topic", "ledger", "--group", "audit", "--timeout-ms", "2000")
	if !strings.Contains(r.stderr, "Processed a total of 6 messages") {
		t.Fatalf("after --to-offset 1 the group should re-read 6 records: %v", r)
	}

	wantFail(t, s.tool(t, "", "consumer-groups", "--reset-offsets", "--group", "audit", "--topic", "ledger"), 2,
		"exactly one of")
	r = s.ok(t, "", "consumer-groups", "--delete", "--group", "audit")
	if r.stdout != "Deletion of requested consumer groups ('audit') was successful.\n" {
		t.Fatalf("delete printed %q", r.stdout)
	}
	if r := s.ok(t, "", "consumer-groups", "--list"); r.stdout != "" {
		t.Fatalf("list after delete printed %q", r.stdout)
	}
}

// wantResetTable checks the GROUP TOPIC PARTITION NEW-OFFSET table.
func wantResetTable(t *testing.T, out, group, topic string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	header := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		if f[0] == "GROUP" {
			header = f[1] == "TOPIC" && f[2] == "PARTITION" && f[3] == "NEW-OFFSET"
		} else if f[0] == group && f[1] == topic {
			got[f[2]] = f[3]
		}
	}
	if !header || len(got) != len(want) {
		t.Fatalf("reset table: want %v, got\n%s", want, out)
	}
	for p, off := range want {
		if got[p] != off {
			t.Fatalf("reset table: partition %s at %s, want %s\n%s", p, got[p], off, out)
		}
	}
}
