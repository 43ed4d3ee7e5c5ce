-- Kafka ACL bindings (CreateAcls, DescribeAcls, DeleteAcls). The enums are
-- Kafka's wire codes: resource_type 2 topic, 3 group, 4 cluster,
-- 5 transactional id (6 delegation token, 7 user); pattern_type 3 literal,
-- 4 prefixed; operation 2 all … 14 describe tokens; permission 2 deny,
-- 3 allow. A binding is its whole row, so creating it twice is a no-op.
CREATE TABLE acls (
	resource_type INTEGER NOT NULL,
	resource_name TEXT NOT NULL,
	pattern_type  INTEGER NOT NULL,
	principal     TEXT NOT NULL,
	host          TEXT NOT NULL,
	operation     INTEGER NOT NULL,
	permission    INTEGER NOT NULL,
	PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation, permission)
) WITHOUT ROWID;
-- One row whose version every ACL change raises in its own transaction:
-- gateways poll it to know when to reload the bindings.
CREATE TABLE acl_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO acl_version (id, version) VALUES (1, 0);
