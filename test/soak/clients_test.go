package soak

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	topic      = "soak"
	partitions = 6
	group      = "soak"
	// rate is each producer's records per second: enough to keep every
	// gateway flushing and the worker merging, little enough for 2 cores.
	rate = 100
)

// The clients' names in the ledger and the report; a producer's name is
// also the first word of its records' values.
const (
	confluentProducer = "confluent"
	kgoProducer       = "kgo"
	confluentConsumer = "confluent consumer"
	kgoConsumer       = "kgo consumer"
)

var (
	producers = []string{confluentProducer, kgoProducer}
	consumers = []string{confluentConsumer, kgoConsumer}
)

// pythonBin is Debian's interpreter, the one that sees
// python3-confluent-kafka (the python3 on PATH may be another).
const pythonBin = "/usr/bin/python3"

//go:embed soak.py
var soakPy []byte

// clients are the soak's producers and consumers: one of each with
// confluent_kafka (librdkafka, in a python process) and with kgo (in this
// process). Both consumers are members of one group.
type clients struct {
	pyProducer, pyConsumer *child
	kgoProducer            *goProducer
	kgoConsumer            *goConsumer
}

func startClients(t *testing.T, dir string, bootstrap []string, l *ledger) *clients {
	t.Helper()
	if _, err := os.Stat(pythonBin); err != nil {
		t.Fatalf("%s: %v (make setup installs python3-confluent-kafka)", pythonBin, err)
	}
	script := filepath.Join(dir, "soak.py")
	if err := os.WriteFile(script, soakPy, 0o644); err != nil {
		t.Fatal(err)
	}
	servers := strings.Join(bootstrap, ",")
	c := &clients{
		pyProducer: &child{name: "confluent producer", log: filepath.Join(dir, "confluent-producer.log"),
			argv:  []string{pythonBin, script, "produce", servers, topic, strconv.Itoa(partitions), strconv.Itoa(rate)},
			lines: pyLines(l, confluentProducer)},
		pyConsumer: &child{name: "confluent consumer", log: filepath.Join(dir, "confluent-consumer.log"),
			argv:  []string{pythonBin, script, "consume", servers, topic, group},
			lines: pyLines(l, confluentConsumer)},
	}
	for _, ch := range []*child{c.pyProducer, c.pyConsumer} {
		ch.start(t)
		t.Cleanup(ch.kill)
	}
	c.kgoProducer = startGoProducer(t, bootstrap, l, logFile(t, dir, "kgo-producer.log"))
	c.kgoConsumer = startGoConsumer(t, bootstrap, l, logFile(t, dir, "kgo-consumer.log"))
	return c
}

// exited lists the client processes that are gone: nothing restarts
// them, so a client that exits has not survived a fault.
func (c *clients) exited() []string {
	var gone []string
	for _, ch := range []*child{c.pyProducer, c.pyConsumer} {
		if !ch.running() {
			gone = append(gone, ch.name+" exited")
		}
	}
	return gone
}

// stopProducers stops producing and lets each producer deliver what it
// holds, for at most a minute.
func (c *clients) stopProducers() {
	var wg sync.WaitGroup
	wg.Go(func() { c.pyProducer.stop(90 * time.Second) })
	wg.Go(c.kgoProducer.stop)
	wg.Wait()
}

func (c *clients) stopConsumers() {
	var wg sync.WaitGroup
	wg.Go(func() { c.pyConsumer.stop(30 * time.Second) })
	wg.Go(c.kgoConsumer.stop)
	wg.Wait()
}

func logFile(t *testing.T, dir, name string) io.Writer {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// pyLines feeds soak.py's output lines (see its docstring) to the ledger.
func pyLines(l *ledger, client string) func(string) {
	return func(line string) {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "A", "R":
			f := strings.SplitN(rest, " ", 3)
			p, err1 := strconv.ParseInt(f[0], 10, 32)
			o, err2 := strconv.ParseInt(f[1], 10, 64)
			if len(f) < 3 || err1 != nil || err2 != nil {
				l.clientError(client, "unparsable output: "+line)
			} else if kind == "A" {
				l.ack(pos{int32(p), o}, f[2])
			} else {
				l.read(client, pos{int32(p), o}, f[2])
			}
		case "F":
			f := strings.SplitN(rest, " ", 4)
			if len(f) < 4 {
				l.clientError(client, "unparsable output: "+line)
				return
			}
			l.fail(strings.Join(f[:3], " "), f[3])
		case "U":
			n, _ := strconv.ParseInt(rest, 10, 64)
			l.leftUndelivered(client, n)
		case "E":
			l.clientError(client, rest)
		default:
			l.clientError(client, "unexpected output: "+line)
		}
	}
}

// goProducer is the kgo producer, with kgo's defaults: idempotent, acks=all,
// unlimited retries.
type goProducer struct {
	cl     *kgo.Client
	l      *ledger
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startGoProducer(t *testing.T, bootstrap []string, l *ledger, log io.Writer) *goProducer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.WithLogger(kgo.BasicLogger(log, kgo.LogLevelInfo, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &goProducer{cl: cl, l: l, cancel: cancel, done: make(chan struct{})}
	go p.run(ctx)
	t.Cleanup(p.stop)
	return p
}

// run produces rate records a second, one partition after the other,
// until ctx ends.
func (p *goProducer) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	for seq := int64(0); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r := &kgo.Record{Partition: int32(seq % partitions), Value: encodeValue(kgoProducer, seq, time.Now())}
		p.cl.Produce(context.Background(), r, p.delivered)
	}
}

func (p *goProducer) delivered(r *kgo.Record, err error) {
	switch {
	case err == nil:
		p.l.ack(pos{r.Partition, r.Offset}, string(r.Value))
	case errors.Is(err, kgo.ErrClientClosed):
		p.l.leftUndelivered(kgoProducer, 1) // still buffered when stop gave up
	default:
		p.l.fail(string(r.Value), err.Error())
	}
}

// stop stops producing, waits up to a minute for what is buffered to be
// delivered and closes the client; it may be called more than once.
func (p *goProducer) stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.cl.Flush(ctx)
		p.cl.Close()
	})
}

// goConsumer is the kgo member of the group: range assignment, which
// librdkafka's default list also offers, and a synchronous commit after
// each polled batch is recorded.
type goConsumer struct {
	cl     *kgo.Client
	l      *ledger
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startGoConsumer(t *testing.T, bootstrap []string, l *ledger, log io.Writer) *goConsumer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.WithLogger(kgo.BasicLogger(log, kgo.LogLevelInfo, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &goConsumer{cl: cl, l: l, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	t.Cleanup(c.stop)
	return c
}

func (c *goConsumer) run(ctx context.Context) {
	defer close(c.done)
	for {
		fs := c.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(_ string, _ int32, err error) { c.l.clientError(kgoConsumer, err.Error()) })
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			c.l.read(kgoConsumer, pos{r.Partition, r.Offset}, string(r.Value))
			n++
		})
		if n == 0 {
			continue
		}
		if err := c.cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
			c.l.clientError(kgoConsumer, "commit: "+err.Error())
		}
	}
}

// stop leaves the group and closes the client; it may be called more than
// once.
func (c *goConsumer) stop() {
	c.once.Do(func() {
		c.cancel()
		<-c.done
		c.cl.Close()
	})
}

// scan reads the whole topic from its start to its end offsets with a
// client of its own, as a new consumer would: the stored log, after the
// worker's merges.
func scan(ctx context.Context, bootstrap []string) (reads []read, garbled []string, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...))
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("list end offsets: %w", err)
	}
	next := map[int32]int64{} // partition → next offset expected
	left := map[int32]int64{} // partition → end offset, while short of it
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && err == nil {
			err = fmt.Errorf("end offset of %d: %w", o.Partition, o.Err)
		}
		from[o.Partition] = kgo.NewOffset().AtStart()
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	if err != nil {
		return nil, nil, err
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("scan stopped short of the end offsets (partition → end: %v; reached: %v): %w", left, next, ctx.Err())
		}
		fs.EachError(func(_ string, p int32, e error) { err = fmt.Errorf("fetch partition %d: %w", p, e) })
		if err != nil {
			return nil, nil, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = r.Offset + 1
			if next[r.Partition] >= left[r.Partition] {
				delete(left, r.Partition)
			}
			rec, _, perr := parseHead(string(r.Value))
			if perr != nil {
				garbled = append(garbled, fmt.Sprintf("%v: %v", pos{r.Partition, r.Offset}, perr))
				return
			}
			reads = append(reads, read{pos{r.Partition, r.Offset}, rec})
		})
	}
	return reads, garbled, nil
}
