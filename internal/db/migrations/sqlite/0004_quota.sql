-- A namespace's storage quota: limit_bytes is a hard ceiling; limits add
-- Warning and earlier Reject thresholds as percentages of it.
CREATE TABLE namespace_quota (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	namespace_id BIGINT NOT NULL UNIQUE REFERENCES account (id) ON DELETE CASCADE,
	limit_bytes  BIGINT NOT NULL CHECK (limit_bytes > 0),
	created_at   BIGINT NOT NULL
);

CREATE TABLE quota_limit (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	quota_id          BIGINT  NOT NULL REFERENCES namespace_quota (id) ON DELETE CASCADE,
	kind              TEXT    NOT NULL CHECK (kind IN ('Warning', 'Reject')),
	threshold_percent INTEGER NOT NULL CHECK (threshold_percent BETWEEN 1 AND 100),
	UNIQUE (quota_id, kind, threshold_percent)
);

-- Usage accounting. A namespace uses each blob its manifests reference
-- once, however many manifests do: refs counts those manifests, and the
-- blob's bytes count while refs > 0.
CREATE TABLE namespace_blob (
	namespace_id BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	digest       TEXT   NOT NULL REFERENCES blob (digest),
	refs         BIGINT NOT NULL,
	PRIMARY KEY (namespace_id, digest)
);

-- A namespace's usage is the sum of its shards: each change adds its delta
-- to one shard picked at random, so concurrent pushes do not all update
-- one row.
CREATE TABLE namespace_usage (
	namespace_id BIGINT  NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	shard        INTEGER NOT NULL,
	bytes        BIGINT  NOT NULL,
	PRIMARY KEY (namespace_id, shard)
);

-- The registry-wide size, recomputed by a background job on request.
CREATE TABLE registry_size (
	id           INTEGER PRIMARY KEY CHECK (id = 1),
	size_bytes   BIGINT  NOT NULL DEFAULT 0,
	queued       BOOLEAN NOT NULL DEFAULT FALSE,
	running      BOOLEAN NOT NULL DEFAULT FALSE,
	completed_ms BIGINT
);
