package reader

import (
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// readers counts the partitions whose kept rows name an object, as pages
// are noted and replaced.
func TestUpcomingReaders(t *testing.T) {
	t.Parallel()
	u := newUpcoming(func() time.Time { return time.Unix(1000, 0) })
	topic := uuid.New()
	rows := func(keys ...string) []metadata.IndexEntry {
		var rs []metadata.IndexEntry
		for i, k := range keys {
			rs = append(rs, metadata.IndexEntry{ObjectKey: k, BaseOffset: int64(10 * i), LastOffset: int64(10*i + 9)})
		}
		return rs
	}
	check := func(step string, want map[string]int) {
		t.Helper()
		for key, n := range want {
			if got := u.readers(key); got != n {
				t.Errorf("%s: %d readers of %s, want %d", step, got, key, n)
			}
		}
	}
	u.note(topic, 0, rows("x", "y"))
	u.note(topic, 1, rows("y", "z"))
	check("noted", map[string]int{"x": 1, "y": 2, "z": 1})
	u.note(topic, 0, rows("y"))
	check("replaced", map[string]int{"x": 0, "y": 2, "z": 1})
	u.note(topic, 1, nil)
	check("emptied", map[string]int{"y": 1, "z": 0})
	if len(u.objects) != 1 {
		t.Errorf("%d objects counted, want 1", len(u.objects))
	}
}
