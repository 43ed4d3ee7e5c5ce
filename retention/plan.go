package retention

import "github.com/caudal/caudal/metadata/topicconfig"

// Row is what the retention planner needs of one index row.
type Row struct {
	BaseOffset   int64
	LastOffset   int64
	Bytes        int64
	MaxTimestamp int64
}

// Input is one planning step for one partition: a page of its index rows
// from the oldest on, and what is known about the rest.
type Input struct {
	NowMs      int64
	Policy     topicconfig.Policy
	NextOffset int64 // the high watermark
	// Rows are the partition's oldest index rows in offset order, the
	// first being its oldest (or the first after the rows an earlier step
	// already let go).
	Rows []Row
	// Bytes is the total byte length of Rows and every later row.
	Bytes int64
	// More: rows exist after Rows.
	More bool
}

// Plan is the planner's answer.
type Plan struct {
	// Start is the log start offset retention asks for; rows entirely
	// below it go. -1: nothing to do.
	Start int64
	// Dropped is how many of Input.Rows go.
	Dropped int
	// Bytes is Input.Bytes less the dropped rows'.
	Bytes int64
	// Next: every row given goes and later ones may too; call again with
	// the next page (Bytes carried over).
	Next bool
	// Reason says which limit dropped rows: "time", "size" or both.
	Reason string
}

// PlanRetention decides, without I/O, which of a partition's oldest rows
// retention removes. Like Kafka, it only ever drops a prefix: a row goes
// when its max timestamp is older than retention.ms (and it is entirely
// below the high watermark), or while the partition is over
// retention.bytes; the first row that stays ends the walk. Topics without
// cleanup.policy=delete keep everything.
func PlanRetention(in Input) Plan {
	p := Plan{Start: -1, Bytes: in.Bytes}
	if !in.Policy.Delete || len(in.Rows) == 0 {
		return p
	}
	byTime, bySize := false, false
	for _, r := range in.Rows {
		expired := in.Policy.RetentionMs >= 0 && r.MaxTimestamp < in.NowMs-in.Policy.RetentionMs && r.LastOffset < in.NextOffset
		over := in.Policy.RetentionBytes >= 0 && p.Bytes > in.Policy.RetentionBytes
		if !expired && !over {
			p.Start = r.BaseOffset
			if p.Dropped == 0 {
				p.Start = -1
			}
			p.Reason = reason(byTime, bySize)
			return p
		}
		byTime, bySize = byTime || expired, bySize || (over && !expired)
		p.Dropped++
		p.Bytes -= r.Bytes
		p.Start = r.LastOffset + 1
	}
	p.Next = in.More
	p.Reason = reason(byTime, bySize)
	return p
}

func reason(byTime, bySize bool) string {
	switch {
	case byTime && bySize:
		return "time,size"
	case byTime:
		return "time"
	case bySize:
		return "size"
	}
	return ""
}
