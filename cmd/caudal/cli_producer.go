package main

// caudal console-producer (kafka-console-producer): one record per line
// of stdin; flushes on EOF.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func runConsoleProducer(prog string, args []string) error {
	fs, conn := newToolFlags(prog, "--topic T [--property parse.key=true] [--producer-property acks=all] [--producer.config FILE]")
	topic := fs.String("topic", "", "the topic to produce to")
	var props, pprops repeated
	fs.Var(&props, "property", "reader `key=value`: parse.key, key.separator; repeatable")
	fs.Var(&pprops, "producer-property", "producer `key=value`: acks, linger.ms, batch.size, compression.type, security properties as in --command-config, …; repeatable")
	config := fs.String("producer.config", "", "producer properties `file`, read after --command-config and before --producer-property")
	acks := fs.String("request-required-acks", "", "acks: all, -1, 1 or 0")
	if err := parseToolFlags(fs, args); err != nil {
		return err
	}
	if *topic == "" {
		return badUsage(fs, "missing required argument --topic")
	}
	if *acks != "" {
		pprops = append(pprops, "acks="+*acks)
	}
	lr, err := newLineReader(props)
	if err != nil {
		return badUsage(fs, "%v", err)
	}
	pm, err := conn.clientProperties(fs, *config, pprops)
	if err != nil {
		return err
	}
	opts, err := producerOpts(pm)
	if err != nil {
		return badUsage(fs, "%v", err)
	}
	opts = append([]kgo.Opt{kgo.ClientID("console-producer"), kgo.DefaultProduceTopic(*topic),
		kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(2 * time.Minute)}, opts...)
	cl, err := conn.connect(pm, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return produceLines(cl, os.Stdin, lr, *topic)
}

// lineReader turns a line into a record, as Kafka's LineMessageReader.
type lineReader struct {
	parseKey bool
	keySep   string
}

func newLineReader(props []string) (lineReader, error) {
	lr := lineReader{keySep: "\t"}
	m, err := keyValueMap(props)
	if err != nil {
		return lr, err
	}
	for k, v := range m {
		switch k {
		case "parse.key":
			lr.parseKey = strings.EqualFold(v, "true")
		case "key.separator":
			lr.keySep = v
		default:
			warnUnknownConfig(k)
		}
	}
	if lr.keySep == "" {
		return lr, fmt.Errorf("key.separator must not be empty")
	}
	return lr, nil
}

func (lr lineReader) record(line string, n int) (*kgo.Record, error) {
	if !lr.parseKey {
		return &kgo.Record{Value: []byte(line)}, nil
	}
	k, v, ok := strings.Cut(line, lr.keySep)
	if !ok {
		return nil, fmt.Errorf("No key separator found on line number %d: '%s'", n, line)
	}
	return &kgo.Record{Key: []byte(k), Value: []byte(v)}, nil
}

func warnUnknownConfig(k string) {
	fmt.Fprintf(os.Stderr, "WARN The configuration '%s' was supplied but isn't a known config.\n", k)
}

// producerOpts maps Kafka producer properties onto kgo options; the
// security properties are connect's.
func producerOpts(props map[string]string) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	for k, v := range props {
		if isSecurityProperty(k) {
			continue
		}
		opt, err := producerOpt(k, strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("producer property %s=%s: %v", k, v, err)
		}
		opts = append(opts, opt...)
	}
	return opts, nil
}

func producerOpt(k, v string) ([]kgo.Opt, error) {
	switch k {
	case "acks":
		return acksOpt(v)
	case "linger.ms", "delivery.timeout.ms", "request.timeout.ms":
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("not a number of milliseconds")
		}
		return []kgo.Opt{durationOpt(k, time.Duration(ms)*time.Millisecond)}, nil
	case "batch.size":
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("not a positive number of bytes")
		}
		return []kgo.Opt{kgo.ProducerBatchMaxBytes(int32(n))}, nil
	case "compression.type":
		return compressionOpt(v)
	case "enable.idempotence":
		if strings.EqualFold(v, "false") {
			return []kgo.Opt{kgo.DisableIdempotentWrite()}, nil
		}
		return nil, nil
	case "client.id":
		return []kgo.Opt{kgo.ClientID(v)}, nil
	}
	warnUnknownConfig(k)
	return nil, nil
}

func durationOpt(k string, d time.Duration) kgo.Opt {
	switch k {
	case "linger.ms":
		return kgo.ProducerLinger(d)
	case "delivery.timeout.ms":
		return kgo.RecordDeliveryTimeout(d)
	default:
		return kgo.ProduceRequestTimeout(d)
	}
}

func acksOpt(v string) ([]kgo.Opt, error) {
	switch v {
	case "all", "-1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, nil
	case "1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}, nil
	case "0":
		return []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}, nil
	}
	return nil, fmt.Errorf("acks must be all, -1, 1 or 0")
}

func compressionOpt(v string) ([]kgo.Opt, error) {
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	c, ok := codecs[v]
	if !ok {
		return nil, fmt.Errorf("unknown compression type")
	}
	return []kgo.Opt{kgo.ProducerBatchCompression(c)}, nil
}

// produceLines produces every line of r and waits for all acks. It stops
// at the first failed record or unparsable line.
func produceLines(cl *kgo.Client, r io.Reader, lr lineReader, topic string) error {
	var (
		mu       sync.Mutex
		firstErr error
	)
	failed := func() error { mu.Lock(); defer mu.Unlock(); return firstErr }
	ctx := context.Background()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var readErr error
	for n := 1; sc.Scan() && failed() == nil; n++ {
		rec, err := lr.record(sc.Text(), n)
		if err != nil {
			readErr = err
			break
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if readErr == nil {
		readErr = sc.Err()
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if err := failed(); err != nil {
		return fmt.Errorf("Error when sending message to topic %s: %v", topic, err)
	}
	return readErr
}
