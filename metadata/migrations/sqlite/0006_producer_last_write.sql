-- Idempotent producer state expires producer.id.expiration.ms after its
-- last write (unix ms, the store's clock); rows from before this migration
-- count as written now, so they get a whole period.
ALTER TABLE producers ADD COLUMN last_write INTEGER NOT NULL DEFAULT 0;
UPDATE producers SET last_write = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
CREATE INDEX producers_last_write ON producers (last_write);
