-- Time marks replace index_entries_ts (issue 18, item 4): that index cost a
-- 1,000-partition commit 4 of its 9 ms of index inserts, to serve
-- ListOffsets by timestamp, which clients send rarely.
--
-- A partition's running maximum timestamp is kept on its row. An index row
-- whose max_timestamp moves it into a later second gets time_mark = 1, and
-- only marked rows are in the partial index. A marked row's max_timestamp
-- is at least that of every earlier row, so a lookup starts after the last
-- mark below the timestamp's second and scans at most about two seconds
-- of rows in offset order (index.go).
--
-- Existing rows: every row that raised its partition's running maximum is
-- marked, which is as good as a mark per second (and a larger index until
-- retention drops them).
ALTER TABLE partitions ADD COLUMN max_timestamp bigint NOT NULL DEFAULT (-9223372036854775807 - 1);
UPDATE partitions p SET max_timestamp = m.ts
	FROM (SELECT topic_id, part, max(max_timestamp) AS ts FROM index_entries GROUP BY topic_id, part) m
	WHERE p.topic_id = m.topic_id AND p.part = m.part;
ALTER TABLE index_entries ADD COLUMN time_mark smallint NOT NULL DEFAULT 0;
UPDATE index_entries i SET time_mark = 1
	FROM (SELECT topic_id, part, base_offset, max_timestamp > COALESCE(max(max_timestamp) OVER (PARTITION BY topic_id, part
		ORDER BY base_offset ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), -9223372036854775807 - 1) AS raised FROM index_entries) w
	WHERE w.raised AND i.topic_id = w.topic_id AND i.part = w.part AND i.base_offset = w.base_offset;
CREATE INDEX index_entries_marks ON index_entries (topic_id, part, max_timestamp) WHERE time_mark = 1;
DROP INDEX index_entries_ts;
