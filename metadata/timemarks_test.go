package metadata_test

import (
	"database/sql"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/caudal/caudal/metadata"
)

// TestTimestampLookupsMatchAScan commits rows whose timestamps span a
// minute and do not only grow (client clocks go back, jump ahead, tie),
// then compares IndexByTimestamp and IndexMaxTimestamp with a scan of
// every row: after the commits, after merges and a key compaction that
// lowers timestamps (ReplaceIndex), and after retention.
func TestTimestampLookupsMatchAScan(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "times", 1)
		rng := rand.New(rand.NewPCG(1, 2))
		const base = 1_700_000_000_000
		ts := commitTimes(t, s, a.ID, rng, 300, base)
		end := ts + 25_000
		checkTimeLookups(t, s, a.ID, base-1_000, end)

		rows := index(t, s, a.ID, 0)
		merge(t, s, e, rows[40:60], 0)        // one row of 20
		merge(t, s, e, rows[100:103], 0)      // one of 3
		merge(t, s, e, rows[150:170], 25_000) // its row from a clock 20 s ahead loses 25 s
		checkTimeLookups(t, s, a.ID, base-1_000, end)

		if _, err := s.TrimLog(ctx, a.ID, 0, rows[120].BaseOffset, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		checkTimeLookups(t, s, a.ID, base-1_000, end)

		none := mustTopic(t, s, "no-timestamps", 1) // records without one: -1
		for range 20 {
			commitOne(t, s, none.ID, 0, plain(0, 10, 2, -1))
		}
		checkTimeLookups(t, s, none.ID, -3_000, 3_000)
	})
}

// commitTimes commits n rows to partition 0 of topic, their timestamps
// growing by up to 400 ms a row from start, with a row now and then from
// a clock behind or ahead, and returns where the growth ended.
func commitTimes(t *testing.T, s metadata.Store, topic uuid.UUID, rng *rand.Rand, n int, start int64) int64 {
	t.Helper()
	ts := start
	for i := range n {
		ts += rng.Int64N(400)
		row := ts
		switch i % 37 {
		case 5:
			row = ts - 5_000 // a clock behind
		case 11:
			row = ts + 20_000 // a clock ahead
		case 17:
			row = start // a clock far behind
		}
		if i%2 == 0 {
			commitOne(t, s, topic, 0, plain(0, 10, 1+rng.Int64N(3), row))
		} else { // two batches, one row
			commitOne(t, s, topic, 0, plain(0, 10, 1, row-rng.Int64N(3_000)), plain(10, 10, 2, row))
		}
	}
	return ts
}

// TestTimeMarksMigration: migration 0015 marks the rows a store wrote
// before it, so that lookups over them stay right, and commits after it
// go on from the running maximum it computed.
func TestTimeMarksMigration(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := mustTopic(t, e.s, "old", 1)
		rng := rand.New(rand.NewPCG(3, 4))
		const base = 1_600_000_000_000
		ts := commitTimes(t, e.s, a.ID, rng, 150, base)
		e.s.Close()
		execRaw(t, e.url,
			"DROP INDEX index_entries_marks",
			"ALTER TABLE index_entries DROP COLUMN time_mark",
			"ALTER TABLE partitions DROP COLUMN max_timestamp",
			"CREATE INDEX index_entries_ts ON index_entries (topic_id, part, max_timestamp, base_offset)",
			"DELETE FROM schema_migrations WHERE version = 15")
		e.s = e.open(t)
		checkTimeLookups(t, e.s, a.ID, base-1_000, ts+25_000)
		ts = commitTimes(t, e.s, a.ID, rng, 100, ts-10_000)
		checkTimeLookups(t, e.s, a.ID, base-1_000, ts+25_000)
	})
}

// execRaw runs stmts on the database at url, around the store.
func execRaw(t *testing.T, url string, stmts ...string) {
	t.Helper()
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, st := range stmts {
			if _, err := db.Exec(st); err != nil {
				t.Fatalf("%s: %v", st, err)
			}
		}
		return
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, st := range stmts {
		if _, err := conn.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

// merge replaces old, consecutive rows of partition 0, by one row over
// their offsets whose max_timestamp is theirs less lower (a key
// compaction that removed their newest records when lower > 0).
func merge(t *testing.T, s metadata.Store, e *env, old []metadata.IndexEntry, lower int64) {
	t.Helper()
	obj := metadata.Object{Key: newKey(), Size: 100}
	n := metadata.IndexEntry{BaseOffset: old[0].BaseOffset, LastOffset: old[len(old)-1].LastOffset, ObjectKey: obj.Key, ByteLength: 100}
	for _, o := range old {
		n.MaxTimestamp = max(n.MaxTimestamp, o.MaxTimestamp)
	}
	n.MaxTimestamp -= lower
	err := s.ReplaceIndex(ctx, metadata.IndexReplacement{Topic: old[0].Topic, Partition: 0, Old: old, Objects: []metadata.Object{obj},
		New: []metadata.IndexEntry{n}}, e.clock.Now())
	if err != nil {
		t.Fatalf("replace [%d, %d]: %v", n.BaseOffset, n.LastOffset, err)
	}
}

// checkTimeLookups compares the lookups with a scan of the partition's
// rows at every 50 ms from lo to hi, and at the largest timestamp.
func checkTimeLookups(t *testing.T, s metadata.Store, topic uuid.UUID, lo, hi int64) {
	t.Helper()
	rows := index(t, s, topic, 0)
	top := metadata.IndexEntry{MaxTimestamp: math.MinInt64}
	for _, r := range rows {
		if r.MaxTimestamp > top.MaxTimestamp {
			top = r
		}
	}
	m, ok, err := s.IndexMaxTimestamp(ctx, topic, 0)
	if err != nil || !ok || m.BaseOffset != top.BaseOffset {
		t.Fatalf("IndexMaxTimestamp = row %d, %v, %v; a scan finds row %d (%d)", m.BaseOffset, ok, err, top.BaseOffset, top.MaxTimestamp)
	}
	probes := []int64{top.MaxTimestamp, top.MaxTimestamp + 1}
	for ts := lo; ts <= hi; ts += 50 {
		probes = append(probes, ts)
	}
	for _, ts := range probes {
		want := -1
		for i, r := range rows {
			if r.MaxTimestamp >= ts {
				want = i
				break
			}
		}
		got, ok, err := s.IndexByTimestamp(ctx, topic, 0, ts)
		if err != nil || ok != (want >= 0) || (ok && got.BaseOffset != rows[want].BaseOffset) {
			t.Fatalf("IndexByTimestamp(%d) = row %d, %v, %v; a scan finds row %d", ts, got.BaseOffset, ok, err, want)
		}
	}
}
