package compaction

// What key compaction does with transactions, as Kafka's log cleaner does
// (CleanedTransactionMetadata): records of aborted transactions go,
// records of committed ones are compacted like any others, and a marker
// stays while any record of its transaction is left, then for
// delete.retention.ms more.

// fate is what became of a record's transaction, as the records read
// from the log start on tell.
type fate uint8

const (
	// settled: not transactional, or its transaction committed.
	settled fate = iota
	// aborted: its transaction's ABORT marker follows it.
	aborted
	// undecided: no marker follows it yet; its transaction is open.
	undecided
	// markerHeld: a marker some records of its transaction precede.
	markerHeld
	// markerEmpty: a marker whose transaction has no records left.
	markerEmpty
)

// txnFates tells the fate of each record of recs (in offset order, from
// the log start): a transactional record's is decided by the next marker
// of its producer, and a marker is empty when no record of its producer
// came between it and that producer's previous marker.
func txnFates(recs []KeyRecord) []fate {
	fates := make([]fate, len(recs))
	pending := map[int64][]int{} // producer id → its transactional records since its last marker
	for i, r := range recs {
		switch {
		case r.Control:
			fates[i] = markerEmpty
			if len(pending[r.ProducerID]) > 0 {
				fates[i] = markerHeld
			}
			for _, j := range pending[r.ProducerID] {
				if !r.Commit {
					fates[j] = aborted
				}
			}
			delete(pending, r.ProducerID)
		case r.Transactional:
			pending[r.ProducerID] = append(pending[r.ProducerID], i)
		}
	}
	for _, js := range pending {
		for _, j := range js {
			fates[j] = undecided
		}
	}
	return fates
}

// planMarker decides a marker's verdict. One that records of its
// transaction still precede stays as it is. Once they are gone, as Kafka
// does, a pass stamps it with a delete horizon of now plus
// delete.retention.ms (so that a consumer that read the transaction's
// records sees its marker), and the first pass at or after the horizon
// drops it.
func planMarker(r KeyRecord, f fate, in KeyInput) Verdict {
	switch {
	case f == markerHeld:
		return Keep
	case r.DeleteHorizon == 0:
		return KeepStamped
	case r.DeleteHorizon <= in.NowMs:
		return Drop
	}
	return Keep
}
