-- Kafka ACL bindings (CreateAcls, DescribeAcls, DeleteAcls). The enums are
-- Kafka's wire codes: resource_type 2 topic, 3 group, 4 cluster,
-- 5 transactional id (6 delegation token, 7 user); pattern_type 3 literal,
-- 4 prefixed; operation 2 all … 14 describe tokens; permission 2 deny,
-- 3 allow. A binding is its whole row, so creating it twice is a no-op.
CREATE TABLE acls (
	resource_type smallint NOT NULL,
	resource_name text NOT NULL,
	pattern_type  smallint NOT NULL,
	principal     text NOT NULL,
	host          text NOT NULL,
	operation     smallint NOT NULL,
	permission    smallint NOT NULL,
	PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation, permission)
);
-- One row whose version every ACL change raises in its own transaction:
-- gateways poll it to know when to reload the bindings.
CREATE TABLE acl_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO acl_version (id, version) VALUES (1, 0);
