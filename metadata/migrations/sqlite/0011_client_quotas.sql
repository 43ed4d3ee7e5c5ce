-- Kafka client quotas (KIP-546: AlterClientQuotas, DescribeClientQuotas).
-- An entity is up to one user, one client-id and one ip; each part's kind
-- is 0 when the entity has no such part, 1 for Kafka's default entity (a
-- null name) and 2 for a named one, whose name is then never empty. The
-- keys are Kafka's (producer_byte_rate, consumer_byte_rate, …).
CREATE TABLE client_quotas (
	user_kind   INTEGER NOT NULL,
	user_name   TEXT NOT NULL,
	client_kind INTEGER NOT NULL,
	client_name TEXT NOT NULL,
	ip_kind     INTEGER NOT NULL,
	ip_name     TEXT NOT NULL,
	quota_key   TEXT NOT NULL,
	quota_value REAL NOT NULL,
	PRIMARY KEY (user_kind, user_name, client_kind, client_name, ip_kind, ip_name, quota_key)
) WITHOUT ROWID;
-- One row whose version every quota change raises in its own transaction:
-- gateways poll it to know when to reload the quotas.
CREATE TABLE client_quota_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO client_quota_version (id, version) VALUES (1, 0);
