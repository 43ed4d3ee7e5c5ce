-- caudal metadata schema, PostgreSQL. Times are int64 unix milliseconds.
CREATE TABLE topics (
	id                 uuid PRIMARY KEY,
	name               text NOT NULL UNIQUE,
	partitions         integer NOT NULL,
	replication_factor smallint NOT NULL,
	configs            text NOT NULL DEFAULT '{}', -- JSON object
	created_at         bigint NOT NULL
);

CREATE TABLE partitions (
	topic_id         uuid NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
	part             integer NOT NULL,
	log_start_offset bigint NOT NULL DEFAULT 0,
	next_offset      bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (topic_id, part)
);

CREATE TABLE index_entries (
	topic_id      uuid NOT NULL,
	part          integer NOT NULL,
	base_offset   bigint NOT NULL,
	last_offset   bigint NOT NULL,
	object_key    text NOT NULL,
	byte_offset   bigint NOT NULL,
	byte_length   bigint NOT NULL,
	max_timestamp bigint NOT NULL,
	PRIMARY KEY (topic_id, part, base_offset)
);
CREATE INDEX index_entries_last ON index_entries (topic_id, part, last_offset);
CREATE INDEX index_entries_ts ON index_entries (topic_id, part, max_timestamp, base_offset);
CREATE INDEX index_entries_object ON index_entries (object_key);

CREATE TABLE objects (
	object_key   text PRIMARY KEY,
	size         bigint NOT NULL,
	state        text NOT NULL,
	created_at   bigint NOT NULL,
	delete_after bigint NOT NULL DEFAULT 0
);

-- Idempotent producers: per (producer, partition) the epoch and the last 5
-- batches as JSON [[base_seq, last_seq, base_offset], ...], oldest first.
CREATE TABLE producers (
	producer_id bigint NOT NULL,
	topic_id    uuid NOT NULL,
	part        integer NOT NULL,
	epoch       smallint NOT NULL,
	batches     text NOT NULL,
	PRIMARY KEY (producer_id, topic_id, part)
);
CREATE INDEX producers_topic ON producers (topic_id);

CREATE SEQUENCE producer_ids;
CREATE SEQUENCE node_ids;

CREATE TABLE group_offsets (
	group_id         text NOT NULL,
	topic            text NOT NULL,
	part             integer NOT NULL,
	committed_offset bigint NOT NULL,
	leader_epoch     integer NOT NULL,
	metadata         text NOT NULL,
	commit_time      bigint NOT NULL,
	PRIMARY KEY (group_id, topic, part)
);

CREATE TABLE gateways (
	node_id      integer PRIMARY KEY,
	addr         text NOT NULL,
	rack         text NOT NULL,
	heartbeat_at bigint NOT NULL
);

CREATE TABLE leases (
	name    text PRIMARY KEY,
	holder  text NOT NULL,
	expires bigint NOT NULL
);
