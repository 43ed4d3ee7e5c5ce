-- Two indexes that every commit paid for and few reads need (issue 18,
-- item 4: a 1,000-partition commit's PostgreSQL CPU went from 40 to 20 ms
-- without them).
--
-- index_entries_last: a partition's rows never overlap, so offset order is
-- base_offset order, and the primary key finds the row holding an offset
-- (the last row starting at or before it) as well (index.go, rowsFrom).
DROP INDEX index_entries_last;
-- producers_last_write: every idempotent commit rewrites last_write, and an
-- indexed column that changes rules out PostgreSQL's heap-only updates, so
-- each commit inserted into all three of the table's indexes. Expiry, a
-- worker job once per retention pass, scans the table instead.
DROP INDEX producers_last_write;
