package groups

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
)

// rebalancePy is a confluent_kafka consumer that prints its rebalance
// callbacks as "assign 0,2" and "revoke 0,2". Arguments: bootstrap
// servers, group, topic and, for a static member, its group.instance.id.
const rebalancePy = `
import sys
from confluent_kafka import Consumer
conf = {"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
        "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
        "enable.auto.commit": False}
if len(sys.argv) > 4:
    conf["group.instance.id"] = sys.argv[4]
def parts(ps):
    return ",".join(str(p.partition) for p in sorted(ps, key=lambda p: p.partition))
c = Consumer(conf)
c.subscribe([sys.argv[3]],
            on_assign=lambda _, ps: print("assign", parts(ps), flush=True),
            on_revoke=lambda _, ps: print("revoke", parts(ps), flush=True))
while True:
    c.poll(0.2)
`

// pyConsumer is a running rebalancePy and the callbacks it printed.
type pyConsumer struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	events []string
}

func startPyConsumer(t *testing.T, script string, args ...string) *pyConsumer {
	t.Helper()
	p := &pyConsumer{cmd: exec.Command("/usr/bin/python3", append([]string{script}, args...)...)}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.events = append(p.events, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.kill)
	return p
}

// kill ends the consumer as a crash would: a static member sends no
// LeaveGroup anyway.
func (p *pyConsumer) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *pyConsumer) Events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// assigned is the consumer's assignment after its callbacks so far, and
// whether it has had one.
func (p *pyConsumer) assigned() (string, bool) {
	ev := p.Events()
	for i := len(ev) - 1; i >= 0; i-- {
		if parts, ok := strings.CutPrefix(ev[i], "assign"); ok {
			return strings.TrimSpace(parts), true
		}
	}
	return "", false
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "consumer.py")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitUntil polls cond for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// savedGroup is the group as the coordinator last saved it.
func savedGroup(t *testing.T, store metadata.Store, group string) metadata.GroupRecord {
	t.Helper()
	rec, err := store.LoadGroup(context.Background(), group)
	if err != nil && err != metadata.ErrNotFound {
		t.Fatal(err)
	}
	return rec
}

func memberOfInstance(rec metadata.GroupRecord, instance string) string {
	for _, m := range rec.Members {
		if m.InstanceID == instance {
			return m.MemberID
		}
	}
	return ""
}

// The settle time: six heartbeats, in which a rebalance would show.
const quiet = 3 * time.Second

// Three static confluent_kafka consumers; the leader, then a follower, is
// killed and restarted with its group.instance.id within the session
// timeout. The restarted one gets its partitions back, and the others see
// no callback at all: no revocation, no new generation (Kafka's
// coordinator keeps a Stable group's generation when a static member
// replaces itself).
func TestPythonStaticMemberRestart(t *testing.T) {
	c := start(t)
	store, _ := c.OpenStores(t)
	testenv.CreateTopics(t, c.Addr, 6, "static")
	script := writeScript(t, rebalancePy)
	instances := []string{"s0", "s1", "s2"}
	cons := map[string]*pyConsumer{}
	for _, inst := range instances {
		cons[inst] = startPyConsumer(t, script, c.Addr, "static-group", "static", inst)
	}
	// The group settles: every consumer owns two partitions and the
	// saved group has the three members.
	waitUntil(t, 60*time.Second, "three consumers with two partitions each", func() bool {
		for _, inst := range instances {
			if parts, ok := cons[inst].assigned(); !ok || strings.Count(parts, ",") != 1 {
				return false
			}
		}
		return len(savedGroup(t, store, "static-group").Members) == 3
	})
	time.Sleep(quiet)
	rec := savedGroup(t, store, "static-group")
	gen := rec.Generation
	var leader string
	for _, m := range rec.Members {
		if m.MemberID == rec.Leader {
			leader = m.InstanceID
		}
	}
	follower := instances[0]
	if follower == leader {
		follower = instances[1]
	}
	for _, victim := range []string{leader, follower} {
		before := map[string][]string{}
		for _, inst := range instances {
			before[inst] = cons[inst].Events()
		}
		oldID := memberOfInstance(savedGroup(t, store, "static-group"), victim)
		want, _ := cons[victim].assigned()
		cons[victim].kill()
		restarted := time.Now()
		cons[victim] = startPyConsumer(t, script, c.Addr, "static-group", "static", victim)
		waitUntil(t, 30*time.Second, victim+" restarted and assigned", func() bool {
			_, ok := cons[victim].assigned()
			return ok
		})
		took := time.Since(restarted)
		time.Sleep(quiet)
		rec := savedGroup(t, store, "static-group")
		newID := memberOfInstance(rec, victim)
		if newID == "" || newID == oldID {
			t.Fatalf("%s: member id %q after restart, was %q; want a new one", victim, newID, oldID)
		}
		if rec.Generation != gen {
			t.Errorf("restarting %s: generation %d, was %d", victim, rec.Generation, gen)
		}
		if victim == leader && rec.Leader != newID {
			t.Errorf("restarted leader: group leader %s, want its new id %s", rec.Leader, newID)
		}
		if ev := cons[victim].Events(); len(ev) != 1 || ev[0] != "assign "+want {
			t.Errorf("restarted %s: callbacks %q, want only its old assignment %q", victim, ev, want)
		}
		for _, inst := range instances {
			if inst != victim && !slices.Equal(cons[inst].Events(), before[inst]) {
				t.Errorf("restarting %s: %s saw %q after %q", victim, inst, cons[inst].Events()[len(before[inst]):], before[inst])
			}
		}
		t.Logf("restarted %s (leader %v): assigned %q again %v after its restart, generation %d (was %d)", victim, victim == leader, want, took.Round(time.Millisecond), rec.Generation, gen)
	}
}
