package main

// caudal console-consumer (kafka-console-consumer): prints records, one
// per line, and "Processed a total of N messages" on stderr at the end.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

type consumerCmd struct {
	cl      *kgo.Client
	grouped bool
	max     int
	timeout time.Duration
	format  recordFormat
	count   int
	warned  map[string]bool
}

type consumerFlags struct {
	topic, group, offset      string
	config                    string
	fromBeginning             bool
	partition, max, timeoutMs int
	props, cprops             repeated
}

func runConsoleConsumer(prog string, args []string) error {
	fs, conn := newToolFlags(prog, "--topic T [--from-beginning] [--group G] [--max-messages N] [--timeout-ms N] [--consumer.config FILE]")
	var f consumerFlags
	fs.StringVar(&f.topic, "topic", "", "the topic to consume")
	fs.StringVar(&f.group, "group", "", "consumer group `id`: commit offsets in it")
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the earliest offset when there is no committed offset")
	fs.IntVar(&f.partition, "partition", -1, "consume only this partition (without --group)")
	fs.StringVar(&f.offset, "offset", "latest", "with --partition: earliest, latest or an offset")
	fs.IntVar(&f.max, "max-messages", 0, "exit after this many messages (0: no limit)")
	fs.IntVar(&f.timeoutMs, "timeout-ms", 0, "exit after this many ms without a message (0: wait forever)")
	fs.Var(&f.props, "property", "formatter `key=value`: print.key, key.separator, print.partition, …; repeatable")
	fs.Var(&f.cprops, "consumer-property", "consumer `key=value`: group.id, client.id, security properties as in --command-config; repeatable")
	fs.StringVar(&f.config, "consumer.config", "", "consumer properties `file`, read after --command-config and before --consumer-property")
	if err := parseToolFlags(fs, args); err != nil {
		return err
	}
	props, err := conn.clientProperties(fs, f.config, f.cprops)
	if err != nil {
		return err
	}
	opts, err := f.options(fs, props)
	if err != nil {
		return err
	}
	format, err := newRecordFormat(f.props)
	if err != nil {
		return badUsage(fs, "%v", err)
	}
	cl, err := conn.connect(props, opts...)
	if err != nil {
		return err
	}
	c := &consumerCmd{cl: cl, grouped: f.group != "", max: f.max, format: format,
		timeout: time.Duration(f.timeoutMs) * time.Millisecond, warned: map[string]bool{}}
	return c.run()
}

// options validates the flags and returns the client's consume options.
func (f *consumerFlags) options(fs *flag.FlagSet, props map[string]string) ([]kgo.Opt, error) {
	// Java's fetch.max.wait.ms: an empty long poll must not hold back
	// partitions whose start offset was resolved after it was sent.
	opts := []kgo.Opt{kgo.ClientID("console-consumer"), kgo.FetchMaxWait(500 * time.Millisecond)}
	opts = append(opts, f.propertyOpts(props)...)
	switch {
	case f.topic == "":
		return nil, badUsage(fs, "missing required argument --topic")
	case f.group != "" && f.partition >= 0:
		return nil, badUsage(fs, "--group cannot be used with --partition")
	case f.partition >= 0:
		at, err := parseStartOffset(f.offset)
		if err != nil {
			return nil, badUsage(fs, "%v", err)
		}
		return append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{f.topic: {int32(f.partition): at}})), nil
	}
	reset := kgo.NewOffset().AtEnd()
	if f.fromBeginning {
		reset = kgo.NewOffset().AtStart()
	}
	opts = append(opts, kgo.ConsumeTopics(f.topic), kgo.ConsumeResetOffset(reset))
	if f.group != "" {
		opts = append(opts, kgo.ConsumerGroup(f.group), kgo.AutoCommitMarks())
	}
	return opts, nil
}

// propertyOpts applies the consumer properties group.id and client.id;
// the security properties are connect's.
func (f *consumerFlags) propertyOpts(props map[string]string) []kgo.Opt {
	var opts []kgo.Opt
	for k, v := range props {
		switch {
		case isSecurityProperty(k):
		case k == "group.id":
			if f.group == "" {
				f.group = v
			}
		case k == "client.id":
			opts = append(opts, kgo.ClientID(v))
		default:
			warnUnknownConfig(k)
		}
	}
	return opts
}

func parseStartOffset(s string) (kgo.Offset, error) {
	switch s {
	case "earliest":
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, fmt.Errorf("--offset must be earliest, latest or a non-negative offset, got %q", s)
	}
	return kgo.NewOffset().At(n), nil
}

// run consumes until --max-messages, --timeout-ms or a signal, then
// commits what it printed (with --group) and leaves.
func (c *consumerCmd) run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.loop(ctx)
	if c.grouped {
		cctx, cancel := opContext()
		if cerr := c.cl.CommitMarkedOffsets(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("commit offsets: %w", cerr)
		}
		cancel()
	}
	c.cl.Close()
	fmt.Fprintf(os.Stderr, "Processed a total of %d messages\n", c.count)
	return err
}

func (c *consumerCmd) loop(ctx context.Context) error {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for c.max <= 0 || c.count < c.max {
		fetches, timedOut := c.poll(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() || timedOut {
			return nil
		}
		if err := refusal(fetches); err != nil {
			return fmt.Errorf("Error processing message, terminating consumer process: %w", err)
		}
		c.warn(fetches)
		for _, rec := range fetches.Records() {
			c.format.write(w, rec)
			c.count++
			if c.grouped {
				c.cl.MarkCommitRecords(rec)
			}
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write stdout: %w", err)
		}
	}
	return nil
}

// poll waits for records up to --timeout-ms; timedOut is true when none came.
func (c *consumerCmd) poll(ctx context.Context) (kgo.Fetches, bool) {
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if c.timeout > 0 {
		pctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	defer cancel()
	limit := -1
	if c.max > 0 {
		limit = c.max - c.count
	}
	fetches := c.cl.PollRecords(pctx, limit)
	return fetches, fetches.NumRecords() == 0 && pctx.Err() != nil
}

// refusals are the fetch errors that retrying cannot cure: the principal
// may not read the topic or use the group, or could not authenticate.
// Kafka's console consumer stops on them.
var refusals = []error{kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed,
	kerr.ClusterAuthorizationFailed, kerr.SaslAuthenticationFailed}

// refusal is the first of the fetches' errors that is a refusal.
func refusal(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		for _, r := range refusals {
			if errors.Is(fe.Err, r) {
				return fe.Err
			}
		}
	}
	return nil
}

// warn prints each distinct fetch error once; the client keeps retrying.
func (c *consumerCmd) warn(fetches kgo.Fetches) {
	for _, fe := range fetches.Errors() {
		if errors.Is(fe.Err, context.Canceled) || errors.Is(fe.Err, context.DeadlineExceeded) {
			continue
		}
		msg := fmt.Sprintf("WARN error consuming %s[%d]: %v", fe.Topic, fe.Partition, fe.Err)
		if !c.warned[msg] {
			c.warned[msg] = true
			fmt.Fprintln(os.Stderr, msg)
		}
	}
}
