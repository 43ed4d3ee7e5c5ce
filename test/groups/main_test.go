// Package groups tests caudal's consumer groups with real clients:
// franz-go (classic cooperative-sticky and KIP-848), confluent_kafka and
// kcat, and admin views (kadm) of what they committed.
package groups

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// groupBroker are coordinator settings short enough for tests.
var groupBroker = map[string]string{
	"group.min.session.timeout.ms":         "1000",
	"group.consumer.heartbeat.interval.ms": "200",
	"group.consumer.session.timeout.ms":    "6000",
}

func start(t *testing.T) *testenv.Caudal {
	t.Helper()
	return testenv.StartCaudal(t, testenv.Dev, gateway.Config{FlushInterval: 20 * time.Millisecond, Broker: groupBroker})
}

func admin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// produce writes n records with values "0".."n-1" round-robin over the
// topic's partitions.
func produce(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rs []*kgo.Record
	for i := from; i < from+n; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}
