-- How many uploads or mounts of the blob into the repository no manifest
-- PUT has referenced since: each is a push that may still PUT a manifest
-- referencing the blob, so deleting another manifest leaves the link
-- (issue 12: a concurrent delete refused another client's push). Links
-- made before this column existed count one push, to be safe; they expire
-- with their pending link.
ALTER TABLE pending_link ADD COLUMN uploads BIGINT NOT NULL DEFAULT 1;
