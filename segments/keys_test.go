package segments_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// Keys are segments/HH/UUIDv7 with HH the first byte of the UUID's
// SHA-256, never repeat, fall on every one of the 256 prefixes with none
// taking much more than its share, and sort in the order they were made
// within a prefix.
func TestNewObjectKey(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	last := map[string]string{} // the newest key under each prefix
	counts := map[string]int{}
	for range n {
		key, err := segments.NewObjectKey()
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(key, segments.KeyPrefix)
		if !ok {
			t.Fatalf("key %q is not under %q", key, segments.KeyPrefix)
		}
		prefix, id, ok := strings.Cut(rest, "/")
		if !ok {
			t.Fatalf("key %q has no hash prefix", key)
		}
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.String() != id {
			t.Fatalf("key %q: %q is not a UUIDv7 in canonical form (%v)", key, id, err)
		}
		sum := sha256.Sum256(u[:])
		if want := hex.EncodeToString(sum[:1]); prefix != want {
			t.Fatalf("key %q: prefix %q, want %q from the UUID's SHA-256", key, prefix, want)
		}
		if seen[key] {
			t.Fatalf("key %q made twice", key)
		}
		seen[key] = true
		if key <= last[prefix] {
			t.Fatalf("key %q sorts before the earlier %q under the same prefix", key, last[prefix])
		}
		last[prefix] = key
		counts[prefix]++
	}
	if len(counts) != 256 {
		t.Fatalf("%d keys fell on %d prefixes, want all 256", n, len(counts))
	}
	// Each prefix expects n/256 ≈ 39 keys; an even spread gives one three
	// times that with a probability below 1e-20.
	for prefix, c := range counts {
		if c > 3*n/256 {
			t.Errorf("prefix %s got %d of %d keys, want about %d", prefix, c, n, n/256)
		}
	}
}
