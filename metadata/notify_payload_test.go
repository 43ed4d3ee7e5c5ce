package metadata

import (
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/google/uuid"
)

// wideCommit appends to n partitions, two rows each, the second after a
// gap of rejected batches' bytes.
func wideCommit(n int) []Appended {
	topic := uuid.New()
	out := make([]Appended, n)
	for i := range out {
		p := int32(i)
		base := int64(1_000_000 * i)
		out[i] = Appended{Topic: topic, Partition: p, LogStartOffset: int64(i), Txn: i%3 == 0, Rows: []IndexEntry{
			{Topic: topic, Partition: p, BaseOffset: base, LastOffset: base + 9, ObjectKey: "segments/ab/k", ByteOffset: int64(300 * i), ByteLength: 120, MaxTimestamp: 1_700_000_000_000, ObjectSize: 8 << 20},
			{Topic: topic, Partition: p, BaseOffset: base + 10, LastOffset: base + 10, ObjectKey: "segments/ab/k", ByteOffset: int64(300*i + 200), ByteLength: 80, MaxTimestamp: -1, ObjectSize: 8 << 20},
		}}
	}
	return out
}

func decodeAll(t *testing.T, payloads []string) []Appended {
	t.Helper()
	var out []Appended
	for _, p := range payloads {
		if len(p) > maxPayloadBytes {
			t.Fatalf("a payload of %d bytes, over %d", len(p), maxPayloadBytes)
		}
		a, err := decodePayload(p)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		out = append(out, a...)
	}
	return out
}

func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		partitions int
		payloads   int // 0: too wide, announced as "anything"
	}{
		{"one partition", 1, 1},
		{"a flush of a hundred", 100, 1},
		{"a thousand, split", 1000, 8},
		{"too wide", 5000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := wideCommit(tc.partitions)
			payloads := encodePayloads("segments/ab/k", in)
			if len(payloads) != tc.payloads {
				t.Fatalf("%d payloads, want %d", len(payloads), tc.payloads)
			}
			if tc.payloads == 0 {
				return
			}
			if out := decodeAll(t, payloads); !reflect.DeepEqual(out, in) {
				t.Fatalf("decoded %+v, want %+v", out[0], in[0])
			}
		})
	}
	if a, err := decodePayload(encodePayloads("k", nil)[0]); err != nil || a == nil || len(a) != 0 {
		t.Fatalf("a commit that appended nothing decodes to %v, %v; want an empty, non-nil slice", a, err)
	}
	if a, err := decodePayload(""); a != nil || err != nil {
		t.Fatalf("the empty payload decodes to %v, %v; want nil, nil", a, err)
	}
}

// TestPayloadMalformed: payloads that are not what encodePayloads writes
// are refused, whatever they claim.
func TestPayloadMalformed(t *testing.T) {
	t.Parallel()
	good, _ := base64.RawStdEncoding.DecodeString(encodePayloads("k", wideCommit(2))[0])
	head := good[:7] // version, key, object size
	partition := func(tail ...byte) []byte {
		return append(append(append([]byte{}, head...), make([]byte, 16)...), tail...)
	}
	for name, raw := range map[string][]byte{
		"not base64":     nil,
		"version 2":      append([]byte{2}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"no rows":        partition(0, 0, 0, 0),
		"huge row count": partition(0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"short uuid":     append(append([]byte{}, head...), 1, 2, 3),
	} {
		payload := "!" + string(raw)
		if raw != nil {
			payload = base64.RawStdEncoding.EncodeToString(raw)
		}
		if a, err := decodePayload(payload); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, a)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		for _, p := range encodePayloads("segments/00/x", wideCommit(n)) {
			f.Add(p)
		}
	}
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, payload string) {
		a, err := decodePayload(payload)
		if err != nil {
			return
		}
		for _, p := range a {
			if len(p.Rows) == 0 {
				t.Fatalf("decoded a partition without rows: %+v", p)
			}
		}
	})
}
