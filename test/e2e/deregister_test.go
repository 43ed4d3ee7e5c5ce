package e2e

import (
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGracefulStopDeregisters: a gateway stopped with SIGTERM leaves the
// registry at once, so the others stop listing it long before the
// heartbeat timeout (here a minute) would drop it.
func TestGracefulStopDeregisters(t *testing.T) {
	t.Parallel()
	c := testenv.StartCaudal(t, testenv.Cloud, gateway.Config{FlushInterval: 20 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond, GatewayTimeout: time.Minute})
	p := testenv.StartProcess(t, c.BucketURL, c.MetadataURL, "--heartbeat-interval", "200ms")
	brokers := func(n int) func(*kmsg.MetadataResponse) bool {
		return func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == n }
	}
	waitBrokers(t, c.Addr, brokers(2))
	p.Terminate()
	// waitBrokers gives up after 30 s, before the timeout could act.
	waitBrokers(t, c.Addr, brokers(1))
}
