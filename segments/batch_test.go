package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var batchErrors = []error{ErrCorruptBatch, ErrUnsupportedMagic, ErrUnsupportedCodec, ErrInvalidRecord, ErrMissingKey, ErrTooLarge}

func isBatchError(err error) bool {
	for _, e := range batchErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func TestValidateBatchCodecs(t *testing.T) {
	t.Parallel()
	for _, c := range codecCases {
		for _, tc := range []struct {
			name        string
			nullKey     bool
			requireKeys bool
			want        error
		}{
			{"keys", false, false, nil},
			{"keys/require", false, true, nil},
			{"nullkey", true, false, nil},
			{"nullkey/require", true, true, ErrMissingKey},
		} {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				recs := testRecords(9, tc.nullKey)
				b := buildBatch(t, c, recs)
				h, err := ValidateBatch(b, ValidateOptions{RequireKeys: tc.requireKeys})
				if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
					t.Fatalf("ValidateBatch = %v, want %v", err, tc.want)
				}
				if h.Codec() != c.codec || h.RecordCount != 9 || h.LastOffsetDelta != 8 || h.Size() != len(b) {
					t.Fatalf("header %+v", h)
				}
				got := collectRecords(t, b, 0)
				if len(got) != len(recs) {
					t.Fatalf("%d records, want %d", len(got), len(recs))
				}
				for i, r := range got {
					w := recs[i]
					if r.OffsetDelta != w.OffsetDelta || r.TimestampDelta != w.TimestampDelta64 ||
						!sameBytes(r.Key, w.Key) || !sameBytes(r.Value, w.Value) || len(r.Headers) != len(w.Headers) {
						t.Fatalf("record %d = %+v, want %+v", i, r, w)
					}
					for j, hd := range r.Headers {
						if hd.Key != w.Headers[j].Key || !sameBytes(hd.Value, w.Headers[j].Value) {
							t.Fatalf("record %d header %d = %+v", i, j, hd)
						}
					}
				}
			})
		}
	}
}

// sameBytes also tells null (nil) from empty.
func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestValidateBatchRules(t *testing.T) {
	t.Parallel()
	be := binary.BigEndian
	none := codecCases[0]
	for _, tc := range []struct {
		name  string
		edit  func([]byte) []byte // on a valid uncompressed 3-record batch
		codec codecCase
		want  error
	}{
		{"magic1", func(b []byte) []byte { b[posMagic] = 1; return b }, none, ErrUnsupportedMagic},
		{"crc", func(b []byte) []byte { b[posCRC] ^= 1; return b }, none, ErrCorruptBatch},
		{"length", func(b []byte) []byte { be.PutUint32(b[posBatchLength:], uint32(len(b))); return b }, none, ErrCorruptBatch},
		{"short length", func(b []byte) []byte { be.PutUint32(b[posBatchLength:], 3); return b }, none, ErrCorruptBatch},
		{"codec 5", func(b []byte) []byte { b[22] |= 5; return reseal(b) }, none, ErrUnsupportedCodec},
		{"codec 7", func(b []byte) []byte { b[22] |= 7; return reseal(b) }, none, ErrUnsupportedCodec},
		{"zero records", func(b []byte) []byte { be.PutUint32(b[57:], 0); be.PutUint32(b[23:], 0xffffffff); return reseal(b) }, none, ErrInvalidRecord},
		{"lastOffsetDelta", func(b []byte) []byte { be.PutUint32(b[23:], 5); return reseal(b) }, none, ErrInvalidRecord},
		{"lastOffsetDelta compressed", func(b []byte) []byte { be.PutUint32(b[23:], 5); return reseal(b) }, codecCases[5], ErrInvalidRecord},
		{"count > records", func(b []byte) []byte { be.PutUint32(b[57:], 4); be.PutUint32(b[23:], 3); return reseal(b) }, none, ErrInvalidRecord},
		{"count < records", func(b []byte) []byte { be.PutUint32(b[57:], 2); be.PutUint32(b[23:], 1); return reseal(b) }, none, ErrInvalidRecord},
		{"control", func(b []byte) []byte { b[22] |= 0x20; return reseal(b) }, none, ErrInvalidRecord},
		{"pid without sequence", func(b []byte) []byte { be.PutUint64(b[43:], 7); return reseal(b) }, none, ErrInvalidRecord},
		{"trailing byte", func(b []byte) []byte { return reseal(append(b, 0)) }, none, ErrInvalidRecord},
		{"garbage compressed", func(b []byte) []byte { b[HeaderSize+3] ^= 0xff; return reseal(b) }, codecCases[1], ErrCorruptBatch},
		{"pid with sequence", func(b []byte) []byte { be.PutUint64(b[43:], 7); be.PutUint32(b[53:], 0); return reseal(b) }, none, nil},
		{"transactional", func(b []byte) []byte { b[22] |= 0x10; return reseal(b) }, none, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := tc.edit(buildBatch(t, tc.codec, testRecords(3, false)))
			_, err := ValidateBatch(b, ValidateOptions{RequireKeys: true})
			if (tc.want == nil) != (err == nil) || !errors.Is(err, tc.want) {
				t.Fatalf("ValidateBatch = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestValidateBatchOffsetDeltas(t *testing.T) {
	t.Parallel()
	recs := testRecords(3, false)
	recs[2].OffsetDelta = 7
	b := buildBatch(t, codecCases[0], recs)
	if _, err := ValidateBatch(b, ValidateOptions{}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("ValidateBatch = %v, want ErrInvalidRecord", err)
	}
	// Reading stored (e.g. compacted) batches does not insist on dense deltas.
	if got := collectRecords(t, b, 0); got[2].OffsetDelta != 7 {
		t.Fatalf("offset delta %d", got[2].OffsetDelta)
	}
}

// Every single-byte change a CRC covers, or a length that frames it, must be
// caught; only baseOffset and partitionLeaderEpoch are outside the checks.
func TestValidateBatchEveryByteFlipped(t *testing.T) {
	eachCodec(t, codecCases, func(t *testing.T, c codecCase) {
		b := buildBatch(t, c, testRecords(5, false))
		for i := range b {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				m := bytes.Clone(b)
				m[i] ^= mask
				_, err := ValidateBatch(m, ValidateOptions{RequireKeys: true})
				unchecked := i < posBatchLength || (i >= posLeaderEpoch && i < posMagic)
				if unchecked && err != nil {
					t.Fatalf("byte %d^%#x: %v, want valid", i, mask, err)
				}
				if !unchecked && !isBatchError(err) {
					t.Fatalf("byte %d^%#x: %v, want a typed error", i, mask, err)
				}
				// Reading never checks CRCs; it must still never panic.
				_ = ForEachRecord(m, 1<<20, func(Record) error { return nil })
			}
		}
	})
}

func TestTruncatedBatches(t *testing.T) {
	eachCodec(t, codecCases, func(t *testing.T, c codecCase) {
		one := buildBatch(t, c, testRecords(4, false))
		two := append(bytes.Clone(one), buildBatch(t, c, testRecords(2, false))...)
		for n := 0; n <= len(two); n++ {
			batches, err := SplitBatches(two[:n])
			switch n {
			case 0, len(one), len(two):
				if err != nil || len(batches) != map[int]int{0: 0, len(one): 1, len(two): 2}[n] {
					t.Fatalf("split %d bytes: %d batches, %v", n, len(batches), err)
				}
			default:
				if !errors.Is(err, ErrCorruptBatch) {
					t.Fatalf("split %d bytes: %v, want ErrCorruptBatch", n, err)
				}
			}
			if n < len(one) {
				if _, err := ValidateBatch(one[:n], ValidateOptions{}); !isBatchError(err) {
					t.Fatalf("validate %d bytes: %v", n, err)
				}
				if err := ForEachRecord(one[:n], 0, func(Record) error { return nil }); !isBatchError(err) {
					t.Fatalf("read %d bytes: %v", n, err)
				}
			}
		}
	})
}

func TestSplitBatchesAliasesInput(t *testing.T) {
	t.Parallel()
	a := buildBatch(t, codecCases[0], testRecords(2, false))
	b := buildBatch(t, codecCases[4], testRecords(3, false))
	batches, err := SplitBatches(append(bytes.Clone(a), b...))
	if err != nil || len(batches) != 2 || !bytes.Equal(batches[0], a) || !bytes.Equal(batches[1], b) {
		t.Fatalf("split: %d batches, %v", len(batches), err)
	}
	if cap(batches[0]) != len(a) {
		t.Fatalf("first batch capacity %d reaches into the next", cap(batches[0]))
	}
}

// A tiny batch inflating to 8 MiB must stop at the caller's cap.
func TestDecompressLimit(t *testing.T) {
	bomb := []kmsg.Record{{Key: []byte("k"), Value: make([]byte, 8<<20)}}
	eachCodec(t, codecCases[1:], func(t *testing.T, c codecCase) {
		b := buildBatch(t, c, bomb)
		if len(b) > 1<<20 {
			t.Fatalf("bomb is %d bytes compressed", len(b))
		}
		_, err := ValidateBatch(b, ValidateOptions{RequireKeys: true, MaxDecompressed: 1 << 20})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("ValidateBatch = %v, want ErrTooLarge", err)
		}
		if err := ForEachRecord(b, 1<<20, func(Record) error { return nil }); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("ForEachRecord = %v, want ErrTooLarge", err)
		}
		if got := collectRecords(t, b, 9<<20); len(got) != 1 || len(got[0].Value) != 8<<20 {
			t.Fatalf("under a larger cap: %d records", len(got))
		}
	})
}

// A raw snappy block claiming a huge decoded length is refused before the
// allocation.
func TestSnappyClaimedLength(t *testing.T) {
	t.Parallel()
	claim := binary.AppendUvarint(nil, 1<<31)
	if _, err := decompress(CodecSnappy, append(claim, 0, 0, 0), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("decompress = %v, want ErrTooLarge", err)
	}
	framed := append(append([]byte{}, xerialMagic...), 0, 0, 0, 1, 0, 0, 0, 1)
	framed = binary.BigEndian.AppendUint32(framed, 0xfffffff0)
	if _, err := decompress(CodecSnappy, framed, 1<<20); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("xerial block past the end = %v, want ErrCorruptBatch", err)
	}
}

func TestForEachRecordStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	n := 0
	err := ForEachRecord(buildBatch(t, codecCases[2], testRecords(5, false)), 0, func(Record) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("err %v after %d records", err, n)
	}
}
