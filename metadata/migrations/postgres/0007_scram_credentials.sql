-- SCRAM credentials (RFC 5802) of SASL users, one row per user and
-- mechanism: the salt and iteration count the client needs, and the keys
-- that verify its proof. The password itself is never stored.
CREATE TABLE scram_credentials (
	user_name  text NOT NULL,
	mechanism  text NOT NULL,
	salt       bytea NOT NULL,
	iterations integer NOT NULL,
	stored_key bytea NOT NULL,
	server_key bytea NOT NULL,
	PRIMARY KEY (user_name, mechanism)
);
