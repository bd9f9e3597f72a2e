-- What the blob collector reclaimed, over every process that ran it: the
-- runs, the blobs, bytes and pending links removed in all of them, and
-- the last run's (the superuser's storage page shows it; the metrics are
-- one process's only). One row; times are Unix microseconds.
CREATE TABLE blob_collection_total (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  runs BIGINT NOT NULL DEFAULT 0,
  blobs BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0,
  links BIGINT NOT NULL DEFAULT 0,
  last_run_at BIGINT,
  last_blobs BIGINT NOT NULL DEFAULT 0,
  last_bytes BIGINT NOT NULL DEFAULT 0,
  last_links BIGINT NOT NULL DEFAULT 0
);
INSERT INTO blob_collection_total (id) VALUES (1);
