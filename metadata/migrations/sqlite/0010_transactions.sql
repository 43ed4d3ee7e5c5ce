-- Transactions (gateway/txn). One row per transactional id: its producer id
-- and epoch, its state (Kafka's: Empty, Ongoing, PrepareCommit,
-- PrepareAbort, CompleteCommit, CompleteAbort), its timeout, the groups it
-- added (JSON array), when it started (0 when none is open) and when it
-- last changed; times are unix ms.
CREATE TABLE transactions (
	transactional_id TEXT PRIMARY KEY,
	producer_id      INTEGER NOT NULL,
	epoch            INTEGER NOT NULL,
	state            TEXT NOT NULL,
	timeout_ms       INTEGER NOT NULL,
	groups_added     TEXT NOT NULL,
	started_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX transactions_producer ON transactions (producer_id);
CREATE INDEX transactions_state ON transactions (state, updated_at);

-- The partitions of open transactions. first_offset is the offset of the
-- transaction's first batch in the partition, -1 until it writes one; the
-- last stable offset of a partition is the least first_offset of its rows.
-- A COMMIT or ABORT marker deletes the row.
CREATE TABLE txn_partitions (
	producer_id  INTEGER NOT NULL,
	topic_id     TEXT NOT NULL,
	part         INTEGER NOT NULL,
	epoch        INTEGER NOT NULL,
	first_offset INTEGER NOT NULL,
	PRIMARY KEY (producer_id, topic_id, part)
) WITHOUT ROWID;
CREATE INDEX txn_partitions_partition ON txn_partitions (topic_id, part, first_offset);

-- Kafka's aborted transaction index: per partition, each aborted
-- transaction's producer, first offset and the offset of its ABORT marker.
CREATE TABLE aborted_txns (
	topic_id     TEXT NOT NULL,
	part         INTEGER NOT NULL,
	last_offset  INTEGER NOT NULL,
	producer_id  INTEGER NOT NULL,
	first_offset INTEGER NOT NULL,
	PRIMARY KEY (topic_id, part, last_offset)
) WITHOUT ROWID;

-- Offsets committed inside a transaction (TxnOffsetCommit); they move to
-- group_offsets when the transaction commits and vanish when it aborts.
CREATE TABLE txn_offsets (
	transactional_id TEXT NOT NULL,
	group_id         TEXT NOT NULL,
	topic            TEXT NOT NULL,
	part             INTEGER NOT NULL,
	committed_offset INTEGER NOT NULL,
	leader_epoch     INTEGER NOT NULL,
	metadata         TEXT NOT NULL,
	commit_time      INTEGER NOT NULL,
	PRIMARY KEY (transactional_id, group_id, topic, part)
) WITHOUT ROWID;
CREATE INDEX txn_offsets_group ON txn_offsets (group_id);
