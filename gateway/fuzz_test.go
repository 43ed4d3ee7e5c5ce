package gateway

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newTestGateway builds a gateway on SQLite and a file bucket in a temp
// directory, with a topic "fuzz" of two partitions; it is closed when the
// test ends.
func newTestGateway(t testing.TB) *Gateway {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	bucket, err := objstore.Open(ctx, "file://"+filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := metadata.Open(ctx, "sqlite://"+filepath.Join(dir, "metadata.db"), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{FlushInterval: 5 * time.Millisecond, Advertise: "127.0.0.1:9092"}, store, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.createTopic(ctx, metadata.TopicSpec{Name: "fuzz", Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Close(ctx)
		store.Close()
		bucket.Close()
	})
	return g
}

// serveTestGateway serves g on a loopback port and returns its address.
func serveTestGateway(t testing.TB, g *Gateway) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.cfg.Advertise = ln.Addr().String()
	go g.Serve(ln)
	return ln.Addr().String()
}

// testBatch is a valid RecordBatch v2 of one record per value.
func testBatch(values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := []byte{0}
		r = kbin.AppendVarlong(r, 0)
		r = kbin.AppendVarint(r, int32(i))
		r = kbin.AppendVarintBytes(r, []byte("k"))
		r = kbin.AppendVarintBytes(r, []byte(v))
		r = kbin.AppendVarint(r, 0)
		recs = kbin.AppendVarint(recs, int32(len(r)))
		recs = append(recs, r...)
	}
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: 1000, MaxTimestamp: 1000,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(values)), Records: recs}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// seedRequests are valid requests of several APIs and versions.
func seedRequests() []kmsg.Request {
	var out []kmsg.Request
	add := func(r kmsg.Request, versions ...int16) {
		for _, v := range versions {
			c := r
			// Each version needs its own value: requests are pointers.
			switch x := r.(type) {
			case *kmsg.ApiVersionsRequest:
				y := *x
				c = &y
			case *kmsg.MetadataRequest:
				y := *x
				c = &y
			case *kmsg.ProduceRequest:
				y := *x
				c = &y
			case *kmsg.FetchRequest:
				y := *x
				c = &y
			case *kmsg.ListOffsetsRequest:
				y := *x
				c = &y
			}
			c.SetVersion(v)
			out = append(out, c)
		}
	}
	av := kmsg.NewPtrApiVersionsRequest()
	av.ClientSoftwareName, av.ClientSoftwareVersion = "fuzz", "1"
	add(av, 0, 3)

	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("fuzz")
	md.Topics = append(md.Topics, mt)
	add(md, 1, 9, 12)

	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = -1, 1000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = testBatch("a", "bb", "ccc")
	pt.Partitions = append(pt.Partitions, pp)
	pr.Topics = append(pr.Topics, pt)
	add(pr, 3, 9, 11)

	fr := kmsg.NewPtrFetchRequest()
	fr.MaxWaitMillis, fr.MinBytes, fr.MaxBytes, fr.ReplicaID = 10, 1, 1<<20, -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fuzz"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	add(fr, 4, 11, 12)

	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "fuzz"
	for _, ts := range []int64{-1, -2, -3, 500} {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Timestamp = ts
		lt.Partitions = append(lt.Partitions, lp)
	}
	lo.Topics = append(lo.Topics, lt)
	add(lo, 1, 8)

	ct := kmsg.NewPtrCreateTopicsRequest()
	ctt := kmsg.NewCreateTopicsRequestTopic()
	ctt.Topic, ctt.NumPartitions, ctt.ReplicationFactor = "fuzz-new", 3, 1
	ctc := kmsg.NewCreateTopicsRequestTopicConfig()
	ctc.Name, ctc.Value = "retention.ms", kmsg.StringPtr("1000")
	ctt.Configs = append(ctt.Configs, ctc)
	ct.Topics = append(ct.Topics, ctt)
	ct.ValidateOnly = true
	ct.SetVersion(7)
	out = append(out, ct)

	// Regression: 2^31-1 partitions once held the metadata store for hours.
	huge := kmsg.NewPtrCreateTopicsRequest()
	hugeT := kmsg.NewCreateTopicsRequestTopic()
	hugeT.Topic, hugeT.NumPartitions, hugeT.ReplicationFactor = "fuzz-huge", 1<<31-1, 1
	huge.Topics = append(huge.Topics, hugeT)
	huge.SetVersion(5)
	out = append(out, huge)

	dc := kmsg.NewPtrDescribeConfigsRequest()
	dcr := kmsg.NewDescribeConfigsRequestResource()
	dcr.ResourceType, dcr.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
	dc.Resources = append(dc.Resources, dcr)
	dc.IncludeSynonyms = true
	dc.SetVersion(4)
	out = append(out, dc)

	ia := kmsg.NewPtrIncrementalAlterConfigsRequest()
	iar := kmsg.NewIncrementalAlterConfigsRequestResource()
	iar.ResourceType, iar.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
	iac := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	iac.Name, iac.Op, iac.Value = "cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("compact")
	iar.Configs = append(iar.Configs, iac)
	ia.Resources = append(ia.Resources, iar)
	ia.ValidateOnly = true
	ia.SetVersion(1)
	out = append(out, ia)

	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.SetVersion(4)
	out = append(out, ip)

	dr := kmsg.NewPtrDeleteRecordsRequest()
	drt := kmsg.NewDeleteRecordsRequestTopic()
	drt.Topic = "fuzz"
	drp := kmsg.NewDeleteRecordsRequestTopicPartition()
	drp.Partition, drp.Offset = 1, 0
	drt.Partitions = append(drt.Partitions, drp)
	dr.Topics = append(dr.Topics, drt)
	dr.SetVersion(2)
	out = append(out, dr)

	cp := kmsg.NewPtrCreatePartitionsRequest()
	cpt := kmsg.NewCreatePartitionsRequestTopic()
	cpt.Topic, cpt.Count = "fuzz", 3
	cp.Topics = append(cp.Topics, cpt)
	cp.ValidateOnly = true
	cp.SetVersion(3)
	out = append(out, cp)
	return out
}

// requestBody is a request frame without its length prefix: header and
// body, as conn.handle takes it.
func requestBody(r kmsg.Request, corr int32) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, r, corr)[4:]
}

// FuzzRequest feeds arbitrary request frames to a connection's handler:
// decoding and serving must never panic, and any response must encode.
func FuzzRequest(f *testing.F) {
	for i, r := range seedRequests() {
		f.Add(requestBody(r, int32(i)))
	}
	g := newTestGateway(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		handleOnce(t, g, body)
	})
}

// handleOnce serves one frame body on a fresh connection, waits a little
// for an asynchronous reply and encodes the response.
func handleOnce(t *testing.T, g *Gateway, body []byte) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := newConn(g, server)
	// Long polls and blocked produces end with the connection.
	c.ctx, c.cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer c.cancel()
	r, err := c.handle(body)
	if err != nil {
		return // the connection would be closed: fine
	}
	select {
	case <-r.done:
	case <-time.After(2 * time.Second):
		// Some requests may legitimately wait longer (a join waits
		// for its group); only panics are failures here.
		return
	}
	if r.resp != nil {
		appendResponse(nil, r)
	}
}

// TestSeedRequestsAnswered checks that every seed request is served (not
// refused), so that the fuzz corpus starts from real handlers.
func TestSeedRequestsAnswered(t *testing.T) {
	g := newTestGateway(t)
	for i, req := range seedRequests() {
		c := newConn(g, nil)
		r, err := c.handle(requestBody(req, int32(i)))
		if err != nil {
			t.Errorf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
			continue
		}
		<-r.done
		if r.resp == nil {
			t.Errorf("%s v%d: no response", kmsg.NameForKey(req.Key()), req.GetVersion())
		}
		c.cancel()
	}
}
