package objstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Op names one Bucket operation. Metrics label their series with it and the
// fault-injection wrapper selects calls by it.
type Op string

// The Bucket operations.
const (
	OpPut      Op = "put"
	OpGet      Op = "get"
	OpGetRange Op = "get_range"
	OpDelete   Op = "delete"
	OpList     Op = "list"
	OpStat     Op = "stat"
)

// maxKeyLen is S3's limit on key length, in bytes (backends with a prefix
// have less room).
const maxKeyLen = 1024

// ValidateKey reports whether key is usable with every backend, wrapping
// ErrInvalidKey if not. A key is a non-empty, valid UTF-8 string of at most
// 1024 bytes made of '/'-separated segments, none of them empty, "." or
// "..": so no leading or trailing '/', no "//", and no NUL bytes. Both
// backends enforce the same rule so that a key that works on file:// works on
// s3:// and the other way round.
func ValidateKey(key string) error {
	reason := ""
	switch {
	case key == "":
		reason = "empty"
	case len(key) > maxKeyLen:
		reason = fmt.Sprintf("longer than %d bytes", maxKeyLen)
	case !utf8.ValidString(key):
		reason = "not valid UTF-8"
	case strings.IndexByte(key, 0) >= 0:
		reason = "contains a NUL byte"
	case key[0] == '/':
		reason = "absolute"
	default:
		for seg := range strings.SplitSeq(key, "/") {
			switch seg {
			case "":
				reason = "has an empty path segment"
			case ".", "..":
				reason = fmt.Sprintf("has a %q path segment", seg)
			}
			if reason != "" {
				break
			}
		}
	}
	if reason != "" {
		return fmt.Errorf("object key %q is %s: %w", key, reason, ErrInvalidKey)
	}
	return nil
}

// OpError describes a failed operation on key (for List: the prefix),
// wrapping err, in the form every backend uses: "get object KEY: ...".
// Wrappers that fail calls themselves (objstoretest.Faults) use it to fail
// like a backend.
func OpError(op Op, key string, err error) error {
	switch op {
	case OpList:
		return fmt.Errorf("list objects with prefix %q: %w", key, err)
	case OpGetRange:
		return fmt.Errorf("get range of object %s: %w", key, err)
	}
	return fmt.Errorf("%s object %s: %w", op, key, err)
}

// contextError returns nil while ctx is live, else its error classified: a
// cancelled context stays context.Canceled (the caller gave up), a passed
// deadline is also ErrUnavailable (the store did not answer in time).
func contextError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
