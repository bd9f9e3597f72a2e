-- A namespace is charged for what it keeps: every blob linked to one of
-- its repositories (each digest once), plus what its uploads in progress
-- have reserved. namespace_blob.refs now counts links, not manifest
-- references, so blobs uploaded but never referenced count too; the usage
-- is recomputed from the links.
ALTER TABLE upload ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;
CREATE INDEX upload_repository ON upload (repository_id);
DELETE FROM namespace_blob;
INSERT INTO namespace_blob (namespace_id, digest, refs)
	SELECT r.namespace_id, rb.digest, COUNT(*) FROM repository_blob rb
	JOIN repository r ON r.id = rb.repository_id GROUP BY r.namespace_id, rb.digest;
DELETE FROM namespace_usage;
INSERT INTO namespace_usage (namespace_id, shard, bytes)
	SELECT nb.namespace_id, 0, SUM(b.size) FROM namespace_blob nb
	JOIN blob b ON b.digest = nb.digest GROUP BY nb.namespace_id;
