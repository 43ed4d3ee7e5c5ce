package cli

import (
	"strings"
	"testing"
)

func TestConfigs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok(t, "", "topics", "--create", "--topic", "metrics", "--partitions", "1", "--replication-factor", "1")
	entity := []string{"--entity-type", "topics", "--entity-name", "metrics"}

	r := s.ok(t, "", "configs", append(entity, "--alter", "--add-config", "retention.ms=3600000,cleanup.policy=[compact,delete]")...)
	if r.stdout != "Completed updating config for topic metrics.\n" {
		t.Fatalf("alter printed %q", r.stdout)
	}
	want := "Dynamic configs for topic metrics are:\n" +
		"  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}\n" +
		"  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}\n"
	if r := s.ok(t, "", "configs", append(entity, "--describe")...); r.stdout != want {
		t.Fatalf("describe printed\n%s\nwant\n%s", r.stdout, want)
	}
	wantDescribe(t, s.ok(t, "", "topics", "--describe", "--topic", "metrics").stdout, "metrics", 1,
		"cleanup.policy=compact,delete,retention.ms=3600000")

	s.ok(t, "", "configs", append(entity, "--alter", "--delete-config", "cleanup.policy")...)
	r = s.ok(t, "", "configs", "--topic", "metrics", "--describe")
	if strings.Contains(r.stdout, "cleanup.policy") || !strings.Contains(r.stdout, "  retention.ms=3600000 ") {
		t.Fatalf("after --delete-config: %q", r.stdout)
	}

	r = s.ok(t, "", "configs", "--entity-type", "brokers", "--entity-name", "0", "--describe")
	if r.stdout != "Dynamic configs for broker 0 are:\n" {
		t.Fatalf("broker describe printed %q", r.stdout)
	}
	r = s.ok(t, "", "configs", "--entity-type", "brokers", "--entity-name", "0", "--describe", "--all")
	if !strings.HasPrefix(r.stdout, "All configs for broker 0 are:\n") ||
		!strings.Contains(r.stdout, "  auto.create.topics.enable=true sensitive=false synonyms={DEFAULT_CONFIG:") {
		t.Fatalf("broker describe --all printed %q", r.stdout)
	}
	// Broker settings Kafka cannot change at run time are refused
	// (dynamic ones: brokerconfig_test.go).
	wantFail(t, s.tool(t, "", "configs", "--entity-type", "brokers", "--entity-name", "0", "--alter",
		"--add-config", "offsets.topic.num.partitions=3"), 1, "Error: ")

	wantFail(t, s.tool(t, "", "configs", "--entity-type", "topics", "--entity-name", "ghost", "--describe"), 1,
		"Error: topic 'ghost' does not exist")
	wantFail(t, s.tool(t, "", "configs", "--entity-type", "bogus", "--entity-name", "x", "--describe"), 2,
		"unsupported --entity-type")
}
