-- Tag history (Quay's time machine): one row per lifetime of a tag name,
-- from when it started pointing at a manifest to when it was moved,
-- deleted or expired (ended_at NULL while alive). reversion marks a
-- lifetime started by a restore. The tag table keeps the alive tags;
-- expires_at is an alive tag's set expiration.
CREATE TABLE tag_history (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	repository_id   BIGINT  NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	name            TEXT    NOT NULL,
	manifest_digest TEXT    NOT NULL,
	started_at      BIGINT  NOT NULL,
	ended_at        BIGINT,
	reversion       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tag_history_started ON tag_history (repository_id, started_at);
CREATE UNIQUE INDEX tag_history_alive ON tag_history (repository_id, name) WHERE ended_at IS NULL;
ALTER TABLE tag ADD COLUMN expires_at BIGINT;
CREATE INDEX tag_expires ON tag (expires_at);
INSERT INTO tag_history (repository_id, name, manifest_digest, started_at)
	SELECT t.repository_id, t.name, m.digest, t.updated_at FROM tag t JOIN manifest m ON m.id = t.manifest_id;
