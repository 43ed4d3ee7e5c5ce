// Package soak is caudal's chaos soak: three gateways and the worker run as
// processes on MinIO and PostgreSQL while idempotent acks=all producers
// (confluent_kafka and kgo) write and a consumer group (one member of
// each) reads and commits by hand. Each cycle injects one fault, in turn:
// stop PostgreSQL for 10 s, kill -9 the worker mid-compaction, stop MinIO
// for 10 s, kill -9 a gateway, SIGSTOP a gateway for 20 s. A killed
// process is restarted as a supervisor would; nothing else is.
//
// At the end the soak checks every acknowledged record against what the
// group read and against a final scan of the stored log, and fails unless
// nothing was lost, stored twice or out of order, no producer gave up on a
// delivery, and every fault was survived. CAUDAL_SOAK_CYCLES sets the
// number of cycles (2 by default, for `make test`; `make soak` runs 10).
package soak

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

const (
	// warmUp lets every client get going before the first fault.
	warmUp = 10 * time.Second
	// period is a cycle: the fault, the recovery, then calm until the
	// next one. It is at least the merge MinAge (1 minute) after the first
	// records by the second cycle, so the worker has merges to interrupt.
	period = 50 * time.Second
	// recoveryLimit bounds how long after a fault ends every client must
	// have got past it (and the worker merge again, after its lease lapses).
	recoveryLimit = 90 * time.Second
	// catchUpLimit bounds how long the group may take to read the last
	// acknowledged records once the producers stop.
	catchUpLimit = 90 * time.Second
)

// soak is one run's state.
type soak struct {
	cluster *cluster
	clients *clients
	ledger  *ledger
	// workerRestart is the worker log's size when it was last restarted.
	workerRestart int64
}

// cycleResult is what one cycle did and how the clients fared.
type cycleResult struct {
	n         int
	phase     int // in the ledger
	kind, did string
	took      time.Duration // from injecting the fault to its end
	recovered time.Duration // from its end until every client got past it
	slowest   string        // the last of them
	failed    int           // deliveries given up on in the cycle
	err       error         // the fault was not survived
}

func TestSoak(t *testing.T) {
	cycles := soakCycles(t)
	began := time.Now()
	dir := runDir(t)
	c := startCluster(t, dir)
	defer c.keepLogs(dir)
	testenv.CreateTopics(t, c.gateways[0].Addr, partitions, topic)

	l := newLedger(producers, consumers)
	l.begin("warm-up")
	s := &soak{cluster: c, ledger: l, clients: startClients(t, dir, c.bootstrap(), l)}
	time.Sleep(warmUp)
	var results []cycleResult
	for i := range cycles {
		results = append(results, s.cycle(t, i))
	}

	l.begin("drain")
	gone := append(s.clients.exited(), c.notServing()...)
	s.clients.stopProducers()
	catchUpErr := s.awaitCaughtUp()
	s.clients.stopConsumers()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	scanned, garbled, scanErr := scan(ctx, c.bootstrap())

	var groupReads []read
	for _, rs := range l.reads {
		groupReads = append(groupReads, rs...)
	}
	group := analyze("group read", l.acks, groupReads, l.garbled)
	stored := analyze("stored (final scan)", l.acks, scanned, garbled)
	var report strings.Builder
	s.report(&report, time.Since(began), results, group, stored, scanned)
	t.Log("\n" + report.String())

	for _, m := range s.missed(results, gone, []error{catchUpErr, scanErr}, group, stored) {
		t.Error(m)
	}
}

// missed lists how the run fell short of the target: a fault not
// survived (a client or process gone, a client stuck), a record lost,
// stored twice or out of order, a delivery given up on or never made.
func (s *soak) missed(results []cycleResult, gone []string, errs []error, group, stored view) []string {
	var missed []string
	for _, r := range results {
		if r.err != nil {
			missed = append(missed, fmt.Sprintf("cycle %d (%s) not survived: %v", r.n, r.kind, r.err))
		}
	}
	missed = append(missed, gone...)
	for _, err := range errs {
		if err != nil {
			missed = append(missed, err.Error())
		}
	}
	missed = append(missed, group.problems()...)
	missed = append(missed, stored.problems()...)
	if n := len(s.ledger.failures); n > 0 {
		missed = append(missed, fmt.Sprintf("%d failed deliveries: producers with default retry settings gave up (per fault kind above)", n))
	}
	for p, n := range s.ledger.undelivered {
		if n > 0 {
			missed = append(missed, fmt.Sprintf("%s: %d records still undelivered a minute after producing stopped", p, n))
		}
	}
	return missed
}

// soakCycles reads CAUDAL_SOAK_CYCLES (default 2).
func soakCycles(t *testing.T) int {
	v := os.Getenv("CAUDAL_SOAK_CYCLES")
	if v == "" {
		return 2
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("CAUDAL_SOAK_CYCLES=%q: want a positive number of cycles", v)
	}
	return n
}

// runDir is where the worker's and the clients' logs go, and at the end
// the gateways' and the servers'; it is kept when the soak fails, to find
// out why.
func runDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "caudal-soak-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// cycle injects cycle i's fault, waits for the clients to get past it and
// then until the cycle's period is over.
func (s *soak) cycle(t *testing.T, i int) cycleResult {
	f := faults[i%len(faults)]
	start := time.Now()
	r := cycleResult{n: i + 1, phase: s.ledger.begin(f.kind), kind: f.kind}
	r.did = f.inject(t, s, i/len(faults))
	healed := time.Now()
	r.took = healed.Sub(start)
	r.recovered, r.slowest, r.err = s.awaitRecovery(f, healed)
	time.Sleep(time.Until(start.Add(period)))
	r.failed = s.ledger.failedIn(r.phase)
	t.Logf("cycle %d: %s", r.n, r)
	return r
}

func (r cycleResult) String() string {
	if r.err != nil {
		return fmt.Sprintf("%s: %s (%.1fs); NOT RECOVERED: %v; failed deliveries %d", r.kind, r.did, r.took.Seconds(), r.err, r.failed)
	}
	return fmt.Sprintf("%s: %s (%.1fs); every client past it %.1fs later (last: %s); failed deliveries %d",
		r.kind, r.did, r.took.Seconds(), r.recovered.Seconds(), r.slowest, r.failed)
}

// awaitRecovery waits until every producer has had an ack for a record
// produced after healed and every consumer has read one, and the fault's
// own target works again; it returns how long that took and who was last.
func (s *soak) awaitRecovery(f fault, healed time.Time) (time.Duration, string, error) {
	deadline := healed.Add(recoveryLimit)
	var last []string
	for {
		if gone := s.clients.exited(); len(gone) > 0 {
			return 0, "", fmt.Errorf("%s", strings.Join(gone, ", "))
		}
		waiting := s.ledger.behind(healed)
		if f.settled != nil && !f.settled(s) {
			waiting = append(waiting, "worker")
		}
		sort.Strings(waiting)
		if len(waiting) == 0 {
			return time.Since(healed), strings.Join(last, ", "), nil
		}
		if time.Now().After(deadline) {
			return 0, "", fmt.Errorf("%v after the fault ended, still waiting for %s", recoveryLimit, strings.Join(waiting, ", "))
		}
		last = waiting
		time.Sleep(250 * time.Millisecond)
	}
}

// awaitCaughtUp waits until the group has read every acked record.
func (s *soak) awaitCaughtUp() error {
	deadline := time.Now().Add(catchUpLimit)
	for {
		n := s.ledger.unread()
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the group had not read %d acked records %v after producing stopped", n, catchUpLimit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// report writes the numbers: per cycle, per producer, per view, and the
// failed deliveries and client errors per fault kind.
func (s *soak) report(w io.Writer, elapsed time.Duration, results []cycleResult, group, stored view, scanned []read) {
	l := s.ledger
	fmt.Fprintf(w, "soak: %d cycles in %v; topic %s (%d partitions), %d producers × %d records/s; 3 gateways + worker on MinIO + PostgreSQL\n",
		len(results), elapsed.Round(time.Second), topic, partitions, len(producers), rate)
	for _, r := range results {
		fmt.Fprintf(w, "  cycle %2d  %s\n", r.n, r)
	}
	acked := map[string]int{}
	for rec := range l.acks {
		acked[rec.producer]++
	}
	failed := map[string]int{}
	for _, f := range l.failures {
		failed[f.client]++
	}
	fmt.Fprintf(w, "acked %d, failed %d\n", len(l.acks), len(l.failures))
	for _, p := range producers {
		fmt.Fprintf(w, "  %-10s acked %d, failed %d, undelivered at the end %d\n", p+":", acked[p], failed[p], l.undelivered[p])
	}
	fmt.Fprintf(w, "%s\n%s\n", group.summary(), stored.summary())
	for _, p := range append(group.problems(), stored.problems()...) {
		fmt.Fprintf(w, "  %s\n", p)
	}
	inScan := map[id]bool{}
	for _, r := range scanned {
		inScan[r.rec] = true
	}
	storedAnyway := 0
	for _, f := range l.failures {
		if inScan[f.rec] {
			storedAnyway++
		}
	}
	fmt.Fprintf(w, "failed deliveries per fault kind (%d of them stored anyway):\n", storedAnyway)
	var kinds []string // the phases' names in the order they ran, once each
	for _, p := range l.phases {
		if !slices.Contains(kinds, p) {
			kinds = append(kinds, p)
		}
	}
	writeTally(w, tally(l.failures, l.phases), kinds, 0)
	fmt.Fprintf(w, "client errors per fault kind (reported, not given up on; the 5 most frequent texts):\n")
	writeTally(w, tally(l.clientErrs, l.phases), kinds, 5)
}

// writeTally writes each kind's total and its texts by frequency, at most
// top of them (0: all).
func writeTally(w io.Writer, t map[string]map[string]int, kinds []string, top int) {
	for _, k := range kinds {
		texts := t[k]
		total := 0
		for _, n := range texts {
			total += n
		}
		fmt.Fprintf(w, "  %-30s %d\n", k, total)
		keys := make([]string, 0, len(texts))
		for text := range texts {
			keys = append(keys, text)
		}
		sort.Slice(keys, func(i, j int) bool {
			if texts[keys[i]] != texts[keys[j]] {
				return texts[keys[i]] > texts[keys[j]]
			}
			return keys[i] < keys[j]
		})
		if top > 0 && len(keys) > top {
			keys = keys[:top]
		}
		for _, text := range keys {
			fmt.Fprintf(w, "      %5d× %s\n", texts[text], text)
		}
	}
}
