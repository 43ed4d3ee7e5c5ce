package cli

import (
	"strings"
	"testing"
)

// TestConfigsQuotas: kafka-configs sets, describes and deletes quotas of
// users, clients, a user's clients, ips and their defaults in Kafka's
// words, beside a user's SCRAM credentials, and refuses what Kafka's tool
// refuses.
func TestConfigsQuotas(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	user := []string{"--entity-type", "users", "--entity-name", "alice"}
	r := s.ok(t, "", "configs", append(user, "--alter", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=20000000")...)
	if r.stdout != "Completed updating config for user alice.\n" {
		t.Fatalf("alter printed %q", r.stdout)
	}
	s.ok(t, "", "configs", append(user, "--alter", "--add-config", "SCRAM-SHA-256=[iterations=4096,password=pw-alice]")...)
	r = s.ok(t, "", "configs", "--entity-type", "users", "--entity-default", "--alter", "--add-config", "request_percentage=12.5")
	if r.stdout != "Completed updating default config for users in the cluster.\n" {
		t.Fatalf("default alter printed %q", r.stdout)
	}
	s.ok(t, "", "configs", "--entity-type", "clients", "--entity-name", "reports", "--alter", "--add-config", "consumer_byte_rate=[4096]")
	s.ok(t, "", "configs", "--entity-type", "ips", "--entity-name", "10.0.0.7", "--alter", "--add-config", "connection_creation_rate=20")

	want := "Quota configs for user-principal 'alice' are consumer_byte_rate=2.0E7, producer_byte_rate=1048576.0\n" +
		"SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=4096\n"
	if r := s.ok(t, "", "configs", append(user, "--describe")...); r.stdout != want {
		t.Fatalf("describe alice printed\n%s\nwant\n%s", r.stdout, want)
	}
	if r := s.ok(t, "", "configs", "--entity-type", "users", "--entity-default", "--describe"); r.stdout != "Quota configs for the default user-principal are request_percentage=12.5\n" {
		t.Fatalf("describe the default user printed %q", r.stdout)
	}
	if r := s.ok(t, "", "configs", "--entity-type", "clients", "--describe"); r.stdout != "Quota configs for client-id 'reports' are consumer_byte_rate=4096.0\n" {
		t.Fatalf("describe clients printed %q", r.stdout)
	}
	if r := s.ok(t, "", "configs", "--entity-type", "ips", "--describe"); r.stdout != "Quota configs for ip '10.0.0.7' are connection_creation_rate=20.0\n" {
		t.Fatalf("describe ips printed %q", r.stdout)
	}

	s.ok(t, "", "configs", append(user, "--alter", "--delete-config", "consumer_byte_rate")...)
	if r := s.ok(t, "", "configs", append(user, "--describe")...); !strings.HasPrefix(r.stdout, "Quota configs for user-principal 'alice' are producer_byte_rate=1048576.0\n") {
		t.Fatalf("after --delete-config: %q", r.stdout)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(user, "--alter", "--delete-config", "consumer_byte_rate"), "Error: Invalid config(s): consumer_byte_rate"},
		{append(user, "--alter", "--add-config", "bogus_rate=5"), "Unexpected config names: bogus_rate"},
		{append(user, "--alter", "--add-config", "producer_byte_rate=-5"), "Quota producer_byte_rate must be greater than 0"},
		{append(user, "--alter", "--add-config", "producer_byte_rate=fast"), "Cannot parse quota configuration value for producer_byte_rate: fast"},
		{append(user, "--alter", "--add-config", "producer_byte_rate=5,SCRAM-SHA-512=[password=hunter2]"), "Cannot alter both quota and SCRAM credential configs"},
		{[]string{"--entity-type", "users", "--entity-default", "--alter", "--add-config", "SCRAM-SHA-512=[password=hunter2]"}, "--entity-default or --user-defaults is not allowed"},
		{[]string{"--entity-type", "ips", "--entity-name", "not-an-ip", "--alter", "--add-config", "connection_creation_rate=5"}, "is not a valid IP"},
		{[]string{"--entity-type", "clients", "--entity-name", "x", "--alter", "--add-config", "connection_creation_rate=5"}, "Only quota configs can be added for 'clients'"},
	} {
		r := s.tool(t, "", "configs", tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr+r.stdout, "hunter2") {
			t.Errorf("configs %s: exit %d, stderr %q; want a failure with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}
