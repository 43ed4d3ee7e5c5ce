package soak

import (
	"fmt"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fault is one kind of trouble the soak causes, one per cycle in turn.
type fault struct {
	kind string
	// inject causes the fault and ends it as a supervisor or an operator
	// would: it restarts a killed process, starts a stopped server again,
	// resumes a paused process. round counts the cycles of this kind
	// before, so that each gateway gets its turn. It returns what it did.
	inject func(t *testing.T, s *soak, round int) string
	// settled, when set, says whether the fault's target works again,
	// beyond the clients' getting past it.
	settled func(s *soak) bool
}

// faults are taken in this order, so the 2 cycles of `make test` stop
// PostgreSQL (the outage that once failed deliveries) and kill the worker
// mid-compaction, which needs a cycle of records before it to merge;
// killed gateways are covered by test/e2e as well.
var faults = []fault{
	{kind: "stop PostgreSQL 10s", inject: stopPostgres},
	{kind: "kill -9 worker mid-compaction", inject: killWorker, settled: workerMerged},
	{kind: "stop MinIO 10s", inject: stopMinIO},
	{kind: "kill -9 gateway", inject: killGateway},
	{kind: "SIGSTOP gateway 20s", inject: pauseGateway},
}

// killGateway kills a gateway with SIGKILL, so nothing buffered is flushed,
// and starts it again on the same address right away.
func killGateway(t *testing.T, s *soak, round int) string {
	g := s.cluster.gateways[round%len(s.cluster.gateways)]
	g.Kill()
	g.Start(t)
	return "killed and restarted gateway " + g.Addr
}

// killWorker waits until the worker has merged one partition and has more
// to go in the same pass, kills it with SIGKILL then, and starts it again.
// The new worker takes the lease once the old one's lapses (30 s).
func killWorker(t *testing.T, s *soak, _ int) string {
	p, err := waitMerge(s.cluster.worker, 2*time.Minute)
	w := s.cluster.worker
	w.kill()
	s.workerRestart = w.logSize()
	w.start(t)
	if err != nil {
		t.Errorf("kill -9 worker: %v", err)
		return "killed and restarted the worker, not mid-compaction: " + err.Error()
	}
	return fmt.Sprintf("killed the worker as it had merged partition %d, with partitions %d-%d of the pass to go; restarted it", p, p+1, partitions-1)
}

var mergedRows = regexp.MustCompile(`msg="merged rows".* partition=(\d+)`)

// waitMerge waits for the worker to log that it merged rows of a partition
// other than the last, and returns the partition: the pass is then still
// at work on the later ones.
func waitMerge(w *child, limit time.Duration) (int, error) {
	from := w.logSize()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, m := range mergedRows.FindAllStringSubmatch(w.logSince(from), -1) {
			if p, _ := strconv.Atoi(m[1]); p < partitions-1 {
				return p, nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("the worker merged nothing in %v", limit)
}

// workerMerged: the restarted worker holds the lease and merges again.
func workerMerged(s *soak) bool {
	return mergedRows.MatchString(s.cluster.worker.logSince(s.workerRestart))
}

// stopMinIO stops MinIO (SIGTERM), leaves it down for 10 s and starts it
// again on the same address and data.
func stopMinIO(t *testing.T, s *soak, _ int) string {
	s.cluster.minio.Stop()
	time.Sleep(10 * time.Second)
	s.cluster.minio.Start(t)
	return "stopped MinIO for 10s"
}

// stopPostgres stops PostgreSQL with pg_ctl stop -m fast, leaves it down
// for 10 s and starts it again.
func stopPostgres(t *testing.T, s *soak, _ int) string {
	s.cluster.pg.Stop(t)
	time.Sleep(10 * time.Second)
	s.cluster.pg.Start(t)
	return "stopped PostgreSQL for 10s"
}

// pauseGateway freezes a gateway with SIGSTOP for 20 s, longer than the
// 9 s after which the others stop counting it as live, with its
// connections, buffers and transactions open, and resumes it.
func pauseGateway(t *testing.T, s *soak, round int) string {
	g := s.cluster.gateways[(round+1)%len(s.cluster.gateways)]
	if err := g.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP gateway %s: %v", g.Addr, err)
	}
	time.Sleep(20 * time.Second)
	if err := g.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT gateway %s: %v", g.Addr, err)
	}
	return "paused gateway " + g.Addr + " for 20s"
}
