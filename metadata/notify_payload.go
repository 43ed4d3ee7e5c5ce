package metadata

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"

	"github.com/google/uuid"
)

// A commit notification's payload carries what the commit appended, so
// that other gateways update the partition states and index rows they
// cache without a query (gateway/reader). It is binary, base64-encoded
// because NOTIFY payloads are text, and bounded by PostgreSQL's limit; a
// commit too wide for maxPayloads payloads goes out with an empty one,
// which readers take as "anything may have changed".
//
// Layout: version, object key, object size, then per partition: topic id,
// partition, log start offset, flags, row count, and per row the gap from
// the previous row's end (0 for contiguous rows), offset count, byte
// offset, byte length and max timestamp.

const (
	payloadVersion = 1
	// maxPayloadBytes keeps clear of PostgreSQL's 8000-byte limit.
	maxPayloadBytes = 7900
	// maxPayloads bounds the notifications of one commit; a wider commit
	// is announced by an empty payload.
	maxPayloads = 16
	flagTxn     = 1
)

var errPayload = errors.New("malformed commit notification payload")

// encodePayloads splits what the commit of object key appended into
// payloads of at most maxPayloadBytes, each naming the object, or returns
// nil when that takes more than maxPayloads.
func encodePayloads(key string, appended []Appended) []string {
	var out []string
	head := appendString([]byte{payloadVersion}, key)
	if len(appended) > 0 && len(appended[0].Rows) > 0 {
		head = binary.AppendUvarint(head, uint64(appended[0].Rows[0].ObjectSize))
	} else {
		head = binary.AppendUvarint(head, 0)
	}
	buf := head
	for _, a := range appended {
		part := appendPartition(nil, a)
		if base64.RawStdEncoding.EncodedLen(len(head)+len(part)) > maxPayloadBytes {
			return nil
		}
		if base64.RawStdEncoding.EncodedLen(len(buf)+len(part)) > maxPayloadBytes {
			out = append(out, base64.RawStdEncoding.EncodeToString(buf))
			buf = head
		}
		buf = append(buf[:len(buf):len(buf)], part...)
	}
	out = append(out, base64.RawStdEncoding.EncodeToString(buf))
	if len(out) > maxPayloads {
		return nil
	}
	return out
}

func appendPartition(b []byte, a Appended) []byte {
	b = append(b, a.Topic[:]...)
	b = binary.AppendUvarint(b, uint64(a.Partition))
	b = binary.AppendVarint(b, a.LogStartOffset)
	var flags byte
	if a.Txn {
		flags |= flagTxn
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(a.Rows)))
	prevEnd := int64(0)
	if len(a.Rows) > 0 {
		prevEnd = a.Rows[0].BaseOffset
		b = binary.AppendVarint(b, prevEnd)
	}
	for _, r := range a.Rows {
		b = binary.AppendVarint(b, r.BaseOffset-prevEnd)
		b = binary.AppendUvarint(b, uint64(r.LastOffset-r.BaseOffset))
		b = binary.AppendUvarint(b, uint64(r.ByteOffset))
		b = binary.AppendUvarint(b, uint64(r.ByteLength))
		b = binary.AppendVarint(b, r.MaxTimestamp)
		prevEnd = r.LastOffset + 1
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodePayload reads one payload; an empty payload is (nil, nil):
// anything may have changed. A commit that appended nothing (its batches
// were all duplicates) is an empty, non-nil slice.
func decodePayload(payload string) ([]Appended, error) {
	if payload == "" {
		return nil, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(payload)
	if err != nil || len(raw) == 0 || raw[0] != payloadVersion {
		return nil, errPayload
	}
	d := payloadReader{b: raw[1:]}
	key := d.string()
	size := d.int(false)
	var out []Appended
	for d.err == nil && len(d.b) > 0 {
		a := Appended{Topic: d.uuid(), Partition: int32(d.bounded(math.MaxInt32)), LogStartOffset: d.int(true)}
		a.Txn = d.byte()&flagTxn != 0
		n := d.bounded(uint64(len(d.b)))
		if n == 0 {
			return nil, errPayload
		}
		end := d.int(true)
		a.Rows = make([]IndexEntry, 0, n)
		for range n {
			r := IndexEntry{Topic: a.Topic, Partition: a.Partition, ObjectKey: key, ObjectSize: size}
			r.BaseOffset = end + d.int(true)
			r.LastOffset = r.BaseOffset + d.int(false)
			r.ByteOffset, r.ByteLength, r.MaxTimestamp = d.int(false), d.int(false), d.int(true)
			end = r.LastOffset + 1
			a.Rows = append(a.Rows, r)
		}
		out = append(out, a)
	}
	if d.err != nil {
		return nil, errPayload
	}
	if out == nil {
		return []Appended{}, nil // a commit that appended nothing
	}
	return out, nil
}

// payloadReader reads a payload's fields, remembering the first error.
type payloadReader struct {
	b   []byte
	err error
}

func (d *payloadReader) fail() { d.err, d.b = errPayload, nil }

// bounded reads an unsigned varint of at most limit.
func (d *payloadReader) bounded(limit uint64) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > limit {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a varint (signed) or a uvarint of at most MaxInt64.
func (d *payloadReader) int(signed bool) int64 {
	if !signed {
		return int64(d.bounded(math.MaxInt64))
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *payloadReader) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *payloadReader) uuid() uuid.UUID {
	var id uuid.UUID
	if len(d.b) < len(id) {
		d.fail()
		return id
	}
	copy(id[:], d.b)
	d.b = d.b[len(id):]
	return id
}

func (d *payloadReader) string() string {
	n := d.bounded(uint64(len(d.b)))
	if n > uint64(len(d.b)) { // the length's own bytes are gone now
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
