package gateway

// Fetch, versions 4–16.
//
// Reads each partition from the offset index and segment objects (through
// the read cache), writes the real offsets into the batches, and honours
// max_bytes, partition_max_bytes and KIP-74's "at least one batch". When
// less than min_bytes is available the request waits up to max_wait_ms,
// woken by commits to its partitions (this gateway's and, through the
// metadata store, other gateways') and re-reading at least every
// pollRecheck. Topics are resolved once per request. Topic ids are
// used from v13. Every partition reports its last stable offset (the first
// offset of its oldest open transaction); isolation_level=read_committed
// reads only below it and gets the aborted transactions of what it read,
// whose records clients drop. Fetch sessions (KIP-227)
// are declined by answering session id 0, which makes clients send full
// fetches. Responses are written around their records (fetchwrite.go).
// Each topic needs READ (TOPIC_AUTHORIZATION_FAILED).

import (
	"errors"
	"time"

	"github.com/caudal/caudal/gateway/reader"
	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Fetch, 4, 16, serveFetch) }

// maxFetchWait bounds max_wait_ms; clients default to 500 ms.
const maxFetchWait = 30 * time.Second

// pollRecheck is how often a long poll reads again without a wake-up.
// Commits to its partitions wake it (reader.Wait); what else may change
// them unannounced (a log start moved elsewhere, which only matters to a
// poll it passes, or a commit whose notification died with its gateway,
// which the partition's next commit reveals) can wait this long. Reading
// every reader.MaxStaleness instead cost 2,000 idle polls 1,000 reads a
// second (BenchmarkIdleConnections).
const pollRecheck = 10 * time.Second

func serveFetch(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.FetchRequest)
	if req.Rack != "" {
		c.rack = req.Rack // steers later Metadata responses (brokers.go)
	}
	// The wait is capped: a long-poll holds the connection's read loop,
	// so a hostile max_wait_ms would pin it for days.
	wait := min(time.Duration(req.MaxWaitMillis)*time.Millisecond, maxFetchWait)
	deadline := time.Now().Add(wait)
	wants := c.fetchWants(req)
	for {
		wake, stop := c.g.reader.Wait(wants)
		resp, n, failed, release := c.fetchOnce(req, wants)
		wait := time.Until(deadline)
		if failed || n >= int(req.MinBytes) || wait <= 0 {
			stop()
			c.release = release
			return resp
		}
		t := time.NewTimer(min(wait, pollRecheck))
		select {
		case <-wake:
		case <-t.C:
		case <-c.ctx.Done():
		}
		t.Stop()
		stop()
		if c.ctx.Err() != nil || c.g.isClosed() {
			// Every wait returns at once now: answer instead of
			// re-reading until the deadline.
			c.release = release
			return resp
		}
		release() // the next read supersedes resp
	}
}

// fetchWants resolves the request's topics, once for all its reads, and
// lists its partitions in request order.
func (c *conn) fetchWants(req *kmsg.FetchRequest) []reader.Want {
	maxBytes := fetchMaxBytes(req)
	var wants []reader.Want
	for _, rt := range req.Topics {
		t, terr := c.fetchTopic(req.Version, rt)
		for _, rp := range rt.Partitions {
			wants = append(wants, reader.Want{Topic: t, Partition: rp.Partition, Offset: rp.FetchOffset,
				MaxBytes: min(int(rp.PartitionMaxBytes), maxBytes), ReadCommitted: req.IsolationLevel == 1, Err: terr})
		}
	}
	return wants
}

func fetchMaxBytes(req *kmsg.FetchRequest) int {
	if req.MaxBytes <= 0 {
		return 52428800 // fetch.max.bytes default, for versions without it
	}
	return int(req.MaxBytes)
}

// fetchOnce reads every requested partition once (gateway/reader). It
// reports the record bytes returned, whether any partition failed, and
// release, which lets go of the response's records (the cache's bytes,
// mostly) once it is written or superseded.
func (c *conn) fetchOnce(req *kmsg.FetchRequest, wants []reader.Want) (*kmsg.FetchResponse, int, bool, func()) {
	g := c.g
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	got, total, release := g.reader.Fetch(c.ctx, wants, fetchMaxBytes(req))
	parts := map[*kmsg.FetchResponseTopicPartition][][]byte{}
	failed, i := false, 0
	for _, rt := range req.Topics {
		tr := kmsg.NewFetchResponseTopic()
		tr.Topic, tr.TopicID = rt.Topic, rt.TopicID
		tr.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			pr, rd := &tr.Partitions[pi], got[i]
			pr.Default()
			pr.Partition = rp.Partition
			pr.PreferredReadReplica = -1
			name := wants[i].Topic.Name
			i++
			pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = rd.State.NextOffset, rd.State.LastStableOffset, rd.State.LogStartOffset
			for _, a := range rd.Aborted {
				at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
				pr.AbortedTransactions = append(pr.AbortedTransactions, at)
			}
			if rd.Err != nil {
				if rd.State == (metadata.PartitionState{}) {
					pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = -1, -1, -1
				}
				pr.ErrorCode = errCode(rd.Err)
				failed = true
			}
			pr.RecordBatches = recordsField(rd.Records, pr, parts)
			if rd.Count > 0 {
				g.metrics.fetchedBytes.WithLabelValues(name).Add(float64(rd.Records.Len))
				g.metrics.fetchedRecords.WithLabelValues(name).Add(float64(rd.Count))
			}
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp, total, failed, spliceRecords(resp, parts, release)
}

// fetchTopic resolves a fetched topic the principal may READ; by name,
// authorization comes first, so that nobody learns which topics exist.
func (c *conn) fetchTopic(version int16, rt kmsg.FetchRequestTopic) (metadata.Topic, error) {
	if version >= 13 {
		t, err := c.g.topics.ByID(c.ctx, uuid.UUID(rt.TopicID))
		switch {
		case errors.Is(err, metadata.ErrUnknownTopic) || errors.Is(err, metadata.ErrNotFound):
			return t, kerr.UnknownTopicID
		case err == nil && !c.allowed(kmsg.ACLOperationRead, topicResource, t.Name):
			return metadata.Topic{}, kerr.TopicAuthorizationFailed
		}
		return t, err
	}
	if !c.allowed(kmsg.ACLOperationRead, topicResource, rt.Topic) {
		return metadata.Topic{}, kerr.TopicAuthorizationFailed
	}
	return c.g.topics.ByName(c.ctx, rt.Topic)
}
