package segments

import "time"

// A segment object is PUT first and committed to the metadata store after,
// so between the two it looks exactly like an orphan. These bounds are how
// the writers (a gateway's flush) and orphan GC (the worker) agree on when
// an object without a metadata row can no longer get one. They live here,
// beside the object key naming, because both sides already import this
// package and nothing else they share may import the other's.

// CommitTimeout is how long after starting an object's PUT a writer may
// still commit it, measured on the writer's own monotonic clock from a
// reading taken before the PUT. A writer past it gives up, fails its
// producers with a retriable error and leaves the object to orphan GC.
const CommitTimeout = 30 * time.Second

// commitMargin is what orphan GC waits beyond CommitTimeout. Orphan GC
// measures the grace period on the worker's own monotonic clock from a
// reading taken after the listing that first showed the object, so its
// PUT had started before; no two hosts' wall clocks are ever compared, and
// an offset between the gateway's, the worker's and the bucket's clocks
// does not enter. What the margin has to cover is:
//   - the two monotonic clocks running at different rates: NTP bounds a
//     clock's frequency error at 500 ppm, well under 0.1 s over a minute;
//   - a commit already on its way when the gateway's deadline passes: the
//     gateway stops waiting then, but a COMMIT the metadata store has
//     received still takes effect, a network round trip and a transaction
//     later;
//   - a gateway stalled between its deadline check and the COMMIT reaching
//     the store (a GC pause, SIGSTOP, a paused VM), for up to the rest.
//
// 30 s is orders of magnitude above the first two and covers stalls as
// long as the chaos soak's 20 s SIGSTOP. A longer stall at exactly that
// point is the one case the margin cannot cover; only a fence in the
// metadata store (CommitObject refusing a key GC has claimed) could.
const commitMargin = 30 * time.Second

// MinDeleteGrace is the shortest grace period orphan GC may wait, from
// first seeing an object without a metadata row, before deleting it.
const MinDeleteGrace = CommitTimeout + commitMargin
