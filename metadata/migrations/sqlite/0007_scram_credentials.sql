-- SCRAM credentials (RFC 5802) of SASL users, one row per user and
-- mechanism: the salt and iteration count the client needs, and the keys
-- that verify its proof. The password itself is never stored.
CREATE TABLE scram_credentials (
	user_name  TEXT NOT NULL,
	mechanism  TEXT NOT NULL,
	salt       BLOB NOT NULL,
	iterations INTEGER NOT NULL,
	stored_key BLOB NOT NULL,
	server_key BLOB NOT NULL,
	PRIMARY KEY (user_name, mechanism)
) WITHOUT ROWID;
