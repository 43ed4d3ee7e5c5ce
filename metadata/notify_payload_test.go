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
		if p == "" {
			continue
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
	commit := func(key string, partitions int) announced { return announced{key, wideCommit(partitions)} }
	for _, tc := range []struct {
		name     string
		commits  []announced
		payloads int
		anything bool // an empty payload ends them: a commit was too wide
	}{
		{"one partition", []announced{commit("a", 1)}, 1, false},
		{"three commits share one", []announced{commit("a", 10), commit("b", 1), commit("c", 30)}, 1, false},
		{"a thousand partitions, split", []announced{commit("a", 1000)}, 8, false},
		{"too wide beside one described", []announced{commit("a", 5000), commit("b", 2)}, 2, true},
		{"nothing appended", []announced{{"a", nil}}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payloads := encodePayloads(tc.commits)
			if len(payloads) != tc.payloads || tc.payloads > 0 && (payloads[len(payloads)-1] == "") != tc.anything {
				t.Fatalf("%d payloads, the last empty: %v; want %d, %v", len(payloads), len(payloads) > 0 && payloads[len(payloads)-1] == "", tc.payloads, tc.anything)
			}
			var want []Appended
			for _, c := range tc.commits {
				if !tc.anything || len(c.appended) < 5000 {
					for _, a := range c.appended {
						for i := range a.Rows {
							a.Rows[i].ObjectKey = c.key
						}
						want = append(want, a)
					}
				}
			}
			if out := decodeAll(t, payloads); !reflect.DeepEqual(out, want) {
				t.Fatalf("decoded %d partitions, want %d: first %+v, want %+v", len(out), len(want), out[0], want[0])
			}
		})
	}
	if a, err := decodePayload(""); a != nil || err != nil {
		t.Fatalf("the empty payload decodes to %v, %v; want nil, nil", a, err)
	}
}

// TestPayloadMalformed: payloads that are not what encodePayloads writes
// are refused, whatever they claim.
func TestPayloadMalformed(t *testing.T) {
	t.Parallel()
	good, _ := base64.RawStdEncoding.DecodeString(encodePayloads([]announced{{"k", wideCommit(2)}})[0])
	head := good[:8] // version, key, object size, partition count
	partition := func(tail ...byte) []byte {
		return append(append(append([]byte{}, head...), make([]byte, 16)...), tail...)
	}
	for name, raw := range map[string][]byte{
		"not base64":     nil,
		"version 1":      append([]byte{1}, good[1:]...),
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
	for _, n := range []int{1, 3} {
		for _, p := range encodePayloads([]announced{{"segments/00/x", wideCommit(n)}, {"segments/01/y", wideCommit(1)}}) {
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
