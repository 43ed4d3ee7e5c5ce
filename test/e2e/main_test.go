// Package e2e drives caudal with real Kafka clients — franz-go, kcat and
// confluent-kafka (librdkafka) from Python — on both backends, and checks
// what comes back byte for byte.
package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// fastConfig flushes often so that tests do not wait on the default
// interval.
func fastConfig() gateway.Config {
	return gateway.Config{FlushInterval: 20 * time.Millisecond}
}

// newClient is a kgo client of addr with the test's extra options; it is
// closed when the test ends.
func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.RequestRetries(20),
		kgo.RetryTimeout(30 * time.Second),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("new kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// testCtx bounds a test step.
func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// onEachBackend runs test in parallel subtests, one per backend, each with
// its own caudal.
func onEachBackend(t *testing.T, test func(t *testing.T, c *testenv.Caudal)) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			test(t, testenv.StartCaudal(t, backend, fastConfig()))
		})
	}
}
