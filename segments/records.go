package segments

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Record is one record of a batch. Key and Value are nil for null and
// non-nil (possibly empty) otherwise. For uncompressed batches they alias
// the batch bytes.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte
	Value          []byte
	Headers        []Header
}

// Header is a record header; Value is nil for null.
type Header struct {
	Key   string
	Value []byte
}

// ForEachRecord calls fn for each record of one batch, decompressing the
// records first if needed; at most maxDecompressed bytes are inflated (0
// means DecompressLimit), so a zip bomb costs at most that much memory. It
// checks framing and the record count but not the CRC (ValidateBatch
// does). An error from fn stops the walk and is returned as is.
func ForEachRecord(batch []byte, maxDecompressed int, fn func(Record) error) error {
	h, data, err := batchRecords(batch, maxDecompressed)
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	return walkRecords(h, data, fn)
}

// batchRecords returns the header and the (decompressed) records section of
// a batch that must fill batch exactly.
func batchRecords(batch []byte, maxDecompressed int) (BatchHeader, []byte, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return h, nil, err
	}
	if h.Size() != len(batch) {
		return h, nil, corrupt("batchLength %d does not match %d bytes", h.BatchLength, len(batch)-lengthOverhead)
	}
	data, err := decompress(h.Codec(), batch[HeaderSize:], maxDecompressed)
	return h, data, err
}

// walkRecords parses exactly h.RecordCount records filling data.
func walkRecords(h BatchHeader, data []byte, fn func(Record) error) error {
	if h.RecordCount < 0 {
		return corrupt("records: negative record count %d", h.RecordCount)
	}
	c := cursor{b: data}
	n := int32(0)
	for ; c.pos < len(data); n++ {
		if n == h.RecordCount {
			return corrupt("records: %d bytes left after the %d records the header counts", c.left(), n)
		}
		r, err := c.record()
		if err != nil {
			return fmt.Errorf("record %d: %w", n, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if n != h.RecordCount {
		return corrupt("records: header counts %d records, found %d", h.RecordCount, n)
	}
	return nil
}

// cursor reads Kafka's zigzag varints and length-prefixed fields; every
// length is checked against what is left before it is used.
type cursor struct {
	b   []byte
	pos int
}

func (c *cursor) left() int { return len(c.b) - c.pos }

func (c *cursor) varlong() (int64, error) {
	v, n := binary.Varint(c.b[c.pos:])
	if n <= 0 {
		return 0, corrupt("bad varint at byte %d", c.pos)
	}
	c.pos += n
	return v, nil
}

func (c *cursor) varint() (int32, error) {
	v, err := c.varlong()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, corrupt("varint %d at byte %d overflows int32", v, c.pos)
	}
	return int32(v), nil
}

// bytes reads a varint length then that many bytes; length -1 is null (nil).
func (c *cursor) bytes() ([]byte, error) {
	n, err := c.varint()
	if err != nil {
		return nil, err
	}
	if n == -1 {
		return nil, nil
	}
	if n < 0 || int(n) > c.left() {
		return nil, corrupt("field length %d at byte %d, %d bytes left", n, c.pos, c.left())
	}
	b := c.b[c.pos : c.pos+int(n) : c.pos+int(n)]
	c.pos += int(n)
	return b, nil
}

// record parses one record, which must fill exactly its declared length.
func (c *cursor) record() (Record, error) {
	var r Record
	length, err := c.varint()
	if err != nil {
		return r, err
	}
	if length < 1 || int(length) > c.left() {
		return r, corrupt("record length %d, %d bytes left", length, c.left())
	}
	end := c.pos + int(length)
	rc := cursor{b: c.b[:end], pos: c.pos}
	r.Attributes = int8(rc.b[rc.pos])
	rc.pos++
	if r.TimestampDelta, err = rc.varlong(); err != nil {
		return r, err
	}
	if r.OffsetDelta, err = rc.varint(); err != nil {
		return r, err
	}
	if r.Key, err = rc.bytes(); err != nil {
		return r, err
	}
	if r.Value, err = rc.bytes(); err != nil {
		return r, err
	}
	if r.Headers, err = rc.headers(); err != nil {
		return r, err
	}
	if rc.pos != end {
		return r, corrupt("record declares %d bytes, fields use %d", length, int(length)-(end-rc.pos))
	}
	c.pos = end
	return r, nil
}

func (c *cursor) headers() ([]Header, error) {
	n, err := c.varint()
	if err != nil {
		return nil, err
	}
	// A header takes at least two bytes (two varint lengths), which bounds
	// the allocation by the input.
	if n < 0 || int(n) > c.left()/2 {
		return nil, corrupt("header count %d, %d bytes left", n, c.left())
	}
	if n == 0 {
		return nil, nil
	}
	hs := make([]Header, n)
	for i := range hs {
		k, err := c.bytes()
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, corrupt("header %d has a null key", i)
		}
		hs[i].Key = string(k)
		if hs[i].Value, err = c.bytes(); err != nil {
			return nil, err
		}
	}
	return hs, nil
}
