-- Files users upload for builds (Quay's "filedrop" user files). The content
-- lives in blob storage under storage_key; size and sha256 are set once the
-- upload completed, and an uploaded file never changes.
CREATE TABLE user_file (
	uuid        TEXT   PRIMARY KEY,
	mime_type   TEXT   NOT NULL,
	storage_key TEXT   NOT NULL,
	uploader_id BIGINT REFERENCES account (id) ON DELETE SET NULL,
	created_at  BIGINT NOT NULL,
	size        BIGINT,
	sha256      TEXT,
	uploaded_at BIGINT
);
CREATE INDEX user_file_created ON user_file (created_at);

-- Image builds and their queue in one row: a worker claims a waiting build
-- by setting worker and lease_until, renews the lease while it works, and
-- loses the build when the lease lapses (it goes back to waiting while
-- retries remain, else to internalerror). job_config is Quay's job config
-- JSON; log_count numbers the build's log entries. pull_robot_name stays
-- when the robot is deleted: the build then pulls with nobody's rights,
-- never with its requester's. Times are Unix microseconds.
CREATE TABLE build (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid              TEXT   NOT NULL UNIQUE,
	repository_id     BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	phase             TEXT   NOT NULL,
	display_name      TEXT   NOT NULL,
	resource_key      TEXT   REFERENCES user_file (uuid) ON DELETE SET NULL,
	job_config        TEXT   NOT NULL,
	pull_robot_id     BIGINT REFERENCES account (id) ON DELETE SET NULL,
	pull_robot_name   TEXT,
	manual_user_id    BIGINT REFERENCES account (id) ON DELETE SET NULL,
	started           BIGINT NOT NULL,
	phase_changed_at  BIGINT NOT NULL,
	completed_at      BIGINT,
	error             TEXT,
	retries_remaining INTEGER NOT NULL,
	worker            TEXT,
	lease_until       BIGINT,
	heartbeat         BIGINT,
	log_count         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX build_repository ON build (repository_id, started);
CREATE INDEX build_phase ON build (phase, id);
CREATE INDEX build_resource ON build (resource_key);

-- Build log entries in order: {"message", "type", "data"} JSON objects.
CREATE TABLE build_log (
	build_id BIGINT  NOT NULL REFERENCES build (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL,
	entry    TEXT    NOT NULL,
	PRIMARY KEY (build_id, seq)
);
