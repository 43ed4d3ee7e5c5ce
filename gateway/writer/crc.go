package writer

import (
	"encoding/binary"
	"hash/crc32"
)

// The object's CRC-32C goes with its PUT, and the store refuses bytes that
// do not match it. Reading all of an object to compute it cost about a
// tenth of a gateway's produce CPU, yet every batch in it already carries
// the CRC-32C of all but its first bytes: its producer computed it and the
// gateway checked it on produce. So the object's CRC is assembled from
// those, with only the uncovered bytes (batch headers, the footer) read.
// Being the producers' own checksums, it also catches a batch damaged in
// the gateway's memory after it was checked.

// In a RecordBatch (Kafka's format, magic 2) the CRC field is at crcAt and
// covers the bytes from crcFrom, the attributes, to the batch's end.
const (
	crcAt   = 17
	crcFrom = 21
)

// combineMin is the size from which a batch's covered bytes are combined
// rather than read: combining costs about as much as reading 16 KiB.
const combineMin = 16 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// objectCRC is the CRC-32C of an object made of batches, one after
// another, then footer, taking each large batch's checksum from its CRC
// field.
func objectCRC(batches [][]byte, footer []byte) uint32 {
	var crc uint32
	for _, b := range batches {
		if covered := len(b) - crcFrom; covered >= combineMin {
			crc = crc32.Update(crc, castagnoli, b[:crcFrom])
			crc = crc32cCombine(crc, binary.BigEndian.Uint32(b[crcAt:]), int64(covered))
		} else {
			crc = crc32.Update(crc, castagnoli, b)
		}
	}
	return crc32.Update(crc, castagnoli, footer)
}

// crc32cCombine is the CRC-32C of A followed by B from crcA, crcB and B's
// length: crcA times x^(8·lenB) modulo the polynomial, plus crcB (zlib's
// crc32_combine, for Castagnoli's polynomial).
func crc32cCombine(crcA, crcB uint32, lenB int64) uint32 {
	return multModP(xPow8N(lenB), crcA) ^ crcB
}

// castagnoliReversed is the CRC-32C polynomial, bit-reversed as the
// checksum's bits are.
const castagnoliReversed = 0x82f63b78

// multModP is a·b modulo the polynomial, in the reflected representation
// (x^0 is the top bit). a must not be 0.
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; ; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReversed
		} else {
			b >>= 1
		}
	}
}

// xPow2K[k] is x^(2^k) modulo the polynomial.
var xPow2K = func() (t [64]uint32) {
	p := uint32(1) << 30 // x^1
	for k := range t {
		t[k] = p
		p = multModP(p, p)
	}
	return t
}()

// xPow8N is x^(8·n) modulo the polynomial: n bytes of shift.
func xPow8N(n int64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multModP(xPow2K[k], p)
		}
	}
	return p
}
