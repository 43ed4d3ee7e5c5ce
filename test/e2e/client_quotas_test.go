package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
)

func quotaEntity(parts ...string) kadm.ClientQuotaEntity {
	var e kadm.ClientQuotaEntity
	for i := 0; i < len(parts); i += 2 {
		c := kadm.ClientQuotaEntityComponent{Type: parts[i]}
		if parts[i+1] != "" {
			c.Name = &parts[i+1]
		}
		e = append(e, c)
	}
	return e
}

// describedQuotas flattens a describe answer to "entity key=value" lines.
func describedQuotas(qs kadm.DescribedClientQuotas) []string {
	var out []string
	for _, q := range qs {
		for _, v := range q.Values {
			out = append(out, fmt.Sprintf("%s %s=%g", q.Entity, v.Key, v.Value))
		}
	}
	slices.Sort(out)
	return out
}

// secondGateway serves another gateway on c's stores, as a second
// process would, and returns its address.
func secondGateway(t *testing.T, c *testenv.Caudal) string {
	store, bucket := c.OpenStores(t)
	cfg := fastConfig()
	cfg.Advertise, cfg.NodeID = testenv.FreeAddr(t), -1
	g, err := gateway.New(cfg, store, bucket)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Advertise)
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		g.Close(ctx)
	})
	return cfg.Advertise
}

// TestClientQuotasKadm: kadm sets quotas of named and default entities,
// describes them back with exact, default and any matches, strict and
// not, removes one, and validate_only stores nothing; another gateway on
// the same stores sees the change within a second. On both backends.
func TestClientQuotasKadm(t *testing.T) {
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		adm := kadm.NewClient(newClient(t, c.Addr))
		other := kadm.NewClient(newClient(t, secondGateway(t, c)))
		ctx := testCtx(t, 30*time.Second)
		if qs, err := other.DescribeClientQuotas(ctx, false, nil); err != nil || len(qs) != 0 {
			t.Fatalf("a fresh cluster has quotas: %v, %v", qs, err)
		}
		alter := func(validate bool, entries ...kadm.AlterClientQuotaEntry) {
			t.Helper()
			f := adm.AlterClientQuotas
			if validate {
				f = adm.ValidateAlterClientQuotas
			}
			res, err := f(ctx, entries)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("alter %s: %v %s", r.Entity, r.Err, r.ErrMessage)
				}
			}
		}
		set := func(k string, v float64) kadm.AlterClientQuotaOp { return kadm.AlterClientQuotaOp{Key: k, Value: v} }
		alter(false,
			kadm.AlterClientQuotaEntry{Entity: quotaEntity("user", "alice"), Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1024), set("consumer_byte_rate", 2048)}},
			kadm.AlterClientQuotaEntry{Entity: quotaEntity("user", "alice", "client-id", ""), Ops: []kadm.AlterClientQuotaOp{set("request_percentage", 12.5)}},
			kadm.AlterClientQuotaEntry{Entity: quotaEntity("client-id", ""), Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 4096)}},
			kadm.AlterClientQuotaEntry{Entity: quotaEntity("ip", "127.0.0.1"), Ops: []kadm.AlterClientQuotaOp{set("connection_creation_rate", 30)}},
		)
		alter(true, kadm.AlterClientQuotaEntry{Entity: quotaEntity("user", "bob"), Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}})

		describe := func(strict bool, comps ...kadm.DescribeClientQuotaComponent) []string {
			t.Helper()
			qs, err := adm.DescribeClientQuotas(ctx, strict, comps)
			if err != nil {
				t.Fatal(err)
			}
			return describedQuotas(qs)
		}
		alice := "alice"
		seenAt := time.Now()
		for {
			qs, err := other.DescribeClientQuotas(ctx, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) == 4 {
				break
			}
			if time.Since(seenAt) > 2*time.Second {
				t.Fatalf("the other gateway still describes %v after 2s", describedQuotas(qs))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("the other gateway saw the change after %v", time.Since(seenAt).Round(time.Millisecond))
		all := []string{
			"{client-id=<default>} producer_byte_rate=4096",
			"{ip=127.0.0.1} connection_creation_rate=30",
			"{user=alice, client-id=<default>} request_percentage=12.5",
			"{user=alice} consumer_byte_rate=2048",
			"{user=alice} producer_byte_rate=1024",
		}
		if got := describe(false); !slices.Equal(got, all) {
			t.Fatalf("described everything as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(all, "\n"))
		}
		if got := describe(false, kadm.DescribeClientQuotaComponent{Type: "user", MatchName: &alice}); len(got) != 3 {
			t.Errorf("user alice, not strict: %v", got)
		}
		if got := describe(true, kadm.DescribeClientQuotaComponent{Type: "user", MatchName: &alice}); len(got) != 2 {
			t.Errorf("user alice, strict: %v", got)
		}
		if got := describe(true, kadm.DescribeClientQuotaComponent{Type: "client-id", MatchType: 1}); !slices.Equal(got, all[:1]) {
			t.Errorf("default client-id, strict: %v", got)
		}
		if got := describe(false, kadm.DescribeClientQuotaComponent{Type: "client-id", MatchType: 2}); len(got) != 2 {
			t.Errorf("any client-id: %v", got)
		}

		alter(false, kadm.AlterClientQuotaEntry{Entity: quotaEntity("user", "alice"), Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Remove: true}}})
		if got := describe(true, kadm.DescribeClientQuotaComponent{Type: "user", MatchName: &alice}); !slices.Equal(got, []string{"{user=alice} producer_byte_rate=1024"}) {
			t.Errorf("after removing consumer_byte_rate: %v", got)
		}
	})
}

// TestClientQuotasSarama: sarama's ClusterAdmin sets, describes and
// removes a quota of a user's client-id, on both backends.
func TestClientQuotasSarama(t *testing.T) {
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V3_6_0_0
		adm, err := sarama.NewClusterAdmin([]string{c.Addr}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close()
		entity := []sarama.QuotaEntityComponent{
			{EntityType: sarama.QuotaEntityUser, MatchType: sarama.QuotaMatchExact, Name: "carol"},
			{EntityType: sarama.QuotaEntityClientID, MatchType: sarama.QuotaMatchExact, Name: "reports"},
		}
		if err := adm.AlterClientQuotas(entity, sarama.ClientQuotasOp{Key: "consumer_byte_rate", Value: 65536}, false); err != nil {
			t.Fatal(err)
		}
		filter := []sarama.QuotaFilterComponent{{EntityType: sarama.QuotaEntityUser, MatchType: sarama.QuotaMatchExact, Match: "carol"}}
		entries, err := adm.DescribeClientQuotas(filter, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || len(entries[0].Entity) != 2 || entries[0].Values["consumer_byte_rate"] != 65536 {
			t.Fatalf("described %+v", entries)
		}
		err = adm.AlterClientQuotas(entity, sarama.ClientQuotasOp{Key: "producer_byte_rate", Value: -1}, false)
		if err == nil || !strings.Contains(err.Error(), "must be greater than 0") {
			t.Fatalf("a negative rate: %v", err)
		}
		if err := adm.AlterClientQuotas(entity, sarama.ClientQuotasOp{Key: "consumer_byte_rate", Remove: true}, false); err != nil {
			t.Fatal(err)
		}
		if entries, err := adm.DescribeClientQuotas(filter, false); err != nil || len(entries) != 0 {
			t.Fatalf("after removal: %+v, %v", entries, err)
		}
	})
}

// TestClientQuotasBadInput: what Kafka refuses gets Kafka's code and
// message, entity by entity, and is not stored.
func TestClientQuotasBadInput(t *testing.T) {
	c := testenv.StartCaudal(t, testenv.Dev, fastConfig())
	adm := kadm.NewClient(newClient(t, c.Addr))
	ctx := testCtx(t, 30*time.Second)
	cases := []struct {
		entity kadm.ClientQuotaEntity
		op     kadm.AlterClientQuotaOp
		code   error
		msg    string
	}{
		{quotaEntity("user", "dave"), kadm.AlterClientQuotaOp{Key: "bytes_per_fortnight", Value: 1}, kerr.InvalidRequest, "Invalid configuration key bytes_per_fortnight"},
		{quotaEntity("user", "dan"), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: -100}, kerr.InvalidRequest, "Quota producer_byte_rate must be greater than 0"},
		{quotaEntity("client-id", "app"), kadm.AlterClientQuotaOp{Key: "consumer_byte_rate", Value: 0}, kerr.InvalidRequest, "must be greater than 0"},
		{quotaEntity("ip", "10.1.1.1", "user", "dora"), kadm.AlterClientQuotaOp{Key: "connection_creation_rate", Value: 5}, kerr.InvalidRequest, "IP entity should not be combined"},
		{quotaEntity("topic", "t"), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: 5}, kerr.InvalidRequest, "Unhandled client quota entity type: topic"},
	}
	var entries []kadm.AlterClientQuotaEntry
	for _, tc := range cases {
		entries = append(entries, kadm.AlterClientQuotaEntry{Entity: tc.entity, Ops: []kadm.AlterClientQuotaOp{tc.op}})
	}
	entries = append(entries, kadm.AlterClientQuotaEntry{Entity: quotaEntity("user", "erin"), Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 100}}})
	res, err := adm.AlterClientQuotas(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(entries) {
		t.Fatalf("%d results for %d entries", len(res), len(entries))
	}
	for i, tc := range cases {
		if !errors.Is(res[i].Err, tc.code) || !strings.Contains(res[i].ErrMessage, tc.msg) {
			t.Errorf("%s %s=%g: %v %q, want %v %q", tc.entity, tc.op.Key, tc.op.Value, res[i].Err, res[i].ErrMessage, tc.code, tc.msg)
		}
	}
	if last := res[len(res)-1]; last.Err != nil {
		t.Errorf("the valid entry beside them: %v", last.Err)
	}
	qs, err := adm.DescribeClientQuotas(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := describedQuotas(qs); !slices.Equal(got, []string{"{user=erin} producer_byte_rate=100"}) {
		t.Errorf("stored %v; only the valid entry should be", got)
	}
	_, err = adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "ip", MatchType: 2}, {Type: "user", MatchType: 2}})
	if !errors.Is(err, kerr.InvalidRequest) {
		t.Errorf("describe ip with user: %v, want INVALID_REQUEST", err)
	}
	_, err = adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "group", MatchType: 2}})
	if !errors.Is(err, kerr.UnsupportedVersion) {
		t.Errorf("describe an unknown entity type: %v, want UNSUPPORTED_VERSION", err)
	}
}

// TestClientQuotaThrottlesProducer runs a producer whose client-id has a
// producer_byte_rate of 1 MiB/s beside one without a quota, against one
// gateway: the throttled one is held near its rate and told of the
// throttle, the other is not. Kafka's rate is a sum over 11 one-second
// samples taken as at least 10 s long, so a new client may send 10 MiB at
// once, and may again when that burst's sample expires 11 s later; the
// rates are taken over 10 s after a 12 s warm-up that covers both.
func TestClientQuotaThrottlesProducer(t *testing.T) {
	const limit = 1 << 20
	const warmUp, run = 12 * time.Second, 10 * time.Second
	c := testenv.StartCaudal(t, testenv.Dev, fastConfig())
	adm := kadm.NewClient(newClient(t, c.Addr))
	ctx := testCtx(t, time.Minute)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "quota-load"); err != nil {
		t.Fatal(err)
	}
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: quotaEntity("client-id", "slow"),
		Ops:    []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: limit}},
	}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("set the quota: %v %v", err, res)
	}
	// Uncompressed, so that what the test counts is what the quota counts:
	// Kafka's quotas count the bytes on the wire.
	value := make([]byte, 16<<10)
	produce := func(clientID string, sent, throttled *atomic.Int64, stop <-chan struct{}) {
		cl := newClient(t, c.Addr, kgo.ClientID(clientID), kgo.DefaultProduceTopic("quota-load"),
			kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(64),
			kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.WithHooks(throttleHook{throttled}))
		for {
			select {
			case <-stop:
				cl.Flush(context.Background())
				return
			default:
			}
			cl.Produce(ctx, &kgo.Record{Value: value}, func(r *kgo.Record, err error) {
				if err == nil {
					sent.Add(int64(len(r.Value)))
				}
			})
		}
	}
	var slow, fast, slowThrottled, fastThrottled atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); produce("slow", &slow, &slowThrottled, stop) }()
	go func() { defer wg.Done(); produce("fast", &fast, &fastThrottled, stop) }()
	time.Sleep(warmUp)
	slow0, fast0 := slow.Load(), fast.Load()
	time.Sleep(run)
	slowBytes, fastBytes := slow.Load()-slow0, fast.Load()-fast0
	close(stop)
	wg.Wait()
	slowRate := float64(slowBytes) / run.Seconds()
	fastRate := float64(fastBytes) / run.Seconds()
	t.Logf("over %v after a %v warm-up: throttled producer %.2f MB/s (quota %.2f MB/s; %.1f MB in the warm-up; %d throttled responses), unthrottled %.2f MB/s (%d throttled responses)",
		run, warmUp, slowRate/1e6, float64(limit)/1e6, float64(slow0)/1e6, slowThrottled.Load(), fastRate/1e6, fastThrottled.Load())
	if slowRate < 0.5*limit || slowRate > 1.5*limit {
		t.Errorf("throttled producer ran at %.0f B/s, want within 0.5-1.5x of %d", slowRate, limit)
	}
	if fastRate < 3*slowRate {
		t.Errorf("unthrottled producer ran at %.0f B/s, not several times the throttled %.0f B/s", fastRate, slowRate)
	}
	if slowThrottled.Load() == 0 || fastThrottled.Load() != 0 {
		t.Errorf("throttle_time_ms seen by the throttled producer %d times, by the other %d", slowThrottled.Load(), fastThrottled.Load())
	}
}

// throttleHook counts the responses that carried a throttle.
type throttleHook struct{ n *atomic.Int64 }

func (h throttleHook) OnBrokerThrottle(_ kgo.BrokerMetadata, _ time.Duration, _ bool) { h.n.Add(1) }
