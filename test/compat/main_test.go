// Package compat is caudal's client compatibility matrix: one scenario,
// run with each of six Kafka clients against its own gateway —
//
//  1. create a topic with 3 partitions (the client's admin API),
//  2. produce N keyed records (acks=all, idempotent where the client can),
//  3. consume them in a consumer group, committing after processing,
//  4. check every record arrived once with its key and value, and that the
//     group's committed offsets (kadm) equal each partition's end offset,
//  5. run the consumer again in the same group: it resumes from the
//     commits. One marker record is produced to each partition first, so
//     the second run must receive exactly the markers — proof that it
//     joined, fetched and started at the committed offsets rather than
//     at the beginning — and its commits must again reach the end offsets.
//
// Each client is a subtest of TestCompat and each step a subtest of it, so
// `go test -v ./test/compat/` reads as a matrix; TestCompat also logs a
// table of the results.
package compat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

const (
	// numRecords is N, the records each client produces and consumes.
	numRecords = 300
	partitions = 3
	topicName  = "compat"
	groupName  = "compat-group"
)

// record is one consumed record as a client reported it.
type record struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
}

// env is what a client's steps get: the gateway and the names to use,
// and on a TLS listener how to connect (security_test.go).
type env struct {
	Addr  string
	Topic string
	Group string
	Sec   *security
}

// client is one column of the matrix. createTopic may be nil: the test
// creates the topic with kadm then. consume joins group Group, commits
// after processing each record and returns once it has processed want
// records (having left the group).
type client struct {
	name        string
	createTopic func(t *testing.T, ctx context.Context, e env)
	produce     func(t *testing.T, ctx context.Context, e env, recs []record)
	consume     func(t *testing.T, ctx context.Context, e env, want int) []record
	// idempotent: the producer is idempotent, so the stored batches
	// must carry a producer id.
	idempotent bool
}

// clients holds each client file's entry, added by its init.
var clients []client

func register(c client) { clients = append(clients, c) }

// scriptClient is a client driven by a script (run runs it with its
// arguments) that takes the commands create ADDR TOPIC PARTITIONS,
// produce ADDR TOPIC with key:value lines on stdin, and consume ADDR
// TOPIC GROUP WANT, which prints "partition offset key value" lines;
// on a TLS listener each command ends with a file of librdkafka
// properties (security.configArgs).
func scriptClient(name string, run func(t *testing.T, ctx context.Context, stdin string, args ...string) []string) client {
	return client{
		name:       name,
		idempotent: true,
		createTopic: func(t *testing.T, ctx context.Context, e env) {
			run(t, ctx, "", append([]string{"create", e.Addr, e.Topic, strconv.Itoa(partitions)}, e.Sec.configArgs(t)...)...)
		},
		produce: func(t *testing.T, ctx context.Context, e env, recs []record) {
			run(t, ctx, keyedLines(recs), append([]string{"produce", e.Addr, e.Topic}, e.Sec.configArgs(t)...)...)
		},
		consume: func(t *testing.T, ctx context.Context, e env, want int) []record {
			args := append([]string{"consume", e.Addr, e.Topic, e.Group, strconv.Itoa(want)}, e.Sec.configArgs(t)...)
			return parseRecords(t, run(t, ctx, "", args...))
		},
	}
}

// keyedLines is recs as key:value lines, as kcat -K: reads them.
func keyedLines(recs []record) string {
	var in strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&in, "%s:%s\n", r.Key, r.Value)
	}
	return in.String()
}

var steps = []string{"create", "produce", "consume", "commits", "resume"}

// TestCompat runs the scenario with every client, in parallel, each on a
// gateway of its own.
func TestCompat(t *testing.T) {
	sortClients()
	var mu sync.Mutex
	results := map[string]map[string]string{}
	t.Cleanup(func() { // after the parallel subtests
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, "\n%-24s", "client")
		for _, s := range steps {
			fmt.Fprintf(&b, " %-8s", s)
		}
		b.WriteString(" time\n")
		for _, c := range clients {
			if results[c.name] == nil {
				continue // not selected by -run
			}
			fmt.Fprintf(&b, "%-24s", c.name)
			for _, s := range steps {
				r := results[c.name][s]
				if r == "" {
					r = "-"
				}
				fmt.Fprintf(&b, " %-8s", r)
			}
			fmt.Fprintf(&b, " %s\n", results[c.name]["time"])
		}
		t.Log(b.String())
	})
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := map[string]string{}
			mu.Lock()
			results[c.name] = res
			mu.Unlock()
			set := func(k, v string) { mu.Lock(); res[k] = v; mu.Unlock() }
			begin := time.Now()
			defer func() { set("time", time.Since(begin).Round(100*time.Millisecond).String()) }()
			runScenario(t, c, set)
		})
	}
}

// sortClients puts the matrix's columns in the order they are reported.
func sortClients() {
	order := []string{"kcat", "confluent-kafka-python", "kafkajs", "sarama", "kafka-go", "confluent-kafka-go"}
	sort.SliceStable(clients, func(i, j int) bool { return indexOf(order, clients[i].name) < indexOf(order, clients[j].name) })
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

// runScenario runs the steps in order as subtests; after a failed step
// the rest are not run.
func runScenario(t *testing.T, c client, set func(step, result string)) {
	gw := testenv.StartCaudal(t, testenv.Dev, gateway.Config{FlushInterval: 20 * time.Millisecond})
	e := env{Addr: gw.Addr, Topic: topicName, Group: groupName}
	adm := admin(t, gw.Addr)
	want := keyedRecords(c.name)
	var first []record
	stepFns := map[string]func(t *testing.T){
		"create": func(t *testing.T) {
			ctx := stepCtx(t, 30*time.Second)
			if c.createTopic == nil {
				resp, err := adm.CreateTopic(ctx, partitions, 1, nil, e.Topic)
				if err == nil {
					err = resp.Err
				}
				if err != nil {
					t.Fatalf("kadm create topic: %v", err)
				}
			} else {
				c.createTopic(t, ctx, e)
			}
			td, err := adm.ListTopics(ctx, e.Topic)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(td[e.Topic].Partitions); n != partitions {
				t.Fatalf("topic %s has %d partitions (%v), want %d", e.Topic, n, td[e.Topic].Err, partitions)
			}
		},
		"produce": func(t *testing.T) {
			ctx := stepCtx(t, 60*time.Second)
			c.produce(t, ctx, e, want)
			if t.Failed() {
				return
			}
			ends := endOffsets(t, ctx, adm, e.Topic)
			var total int64
			for _, o := range ends {
				total += o
			}
			if total != numRecords {
				t.Fatalf("end offsets %v add up to %d, want %d", ends, total, numRecords)
			}
			t.Logf("end offsets per partition: %v", ends)
			checkProducerIDs(t, ctx, e, c.idempotent)
		},
		"consume": func(t *testing.T) {
			ctx := stepCtx(t, 60*time.Second)
			first = c.consume(t, ctx, e, numRecords)
			checkRecords(t, first, want)
		},
		"commits": func(t *testing.T) {
			checkCommits(t, adm, e)
		},
		"resume": func(t *testing.T) {
			ctx := stepCtx(t, 60*time.Second)
			markers := produceMarkers(t, ctx, e, c.name)
			before := endOffsets(t, ctx, adm, e.Topic)
			got := c.consume(t, ctx, e, len(markers))
			// Anything but the markers was consumed twice.
			checkRecords(t, got, markers)
			for _, r := range got {
				if r.Offset != before[r.Partition]-1 {
					t.Errorf("second run got %s at %d/%d, want the marker at offset %d", r.Key, r.Partition, r.Offset, before[r.Partition]-1)
				}
			}
			checkCommits(t, adm, e)
		},
	}
	failed := false
	for _, s := range steps {
		if failed {
			set(s, "-")
			continue
		}
		ok := t.Run(s, stepFns[s])
		if ok {
			set(s, "ok")
		} else {
			set(s, "FAIL")
			failed = true
		}
	}
}

// keyedRecords are the N records a client produces, their values naming
// where they came from.
func keyedRecords(from string) []record {
	recs := make([]record, numRecords)
	for i := range recs {
		recs[i] = record{Key: fmt.Sprintf("key-%03d", i), Value: fmt.Sprintf("value %03d from %s", i, from)}
	}
	return recs
}

func stepCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func admin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// endOffsets returns each partition's high watermark.
func endOffsets(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	lo, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = lo.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	ends := map[int32]int64{}
	lo.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	if len(ends) != partitions {
		t.Fatalf("end offsets for %d partitions, want %d: %v", len(ends), partitions, ends)
	}
	return ends
}

// checkRecords checks that got holds every record of want exactly once
// (matched by key, with its value) and nothing else, and that records of
// a partition came in offset order.
func checkRecords(t *testing.T, got, want []record) {
	t.Helper()
	byKey := map[string]string{}
	for _, r := range want {
		byKey[r.Key] = r.Value
	}
	seen := map[string]int{}
	last := map[int32]int64{}
	perPart := map[int32]int{}
	bad := 0
	for _, r := range got {
		seen[r.Key]++
		perPart[r.Partition]++
		if v, ok := byKey[r.Key]; !ok || v != r.Value {
			if bad++; bad <= 5 {
				t.Errorf("unexpected record %d/%d key %q value %q", r.Partition, r.Offset, r.Key, r.Value)
			}
		}
		if o, ok := last[r.Partition]; ok && r.Offset <= o {
			if bad++; bad <= 5 {
				t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, o)
			}
		}
		last[r.Partition] = r.Offset
	}
	var missing, dup []string
	for _, r := range want {
		switch n := seen[r.Key]; {
		case n == 0:
			missing = append(missing, r.Key)
		case n > 1:
			dup = append(dup, fmt.Sprintf("%s×%d", r.Key, n))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d records not received, e.g. %v", len(missing), len(want), head(missing, 5))
	}
	if len(dup) > 0 {
		t.Errorf("%d records received more than once, e.g. %v", len(dup), head(dup, 5))
	}
	if len(got) != len(want) {
		t.Errorf("received %d records, want %d", len(got), len(want))
	}
	if !t.Failed() && len(want) >= partitions && len(perPart) != partitions {
		t.Errorf("records came from partitions %v, want all %d", perPart, partitions)
	}
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// checkCommits waits (briefly: clients that commit asynchronously or on
// close may lag) until the group's committed offsets equal the end
// offsets of every partition.
func checkCommits(t *testing.T, adm *kadm.Client, e env) {
	t.Helper()
	ctx := stepCtx(t, 30*time.Second)
	ends := endOffsets(t, ctx, adm, e.Topic)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := adm.FetchOffsets(ctx, e.Group)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("fetch offsets of %s: %v", e.Group, err)
		}
		committed := map[int32]int64{}
		for p := int32(0); p < partitions; p++ {
			committed[p] = -1
			if o, ok := resp.Lookup(e.Topic, p); ok {
				committed[p] = o.At
			}
		}
		equal := true
		for p, end := range ends {
			if committed[p] != end {
				equal = false
			}
		}
		if equal {
			t.Logf("committed offsets %v = end offsets", committed)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s committed %v, end offsets are %v", e.Group, committed, ends)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkProducerIDs reads the topic back with franz-go and checks that
// the batches of an idempotent producer carry one producer id and
// sequence-numbered records, and that the others carry none.
func checkProducerIDs(t *testing.T, ctx context.Context, e env, idempotent bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr), kgo.ConsumeTopics(e.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ids := map[int64]int{}
	n := 0
	for n < numRecords && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil && ctx.Err() == nil {
			t.Fatalf("read back: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			ids[r.ProducerID]++
		})
	}
	if n != numRecords {
		t.Fatalf("read back %d of %d records", n, numRecords)
	}
	if _, none := ids[-1]; idempotent && (none || len(ids) != 1) {
		t.Errorf("idempotent producer: records per producer id %v, want one id >= 0", ids)
	} else if !idempotent && (!none || len(ids) != 1) {
		t.Errorf("non-idempotent producer: records per producer id %v, want all -1", ids)
	}
}

// produceMarkers writes one record to each partition with franz-go.
func produceMarkers(t *testing.T, ctx context.Context, e env, name string) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var markers []record
	var rs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		m := record{Partition: p, Key: fmt.Sprintf("marker-%d", p), Value: "marker after the first run of " + name}
		markers = append(markers, m)
		rs = append(rs, &kgo.Record{Topic: e.Topic, Partition: p, Key: []byte(m.Key), Value: []byte(m.Value)})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce markers: %v", err)
	}
	return markers
}

// runLines runs an external client and returns its stdout lines, failing
// the test (with its stderr) if it fails or outlives ctx.
func runLines(t *testing.T, ctx context.Context, stdin string, name string, args ...string) []string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%s %s: %v after %s (ctx: %v)\nstdout (end): %s\nstderr (end): %s", name, strings.Join(args, " "), err,
			time.Since(start).Round(time.Millisecond), ctx.Err(), tail(stdout.String(), 1500), tail(stderr.String(), 3000))
	}
	var lines []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// parseRecords parses lines "partition offset key value" (value may hold
// spaces).
func parseRecords(t *testing.T, lines []string) []record {
	t.Helper()
	var rs []record
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("unparsable consumer output line %q", l)
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("unparsable consumer output line %q", l)
		}
		rs = append(rs, record{Partition: int32(p), Offset: o, Key: f[2], Value: f[3]})
	}
	return rs
}
