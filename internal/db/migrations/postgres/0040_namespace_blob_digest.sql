-- Deleting a blob's row (the collector's last step) checks that no
-- namespace_blob row references it. Its primary key leads with the
-- namespace, so without this index each deleted blob scanned the whole
-- table: forgetting a blob cost as much as every namespace's blobs.
CREATE INDEX namespace_blob_digest ON namespace_blob (digest);
