package cli

import (
	"strings"
	"testing"
)

// kafka-configs --entity-type brokers, at --entity-default and on one
// broker id, with Kafka's ConfigCommand output.
func TestBrokerConfigs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	def := []string{"--entity-type", "brokers", "--entity-default"}
	broker0 := []string{"--entity-type", "brokers", "--entity-name", "0"}

	r := s.ok(t, "", "configs", append(def, "--alter", "--add-config", "log.retention.ms=3600000,log.cleanup.policy=[compact,delete]")...)
	if r.stdout != "Completed updating default config for brokers in the cluster.\n" {
		t.Fatalf("alter --entity-default printed %q", r.stdout)
	}
	r = s.ok(t, "", "configs", append(broker0, "--alter", "--add-config", "num.partitions=3")...)
	if r.stdout != "Completed updating config for broker 0.\n" {
		t.Fatalf("alter broker 0 printed %q", r.stdout)
	}
	want := "Default configs for brokers in the cluster are:\n" +
		"  log.cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleanup.policy=compact,delete}\n" +
		"  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000}\n"
	if r := s.ok(t, "", "configs", append(def, "--describe")...); r.stdout != want {
		t.Fatalf("describe --entity-default printed\n%s\nwant\n%s", r.stdout, want)
	}
	// A broker's describe lists what is set on it; --all everything,
	// with the sources.
	want0 := "Dynamic configs for broker 0 are:\n" +
		"  num.partitions=3 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:num.partitions=3, DEFAULT_CONFIG:num.partitions=1}\n"
	if r := s.ok(t, "", "configs", append(broker0, "--describe")...); r.stdout != want0 {
		t.Fatalf("describe broker 0 printed\n%s\nwant\n%s", r.stdout, want0)
	}
	r = s.ok(t, "", "configs", append(broker0, "--describe", "--all")...)
	for _, line := range []string{
		"All configs for broker 0 are:\n",
		"  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}\n",
		"  auto.create.topics.enable=true sensitive=false synonyms={DEFAULT_CONFIG:auto.create.topics.enable=true}\n",
	} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("describe --all lacks %q:\n%s", line, r.stdout)
		}
	}
	// Without a name: every broker, then the default.
	r = s.ok(t, "", "configs", "--entity-type", "brokers", "--describe")
	if r.stdout != want0+want {
		t.Fatalf("describe of all brokers printed\n%s\nwant\n%s", r.stdout, want0+want)
	}

	// A topic's retention falls back to the new default.
	s.ok(t, "", "topics", "--create", "--topic", "defaulted", "--partitions", "1", "--replication-factor", "1")
	r = s.ok(t, "", "configs", "--entity-type", "topics", "--entity-name", "defaulted", "--describe", "--all")
	if !strings.Contains(r.stdout, "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}\n") {
		t.Errorf("topic describe --all:\n%s", r.stdout)
	}

	s.ok(t, "", "configs", append(def, "--alter", "--delete-config", "log.cleanup.policy")...)
	r = s.ok(t, "", "configs", append(def, "--describe")...)
	if strings.Contains(r.stdout, "log.cleanup.policy") || !strings.Contains(r.stdout, "  log.retention.ms=3600000 ") {
		t.Fatalf("after --delete-config: %q", r.stdout)
	}

	// Kafka's refusals.
	wantFail(t, s.tool(t, "", "configs", append(def, "--alter", "--delete-config", "num.partitions")...), 1,
		"Error: Invalid config(s): num.partitions")
	wantFail(t, s.tool(t, "", "configs", append(def, "--alter", "--add-config", "offsets.topic.num.partitions=3")...), 1,
		"Cannot update these configs dynamically: Set(offsets.topic.num.partitions)")
	wantFail(t, s.tool(t, "", "configs", append(def, "--alter", "--add-config", "log.retention.days=3")...), 1,
		"Unknown config name: log.retention.days")
	wantFail(t, s.tool(t, "", "configs", append(broker0, "--alter", "--add-config", "num.partitions=many")...), 1,
		"Invalid value many for configuration num.partitions")
}
