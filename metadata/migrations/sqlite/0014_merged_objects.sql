-- merged marks objects merge compaction wrote. One holds runs of many
-- partitions, so merge judges its rows by their own size rather than the
-- object's (compaction/merge.go), and each partition's swap records it
-- (ReplaceIndex). 0 or 1, an integer on both dialects.
ALTER TABLE objects ADD COLUMN merged INTEGER NOT NULL DEFAULT 0;
