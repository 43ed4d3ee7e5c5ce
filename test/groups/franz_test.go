package groups

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ownership tracks which consumer owns each partition, from the clients'
// own callbacks, and every record consumed.
type ownership struct {
	mu         sync.Mutex
	owners     map[int32]int
	violations []string
	consumed   map[[2]int64]bool
}

func (o *ownership) assigned(c int, ps map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, parts := range ps {
		for _, p := range parts {
			if prev, ok := o.owners[p]; ok && prev != c {
				o.violations = append(o.violations, fmt.Sprintf("partition %d assigned to %d while owned by %d", p, c, prev))
			}
			o.owners[p] = c
		}
	}
}

func (o *ownership) revoked(c int, ps map[string][]int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, parts := range ps {
		for _, p := range parts {
			if o.owners[p] == c {
				delete(o.owners, p)
			}
		}
	}
}

// waitOwned waits until every partition has exactly one owner among live
// and the ownership stayed put for a moment.
func (o *ownership) waitOwned(t *testing.T, parts int32, live map[int]bool, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	stableSince := time.Now()
	for time.Now().Before(deadline) {
		o.mu.Lock()
		ok := len(o.owners) == int(parts)
		perMember := map[int]int{}
		for _, c := range o.owners {
			ok = ok && live[c]
			perMember[c]++
		}
		snap := fmt.Sprint(o.owners)
		o.mu.Unlock()
		if snap != last {
			last, stableSince = snap, time.Now()
		}
		if ok && len(perMember) == len(live) && time.Since(stableSince) > 1500*time.Millisecond {
			t.Logf("%s: owners %v", what, perMember)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: partitions never settled with one live owner each: %s (live %v)", what, last, live)
}

type groupConsumer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
}

func TestFranzGoRebalanceClassic(t *testing.T) { testFranzGoRebalance(t, false) }
func TestFranzGoRebalanceKIP848(t *testing.T)  { testFranzGoRebalance(t, true) }

func testFranzGoRebalance(t *testing.T, next bool) {
	c := start(t)
	adm := admin(t, c.Addr)
	const parts = 16
	topic, group := "rebalance", "franz-classic"
	if next {
		group = "franz-848"
	}
	testenv.CreateTopics(t, c.Addr, parts, topic)

	own := &ownership{owners: map[int32]int{}, consumed: map[[2]int64]bool{}}
	consumers := map[int]*groupConsumer{}
	live := map[int]bool{}
	add := func(id int) {
		opts := []kgo.Opt{
			kgo.SeedBrokers(c.Addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.Balancers(kgo.CooperativeStickyBalancer()),
			kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
			kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(300 * time.Millisecond),
			kgo.FetchMaxWait(200 * time.Millisecond),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { own.assigned(id, ps) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { own.revoked(id, ps) }),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { own.revoked(id, ps) }),
		}
		if next {
			opts = append(opts, kgo.ServerSideBalancer())
		}
		if os.Getenv("KGO_DEBUG") != "" {
			opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		gc := &groupConsumer{cl: cl, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(gc.done)
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				var rs []*kgo.Record
				fs.EachRecord(func(r *kgo.Record) { rs = append(rs, r) })
				own.mu.Lock()
				for _, r := range rs {
					own.consumed[[2]int64{int64(r.Partition), r.Offset}] = true
				}
				own.mu.Unlock()
				if len(rs) > 0 {
					cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
					if err := cl.CommitRecords(cctx, rs...); err != nil {
						t.Logf("consumer %d commit: %v", id, err)
					}
					ccancel()
				}
				cl.AllowRebalance()
			}
		}()
		consumers[id] = gc
		live[id] = true
	}
	remove := func(id int) {
		gc := consumers[id]
		gc.cancel()
		<-gc.done
		gc.cl.Close()
		delete(consumers, id)
		delete(live, id)
	}
	t.Cleanup(func() {
		for id := range consumers {
			remove(id)
		}
	})

	// A producer writes all along.
	stop := make(chan struct{})
	produced := make(chan int, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				produced <- n
				return
			case <-time.After(50 * time.Millisecond):
			}
			produce(t, c.Addr, topic, n, 32)
			n += 32
		}
	}()

	add(0)
	add(1)
	own.waitOwned(t, parts, live, "2 members")
	add(2)
	add(3)
	own.waitOwned(t, parts, live, "4 members")
	remove(1)
	own.waitOwned(t, parts, live, "member 1 left")
	add(4)
	own.waitOwned(t, parts, live, "member 4 joined")
	remove(0)
	remove(3)
	own.waitOwned(t, parts, live, "members 0 and 3 left")
	close(stop)
	total := <-produced

	// Everything produced is consumed and committed by the survivors.
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		var committed int64
		offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
		if committed == int64(total) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %d of %d records", committed, total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	offs, _ := adm.FetchOffsets(ctx, group)
	own.mu.Lock()
	defer own.mu.Unlock()
	offs.Each(func(o kadm.OffsetResponse) {
		for off := int64(0); off < o.At; off++ {
			if !own.consumed[[2]int64{int64(o.Partition), off}] {
				t.Errorf("partition %d offset %d committed but never consumed", o.Partition, off)
				return
			}
		}
	})
	if len(own.violations) > 0 {
		t.Errorf("ownership violations: %v", own.violations)
	}
	t.Logf("%d records produced, consumed and committed", total)
}
