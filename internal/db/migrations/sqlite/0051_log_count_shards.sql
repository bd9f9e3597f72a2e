-- The hourly log counts in shards: every transaction that writes an entry
-- adds to its hour and kind's row, and on PostgreSQL a row upserted stays
-- locked until the commit, so concurrent pushes (each logs push_repo)
-- waited on one another's commits. Each change now adds to one of sixteen
-- shards picked at random, as namespace usage does; readers sum them.
CREATE TABLE log_count_sharded (
	hour BIGINT NOT NULL,
	kind TEXT NOT NULL,
	shard INTEGER NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (hour, kind, shard)
);
INSERT INTO log_count_sharded (hour, kind, shard, n) SELECT hour, kind, 0, n FROM log_count;
DROP TABLE log_count;
ALTER TABLE log_count_sharded RENAME TO log_count;
