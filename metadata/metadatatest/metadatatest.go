// Package metadatatest opens metadata stores for tests.
package metadatatest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// OpenSQLite opens a new, empty SQLite store in a temporary directory; it
// closes when the test ends.
func OpenSQLite(t testing.TB, opts metadata.Options) metadata.Store {
	t.Helper()
	url := "sqlite://" + filepath.Join(t.TempDir(), "metadata.db")
	s, err := metadata.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open metadata %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// IndexCounter is a store that counts the index reads made through it and
// the most rows one returned, for tests that bound how much of a long
// partition a job holds at once.
type IndexCounter struct {
	metadata.Store
	Reads, MaxRows int
}

func (s *IndexCounter) Index(ctx context.Context, topic uuid.UUID, partition int32, from int64, limit int) ([]metadata.IndexEntry, error) {
	rows, err := s.Store.Index(ctx, topic, partition, from, limit)
	s.Reads++
	s.MaxRows = max(s.MaxRows, len(rows))
	return rows, err
}
