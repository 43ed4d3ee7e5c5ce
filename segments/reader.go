package segments

import "fmt"

// RangeReader reads n bytes at off of one object (a ranged GET).
type RangeReader interface {
	ReadRange(off, n int64) ([]byte, error)
}

// tailRead is how much OpenObject reads from the end first: enough for the
// trailer and the footer of a few hundred partitions, saving a round trip.
const tailRead = 16 << 10

// Object is an opened segment object: its footer, and a way to read ranges.
type Object struct {
	Key     string
	Size    int64
	Version uint16
	Entries []FooterEntry // in body order
	r       RangeReader
}

// OpenObject reads and checks the footer of the object key of size bytes
// with at most two ranged reads from its tail.
func OpenObject(key string, r RangeReader, size int64) (*Object, error) {
	if size < trailerSize+4 {
		return nil, corruptObject(key, "%d bytes is too small for a footer", size)
	}
	n := min(size, tailRead)
	tail, err := readExact(key, r, size-n, n)
	if err != nil {
		return nil, err
	}
	tr, err := parseTrailer(key, tail[n-trailerSize:], size)
	if err != nil {
		return nil, err
	}
	var footer []byte
	if tr.footerLen+trailerSize <= n {
		footer = tail[n-trailerSize-tr.footerLen : n-trailerSize]
	} else if footer, err = readExact(key, r, size-trailerSize-tr.footerLen, tr.footerLen); err != nil {
		return nil, err
	}
	entries, err := parseFooter(key, footer, tr, size-trailerSize-tr.footerLen)
	if err != nil {
		return nil, err
	}
	return &Object{Key: key, Size: size, Version: tr.version, Entries: entries, r: r}, nil
}

// ParseObject opens an object held whole in memory; Read then returns
// sub-slices of object without copying.
func ParseObject(key string, object []byte) (*Object, error) {
	return OpenObject(key, bytesReader(object), int64(len(object)))
}

// Lookup finds a partition's entry.
func (o *Object) Lookup(topic [16]byte, partition int32) (FooterEntry, bool) {
	for _, e := range o.Entries {
		if e.Topic == topic && e.Partition == partition {
			return e, true
		}
	}
	return FooterEntry{}, false
}

// Partition returns a partition's stored batches (baseOffset 0; see
// PatchOffsets), checking that they frame into the footer's batch count.
func (o *Object) Partition(topic [16]byte, partition int32) ([]byte, error) {
	e, ok := o.Lookup(topic, partition)
	if !ok {
		return nil, fmt.Errorf("read partition %d of %q: %w", partition, o.Key, ErrPartitionNotFound)
	}
	b, err := readExact(o.Key, o.r, e.Off, e.Len)
	if err != nil {
		return nil, err
	}
	count := 0
	if err := walkBatches(b, func(int, BatchHeader, []byte) error { count++; return nil }); err != nil {
		return nil, corruptObject(o.Key, "partition %d: %v", partition, err)
	}
	if count != e.Batches {
		return nil, corruptObject(o.Key, "partition %d: footer says %d batches, found %d", partition, e.Batches, count)
	}
	return b, nil
}

// readExact reads a range and treats a short answer as a truncated object.
func readExact(key string, r RangeReader, off, n int64) ([]byte, error) {
	b, err := r.ReadRange(off, n)
	if err != nil {
		return nil, fmt.Errorf("read %d bytes at %d of %q: %w", n, off, key, err)
	}
	if int64(len(b)) != n {
		return nil, corruptObject(key, "read %d bytes at %d, got %d", n, off, len(b))
	}
	return b, nil
}

type bytesReader []byte

func (b bytesReader) ReadRange(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > int64(len(b)) || n > int64(len(b))-off {
		return nil, fmt.Errorf("range %d+%d outside %d bytes", off, n, len(b))
	}
	return b[off : off+n : off+n], nil
}
