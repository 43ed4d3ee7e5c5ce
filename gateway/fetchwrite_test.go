package gateway

import (
	"bytes"
	"math/rand/v2"
	"testing"

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
