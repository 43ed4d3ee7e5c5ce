package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func seedBatches(f *testing.F) [][]byte {
	var seeds [][]byte
	for i, c := range codecCases {
		seeds = append(seeds, buildBatch(f, c, testRecords(1+i, i%2 == 0)))
	}
	return seeds
}

// FuzzValidateBatch: ValidateBatch never panics, returns only typed errors,
// and what it accepts can be read, patched and accepted again. With reseal
// the fuzzer's bytes get a correct length and CRC, so mutations reach the
// record and codec checks instead of dying at the CRC. The malformed
// batches of every codec seed it too, so it starts next to each check.
func FuzzValidateBatch(f *testing.F) {
	for _, b := range seedBatches(f) {
		f.Add(b, true, false)
		f.Add(b, false, true)
	}
	for _, c := range codecCases {
		for _, m := range malformedBatches(f, c) {
			f.Add(m.batch, false, false)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, requireKeys, resealIt bool) {
		if resealIt {
			b = reseal(bytes.Clone(b))
		}
		opts := ValidateOptions{RequireKeys: requireKeys, MaxDecompressed: 1 << 20}
		h, err := ValidateBatch(b, opts)
		if err != nil {
			if !isBatchError(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		n := int32(0)
		err = ForEachRecord(b, opts.MaxDecompressed, func(r Record) error {
			if requireKeys && r.Key == nil {
				t.Fatalf("record %d has a null key", n)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("validated batch does not read: %v", err)
		}
		if n != h.RecordCount {
			t.Fatalf("read %d records, header says %d", n, h.RecordCount)
		}
		next, err := PatchOffsets(b, 1000, 3)
		if err != nil || next != 1000+int64(h.RecordCount) {
			t.Fatalf("PatchOffsets = %d, %v", next, err)
		}
		if _, err := ValidateBatch(b, opts); err != nil {
			t.Fatalf("patched batch invalid: %v", err)
		}
	})
}

// FuzzForEachRecord: the record iterator never panics on any bytes, returns
// only typed errors, and yields exactly the header's record count. fixLength
// makes batchLength agree with the input so the records themselves get
// fuzzed. The offset helpers run over the same bytes as a stored range.
func FuzzForEachRecord(f *testing.F) {
	for _, b := range seedBatches(f) {
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fixLength bool) {
		if fixLength && len(b) >= HeaderSize {
			b = bytes.Clone(b)
			binary.BigEndian.PutUint32(b[posBatchLength:], uint32(len(b)-lengthOverhead))
		}
		n := int32(0)
		err := ForEachRecord(b, 1<<20, func(r Record) error {
			n++
			return nil
		})
		if err != nil && !isBatchError(err) {
			t.Fatalf("untyped error: %v", err)
		}
		if err == nil {
			if h, _ := ParseBatchHeader(b); n != h.RecordCount {
				t.Fatalf("read %d records, header says %d", n, h.RecordCount)
			}
		}
		spans, err := BatchIndex(b, 5)
		if err != nil && !isBatchError(err) {
			t.Fatalf("untyped error: %v", err)
		}
		for _, s := range spans {
			pos, err := FindOffset(b, 5, s.BaseOffset)
			if err != nil || int64(pos) > s.Off {
				t.Fatalf("FindOffset(%d) = %d, %v; batch at %d", s.BaseOffset, pos, err, s.Off)
			}
		}
	})
}

// FuzzParseObject: the footer parser never panics or over-allocates, returns
// only *CorruptObjectError, and what it accepts is consistent. Unless raw is
// set, the input is a body and a footer to which the harness appends a
// correct trailer, so mutations get past the CRC to the entry checks.
func FuzzParseObject(f *testing.F) {
	batches := seedBatches(f)
	for _, n := range []int{1, 3} {
		var parts []Part
		for i := range n {
			parts = append(parts, Part{Topic: [16]byte{byte(i)}, Partition: int32(i), Batches: batches[i : i+2]})
		}
		obj, _, err := WriteObject(parts)
		if err != nil {
			f.Fatal(err)
		}
		body := int(binary.BigEndian.Uint32(obj[len(obj)-trailerSize:]))
		body = len(obj) - trailerSize - body
		f.Add(obj[:body], obj[body:len(obj)-trailerSize], false)
		f.Add(obj, []byte(nil), true)
	}
	f.Fuzz(func(t *testing.T, body, footer []byte, raw bool) {
		obj := body
		if !raw {
			obj = append(bytes.Clone(body), footer...)
			obj = binary.BigEndian.AppendUint32(obj, uint32(len(footer)))
			obj = binary.BigEndian.AppendUint32(obj, footerCRC(footer, uint32(len(footer)), footerVersion))
			obj = binary.BigEndian.AppendUint16(obj, footerVersion)
			obj = append(obj, footerMagic...)
		}
		o, err := ParseObject("fuzz", obj)
		if err != nil {
			var ce *CorruptObjectError
			if !errors.As(err, &ce) || ce.Object != "fuzz" || !errors.Is(err, ErrCorruptObject) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		end := int64(0)
		for _, e := range o.Entries {
			if e.Off < end || e.Off+e.Len > o.Size || e.Batches < 1 {
				t.Fatalf("entry %+v out of order or range", e)
			}
			end = e.Off + e.Len
			if _, err := o.Partition(e.Topic, e.Partition); err != nil && !errors.Is(err, ErrCorruptObject) {
				t.Fatalf("Partition: untyped error: %v", err)
			}
		}
	})
}
