-- Consumer group state that must survive a coordinator restart: the
-- generation (or KIP-848 group epoch) and the members with their
-- assignments, as a JSON document. Committed offsets stay in group_offsets.
CREATE TABLE groups (
	group_id   text PRIMARY KEY,
	generation integer NOT NULL,
	record     text NOT NULL,
	updated_at bigint NOT NULL
);
