package metadata

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"

	"github.com/google/uuid"
)

// A commit notification's payload carries what commits appended, so that
// other gateways update the partition states and index rows they cache
// without a query (gateway/reader). It is binary, base64-encoded because
// NOTIFY payloads are text, and bounded by PostgreSQL's limit; the
// commits an announcer sends together share payloads, and a commit too
// wide for maxPayloads payloads goes out as an empty one, which readers
// take as "anything may have changed".
//
// Layout: version, then per object: key, size, partition count, and per
// partition: topic id, partition, log start offset, flags, row count, the
// first row's base offset, and per row the gap from the previous row's
// end (0 for contiguous rows), offset count, byte offset, byte length and
// max timestamp. An object whose partitions span payloads appears in each.

const (
	payloadVersion = 2
	// maxPayloadBytes keeps clear of PostgreSQL's 8000-byte limit.
	maxPayloadBytes = 7900
	// maxPayloadRaw is the most bytes that encode to maxPayloadBytes.
	maxPayloadRaw = maxPayloadBytes / 4 * 3
	// maxPayloads bounds the payloads one commit may fill; a wider
	// commit is announced by an empty payload.
	maxPayloads = 16
	flagTxn     = 1
)

var errPayload = errors.New("malformed commit notification payload")

// announced is one commit to announce: its object and what it appended.
type announced struct {
	key      string
	appended []Appended
}

// encodePayloads packs what the commits appended into payloads of at most
// maxPayloadBytes, and adds one empty payload when a commit is too wide
// to describe.
func encodePayloads(commits []announced) []string {
	var (
		out     []string
		cur     = []byte{payloadVersion}
		tooWide bool
	)
	flush := func() {
		if len(cur) > 1 {
			out = append(out, base64.RawStdEncoding.EncodeToString(cur))
			cur = cur[:1:1]
		}
	}
	for _, c := range commits {
		parts, size := make([][]byte, len(c.appended)), 0
		for i, a := range c.appended {
			parts[i] = appendPartition(nil, a)
			size += len(parts[i])
		}
		if size > maxPayloads*maxPayloadRaw {
			tooWide = true
			continue
		}
		head := appendString(nil, c.key)
		head = binary.AppendUvarint(head, uint64(objectSize(c.appended)))
		for len(parts) > 0 { // a commit that appended nothing tells nobody anything
			room := maxPayloadRaw - len(cur) - len(head) - binary.MaxVarintLen64
			n, used := 0, 0
			for n < len(parts) && used+len(parts[n]) <= room {
				used += len(parts[n])
				n++
			}
			if n == 0 {
				if len(cur) == 1 { // one partition larger than a payload
					tooWide = true
					break
				}
				flush()
				continue
			}
			cur = binary.AppendUvarint(append(cur, head...), uint64(n))
			for _, p := range parts[:n] {
				cur = append(cur, p...)
			}
			parts = parts[n:]
		}
	}
	flush()
	if tooWide {
		out = append(out, "")
	}
	return out
}

// objectSize is the size of the object rows name.
func objectSize(appended []Appended) int64 {
	for _, a := range appended {
		if len(a.Rows) > 0 {
			return a.Rows[0].ObjectSize
		}
	}
	return 0
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
// anything may have changed.
func decodePayload(payload string) ([]Appended, error) {
	if payload == "" {
		return nil, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(payload)
	if err != nil || len(raw) == 0 || raw[0] != payloadVersion {
		return nil, errPayload
	}
	d := payloadReader{b: raw[1:]}
	out := []Appended{}
	for d.err == nil && len(d.b) > 0 {
		key, size := d.string(), d.int(false)
		for range d.bounded(uint64(len(d.b))) {
			out = append(out, d.partition(key, size))
		}
	}
	if d.err != nil {
		return nil, errPayload
	}
	return out, nil
}

// partition reads one partition's record of object key.
func (d *payloadReader) partition(key string, size int64) Appended {
	a := Appended{Topic: d.uuid(), Partition: int32(d.bounded(math.MaxInt32)), LogStartOffset: d.int(true)}
	a.Txn = d.byte()&flagTxn != 0
	n := d.bounded(uint64(len(d.b)))
	if n == 0 {
		d.fail()
		return a
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
	return a
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
