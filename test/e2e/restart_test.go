package e2e

import (
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRestart produces, restarts the gateway on the same stores, checks
// that everything is still there, and produces on with the same idempotent
// producer: offsets continue where they stopped.
func TestRestart(t *testing.T) {
	const partitions, half = 4, 5000
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		topics := []string{"restart-a", "restart-b"}
		testenv.CreateTopics(t, c.Addr, partitions, topics...)
		pr := newClient(t, c.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		ctx := testCtx(t, 2*time.Minute)
		produceAll(t, ctx, pr, topics, partitions, 0, half)

		c.Restart(t)
		checkRecords(t, consumeAll(t, c.Addr, topics, half), topics, partitions, half)

		// The same producer, reconnecting, continues at the right offsets.
		produceAll(t, ctx, pr, topics, partitions, half, half)
		checkRecords(t, consumeAll(t, c.Addr, topics, 2*half), topics, partitions, 2*half)
	})
}
