package gateway

// Produce, versions 3–11 (RecordBatch v2 only).
//
// Each partition's batches are validated as a broker validates them (magic
// 2, CRC-32C, lengths, record count, codec, keys on compacted topics,
// max.message.bytes) and appended to the gateway's flush buffer; all of a
// request's batches go into the same segment object. The response is sent
// once that object is in the bucket and its metadata commit is done, so
// acks=1 and acks=-1 both mean durable; acks=0 gets no response. A full
// buffer blocks the connection's read loop, which pushes back on the
// producer.
//
// Transactional batches need a transactional id with WRITE
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and their partition in the
// producer's transaction at its current epoch, which the metadata commit
// checks (INVALID_TXN_STATE; a fenced epoch gets INVALID_PRODUCER_EPOCH).
// v12 is transaction version 2 (KIP-890): its partitions join the
// transaction implicitly, here, before the batches are appended. Control
// batches from clients are INVALID_RECORD.

import (
	"errors"

	"github.com/caudal/caudal/gateway/writer"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/segments"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerAsync(kmsg.Produce, 3, 12, serveProduce) }

// producePart is one partition of a produce request while it is served:
// its place in the response and its batches' items in the Append.
type producePart struct {
	topic, part  int
	first, count int
}

func serveProduce(c *conn, kreq kmsg.Request, r *reply) {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	if req.Acks != 0 {
		r.resp = resp
	}
	// Only the batches refer to the body (kmsg's ReadFrom copies strings
	// and aliases bytes), and r is done once they are in their object or
	// were never appended.
	r.bodyFree = true
	var (
		items   []writer.Item
		waiting []producePart
	)
	for ti, rt := range req.Topics {
		rtResp := kmsg.NewProduceResponseTopic()
		rtResp.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewProduceResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.BaseOffset = -1
			pr.LogAppendTime = -1
			pr.LogStartOffset = -1
			batchItems, err := c.validateProduce(req, rt.Topic, rp)
			if err != nil {
				pr.ErrorCode = errCode(err)
				pr.ErrorMessage = errMessage(err)
			} else {
				waiting = append(waiting, producePart{topic: ti, part: len(rtResp.Partitions), first: len(items), count: len(batchItems)})
				items = append(items, batchItems...)
			}
			rtResp.Partitions = append(rtResp.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, rtResp)
	}
	if len(items) == 0 {
		close(r.done)
		return
	}
	if err := c.joinTxn(req, items); err != nil {
		failProduce(resp, waiting, err)
		close(r.done)
		return
	}
	ack, err := c.g.writer.Append(items)
	if err != nil {
		failProduce(resp, waiting, err)
		close(r.done)
		return
	}
	go func() {
		<-ack.Done()
		if results, err := ack.Results(); err != nil {
			failProduce(resp, waiting, err)
		} else {
			answerProduce(resp, waiting, results)
		}
		close(r.done)
	}()
}

// validateProduce checks one partition's records and turns them into
// items for the writer.
func (c *conn) validateProduce(req *kmsg.ProduceRequest, topic string, rp kmsg.ProduceRequestTopicPartition) ([]writer.Item, error) {
	if req.TransactionID != nil && !c.allowed(kmsg.ACLOperationWrite, txnResource, *req.TransactionID) {
		return nil, kerr.TransactionalIDAuthorizationFailed
	}
	if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
		return nil, kerr.InvalidRequiredAcks
	}
	if !c.allowed(kmsg.ACLOperationWrite, topicResource, topic) {
		return nil, kerr.TopicAuthorizationFailed
	}
	t, err := c.g.topics.ByName(c.ctx, topic)
	if err != nil {
		return nil, err
	}
	if rp.Partition < 0 || rp.Partition >= t.Partitions {
		return nil, kerr.UnknownTopicOrPartition
	}
	if isInternalTopic(topic) {
		return nil, kafkaErr(kerr.InvalidTopicException, "cannot append to internal topic %s", topic)
	}
	maxBytes := c.g.configs.TopicInt(t.Configs, "max.message.bytes")
	policy, _ := c.g.configs.TopicValue(t.Configs, "cleanup.policy")
	batches, err := segments.SplitBatches(rp.Records)
	if err != nil {
		return nil, kafkaErr(kerr.CorruptMessage, "%v", err)
	}
	if len(batches) == 0 {
		return nil, kafkaErr(kerr.CorruptMessage, "no record batch")
	}
	items := make([]writer.Item, 0, len(batches))
	for _, b := range batches {
		if int64(len(b)) > maxBytes {
			return nil, kafkaErr(kerr.MessageTooLarge, "batch of %d bytes exceeds max.message.bytes %d", len(b), maxBytes)
		}
		// The decompression cap is fixed, not a multiple of
		// max.message.bytes, which an operator may raise to gigabytes:
		// it bounds the work one small hostile batch can cause, far
		// above what any client batch inflates to.
		h, err := segments.ValidateBatch(b, segments.ValidateOptions{RequireKeys: topicconfig.IsCompacted(policy), MaxDecompressed: segments.DecompressLimit})
		if err != nil {
			return nil, err
		}
		if h.Transactional() {
			if req.TransactionID == nil {
				return nil, kafkaErr(kerr.InvalidRecord, "transactional batch without a transactional id")
			}
		}
		items = append(items, writer.Item{Topic: t.ID, Partition: rp.Partition, TopicName: t.Name, Batch: b, Meta: metadata.BatchAppend{
			Records:       int64(h.LastOffsetDelta) + 1,
			MaxTimestamp:  h.MaxTimestamp,
			ProducerID:    h.ProducerID,
			ProducerEpoch: h.ProducerEpoch,
			BaseSequence:  h.BaseSequence,
			Transactional: h.Transactional(),
		}})
	}
	return items, nil
}

func failProduce(resp *kmsg.ProduceResponse, waiting []producePart, err error) {
	for _, w := range waiting {
		p := &resp.Topics[w.topic].Partitions[w.part]
		p.ErrorCode = errCode(err)
		p.ErrorMessage = errMessage(err)
	}
}

// answerProduce reports each partition's base offset: that of its first
// batch, or the first error among its batches.
func answerProduce(resp *kmsg.ProduceResponse, waiting []producePart, results []metadata.BatchResult) {
	for _, w := range waiting {
		p := &resp.Topics[w.topic].Partitions[w.part]
		for i, res := range results[w.first : w.first+w.count] {
			if res.Err != nil {
				p.ErrorCode = errCode(res.Err)
				p.ErrorMessage = errMessage(res.Err)
				p.BaseOffset = -1
				break
			}
			if i == 0 {
				p.BaseOffset = res.BaseOffset
			}
			p.LogStartOffset = res.LogStartOffset
		}
	}
}

// joinedTxn is the transaction a connection last added partitions to.
type joinedTxn struct {
	id    string
	pid   int64
	epoch int16
	parts map[metadata.TxnPartition]bool
}

// joinTxn adds the partitions of a v12+ produce's transactional batches
// to the producer's transaction (transaction version 2) in one store
// transaction, once per transaction and partition on a connection; older
// versions must have added them with AddPartitionsToTxn. A request's
// transactional batches are all one producer's.
func (c *conn) joinTxn(req *kmsg.ProduceRequest, items []writer.Item) error {
	if req.Version < 12 || req.TransactionID == nil {
		return nil
	}
	var (
		j    *joinedTxn
		add  []metadata.TxnPartition
		seen = map[metadata.TxnPartition]bool{}
	)
	for _, it := range items {
		m := it.Meta
		if !m.Transactional {
			continue
		}
		if j == nil {
			j = c.joined
			if j == nil || j.id != *req.TransactionID || j.pid != m.ProducerID || j.epoch != m.ProducerEpoch {
				j = &joinedTxn{id: *req.TransactionID, pid: m.ProducerID, epoch: m.ProducerEpoch, parts: map[metadata.TxnPartition]bool{}}
				c.joined = j
			}
		}
		if p := (metadata.TxnPartition{Topic: it.Topic, Partition: it.Partition}); !j.parts[p] && !seen[p] {
			seen[p] = true
			add = append(add, p)
		}
	}
	if len(add) == 0 {
		return nil
	}
	switch err := c.g.txn.Join(c.ctx, j.id, j.pid, j.epoch, add); {
	case errors.Is(err, kerr.ProducerFenced):
		return kerr.InvalidProducerEpoch // what Produce answers a fenced producer
	case errors.Is(err, kerr.ConcurrentTransactions):
		// The previous transaction is still being completed; Kafka's
		// leaders answer this retriable code.
		return kerr.NotEnoughReplicas
	case err != nil:
		return err
	}
	for _, p := range add {
		j.parts[p] = true
	}
	return nil
}
