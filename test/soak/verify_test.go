package soak

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
)

// view is what one set of reads says about the acknowledged records: the
// consumer group's deliveries, or a final scan of the stored log.
type view struct {
	name       string
	deliveries int // reads, re-deliveries included
	stored     int // distinct positions read
	// lost: acked, never read. duplicated: read at two positions, i.e.
	// stored twice (a re-delivery of one position is not a duplicate).
	// outOfOrder: for one producer and partition, a lower sequence at a
	// higher offset than another. conflicting: one position read with two
	// different records. moved: acked at one position, read only at
	// another.
	lost, duplicated, outOfOrder, conflicting, moved []string
	garbled                                          []string
}

// analyze checks reads against acks.
func analyze(name string, acks map[id]pos, reads []read, garbled []string) view {
	v := view{name: name, deliveries: len(reads), garbled: garbled}
	at := map[pos]id{}
	where := map[id][]pos{}
	for _, r := range reads {
		prev, seen := at[r.pos]
		switch {
		case !seen:
			at[r.pos] = r.rec
			where[r.rec] = append(where[r.rec], r.pos)
		case prev != r.rec:
			v.conflicting = append(v.conflicting, fmt.Sprintf("%v read as %v and as %v", r.pos, prev, r.rec))
		}
	}
	v.stored = len(at)
	for _, rec := range sortedIDs(acks) {
		ps, ok := where[rec]
		switch {
		case !ok:
			v.lost = append(v.lost, fmt.Sprintf("%v (acked at %v)", rec, acks[rec]))
		case !slices.Contains(ps, acks[rec]):
			v.moved = append(v.moved, fmt.Sprintf("%v acked at %v, stored at %v", rec, acks[rec], ps))
		}
	}
	for _, rec := range sortedIDs(where) {
		if ps := where[rec]; len(ps) > 1 {
			v.duplicated = append(v.duplicated, fmt.Sprintf("%v at %v", rec, ps))
		}
	}
	v.outOfOrder = outOfOrder(at)
	return v
}

// outOfOrder walks each producer's records in each partition in offset
// order and reports every record whose sequence is below one stored
// before it.
func outOfOrder(at map[pos]id) []string {
	type stream struct {
		producer  string
		partition int32
	}
	offsets := map[stream][]int64{}
	for p, rec := range at {
		s := stream{rec.producer, p.partition}
		offsets[s] = append(offsets[s], p.offset)
	}
	var bad []string
	for s, offs := range offsets {
		slices.Sort(offs)
		var top id
		var topAt int64
		for i, o := range offs {
			rec := at[pos{s.partition, o}]
			if i > 0 && rec.seq < top.seq {
				bad = append(bad, fmt.Sprintf("%v at p%d@%d after %v at @%d", rec, s.partition, o, top, topAt))
				continue
			}
			top, topAt = rec, o
		}
	}
	sort.Strings(bad)
	return bad
}

func sortedIDs[V any](m map[id]V) []id {
	ids := slices.Collect(maps.Keys(m))
	slices.SortFunc(ids, func(a, b id) int {
		if c := strings.Compare(a.producer, b.producer); c != 0 {
			return c
		}
		return int(a.seq - b.seq)
	})
	return ids
}

// problems lists what makes the view miss the target, with examples.
func (v view) problems() []string {
	var out []string
	for _, c := range []struct {
		what string
		recs []string
	}{
		{"lost (acked, never read)", v.lost},
		{"duplicated (stored at two offsets)", v.duplicated},
		{"out of order", v.outOfOrder},
		{"conflicting (one offset, two records)", v.conflicting},
		{"acked at another offset than stored", v.moved},
		{"garbled values", v.garbled},
	} {
		if len(c.recs) > 0 {
			out = append(out, fmt.Sprintf("%s: %d %s, e.g. %s", v.name, len(c.recs), c.what, strings.Join(c.recs[:min(3, len(c.recs))], "; ")))
		}
	}
	return out
}

func (v view) summary() string {
	return fmt.Sprintf("%-26s %d deliveries, %d records; lost %d, duplicated %d, out of order %d, conflicting %d, acked elsewhere %d, garbled %d",
		v.name+":", v.deliveries, v.stored, len(v.lost), len(v.duplicated), len(v.outOfOrder), len(v.conflicting), len(v.moved), len(v.garbled))
}

// tally counts incidents per phase name (a fault kind), client and text,
// for the report: which fault made which client give up, and with what
// error.
func tally(incidents []incident, phases []string) map[string]map[string]int {
	t := map[string]map[string]int{}
	for _, in := range incidents {
		k := phases[in.phase]
		if t[k] == nil {
			t[k] = map[string]int{}
		}
		t[k][in.client+": "+shorten(in.text)]++
	}
	return t
}

// shorten keeps error texts groupable: the first 160 bytes, digits
// (offsets, sequence numbers, ports) masked.
func shorten(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r = '#'
		}
		b.WriteRune(r)
		if b.Len() >= 160 {
			b.WriteString("…")
			break
		}
	}
	return b.String()
}

// TestAnalyze runs the soak's checker on a made-up log holding each kind
// of damage the soak is there to find: a checker that missed one would
// let the soak pass over lost or doubled data.
func TestAnalyze(t *testing.T) {
	r := func(seq int64) id { return id{"p", seq} }
	acks := map[id]pos{r(0): {0, 0}, r(1): {0, 1}, r(2): {0, 2}, r(3): {1, 0}, r(4): {1, 1}}
	clean := []read{{pos{0, 0}, r(0)}, {pos{0, 1}, r(1)}, {pos{0, 2}, r(2)}, {pos{1, 0}, r(3)}, {pos{1, 1}, r(4)}}
	if p := analyze("clean", acks, append(clean, clean[0]), nil).problems(); len(p) > 0 {
		t.Fatalf("a re-delivered, intact log has problems: %v", p)
	}

	reads := []read{
		{pos{0, 0}, r(0)}, {pos{0, 0}, r(0)}, // a re-delivery: no duplicate
		{pos{0, 1}, r(2)}, {pos{0, 2}, r(1)}, // swapped: r(1) out of order, both stored off their acks
		{pos{0, 3}, r(0)}, // r(0) stored twice, and behind r(2)
		{pos{1, 1}, r(4)}, // r(3) lost
		{pos{1, 1}, r(9)}, // one offset, two records
	}
	v := analyze("damaged", acks, reads, nil)
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"deliveries", v.deliveries, 7},
		{"stored", v.stored, 5},
		{"lost", len(v.lost), 1},
		{"duplicated", len(v.duplicated), 1},
		{"out of order", len(v.outOfOrder), 2},
		{"conflicting", len(v.conflicting), 1},
		{"acked elsewhere", len(v.moved), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.what, c.got, c.want, v.summary())
		}
	}
}
