package objstoretest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/caudal/caudal/objstore"
)

// OpenFile opens a new, empty file bucket in a temporary directory; it
// closes when the test ends.
func OpenFile(t testing.TB) objstore.Bucket {
	t.Helper()
	url := "file://" + filepath.Join(t.TempDir(), "objects")
	b, err := objstore.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open bucket %s: %v", url, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
