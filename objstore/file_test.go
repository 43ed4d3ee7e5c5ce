package objstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/caudal/caudal/objstore"
)

// openFileBucket opens a file:// bucket in a fresh directory.
func openFileBucket(t *testing.T) (objstore.Bucket, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := objstore.Open(t.Context(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

// What only the file backend does: directories stand for key prefixes, and
// a crashed Put leaves a temporary file that List must not show.
func TestFileSpecifics(t *testing.T) {
	t.Parallel()
	b, dir := openFileBucket(t)
	mustPut(t, b, "a/b", []byte("1"))
	mustPut(t, b, "c", []byte("2"))
	// S3 could hold these too; a directory tree cannot.
	for _, key := range []string{"a", "c/d"} {
		if err := b.Put(t.Context(), key, []byte("x")); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put %s clashing with a directory: %v, want ErrInvalidKey", key, err)
		}
	}
	if err := b.Put(t.Context(), "a/.caudal-tmp-x", []byte("x")); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Errorf("Put with a reserved name: %v, want ErrInvalidKey", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", ".caudal-tmp-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, b, ""); !slices.Equal(got, []string{"a/b", "c"}) {
		t.Fatalf("List = %q, want [a/b c]", got)
	}
	// Deleting the last key below a directory removes the directory.
	if err := b.Delete(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, b, "x/y/z", []byte("3"))
	if err := b.Delete(t.Context(), "x/y/z"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directories left after Delete: %v", err)
	}
}
