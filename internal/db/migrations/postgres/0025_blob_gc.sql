-- Online blob collection (see internal/blobgc for the protocol).
-- doomed_at is set when a collector has decided to remove the blob and is
-- deleting its file; the row goes once the file is gone. Nothing may
-- reference a doomed blob.
ALTER TABLE blob ADD COLUMN doomed_at BIGINT;
-- An upload that is committing a digest pins that blob against
-- collection until its link is made.
ALTER TABLE upload ADD COLUMN digest TEXT;
CREATE INDEX upload_digest ON upload (digest);
-- Blobs that lost a reference since when: the collector's work list.
CREATE TABLE blob_candidate (
	digest TEXT   PRIMARY KEY,
	since  BIGINT NOT NULL
);
CREATE INDEX blob_candidate_since ON blob_candidate (since);
-- Links made by an upload or a mount that no manifest of the repository
-- referenced yet: unlinked once older than PUSH_TEMP_TAG_EXPIRATION_SEC.
CREATE TABLE pending_link (
	repository_id BIGINT NOT NULL REFERENCES repository (id) ON DELETE CASCADE,
	digest        TEXT   NOT NULL,
	since         BIGINT NOT NULL,
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX pending_link_since ON pending_link (since);
INSERT INTO pending_link (repository_id, digest, since)
	SELECT rb.repository_id, rb.digest, rb.created_at FROM repository_blob rb
	WHERE NOT EXISTS (SELECT 1 FROM manifest_blob mb JOIN manifest m ON m.id = mb.manifest_id
		WHERE m.repository_id = rb.repository_id AND mb.digest = rb.digest);
INSERT INTO blob_candidate (digest, since)
	SELECT b.digest, b.created_at FROM blob b
	WHERE NOT EXISTS (SELECT 1 FROM repository_blob rb WHERE rb.digest = b.digest)
	AND NOT EXISTS (SELECT 1 FROM manifest_blob mb WHERE mb.digest = b.digest);
