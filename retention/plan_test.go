package retention

import (
	"testing"

	"github.com/caudal/caudal/metadata/topicconfig"
)

func TestPlanRetention(t *testing.T) {
	rows := []Row{
		{BaseOffset: 0, LastOffset: 9, Bytes: 100, MaxTimestamp: 1000},
		{BaseOffset: 10, LastOffset: 19, Bytes: 100, MaxTimestamp: 5000},
		{BaseOffset: 20, LastOffset: 29, Bytes: 100, MaxTimestamp: 2000}, // out of order timestamps
		{BaseOffset: 30, LastOffset: 39, Bytes: 100, MaxTimestamp: 9000},
	}
	del := topicconfig.Policy{Delete: true, RetentionMs: -1, RetentionBytes: -1}
	with := func(f func(*topicconfig.Policy)) topicconfig.Policy { p := del; f(&p); return p }
	for _, tc := range []struct {
		name   string
		in     Input
		start  int64
		drop   int
		next   bool
		reason string
	}{
		{"forever", Input{NowMs: 1e9, Policy: del, NextOffset: 40, Rows: rows, Bytes: 400}, -1, 0, false, ""},
		{"compact only", Input{NowMs: 1e9, Policy: topicconfig.Policy{Compact: true, RetentionMs: 1}, NextOffset: 40, Rows: rows, Bytes: 400}, -1, 0, false, ""},
		{"time prefix only", Input{NowMs: 5500, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1000 }), NextOffset: 40, Rows: rows, Bytes: 400}, 10, 1, false, "time"},
		{"time all but last", Input{NowMs: 7001, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1000 }), NextOffset: 40, Rows: rows, Bytes: 400}, 30, 3, false, "time"},
		{"time everything", Input{NowMs: 20000, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1000 }), NextOffset: 40, Rows: rows, Bytes: 400}, 40, 4, false, "time"},
		{"time everything more pages", Input{NowMs: 20000, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1000 }), NextOffset: 90, Rows: rows, Bytes: 900, More: true}, 40, 4, true, "time"},
		{"not below hw", Input{NowMs: 20000, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1000 }), NextOffset: 35, Rows: rows, Bytes: 400}, 30, 3, false, "time"},
		{"size under", Input{NowMs: 0, Policy: with(func(p *topicconfig.Policy) { p.RetentionBytes = 400 }), NextOffset: 40, Rows: rows, Bytes: 400}, -1, 0, false, ""},
		{"size over", Input{NowMs: 0, Policy: with(func(p *topicconfig.Policy) { p.RetentionBytes = 250 }), NextOffset: 40, Rows: rows, Bytes: 400}, 20, 2, false, "size"},
		{"size over counting later pages", Input{NowMs: 0, Policy: with(func(p *topicconfig.Policy) { p.RetentionBytes = 1000 }), NextOffset: 40, Rows: rows, Bytes: 1250, More: true}, 30, 3, false, "size"},
		{"size zero drops all", Input{NowMs: 0, Policy: with(func(p *topicconfig.Policy) { p.RetentionBytes = 0 }), NextOffset: 40, Rows: rows, Bytes: 400}, 40, 4, false, "size"},
		{"both", Input{NowMs: 3000, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1000; p.RetentionBytes = 150 }), NextOffset: 40, Rows: rows, Bytes: 400}, 30, 3, false, "time,size"},
		{"empty", Input{NowMs: 3000, Policy: with(func(p *topicconfig.Policy) { p.RetentionMs = 1 }), NextOffset: 40}, -1, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanRetention(tc.in)
			if p.Start != tc.start || p.Dropped != tc.drop || p.Next != tc.next || p.Reason != tc.reason {
				t.Fatalf("got %+v, want start %d dropped %d next %v reason %q", p, tc.start, tc.drop, tc.next, tc.reason)
			}
		})
	}
}
