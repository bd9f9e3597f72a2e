-- Service keys: public keys that services sign JWTs with (Quay's servicekey
-- and servicekeyapproval folded into one row). The private half of a key is
-- never stored here; approval columns are all NULL while a key awaits
-- approval. Times are Unix microseconds; jwk and metadata are JSON objects.
CREATE TABLE service_key (
	kid               TEXT   PRIMARY KEY,
	service           TEXT   NOT NULL,
	name              TEXT   NOT NULL DEFAULT '',
	jwk               TEXT   NOT NULL,
	metadata          TEXT   NOT NULL DEFAULT '{}',
	created_at        BIGINT NOT NULL,
	expiration_at     BIGINT,
	rotation_duration BIGINT,
	approval_type     TEXT   CHECK (approval_type IN ('superuser', 'key_rotation', 'automatic')),
	approver_id       BIGINT REFERENCES account (id) ON DELETE SET NULL,
	approved_at       BIGINT,
	notes             TEXT   NOT NULL DEFAULT '',
	CHECK ((approval_type IS NULL) = (approved_at IS NULL))
);
CREATE INDEX service_key_service ON service_key (service, created_at);
CREATE INDEX service_key_expiration ON service_key (expiration_at);
CREATE INDEX service_key_approver ON service_key (approver_id);

-- The sealed private halves of wharf's own signing keys (the instance key):
-- AES-256-GCM under a key derived from SECRET_KEY, so that every process
-- sharing the database and the secret signs with the same key. The row goes
-- with its service_key row.
CREATE TABLE instance_key (
	kid        TEXT   PRIMARY KEY REFERENCES service_key (kid) ON DELETE CASCADE,
	sealed     BLOB   NOT NULL,
	created_at BIGINT NOT NULL
);
