package segments

// A segment object explains itself without the metadata store:
//
//	object  = body footer trailer
//	body    = each part's batches back to back, parts in the order written,
//	          every batch stored with baseOffset 0
//	footer  = count u32, then count entries of 40 bytes:
//	          topic id [16]byte | partition i32 | offset u64 | length u64 | batches u32
//	          (offset and length of the part's contiguous range in the body)
//	trailer = footer length u32 | crc u32 | version u16 | magic "CAUDSEG\x00"
//	          (18 bytes, always the object's last bytes)
//
// All integers are big-endian. crc is CRC-32C (Castagnoli) over the footer
// followed by the trailer's footer length and version fields, so a damaged
// length or version is caught as well as a damaged entry. A reader reads the
// trailer from the tail, then the footer just before it.

import (
	"encoding/binary"
	"hash/crc32"
)

const (
	footerVersion = 1
	footerMagic   = "CAUDSEG\x00"
	trailerSize   = 4 + 4 + 2 + 8 // the magic is 8 bytes
	entrySize     = 16 + 4 + 8 + 8 + 4
	// maxFooterLen bounds the second ranged read whatever a corrupt trailer
	// claims; 64 MiB is 1.6 million partitions.
	maxFooterLen = 64 << 20
)

// FooterEntry is one partition's range in a segment object.
type FooterEntry struct {
	Topic     [16]byte
	Partition int32
	Span
	Batches int
}

// appendFooter appends the footer and trailer for entries to dst.
func appendFooter(dst []byte, entries []FooterEntry) []byte {
	be := binary.BigEndian
	start := len(dst)
	dst = be.AppendUint32(dst, uint32(len(entries)))
	for _, e := range entries {
		dst = append(dst, e.Topic[:]...)
		dst = be.AppendUint32(dst, uint32(e.Partition))
		dst = be.AppendUint64(dst, uint64(e.Off))
		dst = be.AppendUint64(dst, uint64(e.Len))
		dst = be.AppendUint32(dst, uint32(e.Batches))
	}
	footerLen := uint32(len(dst) - start)
	crc := footerCRC(dst[start:], footerLen, footerVersion)
	dst = be.AppendUint32(dst, footerLen)
	dst = be.AppendUint32(dst, crc)
	dst = be.AppendUint16(dst, footerVersion)
	return append(dst, footerMagic...)
}

func footerCRC(footer []byte, footerLen uint32, version uint16) uint32 {
	var tail [6]byte
	binary.BigEndian.PutUint32(tail[:], footerLen)
	binary.BigEndian.PutUint16(tail[4:], version)
	return crc32.Update(crc32.Checksum(footer, castagnoli), castagnoli, tail[:])
}

// trailer is the parsed fixed-size tail of an object.
type trailer struct {
	footerLen int64
	crc       uint32
	version   uint16
}

// parseTrailer reads the last trailerSize bytes of an object of size bytes.
func parseTrailer(key string, t []byte, size int64) (trailer, error) {
	be := binary.BigEndian
	if string(t[10:]) != footerMagic {
		return trailer{}, corruptObject(key, "bad footer magic %q", t[10:])
	}
	tr := trailer{footerLen: int64(be.Uint32(t)), crc: be.Uint32(t[4:]), version: be.Uint16(t[8:])}
	if tr.version != footerVersion {
		return trailer{}, corruptObject(key, "unsupported footer version %d", tr.version)
	}
	if tr.footerLen < 4 || tr.footerLen > maxFooterLen || tr.footerLen > size-trailerSize {
		return trailer{}, corruptObject(key, "footer length %d in a %d-byte object", tr.footerLen, size)
	}
	return tr, nil
}

// parseFooter checks the footer's CRC and entries against the body length.
func parseFooter(key string, footer []byte, tr trailer, bodyLen int64) ([]FooterEntry, error) {
	if got := footerCRC(footer, uint32(tr.footerLen), tr.version); got != tr.crc {
		return nil, corruptObject(key, "footer crc 0x%08x, computed 0x%08x", tr.crc, got)
	}
	be := binary.BigEndian
	count := int64(be.Uint32(footer))
	// The count is checked against the length before anything is allocated.
	if count*entrySize != int64(len(footer))-4 {
		return nil, corruptObject(key, "footer of %d bytes cannot hold %d entries", len(footer), count)
	}
	entries := make([]FooterEntry, count)
	seen := make(map[[20]byte]bool, count)
	var prevEnd int64
	for i := range entries {
		p := footer[4+i*entrySize:]
		e := &entries[i]
		copy(e.Topic[:], p)
		e.Partition = int32(be.Uint32(p[16:]))
		off, n, batches := be.Uint64(p[20:]), be.Uint64(p[28:]), be.Uint32(p[36:])
		// Ranges come in body order without overlap, as the writer lays them.
		if off < uint64(prevEnd) || off > uint64(bodyLen) || n > uint64(bodyLen)-off {
			return nil, corruptObject(key, "entry %d: range %d+%d outside body %d..%d", i, off, n, prevEnd, bodyLen)
		}
		if batches < 1 || uint64(batches) > n/HeaderSize || e.Partition < 0 {
			return nil, corruptObject(key, "entry %d: partition %d, %d batches in %d bytes", i, e.Partition, batches, n)
		}
		e.Off, e.Len, e.Batches = int64(off), int64(n), int(batches)
		prevEnd = e.Off + e.Len
		id := partitionID(e.Topic, e.Partition)
		if seen[id] {
			return nil, corruptObject(key, "entry %d: partition %d listed twice", i, e.Partition)
		}
		seen[id] = true
	}
	return entries, nil
}

func partitionID(topic [16]byte, partition int32) [20]byte {
	var id [20]byte
	copy(id[:], topic[:])
	binary.BigEndian.PutUint32(id[16:], uint32(partition))
	return id
}
