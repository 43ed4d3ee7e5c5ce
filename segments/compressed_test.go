package segments

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// malformed is a batch that breaks one rule, and the error validation must
// give it: the header checks out (length, CRC, lastOffsetDelta matching
// the count), so only looking inside the records catches it.
type malformed struct {
	name  string
	batch []byte
	want  error
}

// payloadBatch is a resealed batch of codec c around payload, whose header
// counts count records.
func payloadBatch(c codecCase, count int32, payload []byte) []byte {
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(c.codec),
		LastOffsetDelta:      count - 1,
		FirstTimestamp:       1_700_000_000_000,
		MaxTimestamp:         1_700_000_000_000,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           count,
		Records:              payload,
	}
	return reseal(rb.AppendTo(nil))
}

// withDeltas is testRecords(len(deltas)) with those offset deltas.
func withDeltas(deltas ...int32) []kmsg.Record {
	recs := testRecords(len(deltas), false)
	for i, d := range deltas {
		recs[i].OffsetDelta = d
	}
	return recs
}

// malformedBatches are the ways a client batch of codec c can be wrong
// inside its records, including the three a gzip producer got stored
// before compressed batches were checked: more records than the header
// counts, fewer, and a payload that is not what the codec flag says.
func malformedBatches(tb testing.TB, c codecCase) []malformed {
	raw := encodeRecords(testRecords(5, false))
	packed := compressRecords(tb, c, raw)
	// One record of 8 bytes: attributes, timestamp and offset deltas 0,
	// key "k", then a value claiming 63 bytes where 2 remain.
	overlong := []byte{0x10, 0, 0, 0, 0x02, 'k', 0x7e, 'v', 0}
	cases := []malformed{
		{"count too low", payloadBatch(c, 1, packed), ErrInvalidRecord},
		{"count too high", payloadBatch(c, 9, packed), ErrInvalidRecord},
		{"deltas out of order", payloadBatch(c, 3, compressRecords(tb, c, encodeRecords(withDeltas(0, 2, 1)))), ErrInvalidRecord},
		{"deltas with a gap", payloadBatch(c, 3, compressRecords(tb, c, encodeRecords(withDeltas(0, 1, 3)))), ErrInvalidRecord},
		{"deltas from 1", payloadBatch(c, 3, compressRecords(tb, c, encodeRecords(withDeltas(1, 2, 3)))), ErrInvalidRecord},
		{"bytes after the records", payloadBatch(c, 5, compressRecords(tb, c, append(bytes.Clone(raw), 2, 0, 0))), ErrInvalidRecord},
		{"field past the record", payloadBatch(c, 1, compressRecords(tb, c, overlong)), ErrInvalidRecord},
		{"records cut short", payloadBatch(c, 5, compressRecords(tb, c, raw[:len(raw)-4])), ErrInvalidRecord},
	}
	if c.codec == CodecNone {
		return cases
	}
	return append(cases,
		malformed{"payload not compressed", payloadBatch(c, 5, raw), ErrCorruptBatch},
		malformed{"payload truncated", payloadBatch(c, 5, packed[:len(packed)/2]), ErrCorruptBatch},
		malformed{"payload without its last byte", payloadBatch(c, 5, packed[:len(packed)-1]), ErrCorruptBatch},
		malformed{"garbage after the payload", payloadBatch(c, 5, append(bytes.Clone(packed), "garbage!"...)), ErrCorruptBatch},
		malformed{"empty payload", payloadBatch(c, 5, nil), errEither},
	)
}

// errEither marks a case where both answers are right: an empty stream
// is either not valid for the codec or a stream without records.
var errEither = errors.New("corrupt batch or invalid record")

func TestValidateMalformedRecords(t *testing.T) {
	eachCodec(t, codecCases, func(t *testing.T, c codecCase) {
		for _, m := range malformedBatches(t, c) {
			for _, requireKeys := range []bool{false, true} {
				_, err := ValidateBatch(m.batch, ValidateOptions{RequireKeys: requireKeys})
				ok := errors.Is(err, m.want)
				if m.want == errEither {
					ok = errors.Is(err, ErrCorruptBatch) || errors.Is(err, ErrInvalidRecord)
				}
				if !ok {
					t.Errorf("%s (requireKeys %v): %v, want %v", m.name, requireKeys, err, m.want)
				}
			}
		}
	})
}

// The batches above differ from valid ones only where they mean to.
func TestValidateMalformedControls(t *testing.T) {
	eachCodec(t, codecCases, func(t *testing.T, c codecCase) {
		raw := encodeRecords(testRecords(5, false))
		for _, b := range [][]byte{
			payloadBatch(c, 5, compressRecords(t, c, raw)),
			payloadBatch(c, 3, compressRecords(t, c, encodeRecords(withDeltas(0, 1, 2)))),
		} {
			if _, err := ValidateBatch(b, ValidateOptions{RequireKeys: true}); err != nil {
				t.Fatalf("valid batch: %v", err)
			}
		}
	})
}

// A batch inflating past the cap is refused without the validator ever
// holding that much: records stream through a fixed buffer.
func TestValidateDecompressionBomb(t *testing.T) {
	// Not parallel: the allocation count is the whole process's.
	value := make([]byte, DecompressLimit+(16<<20))
	raw := encodeRecords([]kmsg.Record{{Key: []byte("k"), Value: value}})
	for _, c := range codecCases[1:] {
		t.Run(c.name, func(t *testing.T) {
			b := payloadBatch(c, 1, compressRecords(t, c, raw))
			if len(b) > 8<<20 {
				t.Fatalf("bomb is %d bytes compressed", len(b))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ValidateBatch(b, ValidateOptions{})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ValidateBatch = %v, want ErrTooLarge", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > DecompressLimit/4 {
				t.Fatalf("refusing a %d-byte bomb allocated %d bytes", len(b), n)
			}
		})
	}
}
