// Package metadatatest opens metadata stores for tests.
package metadatatest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/caudal/caudal/metadata"
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
