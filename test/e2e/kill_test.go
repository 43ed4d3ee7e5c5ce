package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKill9 SIGKILLs a gateway process while an idempotent producer sends
// to it, restarts it, and lets the producer's retries finish against the
// new process. Every acknowledged record must be stored exactly once; no
// record may be stored twice.
func TestKill9(t *testing.T) {
	const (
		topic      = "kill9"
		partitions = 4
		total      = 30_000
	)
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			bucketURL, metadataURL := testenv.StoreURLs(t, backend)
			p := testenv.StartProcess(t, bucketURL, metadataURL, "--flush-interval", "20ms")
			testenv.CreateTopics(t, p.Addr, partitions, topic)

			pr := newClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(2000),
				kgo.ProducerLinger(2*time.Millisecond))
			ctx := testCtx(t, 3*time.Minute)
			var (
				mu     sync.Mutex
				acked  = map[int]bool{}
				failed = map[int]error{}
				wg     sync.WaitGroup
				sent   atomic.Int64
				// killAt[k] is closed when (k+1)/3 of the records are acked.
				killAt = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
				once   [2]sync.Once
			)
			allSent := make(chan struct{})
			go func() {
				defer close(allSent)
				for i := 0; i < total; i++ {
					wg.Add(1)
					r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%97), Value: fmt.Appendf(nil, "id-%d", i)}
					sent.Add(1)
					pr.Produce(ctx, r, func(r *kgo.Record, err error) {
						defer wg.Done()
						id, _ := strconv.Atoi(strings.TrimPrefix(string(r.Value), "id-"))
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							failed[id] = err
							return
						}
						acked[id] = true
						for k := range killAt {
							if len(acked) >= (k+1)*total/3 {
								once[k].Do(func() { close(killAt[k]) })
							}
						}
					})
					if i%500 == 0 {
						time.Sleep(5 * time.Millisecond) // a steady stream, not one burst
					}
				}
			}()
			// Two kills: at a third and at two thirds of the acks.
			for k := range killAt {
				select {
				case <-killAt[k]:
				case <-ctx.Done():
					t.Fatalf("producer never reached kill point %d: %v", k, ctx.Err())
				}
				p.Kill()
				mu.Lock()
				t.Logf("kill %d: %d records sent, %d acked", k, sent.Load(), len(acked))
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
				p.Start(t)
			}
			<-allSent
			wg.Wait()
			// Let the last producer finish its callbacks before reading.
			mu.Lock()
			nAcked, nFailed := len(acked), len(failed)
			for id, err := range failed {
				t.Logf("record %d failed: %v", id, err)
				break
			}
			mu.Unlock()
			t.Logf("%d acked in all, %d failed", nAcked, nFailed)
			if nAcked < total/3 {
				t.Fatalf("only %d records acked", nAcked)
			}

			adm := kadm.NewClient(newClient(t, p.Addr))
			ends, err := adm.ListEndOffsets(ctx, topic)
			if err != nil {
				t.Fatalf("list end offsets: %v", err)
			}
			stored := 0
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err != nil {
					t.Fatalf("end offset %s/%d: %v", o.Topic, o.Partition, o.Err)
				}
				stored += int(o.Offset)
			})
			got := consumeAll(t, p.Addr, []string{topic}, stored)
			seen := map[int]int{}
			for _, recs := range got[topic] {
				for j, r := range recs {
					if r.Offset != int64(j) {
						t.Fatalf("partition %d: record %d at offset %d", r.Partition, j, r.Offset)
					}
					id, err := strconv.Atoi(strings.TrimPrefix(string(r.Value), "id-"))
					if err != nil {
						t.Fatalf("bad value %q", r.Value)
					}
					seen[id]++
				}
			}
			dups, missing := 0, 0
			for id, n := range seen {
				if n > 1 {
					if dups++; dups <= 5 {
						t.Errorf("record %d stored %d times", id, n)
					}
				}
			}
			for id := range acked {
				if seen[id] == 0 {
					if missing++; missing <= 5 {
						t.Errorf("acknowledged record %d is missing", id)
					}
				}
			}
			t.Logf("%d records stored, %d acked, %d duplicated, %d acked but missing", stored, nAcked, dups, missing)
			if dups+missing > 0 {
				t.Logf("gateway log:\n%s", testenv.Tail(p.Log(), 3000))
			}
		})
	}
}
