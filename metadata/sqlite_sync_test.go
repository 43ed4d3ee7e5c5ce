package metadata

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestSQLiteSynchronous: every SQLite connection, the writer's above all,
// runs with synchronous=FULL (2), so a commit that returned survives a
// power loss; only the benchmarks' explicit opt-out gets NORMAL (1).
func TestSQLiteSynchronous(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want int
	}{
		{"default", Options{}, 2},
		{"unsafe no sync", Options{UnsafeSQLiteNoSync: true}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := "sqlite://" + filepath.Join(t.TempDir(), "metadata.db")
			s, err := Open(context.Background(), url, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			b := s.(*sqlStore).b.(*sqliteBackend)
			for name, db := range map[string]*sql.DB{"writer": b.w, "reader": b.r} {
				var got int
				if err := db.QueryRow("PRAGMA synchronous").Scan(&got); err != nil {
					t.Fatalf("%s: PRAGMA synchronous: %v", name, err)
				}
				if got != c.want {
					t.Errorf("%s connection runs with synchronous=%d, want %d", name, got, c.want)
				}
			}
		})
	}
}
