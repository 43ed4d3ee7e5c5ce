package compat

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// pythonBin is Debian's interpreter, the one that sees
// python3-confluent-kafka (the python3 on PATH may be another).
const pythonBin = "/usr/bin/python3"

// compatPy is confluent_kafka's side of the scenario:
//
//	compat.py create BOOTSTRAP TOPIC PARTITIONS
//	compat.py produce BOOTSTRAP TOPIC < key:value lines
//	compat.py consume BOOTSTRAP TOPIC GROUP WANT > "partition offset key value" lines
//	compat.py first-error BOOTSTRAP TOPIC GROUP > "code name" of the first consumer error
//
// Each command may end with a JSON file of librdkafka properties, the
// TLS and SASL settings of a secure listener.
const compatPy = `
import json, sys, time
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
# Where the optional properties file comes in each command.
conf_arg = {"create": 5, "produce": 4, "consume": 6, "first-error": 5}[mode]
conf = {"bootstrap.servers": bootstrap}
if len(sys.argv) > conf_arg:
    with open(sys.argv[conf_arg]) as f:
        conf.update(json.load(f))

def on_error(err):
    # librdkafka retries a failed authentication for ever: stop at once,
    # the exception comes out of poll() or flush().
    if err.code() == KafkaError._AUTHENTICATION or err.fatal():
        raise KafkaException(err)
conf["error_cb"] = on_error

if mode == "create":
    admin = AdminClient(conf)
    fs = admin.create_topics([NewTopic(topic, num_partitions=int(sys.argv[4]), replication_factor=1)],
                             operation_timeout=10, request_timeout=20)
    for f in fs.values():
        f.result()

elif mode == "produce":
    errors = []
    def delivered(err, msg):
        if err is not None:
            errors.append(err)
    p = Producer({**conf, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for line in sys.stdin:
        k, v = line.rstrip("\n").split(":", 1)
        p.produce(topic, key=k.encode(), value=v.encode(), on_delivery=delivered)
        p.poll(0)
    left = p.flush(30)
    if left or errors:
        sys.exit("%d undelivered, errors: %s" % (left, errors[:5]))

elif mode == "consume":
    group, want = sys.argv[4], int(sys.argv[5])
    c = Consumer({**conf, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c.subscribe([topic])
    n = 0
    while n < want:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        print(m.partition(), m.offset(), m.key().decode(), m.value().decode(), flush=True)
        n += 1
        c.commit(message=m, asynchronous=False)
    c.close()

elif mode == "first-error":
    # What an application sees when it may not read the topic: the
    # error the consumer reports, with its Kafka code.
    c = Consumer({**conf, "group.id": sys.argv[4], "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c.subscribe([topic])
    deadline = time.time() + 30
    while True:
        if time.time() > deadline:
            sys.exit("no consumer error within 30 s")
        m = c.poll(1.0)
        if m is None:
            continue
        if not m.error():
            sys.exit("consumed a record at %d/%d: want an error" % (m.partition(), m.offset()))
        print(m.error().code(), m.error().name(), flush=True)
        break
    c.close()
`

func init() { register(scriptClient("confluent-kafka-python", runPy)) }

func runPy(t *testing.T, ctx context.Context, stdin string, args ...string) []string {
	t.Helper()
	if _, err := os.Stat(pythonBin); err != nil {
		t.Fatalf("%s: %v (make setup installs python3-confluent-kafka)", pythonBin, err)
	}
	script := filepath.Join(t.TempDir(), "compat.py")
	if err := os.WriteFile(script, []byte(compatPy), 0o644); err != nil {
		t.Fatal(err)
	}
	return runLines(t, ctx, stdin, pythonBin, append([]string{script}, args...)...)
}
