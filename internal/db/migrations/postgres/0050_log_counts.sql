-- Hourly counts of the action log by kind, kept in the transaction that
-- writes or archives the entries: the console's chart over a month (or a
-- year) reads a few hundred of these instead of every entry. Filled here
-- from the entries already written.
CREATE TABLE log_count (
	hour BIGINT NOT NULL, -- created_at / 3,600,000,000 (microseconds)
	kind TEXT NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (hour, kind)
);
INSERT INTO log_count (hour, kind, n)
	SELECT created_at / 3600000000, kind, COUNT(*) FROM log_entry GROUP BY created_at / 3600000000, kind;
