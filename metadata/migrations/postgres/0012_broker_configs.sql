-- Dynamic broker configs (IncrementalAlterConfigs and AlterConfigs on
-- BROKER resources): broker is '' for the cluster-wide default
-- (kafka-configs --entity-default) or a broker id in decimal; name and
-- value are Kafka's config name and value as text.
CREATE TABLE broker_configs (
	broker text NOT NULL,
	name   text NOT NULL,
	value  text NOT NULL,
	PRIMARY KEY (broker, name)
);
-- One row whose version every change of broker_configs raises in its own
-- transaction: gateways poll it to know when to reload them.
CREATE TABLE broker_config_version (
	id      integer PRIMARY KEY CHECK (id = 1),
	version bigint NOT NULL
);
INSERT INTO broker_config_version (id, version) VALUES (1, 0);
