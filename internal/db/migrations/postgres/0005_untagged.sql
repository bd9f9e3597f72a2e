-- When a manifest lost its last tag: garbage collection removes it once
-- its namespace's tag expiration (Quay's time machine) has passed.
ALTER TABLE manifest ADD COLUMN untagged_at BIGINT;
CREATE INDEX manifest_untagged ON manifest (untagged_at);
