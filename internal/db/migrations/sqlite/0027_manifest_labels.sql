-- Labels on manifests (Quay's manifest labels): added through the API
-- (source_type api); removed with their manifest.
CREATE TABLE manifest_label (
	id          TEXT   PRIMARY KEY,
	manifest_id BIGINT NOT NULL REFERENCES manifest (id) ON DELETE CASCADE,
	label_key   TEXT   NOT NULL,
	label_value TEXT   NOT NULL,
	media_type  TEXT   NOT NULL,
	source_type TEXT   NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX manifest_label_manifest ON manifest_label (manifest_id, created_at);
