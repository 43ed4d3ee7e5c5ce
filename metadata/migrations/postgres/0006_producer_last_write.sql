-- Idempotent producer state expires producer.id.expiration.ms after its
-- last write (unix ms, the store's clock); rows from before this migration
-- count as written now, so they get a whole period.
ALTER TABLE producers ADD COLUMN last_write bigint NOT NULL DEFAULT 0;
UPDATE producers SET last_write = (extract(epoch FROM now()) * 1000)::bigint;
CREATE INDEX producers_last_write ON producers (last_write);
