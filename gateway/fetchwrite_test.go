package gateway

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway/reader"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A spliced fetch response is byte for byte what kmsg encodes, at every
// version served, with records fields of every size around the splicing
// threshold, partitions without records, tagged fields and several
// topics; and the response is left as it was.
func TestFetchPiecesMatchEncoding(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	records := func(n int) []byte {
		if n < 0 {
			return nil
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	sizes := []int{-1, 0, 100, splicedMin - 1, splicedMin, splicedMin + 1, 300 << 10, 1 << 20}
	for v := int16(4); v <= 16; v++ {
		resp := kmsg.NewPtrFetchResponse()
		resp.SetVersion(v)
		resp.ThrottleMillis = 7
		for ti := range 3 {
			topic := kmsg.NewFetchResponseTopic()
			topic.Topic, topic.TopicID = "topic-"+string(rune('a'+ti)), uuid.New()
			for pi, size := range sizes {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition, p.HighWatermark, p.LastStableOffset, p.LogStartOffset = int32(pi), 1000, 1000, 3
				p.RecordBatches = records(size)
				if pi%3 == 0 { // a tagged field (v12+)
					p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = 4, 5
				}
				topic.Partitions = append(topic.Partitions, p)
			}
			resp.Topics = append(resp.Topics, topic)
		}
		r := &reply{corr: 42, key: kmsg.Fetch.Int16(), resp: resp, header: resp.IsFlexible()}
		want := appendResponse(nil, r)

		enc, pieces := fetchPieces(make([]byte, 0, 64), r, resp)
		if pieces == nil {
			t.Fatalf("v%d: not spliced", v)
		}
		if got := bytes.Join(pieces, nil); !bytes.Equal(got, want) {
			t.Fatalf("v%d: spliced response (%d bytes) differs from kmsg's encoding (%d bytes)", v, len(got), len(want))
		}
		if len(pieces) != 3*3*4+1 { // 4 large fields per topic
			t.Errorf("v%d: %d pieces, want %d", v, len(pieces), 3*3*4+1)
		}
		if inline := 3 * (100 + splicedMin - 1); len(enc) > inline+2<<10 {
			t.Errorf("v%d: encoded %d bytes around the records, want the %d of the small ones and the fields", v, len(enc), inline)
		}
		if again := appendResponse(nil, r); !bytes.Equal(again, want) {
			t.Fatalf("v%d: fetchPieces changed the response", v)
		}
	}
}

// A placeholder found out of place leaves the response to be encoded
// whole.
func TestFetchPiecesDeclinesACollision(t *testing.T) {
	t.Parallel()
	resp := kmsg.NewPtrFetchResponse()
	resp.SetVersion(12)
	topic := kmsg.NewFetchResponseTopic()
	topic.Topic = "t"
	p := kmsg.NewFetchResponseTopicPartition()
	p.RecordBatches = make([]byte, splicedMin)
	topic.Partitions = append(topic.Partitions, p)
	resp.Topics = append(resp.Topics, topic)
	// The first placeholder, where a topic name is, ahead of its own.
	resp.Topics[0].Topic = string(placeholderSeed[:]) + "\x00\x00\x00\x00\x00\x00\x00\x00"
	r := &reply{key: kmsg.Fetch.Int16(), resp: resp, header: true}
	if _, pieces := fetchPieces(nil, r, resp); pieces != nil {
		t.Error("spliced a response whose placeholder was not where its records are")
	}
}

// splicedResponse is a v12 fetch response whose partitions hold records
// of the given sizes, each as pieces of up to 1,000 bytes as the reader
// returns them, and the same response with the records in its fields.
func splicedResponse(t *testing.T, sizes ...int) (resp, want *kmsg.FetchResponse, release func(), released *atomic.Int32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	resp, want = kmsg.NewPtrFetchResponse(), kmsg.NewPtrFetchResponse()
	resp.SetVersion(12)
	want.SetVersion(12)
	topic, wantTopic := kmsg.NewFetchResponseTopic(), kmsg.NewFetchResponseTopic()
	topic.Topic, wantTopic.Topic = "t", "t"
	topic.Partitions = make([]kmsg.FetchResponseTopicPartition, len(sizes))
	parts := map[*kmsg.FetchResponseTopicPartition][][]byte{}
	for i, size := range sizes {
		var recs reader.Records
		for recs.Len < size {
			piece := make([]byte, min(1000, size-recs.Len))
			for j := range piece {
				piece[j] = byte(rng.Uint32())
			}
			recs.Pieces, recs.Len = append(recs.Pieces, piece), recs.Len+len(piece)
		}
		p, w := &topic.Partitions[i], kmsg.NewFetchResponseTopicPartition()
		p.Default()
		p.Partition, w.Partition = int32(i), int32(i)
		p.RecordBatches, w.RecordBatches = recordsField(recs, p, parts), recs.AppendTo([]byte{})
		wantTopic.Partitions = append(wantTopic.Partitions, w)
	}
	resp.Topics, want.Topics = append(resp.Topics, topic), append(want.Topics, wantTopic)
	released = new(atomic.Int32)
	release = spliceRecords(resp, parts, func() { released.Add(1) })
	return resp, want, release, released
}

// Records written from pieces make the bytes kmsg encodes with the
// records in their fields, small ones included, and their bytes are let
// go of once, when the response is released.
func TestFetchPiecesWritesReaderPieces(t *testing.T) {
	t.Parallel()
	resp, want, release, released := splicedResponse(t, 0, 100, splicedMin, 50<<10)
	if len(resp.Topics[0].Partitions[3].RecordBatches) != 50<<10 {
		t.Fatal("a large records field does not count its records' length")
	}
	r := &reply{corr: 1, key: kmsg.Fetch.Int16(), resp: resp, header: true}
	_, pieces := fetchPieces(nil, r, resp)
	if pieces == nil {
		t.Fatal("not spliced")
	}
	wantBytes := appendResponse(nil, &reply{corr: 1, key: kmsg.Fetch.Int16(), resp: want, header: true})
	if got := bytes.Join(pieces, nil); !bytes.Equal(got, wantBytes) {
		t.Fatalf("spliced response (%d bytes) differs from kmsg's encoding of the records (%d bytes)", len(got), len(wantBytes))
	}
	release()
	release()
	if n := released.Load(); n != 1 {
		t.Errorf("records let go of %d times, want once", n)
	}
}

// When the response cannot be spliced, its records are put in their
// fields and it is encoded whole.
func TestFetchPiecesFallsBackToRecords(t *testing.T) {
	t.Parallel()
	resp, want, release, _ := splicedResponse(t, splicedMin, 20<<10)
	defer release()
	resp.Topics[0].Topic = string(placeholderSeed[:]) + "\x00\x00\x00\x00\x00\x00\x00\x00"
	want.Topics[0].Topic = resp.Topics[0].Topic
	r := &reply{key: kmsg.Fetch.Int16(), resp: resp, header: true}
	if _, pieces := fetchPieces(nil, r, resp); pieces != nil {
		t.Fatal("spliced a response whose placeholder was not where its records are")
	}
	got := appendResponse(nil, r)
	if wantBytes := appendResponse(nil, &reply{key: kmsg.Fetch.Int16(), resp: want, header: true}); !bytes.Equal(got, wantBytes) {
		t.Fatal("the response encoded whole lacks its records")
	}
}

// A response dropped unwritten (its connection gone) lets go of its
// records' bytes once it is collected.
func TestDroppedFetchResponseReleased(t *testing.T) {
	_, _, _, released := splicedResponse(t, 50<<10)
	// The cleanup runs after a collection finds the response gone.
	for i := 0; released.Load() == 0; i++ {
		if i == 1000 {
			t.Fatal("a dropped response still holds its records after 1,000 collections")
		}
		runtime.GC()
		runtime.Gosched()
	}
	if n := released.Load(); n != 1 {
		t.Errorf("records let go of %d times, want once", n)
	}
}

// Over TCP a spliced response goes out with writev, a writeGroup at a
// time, after what the connection's buffer already held: the client reads
// the replies whole and in order, also when the records span several
// groups and a group holds more than writev takes at once.
func TestSplicedResponseWrittenAfterBufferedReplies(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)

	small := &reply{corr: 1, key: kmsg.ApiVersions.Int16(), resp: kmsg.NewPtrApiVersionsResponse()}
	resp, want, release, _ := splicedResponse(t, 100, 3*writeGroup/2, splicedMin, writeGroup)
	defer release()
	fetch := &reply{corr: 2, key: kmsg.Fetch.Int16(), resp: resp, header: true}
	wantBytes := append(appendResponse(nil, small), appendResponse(nil, &reply{corr: 2, key: kmsg.Fetch.Int16(), resp: want, header: true})...)

	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	w := deadlineWriter{server, 10 * time.Second}
	bw := bufio.NewWriterSize(w, connBufferSize)
	var (
		buf []byte
		err error
	)
	for _, r := range []*reply{small, fetch} {
		if buf, err = writeResponse(bw, w, buf, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	server.Close()
	if b := <-got; !bytes.Equal(b, wantBytes) {
		t.Fatalf("the client read %d bytes, not the %d of the two replies in order", len(b), len(wantBytes))
	}
}
