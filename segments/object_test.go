package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/uuid"
)

// countingReader is a RangeReader over bytes that counts its calls.
type countingReader struct {
	b     []byte
	calls int
}

func (r *countingReader) ReadRange(off, n int64) ([]byte, error) {
	r.calls++
	return bytesReader(r.b).ReadRange(off, n)
}

func testParts(t *testing.T, partitions int) []Part {
	t.Helper()
	topics := [][16]byte{uuid.New(), uuid.New()}
	var parts []Part
	for p := range partitions {
		part := Part{Topic: topics[p%2], Partition: int32(p / 2)}
		for j := range 1 + p%3 {
			b := buildBatch(t, codecCases[(p+j)%len(codecCases)], testRecords(1+j, false))
			binary.BigEndian.PutUint64(b, 12345) // clients may send any baseOffset
			part.Batches = append(part.Batches, b)
		}
		parts = append(parts, part)
	}
	return parts
}

func TestWriteAndReadObject(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 7, 600} { // 600 parts: footer beyond the first tail read
		parts := testParts(t, n)
		obj, spans, err := WriteObject(parts)
		if err != nil {
			t.Fatal(err)
		}
		if binary.BigEndian.Uint64(parts[0].Batches[0]) != 12345 {
			t.Fatal("WriteObject modified its input")
		}
		r := &countingReader{b: obj}
		o, err := OpenObject("k1", r, int64(len(obj)))
		if err != nil {
			t.Fatalf("%d parts: OpenObject: %v", n, err)
		}
		if r.calls > 2 || (n < 100 && r.calls != 1) {
			t.Fatalf("%d parts: %d ranged reads", n, r.calls)
		}
		if len(o.Entries) != n || o.Version != footerVersion {
			t.Fatalf("%d entries, version %d", len(o.Entries), o.Version)
		}
		for i, p := range parts {
			s := spans[i]
			e, ok := o.Lookup(p.Topic, p.Partition)
			if !ok || e.Span != s.Span || e.Batches != len(p.Batches) || s.Topic != p.Topic || s.Partition != p.Partition {
				t.Fatalf("part %d: entry %+v ok=%v, span %+v", i, e, ok, s)
			}
			data, err := o.Partition(p.Topic, p.Partition)
			if err != nil || int64(len(data)) != s.Len || !bytes.Equal(data, obj[s.Off:s.Off+s.Len]) {
				t.Fatalf("part %d: Partition: %d bytes, %v", i, len(data), err)
			}
			var offsets int64
			for j, bs := range s.Batches {
				stored := obj[bs.Off : bs.Off+bs.Len]
				h, err := ValidateBatch(stored, ValidateOptions{})
				if err != nil || h.BaseOffset != 0 || !bytes.Equal(stored[8:], p.Batches[j][8:]) {
					t.Fatalf("part %d batch %d: base %d, %v", i, j, h.BaseOffset, err)
				}
				offsets += int64(h.LastOffsetDelta) + 1
			}
			if offsets != s.OffsetCount {
				t.Fatalf("part %d: OffsetCount %d, want %d", i, s.OffsetCount, offsets)
			}
		}
		if _, err := o.Partition(uuid.New(), 0); !errors.Is(err, ErrPartitionNotFound) {
			t.Fatalf("unknown partition: %v", err)
		}
	}
}

// LayoutObject's batches followed by its footer are WriteObject's object,
// byte for byte, with the same spans.
func TestLayoutObjectIsWriteObject(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 7, 600} {
		parts := testParts(t, n)
		want, wantSpans, err := WriteObject(parts)
		if err != nil {
			t.Fatal(err)
		}
		footer, spans, err := LayoutObject(parts)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for _, p := range parts {
			for _, b := range p.Batches {
				got = append(got, b...)
			}
		}
		got = append(got, footer...)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d parts: laid-out object differs from the written one", n)
		}
		if len(spans) != len(wantSpans) || spans[n-1].Span != wantSpans[n-1].Span || spans[n-1].OffsetCount != wantSpans[n-1].OffsetCount {
			t.Fatalf("%d parts: spans %+v, want %+v", n, spans[n-1], wantSpans[n-1])
		}
	}
	if _, _, err := LayoutObject([]Part{{Partition: 0, Batches: [][]byte{{1, 2, 3}}}}); err == nil {
		t.Fatal("LayoutObject took a batch without framing")
	}
}

func TestWriteObjectRejects(t *testing.T) {
	t.Parallel()
	good := testParts(t, 2)
	for name, parts := range map[string][]Part{
		"repeated":   {good[0], good[0]},
		"empty":      {{Topic: good[0].Topic}},
		"negative":   {{Topic: good[0].Topic, Partition: -1, Batches: good[0].Batches}},
		"truncated":  {{Batches: [][]byte{good[1].Batches[0][:70]}}},
		"two in one": {{Batches: [][]byte{append(bytes.Clone(good[1].Batches[0]), good[1].Batches[0]...)}}},
	} {
		if _, _, err := WriteObject(parts); err == nil {
			t.Errorf("%s: WriteObject accepted it", name)
		}
	}
}

func assertCorruptObject(t *testing.T, err error, what string) {
	t.Helper()
	var ce *CorruptObjectError
	if !errors.Is(err, ErrCorruptObject) || !errors.As(err, &ce) || ce.Object != "obj/key" {
		t.Fatalf("%s: %v, want *CorruptObjectError naming obj/key", what, err)
	}
}

func TestCorruptObjects(t *testing.T) {
	t.Parallel()
	obj, _, err := WriteObject(testParts(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(obj) {
		_, err := ParseObject("obj/key", obj[:n])
		assertCorruptObject(t, err, "truncated")
	}
	// The footer does not cover the body, but serving a partition re-frames
	// its batches, so a damaged length is still reported against the object.
	o, err := ParseObject("obj/key", obj)
	if err != nil {
		t.Fatal(err)
	}
	e := o.Entries[1]
	m := bytes.Clone(obj)
	binary.BigEndian.PutUint32(m[e.Off+posBatchLength:], 20)
	if o, err = ParseObject("obj/key", m); err != nil {
		t.Fatal(err)
	}
	_, err = o.Partition(e.Topic, e.Partition)
	assertCorruptObject(t, err, "damaged batch length")
	// A cut-off head leaves a valid-looking footer whose ranges no longer
	// fit, or fit shifted; either way it must not be served as-is.
	if _, err := ParseObject("obj/key", obj[1:]); err == nil {
		t.Fatal("object without its first byte parsed")
	}
	footerStart := len(obj) - trailerSize - 4 - 5*entrySize
	for i := footerStart; i < len(obj); i++ {
		m := bytes.Clone(obj)
		m[i] ^= 0x40
		_, err := ParseObject("obj/key", m)
		assertCorruptObject(t, err, "flipped footer byte")
	}
}

func TestFooterBounds(t *testing.T) {
	t.Parallel()
	body := buildBatch(t, codecCases[0], testRecords(2, false))
	for _, tc := range []struct {
		name    string
		footer  func() []byte
		wantErr bool
	}{
		{"huge count", func() []byte { return binary.BigEndian.AppendUint32(nil, 0xffffffff) }, true},
		{"count short of length", func() []byte { return make([]byte, 4+entrySize) }, true},
		{"no entries", func() []byte { return make([]byte, 4) }, false},
		{"range past body", func() []byte {
			return appendEntries(FooterEntry{Span: Span{Off: 0, Len: int64(len(body)) + 1}, Batches: 1})
		}, true},
		{"zero batches", func() []byte { return appendEntries(FooterEntry{Span: Span{Len: int64(len(body))}}) }, true},
		{"overlap", func() []byte {
			e := FooterEntry{Span: Span{Len: int64(len(body))}, Batches: 1}
			f := e
			f.Partition = 1
			return appendEntries(e, f)
		}, true},
		{"duplicate", func() []byte {
			e := FooterEntry{Span: Span{Len: HeaderSize}, Batches: 1}
			f := FooterEntry{Span: Span{Off: HeaderSize, Len: HeaderSize}, Batches: 1}
			return appendEntries(e, f)
		}, true},
	} {
		f := tc.footer()
		obj := append(bytes.Clone(body), f...)
		obj = binary.BigEndian.AppendUint32(obj, uint32(len(f)))
		obj = binary.BigEndian.AppendUint32(obj, footerCRC(f, uint32(len(f)), footerVersion))
		obj = binary.BigEndian.AppendUint16(obj, footerVersion)
		obj = append(obj, footerMagic...)
		_, err := ParseObject("obj/key", obj)
		if tc.wantErr {
			assertCorruptObject(t, err, tc.name)
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// appendEntries encodes just the footer part (no trailer) for hand-made tests.
func appendEntries(entries ...FooterEntry) []byte {
	f := appendFooter(nil, entries)
	return f[:len(f)-trailerSize]
}

type failingReader struct{ err error }

func (r failingReader) ReadRange(int64, int64) ([]byte, error) { return nil, r.err }

func TestOpenObjectReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := OpenObject("k", failingReader{boom}, 1000)
	if !errors.Is(err, boom) || errors.Is(err, ErrCorruptObject) {
		t.Fatalf("OpenObject = %v, want the read error", err)
	}
}
