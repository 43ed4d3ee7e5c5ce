package segments

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// benchRecords are n records of about size bytes each that compress as
// application data does (about 3:1 with gzip): JSON-like text around a
// random token, with a key.
func benchRecords(n, size int) []kmsg.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	events := []string{"login", "logout", "purchase", "view", "search", "add-to-cart"}
	recs := make([]kmsg.Record, n)
	for i := range recs {
		v := fmt.Appendf(nil, `{"seq":%d,"user":"user-%d","event":%q,"token":"%016x%016x","attrs":{`,
			i, rng.IntN(5000), events[rng.IntN(len(events))], rng.Uint64(), rng.Uint64())
		for j := 0; len(v) < size-40; j++ {
			v = fmt.Appendf(v, `"field-%d":"value-%d",`, j, rng.IntN(100))
		}
		recs[i] = kmsg.Record{OffsetDelta: int32(i), Key: fmt.Appendf(nil, "user-%d", i%5000), Value: append(v, `"end":true}}`...)}
	}
	return recs
}

// BenchmarkValidateBatch validates a 1 MiB batch of 1 KiB records per
// codec, the largest batch a default producer sends, and reports MB/s of
// records. After the timed loop it decompresses the batch as many times
// with nothing else (the same pooled inflater read to its end through a
// scratch buffer of the same size) and reports that rate, inflate-MB/s,
// and x-inflate, validation's time over decompression's. allocs/op is
// per batch.
func BenchmarkValidateBatch(b *testing.B) {
	recs := benchRecords(1024, 1024)
	raw := encodeRecords(recs)
	for _, c := range codecCases {
		batch := buildBatch(b, c, recs)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ValidateBatch(batch, ValidateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			if c.codec == CodecNone {
				return
			}
			inflate := timeInflate(b, c.codec, batch, len(raw))
			b.ReportMetric(float64(len(raw))*float64(b.N)/1e6/inflate.Seconds(), "inflate-MB/s")
			b.ReportMetric(b.Elapsed().Seconds()/inflate.Seconds(), "x-inflate")
			b.ReportMetric(float64(len(raw))/float64(len(batch)), "ratio")
		})
	}
}

// timeInflate decompresses batch's records b.N times and nothing else.
func timeInflate(b *testing.B, codec Codec, batch []byte, rawLen int) time.Duration {
	scratch := make([]byte, scratchSize)
	start := time.Now()
	for range b.N {
		in, err := openInflater(codec, batch[HeaderSize:], DecompressLimit)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for err == nil {
			var k int
			k, err = in.Read(scratch)
			n += k
		}
		closeInflater(codec, in)
		if err != io.EOF || n != rawLen {
			b.Fatalf("inflated %d bytes of %d: %v", n, rawLen, err)
		}
	}
	return time.Since(start)
}
