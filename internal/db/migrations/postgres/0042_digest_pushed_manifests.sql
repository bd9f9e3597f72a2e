-- Manifests pushed by digest and never tagged were never collected: they
-- are untagged from their push (untagged_at = created_at), which starts
-- their time machine and temporary push tag (CollectUntaggedManifests).
UPDATE manifest SET untagged_at = created_at
	WHERE untagged_at IS NULL AND NOT EXISTS (SELECT 1 FROM tag t WHERE t.manifest_id = manifest.id);
