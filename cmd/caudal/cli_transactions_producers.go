package main

// caudal transactions describe-producers and abort: a partition's
// producers, and ending a hanging transaction on a partition with an ABORT
// marker (WriteTxnMarkers), found by its start offset or named by its
// producer.

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionFlags are --topic and --partition, which both commands require.
type partitionFlags struct {
	topic     string
	partition int
}

func (p *partitionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.topic, "topic", "", "topic `name`")
	fs.IntVar(&p.partition, "partition", -1, "partition `number`")
}

// String is the partition as Kafka's TopicPartition prints it.
func (p *partitionFlags) String() string { return fmt.Sprintf("%s-%d", p.topic, p.partition) }

// producers describes the partition's producers.
func (p *partitionFlags) producers(adm *kadm.Client) (kadm.DescribedProducers, error) {
	ctx, cancel := opContext()
	defer cancel()
	described, err := adm.DescribeProducers(ctx, kadm.TopicsSet{p.topic: {int32(p.partition): {}}})
	if err != nil {
		return nil, err
	}
	d, ok := described[p.topic].Partitions[int32(p.partition)]
	if !ok {
		return nil, errors.New("no answer")
	}
	return d.ActiveProducers, d.Err
}

func describeProducersCommand() *txnCommand {
	var p partitionFlags
	return &txnCommand{
		summary: "--topic T --partition P",
		flags: func(fs *flag.FlagSet) func() error {
			p.register(fs)
			return func() error { return required(fs, "topic", "partition") }
		},
		run: func(cl *kgo.Client) error {
			prods, err := p.producers(kadm.NewClient(cl))
			if err != nil {
				return fmt.Errorf("Failed to describe producers for partition %s on leader: %v", &p, err)
			}
			var rows [][]string
			for _, d := range prods.Sorted() {
				start := "None"
				if d.CurrentTxnStartOffset >= 0 {
					start = fmt.Sprint(d.CurrentTxnStartOffset)
				}
				rows = append(rows, []string{fmt.Sprint(d.ProducerID), fmt.Sprint(d.ProducerEpoch), fmt.Sprint(d.CoordinatorEpoch),
					fmt.Sprint(d.LastSequence), fmt.Sprint(d.LastTimestamp), start})
			}
			return prettyPrintTable(os.Stdout, []string{"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
				"LastTimestamp", "CurrentTransactionStartOffset"}, rows)
		},
	}
}

// abortSpec is the transaction to abort: Kafka's AbortTransactionSpec.
type abortSpec struct {
	partitionFlags
	startOffset      int64
	producerID       int64
	producerEpoch    int
	coordinatorEpoch int
}

func abortTxnCommand() *txnCommand {
	var a abortSpec
	var byOffset bool
	return &txnCommand{
		summary: "--topic T --partition P (--start-offset O | --producer-id ID --producer-epoch E --coordinator-epoch C)",
		flags: func(fs *flag.FlagSet) func() error {
			a.register(fs)
			fs.Int64Var(&a.startOffset, "start-offset", -1, "start `offset` of the transaction to abort")
			fs.Int64Var(&a.producerID, "producer-id", -1, "producer `id` (instead of --start-offset)")
			fs.IntVar(&a.producerEpoch, "producer-epoch", -1, "producer `epoch` (with --producer-id)")
			fs.IntVar(&a.coordinatorEpoch, "coordinator-epoch", -1, "coordinator `epoch` (with --producer-id)")
			return func() error {
				byOffset = isSet(fs, "start-offset")
				switch err := required(fs, "topic", "partition"); {
				case err != nil:
					return err
				case !byOffset && !isSet(fs, "producer-id"):
					return errors.New("The transaction to abort must be identified either with --start-offset " +
						"(for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)")
				case !byOffset:
					return required(fs, "producer-epoch", "coordinator-epoch")
				}
				return nil
			}
		},
		run: func(cl *kgo.Client) error {
			adm := kadm.NewClient(cl)
			if byOffset {
				if err := a.findProducer(adm); err != nil {
					return err
				}
			}
			return a.abort(adm)
		},
	}
}

// findProducer fills in the producer whose open transaction on the
// partition starts at the start offset, as Kafka's tool does through
// DescribeProducers.
func (a *abortSpec) findProducer(adm *kadm.Client) error {
	prods, err := a.producers(adm)
	if err != nil {
		return fmt.Errorf("Failed to validate producer state for partition %s: %v", &a.partitionFlags, err)
	}
	for _, d := range prods.Sorted() {
		if d.CurrentTxnStartOffset == a.startOffset {
			a.producerID, a.producerEpoch, a.coordinatorEpoch = d.ProducerID, int(d.ProducerEpoch), int(d.CoordinatorEpoch)
			return nil
		}
	}
	return fmt.Errorf("Could not find any open transactions starting at offset %d on partition %s", a.startOffset, &a.partitionFlags)
}

// abort writes the ABORT marker. A coordinator epoch below zero (a
// producer whose transaction never ended) becomes 0, which no leader
// epoch is below, as Kafka's tool does.
func (a *abortSpec) abort(adm *kadm.Client) error {
	ctx, cancel := opContext()
	defer cancel()
	m := kadm.TxnMarkers{ProducerID: a.producerID, ProducerEpoch: int16(a.producerEpoch), CoordinatorEpoch: int32(max(a.coordinatorEpoch, 0)),
		Topics: kadm.TopicsSet{a.topic: {int32(a.partition): {}}}}
	resps, err := adm.WriteTxnMarkers(ctx, m)
	if err == nil {
		err = resps[a.producerID].Topics[a.topic].Partitions[int32(a.partition)].Err
	}
	if err != nil {
		return fmt.Errorf("Failed to abort transaction %s: %v", a, err)
	}
	return nil
}

// String is the spec as Kafka's AbortTransactionSpec prints it.
func (a *abortSpec) String() string {
	return fmt.Sprintf("AbortTransactionSpec(topicPartition=%s, producerId=%d, producerEpoch=%d, coordinatorEpoch=%d)",
		&a.partitionFlags, a.producerID, a.producerEpoch, max(a.coordinatorEpoch, 0))
}
