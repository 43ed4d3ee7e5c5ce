-- Transactions (gateway/txn). One row per transactional id: its producer id
-- and epoch, its state (Kafka's: Empty, Ongoing, PrepareCommit,
-- PrepareAbort, CompleteCommit, CompleteAbort), its timeout, the groups it
-- added (JSON array), when it started (0 when none is open) and when it
-- last changed; times are unix ms.
CREATE TABLE transactions (
	transactional_id text PRIMARY KEY,
	producer_id      bigint NOT NULL,
	epoch            smallint NOT NULL,
	state            text NOT NULL,
	timeout_ms       integer NOT NULL,
	groups_added     text NOT NULL,
	started_at       bigint NOT NULL,
	updated_at       bigint NOT NULL
);
CREATE UNIQUE INDEX transactions_producer ON transactions (producer_id);
CREATE INDEX transactions_state ON transactions (state, updated_at);

-- The partitions of open transactions. first_offset is the offset of the
-- transaction's first batch in the partition, -1 until it writes one; the
-- last stable offset of a partition is the least first_offset of its rows.
-- A COMMIT or ABORT marker deletes the row.
CREATE TABLE txn_partitions (
	producer_id  bigint NOT NULL,
	topic_id     uuid NOT NULL,
	part         integer NOT NULL,
	epoch        smallint NOT NULL,
	first_offset bigint NOT NULL,
	PRIMARY KEY (producer_id, topic_id, part)
);
CREATE INDEX txn_partitions_partition ON txn_partitions (topic_id, part, first_offset);

-- Kafka's aborted transaction index: per partition, each aborted
-- transaction's producer, first offset and the offset of its ABORT marker.
CREATE TABLE aborted_txns (
	topic_id     uuid NOT NULL,
	part         integer NOT NULL,
	last_offset  bigint NOT NULL,
	producer_id  bigint NOT NULL,
	first_offset bigint NOT NULL,
	PRIMARY KEY (topic_id, part, last_offset)
);

-- Offsets committed inside a transaction (TxnOffsetCommit); they move to
-- group_offsets when the transaction commits and vanish when it aborts.
CREATE TABLE txn_offsets (
	transactional_id text NOT NULL,
	group_id         text NOT NULL,
	topic            text NOT NULL,
	part             integer NOT NULL,
	committed_offset bigint NOT NULL,
	leader_epoch     integer NOT NULL,
	metadata         text NOT NULL,
	commit_time      bigint NOT NULL,
	PRIMARY KEY (transactional_id, group_id, topic, part)
);
CREATE INDEX txn_offsets_group ON txn_offsets (group_id);
