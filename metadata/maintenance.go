package metadata

// Maintenance holds the store operations of the worker's jobs: retention,
// merge and key compaction, and object garbage collection.
type Maintenance interface {
}
