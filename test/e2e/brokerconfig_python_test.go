package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/test/testenv"
)

// pythonBrokerConfigScript drives broker configs with confluent_kafka's
// AdminClient (librdkafka's legacy AlterConfigs and DescribeConfigs) and
// prints one line per fact for the test to check.
const pythonBrokerConfigScript = `
import sys
from confluent_kafka.admin import AdminClient, ConfigResource

a = AdminClient({"bootstrap.servers": sys.argv[1]})

def run(futures):
    for res, f in futures.items():
        try:
            return f.result(timeout=30)
        except Exception as e:
            print("ERR %s %s" % (res.name or "default", e.args[0].name()), flush=True)
            return None

# librdkafka refuses an empty resource name, so it cannot address the
# cluster default; the test sets that with kadm first.
run(a.alter_configs([ConfigResource("BROKER", "0", set_config={"log.retention.ms": "60000", "num.partitions": "4"})]))
run(a.alter_configs([ConfigResource("BROKER", "0", set_config={"message.max.bytes": "2000000"})]))
run(a.alter_configs([ConfigResource("BROKER", "0", set_config={"offsets.topic.num.partitions": "3"})]))
run(a.alter_configs([ConfigResource("BROKER", "0", set_config={"log.retention.days": "1"})]))
run(a.alter_configs([ConfigResource("BROKER", "0", set_config={"num.partitions": "none"})]))
configs = run(a.describe_configs([ConfigResource("BROKER", "0")]))
for k, e in sorted(configs.items()):
    if k in ("log.retention.ms", "num.partitions", "message.max.bytes", "offsets.topic.num.partitions"):
        print("B %s %s %s %s" % (k, e.value, e.source, e.is_read_only), flush=True)
configs = run(a.describe_configs([ConfigResource("TOPIC", "py-configs")]))
for k in ("retention.ms", "max.message.bytes"):
    e = configs[k]
    print("T %s %s %s %s" % (k, e.value, e.source, " ".join("%s=%s:%s" % (s.name, s.value, s.source) for s in e.synonyms.values())), flush=True)
`

// TestPythonBrokerConfigs alters and describes broker configs with
// confluent_kafka (librdkafka 2.0.2), on both backends.
func TestPythonBrokerConfigs(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing (make setup installs python3-confluent-kafka): %v", python, err)
	}
	script := filepath.Join(t.TempDir(), "brokerconfigs.py")
	if err := os.WriteFile(script, []byte(pythonBrokerConfigScript), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			p, _, _ := startBrokerConfigDev(t, backend)
			testenv.CreateTopics(t, p.Addr, 1, "py-configs")
			alterBroker(t, testCtx(t, 30*time.Second), "set the cluster default", kadm.NewClient(newClient(t, p.Addr)).AlterBrokerConfigs, []kadm.AlterConfig{
				{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kmsg.StringPtr("7200000")},
				{Op: kadm.SetConfig, Name: "num.partitions", Value: kmsg.StringPtr("2")},
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stderr strings.Builder
			cmd := exec.CommandContext(ctx, python, script, p.Addr)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v\nstderr: %s\nstdout: %s", err, testenv.Tail(stderr.String(), 3000), out)
			}
			got := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				got[line] = true
			}
			for _, want := range []string{
				"ERR 0 INVALID_REQUEST", // offsets.topic.num.partitions is static; "none" is no number
				"ERR 0 INVALID_CONFIG",  // log.retention.days is unknown
				// AlterConfigs replaced broker 0's set, so the first
				// change's keys fall back to the cluster default. Sources
				// print as numbers: 2 DYNAMIC_BROKER_CONFIG, 3
				// DYNAMIC_DEFAULT_BROKER_CONFIG, 5 DEFAULT_CONFIG.
				"B log.retention.ms 7200000 3 False",
				"B num.partitions 2 3 False",
				"B message.max.bytes 2000000 2 False",
				"B offsets.topic.num.partitions 50 5 True",
				// confluent_kafka keeps synonyms in a dict by name, so of
				// a name listed twice (static and default, per broker and
				// default) it shows the last.
				"T retention.ms 7200000 3 log.retention.ms=7200000:3 log.retention.hours=168:5",
				"T max.message.bytes 2000000 2 message.max.bytes=1048588:5",
			} {
				if !got[want] {
					t.Errorf("python printed no %q; it printed:\n%s", want, out)
				}
			}
		})
	}
}
