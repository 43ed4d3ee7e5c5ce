// Package objstore is caudal's narrow view of object storage: whole-object
// PUT, ranged GET, delete, list by prefix and stat. Everything caudal keeps
// durably, besides the metadata store, goes through a Bucket.
//
// Objects are passed as byte slices rather than streams: a segment object is
// bounded by the gateway's flush size, and reads land in a byte cache, so a
// stream would only add a copy. It also makes retries trivially safe.
package objstore

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"
)

// Bucket is implemented by every backend (file://, s3://) and by the wrappers
// that add metrics, retries and fault injection.
type Bucket interface {
	// Put writes the object atomically: readers see all of it or none.
	Put(ctx context.Context, key string, data []byte) error
	// Get reads the whole object, into buf when buf's capacity holds it
	// (so that callers can recycle large buffers) and into new memory
	// otherwise.
	Get(ctx context.Context, key string, buf []byte) ([]byte, error)
	// GetRange reads length bytes starting at off. A range that runs past
	// the end of the object returns ErrRange.
	GetRange(ctx context.Context, key string, off, length int64) ([]byte, error)
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order, and stops at fn's first error.
	List(ctx context.Context, prefix string, fn func(Attrs) error) error
	// Stat describes one object.
	Stat(ctx context.Context, key string) (Attrs, error)
	// Close releases the backend's resources.
	Close() error
}

// PutWithCRC32C writes data like b.Put, with crc as its CRC-32C
// (Castagnoli). A caller that knows it without reading every byte (a
// segment's batches carry their own) saves a pass over the object: a
// backend that sends it for the store to check (s3://) uses it instead of
// computing it, the others write as Put does. A wrong crc fails the PUT
// there.
func PutWithCRC32C(ctx context.Context, b Bucket, key string, data []byte, crc uint32) error {
	return PutParts(ctx, b, key, [][]byte{data}, crc)
}

// PutParts is PutWithCRC32C of the concatenation of parts, which a backend
// that streams its PUTs (s3://) sends as they are, so that a writer whose
// bytes are already in memory in pieces (a gateway's produce requests)
// does not copy them into one buffer first. The others get them joined.
func PutParts(ctx context.Context, b Bucket, key string, parts [][]byte, crc uint32) error {
	if p, ok := b.(partsPutter); ok {
		return p.putParts(ctx, key, parts, crc)
	}
	if len(parts) == 1 {
		return b.Put(ctx, key, parts[0])
	}
	return b.Put(ctx, key, slices.Concat(parts...))
}

// partsPutter is a Bucket that takes an object in parts with the
// caller's CRC-32C (see PutParts).
type partsPutter interface {
	putParts(ctx context.Context, key string, parts [][]byte, crc uint32) error
}

// Attrs describes a stored object.
type Attrs struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Error classes. Backends wrap one of these with %w so that callers decide
// with errors.Is, never by matching strings.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrRange: a ranged read asked for bytes outside the object.
	ErrRange = errors.New("range not satisfiable")
	// ErrUnavailable: the store could not be reached or answered with a
	// server-side failure; retrying later may succeed.
	ErrUnavailable = errors.New("object store unavailable")
	// ErrDenied: credentials were refused; retrying will not help.
	ErrDenied = errors.New("object store access denied")
	// ErrInvalidKey: the key is empty or escapes the bucket's namespace.
	ErrInvalidKey = errors.New("invalid object key")
)

// readFull reads n bytes from r into buf if its capacity holds them, or
// into new memory.
func readFull(r io.Reader, n int64, buf []byte) ([]byte, error) {
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}
