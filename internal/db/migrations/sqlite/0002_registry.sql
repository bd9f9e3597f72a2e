-- Repositories live in a namespace (a user or an organization).
CREATE TABLE repository (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	namespace_id BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	name         TEXT   NOT NULL,
	visibility   TEXT   NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
	description  TEXT   NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	UNIQUE (namespace_id, name)
);

-- One row per stored blob: storage is content-addressed, so a digest is
-- stored once however many repositories link it.
CREATE TABLE blob (
	digest     TEXT   PRIMARY KEY,
	size       BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);

-- Which repositories may serve a blob (uploaded or mounted there).
CREATE TABLE repository_blob (
	repository_id BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	digest        TEXT   NOT NULL REFERENCES blob (digest),
	created_at    BIGINT NOT NULL,
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blob_digest ON repository_blob (digest);

CREATE TABLE manifest (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	repository_id  BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	digest         TEXT   NOT NULL,
	media_type     TEXT   NOT NULL,
	artifact_type  TEXT   NOT NULL DEFAULT '',
	subject_digest TEXT,
	annotations    TEXT   NOT NULL DEFAULT '',
	size           BIGINT NOT NULL,
	content        BLOB   NOT NULL,
	created_at     BIGINT NOT NULL,
	UNIQUE (repository_id, digest)
);
CREATE INDEX manifest_subject ON manifest (repository_id, subject_digest);

-- The blobs (config, layers) a manifest references: what its storage costs.
CREATE TABLE manifest_blob (
	manifest_id BIGINT NOT NULL REFERENCES manifest (id) ON DELETE CASCADE,
	digest      TEXT   NOT NULL REFERENCES blob (digest),
	PRIMARY KEY (manifest_id, digest)
);
CREATE INDEX manifest_blob_digest ON manifest_blob (digest);

-- The manifests an index references.
CREATE TABLE manifest_child (
	manifest_id  BIGINT NOT NULL REFERENCES manifest (id) ON DELETE CASCADE,
	child_digest TEXT   NOT NULL,
	PRIMARY KEY (manifest_id, child_digest)
);
CREATE INDEX manifest_child_digest ON manifest_child (child_digest);

CREATE TABLE tag (
	repository_id BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	name          TEXT   NOT NULL,
	manifest_id   BIGINT NOT NULL REFERENCES manifest (id) ON DELETE CASCADE,
	updated_at    BIGINT NOT NULL,
	PRIMARY KEY (repository_id, name)
);
CREATE INDEX tag_manifest ON tag (manifest_id);

-- Blob uploads in progress, bound to the repository and the account that
-- opened them; hash_state lets a chunked upload resume its digest, and
-- writer_until marks the one request allowed to append right now.
CREATE TABLE upload (
	id            TEXT   PRIMARY KEY,
	repository_id BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	account_id    BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	algorithm     TEXT   NOT NULL,
	size          BIGINT NOT NULL DEFAULT 0,
	hash_state    BLOB,
	writer_until  BIGINT,
	started_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);

-- Robot accounts: an account of kind robot named "<namespace>+<short>".
CREATE TABLE robot (
	account_id   BIGINT PRIMARY KEY REFERENCES account (id) ON DELETE CASCADE,
	namespace_id BIGINT NOT NULL REFERENCES account (id) ON DELETE CASCADE,
	token        TEXT   NOT NULL,
	description  TEXT   NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL
);
CREATE INDEX robot_namespace ON robot (namespace_id);
