package gateway

// Fetch, versions 4–16.
//
// Reads each partition from the offset index and segment objects (through
// the read cache), writes the real offsets into the batches, and honours
// max_bytes, partition_max_bytes and KIP-74's "at least one batch". When
// less than min_bytes is available the request waits up to max_wait_ms and
// is woken by this gateway's commits. Topic ids are used from v13. There
// are no transactions, so the last stable offset is the high watermark for
// both isolation levels. Fetch sessions (KIP-227) are declined by answering
// session id 0, which makes clients send full fetches.

import (
	"context"
	"errors"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Fetch, 4, 16, serveFetch) }

func serveFetch(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.FetchRequest)
	deadline := time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	for {
		wake := c.g.waiters.wait()
		resp, n, failed := c.g.fetchOnce(c.ctx, req)
		wait := time.Until(deadline)
		if failed || n >= int(req.MinBytes) || wait <= 0 {
			return resp
		}
		t := time.NewTimer(wait)
		select {
		case <-wake:
			t.Stop()
		case <-t.C:
			resp, _, _ = c.g.fetchOnce(c.ctx, req)
			return resp
		case <-c.ctx.Done():
			t.Stop()
			return resp
		}
	}
}

// fetchOnce reads every requested partition once. It reports the record
// bytes returned and whether any partition failed.
func (g *Gateway) fetchOnce(ctx context.Context, req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	total, failed := 0, false
	maxBytes := int(req.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = 52428800 // fetch.max.bytes default, for versions without it
	}
	for _, rt := range req.Topics {
		tr := kmsg.NewFetchResponseTopic()
		tr.Topic, tr.TopicID = rt.Topic, rt.TopicID
		t, terr := g.fetchTopic(ctx, req.Version, rt)
		for _, rp := range rt.Partitions {
			pr := kmsg.NewFetchResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = -1, -1, -1
			pr.PreferredReadReplica = -1
			// librdkafka rejects null records; an empty fetch is empty bytes.
			pr.RecordBatches = []byte{}
			err := terr
			if err == nil {
				var data []byte
				data, err = g.fetchPartition(ctx, t, rp, maxBytes-total, total == 0, &pr)
				if data != nil {
					pr.RecordBatches = data
				}
				total += len(data)
			}
			if err != nil {
				pr.ErrorCode = errCode(err)
				failed = true
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp, total, failed
}

func (g *Gateway) fetchTopic(ctx context.Context, version int16, rt kmsg.FetchRequestTopic) (metadata.Topic, error) {
	if version >= 13 {
		t, err := g.topics.byIDOrLoad(ctx, uuid.UUID(rt.TopicID))
		if errors.Is(err, metadata.ErrUnknownTopic) || errors.Is(err, metadata.ErrNotFound) {
			return t, kerr.UnknownTopicID
		}
		return t, err
	}
	return g.topics.byNameOrLoad(ctx, rt.Topic)
}

func (g *Gateway) fetchPartition(ctx context.Context, t metadata.Topic, rp kmsg.FetchRequestTopicPartition, budget int, first bool, pr *kmsg.FetchResponseTopicPartition) ([]byte, error) {
	if rp.Partition < 0 || rp.Partition >= t.Partitions {
		return nil, kerr.UnknownTopicOrPartition
	}
	st, err := g.store.Partition(ctx, t.ID, rp.Partition)
	if err != nil {
		return nil, err
	}
	pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = st.NextOffset, st.NextOffset, st.LogStartOffset
	if rp.FetchOffset < st.LogStartOffset || rp.FetchOffset > st.NextOffset {
		return nil, kerr.OffsetOutOfRange
	}
	limit := min(int(rp.PartitionMaxBytes), budget)
	if limit <= 0 && !first {
		return nil, nil
	}
	return g.readLog(ctx, t.ID, rp.Partition, rp.FetchOffset, st.NextOffset, limit, first)
}
