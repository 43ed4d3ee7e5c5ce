-- Kafka client quotas (KIP-546: AlterClientQuotas, DescribeClientQuotas).
-- An entity is up to one user, one client-id and one ip; each part's kind
-- is 0 when the entity has no such part, 1 for Kafka's default entity (a
-- null name) and 2 for a named one, whose name is then never empty. The
-- keys are Kafka's (producer_byte_rate, consumer_byte_rate, …).
CREATE TABLE client_quotas (
	user_kind   smallint NOT NULL,
	user_name   text NOT NULL,
	client_kind smallint NOT NULL,
	client_name text NOT NULL,
	ip_kind     smallint NOT NULL,
	ip_name     text NOT NULL,
	quota_key   text NOT NULL,
	quota_value double precision NOT NULL,
	PRIMARY KEY (user_kind, user_name, client_kind, client_name, ip_kind, ip_name, quota_key)
);
-- One row whose version every quota change raises in its own transaction:
-- gateways poll it to know when to reload the quotas.
CREATE TABLE client_quota_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO client_quota_version (id, version) VALUES (1, 0);
