-- Index rows written by key compaction hold batches whose stored baseOffset
-- is the real one (offsets may have gaps); readers must not patch them.
ALTER TABLE index_entries ADD COLUMN absolute boolean NOT NULL DEFAULT false;
-- The worker's sweeps look objects up by state.
CREATE INDEX objects_state ON objects (state, delete_after);
