-- Each gateway's address on each of its listeners, as a JSON object of
-- listener name to host:port, so that Metadata gives a client the
-- brokers' addresses on the listener the client came in by.
ALTER TABLE gateways ADD COLUMN listeners TEXT NOT NULL DEFAULT '{}';
