package segments_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/caudal/caudal/segments"
)

// Keys are UUIDv7s under the prefix, never repeat, and sort in the order
// they were made (listing returns objects in write order).
func TestNewObjectKey(t *testing.T) {
	const n = 10_000
	prev := ""
	seen := make(map[string]bool, n)
	for range n {
		key, err := segments.NewObjectKey()
		if err != nil {
			t.Fatal(err)
		}
		id, ok := strings.CutPrefix(key, segments.KeyPrefix)
		if !ok {
			t.Fatalf("key %q is not under %q", key, segments.KeyPrefix)
		}
		if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
			t.Fatalf("key %q: not a UUIDv7 (%v)", key, err)
		}
		if seen[key] {
			t.Fatalf("key %q made twice", key)
		}
		seen[key] = true
		if key <= prev {
			t.Fatalf("key %q sorts before the earlier %q", key, prev)
		}
		prev = key
	}
}
