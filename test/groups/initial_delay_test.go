package groups

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
)

// Three confluent_kafka consumers started together against an empty
// group land in one generation thanks to group.initial.rebalance.delay.ms
// (3 s, Kafka's default): each sees one assignment and no revocation,
// where without the delay the first would get every partition and then
// give some up at each later arrival.
func TestPythonConsumersStartedTogetherOneGeneration(t *testing.T) {
	const delay = 3 * time.Second
	c := testenv.StartCaudal(t, testenv.Dev, gateway.Config{
		FlushInterval: 20 * time.Millisecond, Broker: groupBroker, GroupInitialRebalanceDelay: delay})
	store, _ := c.OpenStores(t)
	testenv.CreateTopics(t, c.Addr, 3, "together")
	script := writeScript(t, rebalancePy)
	started := time.Now()
	var cons []*pyConsumer
	for range 3 {
		cons = append(cons, startPyConsumer(t, script, c.Addr, "together-group", "together"))
	}
	waitUntil(t, 60*time.Second, "three consumers assigned", func() bool {
		for _, p := range cons {
			if _, ok := p.assigned(); !ok {
				return false
			}
		}
		return true
	})
	took := time.Since(started)
	time.Sleep(quiet)
	var owned []string
	for i, p := range cons {
		ev := p.Events()
		if len(ev) != 1 {
			t.Errorf("consumer %d: callbacks %q, want one assignment", i, ev)
			continue
		}
		owned = append(owned, strings.Fields(ev[0])[1:]...)
	}
	slices.Sort(owned)
	if !slices.Equal(owned, []string{"0", "1", "2"}) {
		t.Errorf("partitions owned %q, want one each of 0, 1, 2", owned)
	}
	if gen := savedGroup(t, store, "together-group").Generation; gen != 1 {
		t.Errorf("generation %d, want 1: a single rebalance", gen)
	}
	if took < delay {
		t.Errorf("assigned %v after the start, before the %v delay", took, delay)
	}
	t.Logf("three consumers assigned in generation 1, %v after they started", took.Round(time.Millisecond))
}
