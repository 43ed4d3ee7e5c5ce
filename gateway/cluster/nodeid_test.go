package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadNodeID(t *testing.T) {
	for _, c := range []struct {
		name       string
		file       string // "" for no file
		configured int32
		want       int32
		err        string
	}{
		{"no file, allocated", "", -1, -1, ""},
		{"no file, configured", "", 5, 5, ""},
		{"kept", "node.id=3\n", -1, 3, ""},
		{"kept and configured alike", "# caudal\nnode.id = 3\n", 3, 3, ""},
		{"kept and configured differ", "node.id=3\n", 4, 0, "configured node id 4 differs from 3 kept in"},
		{"no id", "broker.id=3\n", -1, 0, "no node.id line"},
		{"not a number", "node.id=three\n", -1, 0, `node.id="three" is not a node id`},
		{"negative", "node.id=-1\n", -1, 0, `node.id="-1" is not a node id`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "node.id")
			if c.file != "" {
				if err := os.WriteFile(path, []byte(c.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadNodeID(path, c.configured)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ReadNodeID = %d, %v; want an error with %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ReadNodeID = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

// TestWriteNodeID: an id written is read back, a new one replaces it, and
// nothing but the file is left in its directory.
func TestWriteNodeID(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.id")
	for _, id := range []int32{7, 7, 12} {
		if err := WriteNodeID(path, id); err != nil {
			t.Fatal(err)
		}
		if got, err := ReadNodeID(path, -1); err != nil || got != id {
			t.Fatalf("after writing %d: read %d, %v", id, got, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v, %v; want only node.id", entries, err)
	}
}
