// Package segments is caudal's segment object format: Kafka RecordBatch v2
// validation and record decoding, offset patching on the fetch path, the
// writer and reader of segment objects (batches grouped by partition, then
// a self-describing footer) and the naming of segment objects in the
// bucket. It does no I/O of its own beyond the RangeReader a caller
// supplies, and imports no other caudal package.
package segments
