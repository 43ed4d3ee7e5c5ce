-- Consumer group state that must survive a coordinator restart: the
-- generation (or KIP-848 group epoch) and the members with their
-- assignments, as a JSON document. Committed offsets stay in group_offsets.
CREATE TABLE groups (
	group_id   TEXT PRIMARY KEY,
	generation INTEGER NOT NULL,
	record     TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;
