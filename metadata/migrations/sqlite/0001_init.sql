-- caudal metadata schema, SQLite. Times are int64 unix milliseconds; UUIDs
-- are stored as their canonical text.
CREATE TABLE topics (
	id                 TEXT PRIMARY KEY,
	name               TEXT NOT NULL UNIQUE,
	partitions         INTEGER NOT NULL,
	replication_factor INTEGER NOT NULL,
	configs            TEXT NOT NULL DEFAULT '{}', -- JSON object
	created_at         INTEGER NOT NULL
);

CREATE TABLE partitions (
	topic_id         TEXT NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
	part             INTEGER NOT NULL,
	log_start_offset INTEGER NOT NULL DEFAULT 0,
	next_offset      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (topic_id, part)
) WITHOUT ROWID;

CREATE TABLE index_entries (
	topic_id      TEXT NOT NULL,
	part          INTEGER NOT NULL,
	base_offset   INTEGER NOT NULL,
	last_offset   INTEGER NOT NULL,
	object_key    TEXT NOT NULL,
	byte_offset   INTEGER NOT NULL,
	byte_length   INTEGER NOT NULL,
	max_timestamp INTEGER NOT NULL,
	PRIMARY KEY (topic_id, part, base_offset)
) WITHOUT ROWID;
CREATE INDEX index_entries_last ON index_entries (topic_id, part, last_offset);
CREATE INDEX index_entries_ts ON index_entries (topic_id, part, max_timestamp, base_offset);
CREATE INDEX index_entries_object ON index_entries (object_key);

CREATE TABLE objects (
	object_key   TEXT PRIMARY KEY,
	size         INTEGER NOT NULL,
	state        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	delete_after INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Idempotent producers: per (producer, partition) the epoch and the last 5
-- batches as JSON [[base_seq, last_seq, base_offset], ...], oldest first.
CREATE TABLE producers (
	producer_id INTEGER NOT NULL,
	topic_id    TEXT NOT NULL,
	part        INTEGER NOT NULL,
	epoch       INTEGER NOT NULL,
	batches     TEXT NOT NULL,
	PRIMARY KEY (producer_id, topic_id, part)
) WITHOUT ROWID;
CREATE INDEX producers_topic ON producers (topic_id);

-- Id sequences (PostgreSQL uses real sequences).
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('producer_ids', 0), ('node_ids', 0);

CREATE TABLE group_offsets (
	group_id         TEXT NOT NULL,
	topic            TEXT NOT NULL,
	part             INTEGER NOT NULL,
	committed_offset INTEGER NOT NULL,
	leader_epoch     INTEGER NOT NULL,
	metadata         TEXT NOT NULL,
	commit_time      INTEGER NOT NULL,
	PRIMARY KEY (group_id, topic, part)
) WITHOUT ROWID;

CREATE TABLE gateways (
	node_id      INTEGER PRIMARY KEY,
	addr         TEXT NOT NULL,
	rack         TEXT NOT NULL,
	heartbeat_at INTEGER NOT NULL
);

CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	holder  TEXT NOT NULL,
	expires INTEGER NOT NULL
);
